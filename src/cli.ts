#!/usr/bin/env -S node --max-semi-space-size=32 --single-threaded-gc
/* The command line: parse flags, load config, run serve / demo / check-config. Exit 2 on any bad input. */
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import { ConfigErrors, isHostPort, parseHostPort, loadConfig, readConfigFile, validateConfig, type FrozenConfig, type Overrides } from './config/index.ts'
import { checkRules } from './compare/rule-set.ts'
import { checkGateSettings } from './gate/parity.ts'
import { createLogger } from './logger.ts'
import { VERSION } from './version.ts'

const HELP = `paritygate ${VERSION}: a shadow-traffic parity proxy and rollout gate

Usage:
  paritygate [serve] --primary URL [--candidate URL] [--mirror-percent N] [--listen HOST:PORT] [--admin HOST:PORT]
                    [--config FILE] [--log-level LEVEL] [--workers N|auto]
  paritygate demo [--duration SECONDS]
  paritygate check-config FILE
  paritygate healthcheck [--admin HOST:PORT]   (exit 0 when /healthz/live answers 200; for container HEALTHCHECKs)
  paritygate --version | --help

Precedence: defaults < config file < environment (PARITYGATE_*) < flags.
Environment: PARITYGATE_PRIMARY, PARITYGATE_CANDIDATE, PARITYGATE_MIRROR_PERCENT, PARITYGATE_WORKERS, PARITYGATE_LISTEN, PARITYGATE_ADMIN,
PARITYGATE_CONFIG, PARITYGATE_LOG_LEVEL, PARITYGATE_ADMIN_TOKEN (Bearer token for admin changes).
Signals: SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the config file.
Defaults: listen 0.0.0.0:8000, admin 0.0.0.0:9000.
Exit codes: 0 success, 1 runtime failure, 2 bad input (flag, environment or config).`

const OPTIONS = {
  primary: { type: 'string' },
  candidate: { type: 'string' },
  'mirror-percent': { type: 'string' },
  workers: { type: 'string' },
  listen: { type: 'string' },
  admin: { type: 'string' },
  config: { type: 'string' },
  'log-level': { type: 'string' },
  duration: { type: 'string' },
  version: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const

/** The schema cannot check rule paths (`$.items[*].id`) or that the gate window fits the kept one; these can. */
function withRules (config: FrozenConfig): FrozenConfig {
  const errors = [...checkRules(config), ...checkGateSettings(config.gate)]
  if (errors.length > 0) throw new ConfigErrors(errors)
  return config
}

function fail (lines: string[]): void {
  for (const line of lines) process.stderr.write(`paritygate: ${line}\n`)
  process.exitCode = 2
}

async function main (argv: string[]): Promise<void> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (err) {
    fail([(err as Error).message, 'see paritygate --help'])
    return
  }
  const { values, positionals } = parsed
  if (values.help === true) { console.log(HELP); return }
  if (values.version === true) { console.log(VERSION); return }
  const command = positionals[0] ?? 'serve'

  if (command === 'check-config') {
    const file = positionals[1] ?? values.config
    if (file === undefined || positionals.length > 2) { fail(['usage: paritygate check-config FILE']); return }
    try {
      withRules(validateConfig(readConfigFile(file)))
      console.log(`${file}: valid`)
    } catch (err) {
      if (!(err instanceof ConfigErrors)) throw err
      fail(err.errors)
    }
    return
  }

  if (command === 'healthcheck') {
    const admin = values.admin ?? process.env.PARITYGATE_ADMIN ?? '127.0.0.1:9000'
    if (!isHostPort(admin)) { fail(['--admin: must be HOST:PORT']); return }
    const { host, port } = parseHostPort(admin)
    const target = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
    const res = await fetch(`http://${target}:${port}/healthz/live`, { signal: AbortSignal.timeout(2000) }).catch((err: Error) => err)
    if (res instanceof Error || res.status !== 200) {
      process.stderr.write(`paritygate: not live: ${res instanceof Error ? res.message : `status ${res.status}`}\n`)
      process.exitCode = 1
    }
    return
  }

  if (command === 'demo') {
    const duration = values.duration === undefined ? 5 : Number(values.duration)
    if (!Number.isFinite(duration) || duration <= 0 || duration > 3600) { fail(['--duration: must be a number of seconds from 1 to 3600']); return }
    const { runDemo } = await import('./demo/demo.ts')
    await runDemo({ durationSeconds: duration })
    return
  }

  if (command !== 'serve' || positionals.length > 1) { fail([`unknown command "${positionals.join(' ')}"`, 'see paritygate --help']); return }
  const flags: Overrides = { primary: values.primary, candidate: values.candidate, mirrorPercent: values['mirror-percent'], workers: values.workers, listen: values.listen, admin: values.admin, logLevel: values['log-level'] }
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
    process.stderr.write(`paritygate: cannot start: ${(err as Error).message}\n`)
    process.exitCode = (err as NodeJS.ErrnoException).code === 'EADDRINUSE' || (err as NodeJS.ErrnoException).code === 'EACCES' ? 2 : 1
  }
}

await main(process.argv.slice(2))
