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
