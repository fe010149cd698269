/* Process entry for `serve`: the only place that listens on configured ports and installs signal handlers. */
import { buildApp, type App } from './app.ts'
import { startupSummary } from './process.ts'
import { ConfigErrors, type FrozenConfig } from './config/index.ts'
import { createLogger } from './logger.ts'
import { VERSION } from './version.ts'

/**
 * Runs paritygate until SIGTERM or SIGINT, then drains (exit code 0).
 * SIGHUP calls `opts.reload()` again (file, environment, flags) and applies a valid result; an
 * invalid one is refused with one log line and the old config keeps serving.
 */
export async function serve (config: FrozenConfig, opts: { reload?: () => FrozenConfig, adminToken?: string | null } = {}): Promise<App> {
  const log = createLogger(config.log.level, config.redact.headers)
  const app = buildApp(config, { logger: log, adminToken: opts.adminToken ?? null })
  const addresses = await app.listen()
  const { summary, warnings } = startupSummary(config, addresses, (opts.adminToken ?? null) !== null)
  log.info({ version: VERSION, ...summary }, 'paritygate listening')
  for (const warning of warnings) log.warn(warning)

  let stopping = false
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    log.info({ signal, graceMs: config.shutdown.graceMs, inflight: app.proxyState.inflight }, 'draining before exit')
    app.drain().then(() => {
      log.info('stopped')
      process.removeListener('SIGHUP', onHup)
    }, (err: Error) => {
      log.error({ err }, 'error while draining')
      process.exitCode = 1
    })
  }
  const onHup = () => {
    if (opts.reload === undefined || stopping) return
    let next: FrozenConfig
    try {
      next = opts.reload()
    } catch (err) {
      app.metrics.configReloads.labels('failure').inc()
      log.error({ errors: err instanceof ConfigErrors ? err.errors : [(err as Error).message] }, 'config reload refused: the running config stays in force')
      return
    }
    const notes = app.reload(next)
    app.metrics.configReloads.labels('success').inc()
    log.info({ notes, mirror: app.proxyState.mirror?.state ?? null }, 'config reloaded')
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  process.on('SIGHUP', onHup)
  return app
}
