// Shared orchestration for the macro benchmarks: env settings, tools, pinning, CPU charging, fixed-rate runs, watchdog.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { killAll, runToEnd } from './children.ts'
import { cpuUsage, sampleCpu } from './cpu.ts'
import { CLI_OVERRIDE, NODE_FLAGS, ROOT } from './paritygate.ts'
import { type RunCpu } from './report.ts'
import { checkTarget, CPU_LOAD, startTarget, type Running, type TargetSpec } from './targets.ts'
import { type FixedRateResult } from '../fixed-rate.ts'

export function envNumber (name: string, fallback: number): number {
  const raw = process.env[name]
  const value = raw === undefined || raw === '' ? fallback : Number(raw)
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a non-negative number, got ${raw}`)
  return value
}

export function log (line: string): void {
  process.stderr.write(`bench: ${line}\n`)
}

function has (command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
}

/** wrk, nginx and taskset come from Debian's packages through bench/install.sh. */
export function ensureTools (needNginx: boolean): void {
  const missing = ['wrk', 'taskset', ...(needNginx ? ['nginx'] : [])].filter((c) => !has(c))
  if (missing.length === 0) return
  if (process.getuid?.() !== 0) {
    throw new Error(`missing ${missing.join(', ')}: run \`sudo bash bench/install.sh\` first`)
  }
  log(`missing ${missing.join(', ')}: running bench/install.sh`)
  const res = spawnSync('bash', [join(ROOT, 'bench/install.sh')], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 300_000 })
  if (res.status !== 0) throw new Error('bench/install.sh failed; see its message above')
}

export function version (command: string, args: string[]): string {
  const res = spawnSync(command, args, { encoding: 'utf8', timeout: 5000 })
  return `${res.stdout ?? ''}${res.stderr ?? ''}`.split('\n')[0].trim()
}

/** Pins this process (and all its threads) to the load generators' core. */
export function pinSelfToLoadCore (): void {
  execFileSync('taskset', ['-a', '-p', '-c', String(CPU_LOAD), String(process.pid)], { stdio: 'ignore' })
}

/** Runs `fn` and charges the CPU the target's processes used meanwhile to `requests(result)`. */
export async function withCpu<T> (target: Running, fn: () => Promise<T>, requests: (r: T) => number): Promise<[T, RunCpu]> {
  const before = sampleCpu(target.pgid)
  const result = await fn()
  const usage = cpuUsage(before, sampleCpu(target.pgid), target.pgid)
  const n = requests(result)
  return [result, { ...usage, usPerReq: n > 0 ? Math.round((usage.cpuS * 1e6 / n) * 10) / 10 : 0 }]
}

export function rotate<T> (list: T[], by: number): T[] {
  const n = by % list.length
  return [...list.slice(n), ...list.slice(0, n)]
}

export interface FixedRateRun {
  url: string
  rate: number
  durationS: number
  connections: number
  /** per-request timeout, ms (default 5000) */
  timeoutMs?: number
}

/** bench/fixed-rate.ts in its own process pinned to the load core, 1 s of warm-up; returns its JSON line. */
export async function fixedRate (run: FixedRateRun): Promise<FixedRateResult> {
  const timeoutMs = run.timeoutMs ?? 5000
  const args = ['--import', 'tsx', join(ROOT, 'bench/fixed-rate.ts'), '--url', run.url, '--rate', String(run.rate),
    '--duration', String(run.durationS), '--connections', String(run.connections), '--warmup', '1', '--timeout', String(timeoutMs)]
  const out = await runToEnd({ name: 'fixed-rate', cpu: CPU_LOAD, command: process.execPath, args },
    (run.durationS + 1) * 1000 + timeoutMs + 30_000)
  const line = out.trim().split('\n').at(-1) ?? ''
  return JSON.parse(line) as FixedRateResult
}

/** Kills everything and this process once `limitS` seconds have passed; returns the timer to clear. */
export function startWatchdog (limitS: number): NodeJS.Timeout {
  const watchdog = setTimeout(() => {
    log(`hard time limit of ${limitS} s reached: killing everything`)
    killAll()
    process.kill(process.pid, 'SIGTERM')
  }, limitS * 1000)
  watchdog.unref()
  return watchdog
}

/**
 * Logs what is about to run and how long it should take, arms the watchdog at 1.5 × the estimate
 * plus `slackS`, and notes the load average before anything starts (for runMeta).
 */
export function announce (specs: ReadonlyArray<{ name: string }>, settings: object, estimateS: number, slackS = 120): { watchdog: NodeJS.Timeout, loadBefore: number[] } {
  const limitS = Math.ceil(estimateS * 1.5 + slackS)
  log(`${specs.map((s) => s.name).join(', ')}; ${JSON.stringify(settings)}; about ${Math.round(estimateS / 60)} min, hard limit ${limitS} s`)
  return { watchdog: startWatchdog(limitS), loadBefore: loadavg() }
}

// The commit and the working tree as the run starts (dist/ is built then): a long run ends after later commits.
const STARTED_AT_COMMIT = version('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'])
const SRC_UNCOMMITTED_AT_START = spawnSync('git', ['-C', ROOT, 'status', '--porcelain', 'src'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).length

/** What every results file records about the run's conditions. */
export function runMeta (command: string, settings: object, loadBefore: number[]): Record<string, unknown> {
  return {
    date: new Date().toISOString(),
    command,
    settings,
    node: process.version,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'} (shared, noisy)`,
    loadavgBefore: loadBefore,
    loadavgAfter: loadavg(),
    wrk: version('wrk', ['--version']),
    nginx: version('nginx', ['-v']),
    commit: STARTED_AT_COMMIT,
    // dist/ is built from the working tree, which other people may be editing
    srcUncommittedFiles: SRC_UNCOMMITTED_AT_START,
    paritygateCli: CLI_OVERRIDE ?? 'dist/cli.js, built from this working tree',
    paritygateNodeFlags: NODE_FLAGS.join(' '),
    pinning: 'proxies taskset -c 0; upstreams, candidates, wrk, fixed-rate.ts and the orchestrator taskset -c 1'
  }
}

/** Writes `<prefix>-<stamp>.json` and `.md` under bench/.out/ and returns the JSON file's path. */
export function writeOut (prefix: string, data: unknown, markdown: string): string {
  const outDir = join(ROOT, 'bench/.out')
  mkdirSync(outDir, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const file = join(outDir, `${prefix}-${stamp}.json`)
  writeFileSync(file, JSON.stringify(data, null, 2) + '\n')
  writeFileSync(join(outDir, `${prefix}-${stamp}.md`), markdown + '\n')
  return file
}

/** The end of a run: its rounds and markdown written under bench/.out/ (`<prefix>-<date>`), the markdown printed. */
export function publish (prefix: string, command: string, settings: object, loadBefore: number[], rounds: unknown[], markdown: string): void {
  const file = writeOut(prefix, { meta: runMeta(command, settings, loadBefore), rounds }, markdown)
  process.stdout.write(`\n${markdown}\n\n`)
  log(`raw rounds written to ${file}`)
}

/** Starts every target in front of `upstream`, checks it answers, and records it in `started` for stopAll. */
export async function startTargets (specs: TargetSpec[], upstream: Running, started: Running[]): Promise<Running[]> {
  const running: Running[] = []
  for (const spec of specs) {
    const target = await startTarget(spec, upstream)
    started.push(target)
    await checkTarget(target)
    running.push(target)
    log(`${spec.name} ready at ${target.url}${target.adminUrl === null ? '' : ` (admin ${target.adminUrl})`}`)
  }
  return running
}

/** Stops everything started, newest first, and the watchdog. */
export async function stopAll (started: Running[], watchdog: NodeJS.Timeout): Promise<void> {
  for (const target of started.reverse()) {
    await target.stop().catch((err: Error) => log(`stopping ${target.name}: ${err.message}`))
  }
  clearTimeout(watchdog)
}

/** Runs a benchmark's main: on failure, logs, kills every child and exits 1. */
export function runMain (main: () => Promise<void>): void {
  main().catch((err: Error) => {
    log(err.stack ?? err.message)
    killAll()
    process.exitCode = 1
  })
}
