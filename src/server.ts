/* Process entry for `serve`: the only place that listens on configured ports and installs signal handlers. */
import { buildApp, type App } from './app.ts'
import { type FrozenConfig } from './config/index.ts'
import { createLogger } from './logger.ts'
import { VERSION } from './version.ts'

/**
 * Runs paritygate until SIGTERM or SIGINT, then drains and resolves (exit code 0).
 * SIGHUP is caught so that it never kills the process.
 */
export async function serve (config: FrozenConfig): Promise<App> {
  const log = createLogger(config.log.level, config.redact.headers)
  const app = buildApp(config, { logger: log })
  const addresses = await app.listen()
  log.info({ version: VERSION, proxy: addresses.proxy, admin: addresses.admin, primary: config.primary.url }, 'paritygate listening')

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
  const onHup = () => log.info('SIGHUP received: nothing to reload in this version')
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  process.on('SIGHUP', onHup)
  return app
}
