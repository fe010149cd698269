// Builds the project when dist/ is stale and starts `node dist/cli.js serve` as a pinned child process.
import { createWriteStream, existsSync, mkdirSync } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { runToEnd, startChild, stopChild, type Child } from './children.ts'
import { freePort, waitForStatus } from './net.ts'

export const ROOT = new URL('../../', import.meta.url).pathname
const CLI_SRC = join(ROOT, 'src/cli.ts')
/**
 * PARITYGATE_CLI (env): the cli.js to run instead of this tree's dist/cli.js, never rebuilt (e.g. a build of one
 * commit from `git archive`, while the working tree is being edited).
 */
export const CLI_OVERRIDE = process.env.PARITYGATE_CLI === undefined || process.env.PARITYGATE_CLI === '' ? null : process.env.PARITYGATE_CLI
const CLI_DIST = CLI_OVERRIDE ?? join(ROOT, 'dist/cli.js')

async function newestMtime (dir: string): Promise<number> {
  let newest = 0
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const { mtimeMs } = await stat(join(entry.parentPath, entry.name))
    if (mtimeMs > newest) newest = mtimeMs
  }
  return newest
}

/** Runs `npm run build` when dist/cli.js is missing or older than any file under src/. */
export async function ensureBuilt (log: (line: string) => void): Promise<void> {
  if (CLI_OVERRIDE !== null) {
    if (!existsSync(CLI_OVERRIDE)) throw new Error(`PARITYGATE_CLI=${CLI_OVERRIDE} does not exist`)
    log(`running ${CLI_OVERRIDE} (PARITYGATE_CLI), not this tree's dist/`)
    return
  }
  if (!existsSync(CLI_SRC)) {
    throw new Error('src/cli.ts does not exist yet, so the paritygate target cannot run.\n' +
      'Run the other targets meanwhile: TARGETS=direct,fastify-http-proxy,nginx npm run bench')
  }
  const srcMtime = await newestMtime(join(ROOT, 'src'))
  if (existsSync(CLI_DIST) && (await stat(CLI_DIST)).mtimeMs >= srcMtime) return
  log('dist/cli.js is missing or older than src/: running npm run build')
  await runToEnd({ name: 'npm run build', cpu: null, command: 'npm', args: ['run', 'build', '--silent'] }, 180_000)
  if (!existsSync(CLI_DIST)) throw new Error('npm run build succeeded but dist/cli.js is still missing')
}

/**
 * Node flags paritygate runs with, as shipped (Dockerfile ENTRYPOINT, the bin's shebang). The env
 * PARITYGATE_NODE_FLAGS (space-separated) replaces them, to try a V8 setting side by side.
 */
export const NODE_FLAGS = process.env.PARITYGATE_NODE_FLAGS === undefined
  ? ['--max-semi-space-size=32', '--single-threaded-gc']
  : process.env.PARITYGATE_NODE_FLAGS.split(' ').filter(Boolean)

/** Time a paritygate child gets to exit after SIGTERM: long enough to write its profiles when it is profiled. */
export const STOP_GRACE_MS = NODE_FLAGS.some((f) => f.startsWith('--cpu-prof') || f.startsWith('--heap-prof')) ? 60_000 : 3000

/**
 * PARITYGATE_OUT_DIR (env): a directory where each paritygate child's stdout and stderr go, appended to
 * `<name>-<pid>.log` (e.g. the --trace-gc lines of a profiling run). Unset, they are only kept as a short tail.
 */
function keepOutput (child: Child, name: string): void {
  const dir = process.env.PARITYGATE_OUT_DIR
  if (dir === undefined || dir === '') return
  mkdirSync(dir, { recursive: true })
  const out = createWriteStream(join(dir, `${name}-${child.process.pid ?? 'unknown'}.log`), { flags: 'a' })
  child.process.stdout?.on('data', (chunk: Buffer) => out.write(chunk))
  child.process.stderr?.on('data', (chunk: Buffer) => out.write(chunk))
  child.exited.then(() => out.end(), () => out.end())
}

export interface ParitygateHandle {
  child: Child
  url: string
  adminUrl: string
}

/**
 * Starts `node dist/cli.js serve --primary <primary> --listen 127.0.0.1:P --admin 127.0.0.1:A --log-level warn <extra>`
 * pinned to `cpu` (`cli`: another build's cli.js, for a side-by-side run), and waits for GET /healthz/ready on the admin port to answer 200.
 */
export async function startParitygate (primary: string, extra: string[], cpu: number, name = 'paritygate', cli = CLI_DIST): Promise<ParitygateHandle> {
  const port = await freePort()
  const admin = await freePort()
  const args = [...NODE_FLAGS, cli, 'serve', '--primary', primary, '--listen', `127.0.0.1:${port}`,
    '--admin', `127.0.0.1:${admin}`, '--log-level', 'warn', ...extra]
  const child = startChild({ name, cpu, command: process.execPath, args })
  keepOutput(child, name)
  const adminUrl = `http://127.0.0.1:${admin}`
  try {
    await waitForStatus(`${adminUrl}/healthz/ready`, 20_000, () => child.process.exitCode === null)
  } catch (err) {
    await stopChild(child, STOP_GRACE_MS)
    throw new Error(`${name} did not become ready: ${(err as Error).message}\n${child.tail()}`)
  }
  return { child, url: `http://127.0.0.1:${port}/`, adminUrl }
}
