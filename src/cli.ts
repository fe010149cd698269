#!/usr/bin/env -S node --max-semi-space-size=32 --single-threaded-gc
/* The command line: parse flags, load config, run serve / demo / check-config. Exit 2 on any bad input. */
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import { ConfigErrors, isHostPort, parseHostPort, loadConfig, readConfigFile, validateConfig, WINDOW_PATTERN, type FrozenConfig, type Overrides } from './config/index.ts'
import { closest } from './config/suggest.ts'
import { configErrors } from './config-check.ts'
import { PARITYGATE_ERR_USAGE } from './errors.ts'
import { createLogger } from './logger.ts'
import { VERSION } from './version.ts'

const HELP = `paritygate ${VERSION}: a shadow-traffic parity proxy and rollout gate

Usage:
  paritygate [serve] --primary URL [--candidate URL] [--mirror-percent N] [--noise-percent N] [--ignore PATH]...
                    [--listen HOST:PORT] [--admin HOST:PORT] [--config FILE] [--log-level LEVEL] [--workers N|auto]
  paritygate demo [--duration SECONDS]   (0 or absent: until Ctrl-C; prints the page's address)
  paritygate report [--admin HOST:PORT] [--window 5m] [--route NAME] [--json]
                    (a running instance's routes, fields and verdict; exit 0 pass, 1 fail, 3 inconclusive, 2 cannot say)
  paritygate check-config FILE
  paritygate healthcheck [--admin HOST:PORT]   (exit 0 when /healthz/live answers 200; for container HEALTHCHECKs)
  paritygate --version | --help

Precedence: defaults < config file < environment (PARITYGATE_*) < flags.
Environment: PARITYGATE_PRIMARY, PARITYGATE_CANDIDATE, PARITYGATE_MIRROR_PERCENT, PARITYGATE_NOISE_PERCENT, PARITYGATE_WORKERS,
PARITYGATE_LISTEN, PARITYGATE_ADMIN, PARITYGATE_CONFIG, PARITYGATE_LOG_LEVEL, PARITYGATE_ADMIN_TOKEN (Bearer token for admin changes).
Mirroring: with a candidate, 100 % of GET, HEAD and OPTIONS requests unless --mirror-percent says otherwise; noise learning
calls the primary a second time for --noise-percent (default 5) of the mirrored safe requests. --ignore adds to compare.ignore.
Signals: SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the config file.
Defaults: listen 0.0.0.0:8000, admin 0.0.0.0:9000.
Exit codes: 0 success, 1 runtime failure, 2 bad input (flag, environment or config).`

const OPTIONS = {
  primary: { type: 'string' },
  candidate: { type: 'string' },
  'mirror-percent': { type: 'string' },
  'noise-percent': { type: 'string' },
  ignore: { type: 'string', multiple: true },
  workers: { type: 'string' },
  listen: { type: 'string' },
  admin: { type: 'string' },
  config: { type: 'string' },
  'log-level': { type: 'string' },
  duration: { type: 'string' },
  window: { type: 'string' },
  route: { type: 'string' },
  json: { type: 'boolean' },
  version: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const

/** The schema checks every rule path and window; that the rules compile as a whole is checked here. */
function withRules (config: FrozenConfig): FrozenConfig {
  const errors = configErrors(config)
  if (errors.length > 0) throw new ConfigErrors(errors)
  return config
}

/** A flag parseArgs refused, said plainly, with the nearest known flag: `unknown flag --primry: did you mean --primary?`. */
function flagError (err: Error & { code?: string }): string {
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']+)'/.exec(err.message)?.[1] ?? ''
    const name = flag.replace(/^-+/, '').split('=')[0]
    const near = closest(name, Object.keys(OPTIONS))
    return `unknown flag ${flag}${near === null ? '' : `: did you mean --${near}?`}`
  }
  return err.message
}

/** Every error of a config file: its schema errors, every bad rule path and the gate window, each line starting with the file name. */
function checkFile (file: string): string[] {
  let raw: Record<string, unknown>
  try {
    raw = readConfigFile(file)
  } catch (err) {
    if (err instanceof ConfigErrors) return err.errors // they name the file already
    throw err
  }
  let errors: string[]
  try {
    errors = configErrors(validateConfig(raw))
  } catch (err) {
    if (!(err instanceof ConfigErrors)) throw err
    errors = err.errors
  }
  return errors.map((line) => `${file}: ${line}`)
}

function fail (lines: string[]): void {
  for (const line of lines) process.stderr.write(`paritygate: ${line}\n`)
  process.exitCode = 2
}

/** A bad command line (flag, command or argument): PARITYGATE_ERR_USAGE, printed as its lines with exit 2. */
function usage (...lines: string[]): never {
  throw Object.assign(new PARITYGATE_ERR_USAGE(lines.join('; ')), { lines })
}

/** Errors of binding an address: busy, not on this host, or not allowed (a port under 1024 without privileges). */
const LISTEN_CODES = new Set(['EADDRINUSE', 'EADDRNOTAVAIL', 'EACCES', 'ENOTFOUND', 'EAI_AGAIN'])

async function main (argv: string[]): Promise<void> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (err) {
    usage(flagError(err as Error), 'see paritygate --help')
  }
  const { values, positionals } = parsed
  if (values.help === true) { console.log(HELP); return }
  if (values.version === true) { console.log(VERSION); return }
  const command = positionals[0] ?? 'serve'

  if (command === 'check-config') {
    const file = positionals[1] ?? values.config
    if (file === undefined || positionals.length > 2) usage('usage: paritygate check-config FILE')
    const errors = checkFile(file)
    if (errors.length > 0) fail(errors)
    else console.log(`${file}: valid`)
    return
  }

  if (command === 'healthcheck') {
    const admin = values.admin ?? process.env.PARITYGATE_ADMIN ?? '127.0.0.1:9000'
    if (!isHostPort(admin)) usage('--admin: must be HOST:PORT')
    const { host, port } = parseHostPort(admin)
    const target = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
    const res = await fetch(`http://${target}:${port}/healthz/live`, { signal: AbortSignal.timeout(2000) }).catch((err: Error) => err)
    if (res instanceof Error || res.status !== 200) {
      process.stderr.write(`paritygate: not live: ${res instanceof Error ? res.message : `status ${res.status}`}\n`)
      process.exitCode = 1
    }
    return
  }

  if (command === 'report') {
    const admin = values.admin ?? process.env.PARITYGATE_ADMIN ?? '127.0.0.1:9000'
    if (!isHostPort(admin) && !/^https?:\/\//.test(admin)) usage('--admin: must be HOST:PORT or a URL')
    if (values.window !== undefined && !WINDOW_PATTERN.test(values.window)) usage(`--window: must be a duration such as 30s, 5m or 1h, got ${values.window}`)
    if (positionals.length > 1) usage('usage: paritygate report [--admin HOST:PORT] [--window 5m] [--route NAME] [--json]')
    const { ReportError, runReport } = await import('./report/report.ts')
    try {
      process.exitCode = await runReport({ admin, window: values.window, route: values.route ?? null, json: values.json === true, token: process.env.PARITYGATE_ADMIN_TOKEN || null })
    } catch (err) {
      if (!(err instanceof ReportError)) throw err
      fail([err.message])
    }
    return
  }

  if (command === 'demo') {
    const duration = values.duration === undefined ? 0 : Number(values.duration)
    if (!Number.isFinite(duration) || duration < 0 || duration > 3600) usage('--duration: must be a number of seconds from 0 (until Ctrl-C) to 3600')
    const { runDemo } = await import('./demo/demo.ts')
    await runDemo({ durationSeconds: duration })
    return
  }

  if (command !== 'serve' || positionals.length > 1) usage(`unknown command "${positionals.join(' ')}"`, 'see paritygate --help')
  const flags: Overrides = { primary: values.primary, candidate: values.candidate, mirrorPercent: values['mirror-percent'], workers: values.workers, listen: values.listen, admin: values.admin, logLevel: values['log-level'], noisePercent: values['noise-percent'], ignore: values.ignore }
  const load = () => withRules(loadConfig({ file: values.config, env: process.env, flags }))
  let config
  try {
    config = load()
  } catch (err) {
    if (!(err instanceof ConfigErrors)) throw err
    fail(err.errors)
    return
  }
  const adminToken = process.env.PARITYGATE_ADMIN_TOKEN || null
  const workers = config.workers === 'auto' ? availableParallelism() : config.workers
  try {
    if (workers > 1) {
      const { default: cluster } = await import('node:cluster')
      const log = createLogger(config.log.level, config.redact.headers)
      if (cluster.isPrimary) await (await import('./cluster/primary.ts')).runPrimary(config, { workers, log, reload: load, adminToken })
      else await (await import('./cluster/worker.ts')).runWorker(config, { log: log.child({ worker: cluster.worker?.id }), reload: load, adminToken })
      return
    }
    const { serve } = await import('./server.ts')
    await serve(config, { reload: load, adminToken })
  } catch (err) {
    // A listener that cannot bind is bad input (the address), whichever way it is bad: exit 2, and stop serving.
    process.stderr.write(`paritygate: cannot start: ${(err as Error).message}\n`)
    process.exitCode = LISTEN_CODES.has((err as NodeJS.ErrnoException).code ?? '') ? 2 : 1
    // A worker of a group tells its primary why (which then stops the group), and lets go of the IPC channel that would keep it alive.
    if (process.connected && process.send !== undefined) {
      process.send({ pg: 'failed', code: (err as NodeJS.ErrnoException).code, message: (err as Error).message }, () => process.disconnect())
    }
  }
}

try {
  await main(process.argv.slice(2))
} catch (err) {
  if (!(err instanceof PARITYGATE_ERR_USAGE)) throw err
  fail((err as unknown as { lines: string[] }).lines)
}
