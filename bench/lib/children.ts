// Child processes of the benchmark: spawned pinned to a core, tracked, and always killed (exit, SIGINT, errors).
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'

export interface StartOptions {
  /** label used in error messages */
  name: string
  /** core to pin to with `taskset -c`; null runs unpinned */
  cpu: number | null
  command: string
  args: string[]
  env?: NodeJS.ProcessEnv
}

export interface Child {
  name: string
  process: ChildProcess
  /** last few KiB of stderr and stdout, for error messages */
  tail: () => string
  exited: Promise<number | null>
}

const live = new Set<ChildProcess>()
const TAIL_BYTES = 4096

/** Spawns `command args` in its own process group (so its own children die with it), pinned to `cpu`. */
export function startChild (opts: StartOptions): Child {
  const file = opts.cpu === null ? opts.command : 'taskset'
  const argv = opts.cpu === null ? opts.args : ['-c', String(opts.cpu), opts.command, ...opts.args]
  const child = spawn(file, argv, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env ?? process.env
  })
  live.add(child)
  let tail = ''
  function keep (chunk: Buffer): void {
    tail = (tail + chunk.toString()).slice(-TAIL_BYTES)
  }
  child.stderr?.on('data', keep)
  child.stdout?.on('data', keep)
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (err) => { keep(Buffer.from(String(err))); live.delete(child); resolve(null) })
    child.once('exit', (code) => { live.delete(child); resolve(code) })
  })
  return { name: opts.name, process: child, tail: () => tail, exited }
}

/** Resolves with the first stdout line that parses as JSON; rejects on exit or after `timeoutMs`. */
export async function readJsonLine<T> (child: Child, timeoutMs: number): Promise<T> {
  const stdout = child.process.stdout
  if (stdout === null) throw new Error(`${child.name}: no stdout`)
  const lines = createInterface({ input: stdout })
  let timer: NodeJS.Timeout | undefined
  try {
    return await new Promise<T>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${child.name}: no JSON line within ${timeoutMs} ms\n${child.tail()}`)), timeoutMs)
      lines.on('line', (line) => {
        if (!line.startsWith('{')) return
        try { resolve(JSON.parse(line) as T) } catch { /* not our line */ }
      })
      child.exited.then((code) => reject(new Error(`${child.name} exited (code ${code}) before printing JSON\n${child.tail()}`)), reject)
    })
  } finally {
    clearTimeout(timer)
    lines.close()
    stdout.resume() // keep draining so the child never blocks on a full pipe
  }
}

function signalGroup (child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try { process.kill(-child.pid, signal) } catch { /* already gone */ }
}

/** SIGTERM the child's process group, then SIGKILL it if it has not exited within `graceMs`. */
export async function stopChild (child: Child, graceMs = 3000): Promise<void> {
  signalGroup(child.process, 'SIGTERM')
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(resolve, graceMs, 'timeout') })
  const result = await Promise.race([child.exited, timedOut])
  clearTimeout(timer)
  if (result === 'timeout') {
    signalGroup(child.process, 'SIGKILL')
    await child.exited
  }
}

const cleanups = new Set<() => void>()

/** Registers a synchronous cleanup (e.g. removing a temp dir) for killAll(); returns its unregister function. */
export function onKillAll (fn: () => void): () => void {
  cleanups.add(fn)
  return () => { cleanups.delete(fn) }
}

/** Synchronously SIGKILLs every child still alive and runs the registered cleanups; safe in an 'exit' handler. */
export function killAll (): void {
  for (const child of live) signalGroup(child, 'SIGKILL')
  for (const fn of cleanups) {
    try { fn() } catch { /* best effort */ }
  }
  cleanups.clear()
}

/** Kills all children when this process exits or gets SIGINT/SIGTERM, then re-raises the signal. */
export function installCleanup (): void {
  process.once('exit', killAll)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping ${live.size} child process(es)\n`)
      killAll()
      process.kill(process.pid, signal)
    })
  }
}

/** Runs a bounded command to completion and returns its stdout; rejects on non-zero exit or timeout. */
export async function runToEnd (opts: StartOptions, timeoutMs: number): Promise<string> {
  const child = startChild(opts)
  let out = ''
  child.process.stdout?.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const timer = setTimeout(() => signalGroup(child.process, 'SIGKILL'), timeoutMs)
  const code = await child.exited
  clearTimeout(timer)
  if (code !== 0) throw new Error(`${opts.name} failed (exit ${code}, limit ${timeoutMs} ms)\n${child.tail()}`)
  return out
}
