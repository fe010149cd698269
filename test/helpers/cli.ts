/* Runs the paritygate command line (src/cli.ts through tsx) as a child process. */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url))

/** Starts `paritygate ARGS` with a clean PARITYGATE_* environment plus `env`; under `ulimit -n nofile` when given. */
export function spawnCli (args: string[], env: Record<string, string> = {}, nofile?: number): ChildProcess {
  const clean: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PARITYGATE_')) clean[k] = v
  const argv = [process.execPath, '--import', 'tsx', CLI, ...args]
  const options = { cwd: ROOT, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] as Array<'ignore' | 'pipe'> }
  if (nofile !== undefined) return spawn('bash', ['-c', `ulimit -n ${nofile} && exec "$@"`, 'paritygate', ...argv], options)
  return spawn(argv[0], argv.slice(1), options)
}

/** Runs to completion and returns the exit code and output. */
export async function runCli (args: string[], env: Record<string, string> = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawnCli(args, env)
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d) => { stdout += d })
  child.stderr?.on('data', (d) => { stderr += d })
  const [code] = await once(child, 'exit')
  return { code, stdout, stderr }
}

/** What `paritygate serve` printed once listening: its addresses, and all its output so far (stdout and stderr). */
export interface Listening { proxy: string, admin: string, output: () => string }

/**
 * Waits for the child's "paritygate listening" line (30 s at most: a group of workers compiling
 * TypeScript through tsx on a loaded machine starts slowly) and fails with its output if it
 * exits or never says it.
 */
export async function listening (child: ChildProcess, ms = 30_000): Promise<Listening> {
  let out = ''
  const add = (d: Buffer): void => { out += d.toString() }
  child.stdout?.on('data', add)
  child.stderr?.on('data', add)
  const until = Date.now() + ms
  const found = (): string | undefined => out.split('\n').find((l) => l.includes('paritygate listening'))
  while (found() === undefined && child.exitCode === null && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20))
  const line = found()
  if (line === undefined) throw new Error(`paritygate did not say it was listening (exit code ${child.exitCode}):\n${out}`)
  const { proxy, admin } = JSON.parse(line) as { proxy: string, admin: string }
  return { proxy, admin, output: () => out }
}
