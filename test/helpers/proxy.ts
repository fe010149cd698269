/* Builds and starts paritygate on ephemeral loopback ports for a test, with logs captured in memory. */
import { Writable } from 'node:stream'
import { type TestContext } from 'node:test'
import { buildApp, type App } from '../../src/app.ts'
import { validateConfig, type FrozenConfig } from '../../src/config/index.ts'
import { createLogger } from '../../src/logger.ts'

export interface StartedProxy {
  app: App
  config: FrozenConfig
  /** http://127.0.0.1:PORT of the live listener */
  url: string
  port: number
  admin: string
  /** every JSON log line written so far */
  logs: Array<Record<string, unknown>>
  /** the raw log text */
  logText: () => string
}

/** Starts paritygate with `config` (primary required; listen/admin default to 127.0.0.1:0); closed in `t.after`. */
export async function startProxy (t: TestContext, config: Record<string, unknown>, opts: { adminToken?: string } = {}): Promise<StartedProxy> {
  // Tests count mirrors exactly: on a loaded CI machine, shedding on event-loop lag would drop some.
  const mirror = { maxEventLoopLagMs: 60_000, ...(config.mirror as Record<string, unknown> | undefined) }
  // Nor a noise baseline unless asked for (noise.percent is 5 by default): tests count the primary's requests.
  const noise = { percent: 0, ...(config.noise as Record<string, unknown> | undefined) }
  const full = validateConfig({ listen: '127.0.0.1:0', admin: '127.0.0.1:0', ...config, mirror, noise })
  let text = ''
  const logs: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write (chunk: Buffer, _enc, cb) {
      text += chunk.toString()
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line))
      cb()
    }
  })
  const app = buildApp(full, { logger: createLogger(full.log.level, full.redact.headers, sink), adminToken: opts.adminToken ?? null })
  t.after(() => app.close())
  const addresses = await app.listen()
  return { app, config: full, url: addresses.proxy, port: Number(new URL(addresses.proxy).port), admin: addresses.admin, logs, logText: () => text }
}
