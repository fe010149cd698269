/*
 * Runs the paritygate command line as a child process: from .test-dist/, src/ transformed by
 * esbuild file by file as tsx does it (same options, so the coverage of a child maps onto src/ as
 * the test process's own does), not src/cli.ts through tsx, whose loader took about 0.6 s of CPU
 * more at every start (and at every cluster worker's and worker thread's).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { transformSync } from 'esbuild'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
/** Where the tests' build of src/ goes: beside dist/, so that paths relative to a module (../package.json, ../../dist/ui/) hold. */
export const TEST_DIST = join(ROOT, '.test-dist')
const SRC = join(ROOT, 'src')

/** The sources of the command line: every .ts file under src/ but the page's (src/ui has its own build). */
function sources (): string[] {
  return readdirSync(SRC, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name))
    .filter((f) => !relative(SRC, f).startsWith('ui/'))
}

/** A relative import of a `.ts` module (static, dynamic or re-export), as esbuild writes it with whitespace minified. */
const TS_IMPORT = /((?:from|import)\s*\(?\s*")(\.{1,2}\/[^"]+)\.ts(")/g

/**
 * Writes the build into `out`: each module as tsx transforms it (tsx 4's options: the running
 * Node as target, source maps, whitespace minified, names kept), its relative `.ts` imports
 * renamed `.js` (the same length: the source map still holds), its map beside it.
 */
function build (out: string): void {
  const tsconfigRaw = readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')
  for (const file of sources()) {
    const { code, map } = transformSync(readFileSync(file, 'utf8'), {
      loader: 'ts', format: 'esm', target: `node${process.versions.node}`, sourcefile: file, sourcemap: 'external', minifyWhitespace: true, keepNames: true, tsconfigRaw
    })
    const target = join(out, relative(SRC, file)).replace(/\.ts$/, '.js')
    mkdirSync(dirname(target), { recursive: true })
    writeFileSync(target, `${code.replace(TS_IMPORT, '$1$2.js$3')}//# sourceMappingURL=${target.slice(dirname(target).length + 1)}.map\n`)
    writeFileSync(`${target}.map`, map)
  }
}

/** Whether this process found the build fresh (or made it): sources do not change while tests run. */
let checked = false

/**
 * The tests' build of the command line, `.test-dist/cli.js`, made (in under a second) when missing
 * or older than a source. It is written into a directory of its own, then renamed into place, so
 * that no process runs a half-written build; `npm run unit` makes it before the test files run side by side.
 */
export function builtCli (): string {
  const cli = join(TEST_DIST, 'cli.js')
  if (checked) return cli
  checked = true
  const newest = Math.max(statSync(join(ROOT, 'tsconfig.json')).mtimeMs, ...sources().map((f) => statSync(f).mtimeMs))
  const fresh = (): boolean => existsSync(cli) && statSync(cli).mtimeMs >= newest
  if (fresh()) return cli
  const tmp = `${TEST_DIST}.${process.pid}`
  rmSync(tmp, { recursive: true, force: true })
  build(tmp)
  if (fresh()) {
    // another test process made it meanwhile, and may be running it: keep that one
    rmSync(tmp, { recursive: true, force: true })
    return cli
  }
  rmSync(TEST_DIST, { recursive: true, force: true })
  renameSync(tmp, TEST_DIST)
  return cli
}

/** Starts `paritygate ARGS` with a clean PARITYGATE_* environment plus `env`; under `ulimit -n nofile` when given. */
export function spawnCli (args: string[], env: Record<string, string> = {}, nofile?: number): ChildProcess {
  const clean: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PARITYGATE_')) clean[k] = v
  const argv = [process.execPath, builtCli(), ...args]
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
 * Waits for the child's "paritygate listening" line (30 s at most: a group of workers on a loaded
 * machine starts slowly) and fails with its output if it
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
