/* buildApp(config): wires pools, metrics, the proxy listener and the admin listener for one process; never listens itself. */
import { type Server } from 'node:http'
import { type AddressInfo } from 'node:net'
import { type FastifyInstance } from 'fastify'
import { type Pool } from 'undici'
import { buildAdmin } from './admin/admin.ts'
import { parseHostPort, type FrozenConfig } from './config/index.ts'
import { createLogger, type Logger } from './logger.ts'
import { createProxyServer, type ProxyState } from './proxy/proxy.ts'
import { RouteNamer } from './proxy/routes.ts'
import { createPrimaryPool } from './proxy/upstream.ts'
import { Metrics } from './stats/registry.ts'
import { VERSION } from './version.ts'

function urlOf (address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `http://${host}:${address.port}`
}

/** One paritygate process: the live listener, the admin listener and what they share. */
export class App {
  readonly config: FrozenConfig
  readonly log: Logger
  readonly metrics: Metrics
  readonly primaryPool: Pool
  readonly proxyState: ProxyState
  readonly proxy: Server
  readonly admin: FastifyInstance
  #ready: boolean
  #closing: Promise<void> | null

  constructor (config: FrozenConfig, log: Logger) {
    this.config = config
    this.log = log
    this.metrics = new Metrics(VERSION)
    this.primaryPool = createPrimaryPool(config.primary, config.proxy.maxHeaderBytes)
    this.proxyState = {
      pool: this.primaryPool,
      metrics: this.metrics,
      log,
      routes: new RouteNamer(config.routes, config.maxRoutes),
      forwarding: {
        requestIdHeader: config.proxy.requestIdHeader.toLowerCase(),
        host: config.primary.host,
        xForwarded: config.proxy.xForwarded,
        via: config.proxy.via
      },
      requestIdHeader: config.proxy.requestIdHeader.toLowerCase(),
      via: config.proxy.via,
      draining: false,
      inflight: 0,
      onIdle: null
    }
    this.proxy = createProxyServer(this.proxyState, config.proxy.maxHeaderBytes, config.proxy.keepAliveTimeoutMs)
    this.admin = buildAdmin({ metrics: this.metrics, isReady: () => this.#ready }, log)
    this.#ready = false
    this.#closing = null
  }

  get ready (): boolean { return this.#ready }

  /**
   * Starts both listeners; `0` ports pick free ones.
   * @returns the URLs they listen on
   */
  async listen (proxyAddr = this.config.listen, adminAddr = this.config.admin): Promise<{ proxy: string, admin: string }> {
    const p = parseHostPort(proxyAddr)
    await new Promise<void>((resolve, reject) => {
      this.proxy.once('error', reject)
      this.proxy.listen(p.port, p.host, () => { this.proxy.off('error', reject); resolve() })
    })
    const a = parseHostPort(adminAddr)
    await this.admin.listen({ host: a.host, port: a.port })
    this.#ready = true
    return { proxy: urlOf(this.proxy.address() as AddressInfo), admin: urlOf(this.admin.server.address() as AddressInfo) }
  }

  /**
   * Graceful stop: readiness turns 503, after `delayMs` the listener stops accepting, in-flight
   * requests finish (answers now carry `Connection: close`) within `graceMs`, then everything closes.
   */
  async drain (graceMs = this.config.shutdown.graceMs, delayMs = this.config.shutdown.delayMs): Promise<void> {
    this.#ready = false
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs).unref())
    const state = this.proxyState
    state.draining = true
    const stopped = new Promise<void>((resolve) => this.proxy.close(() => resolve()))
    this.proxy.closeIdleConnections()
    if (state.inflight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs)
        state.onIdle = () => { clearTimeout(timer); resolve() }
      })
      if (state.inflight > 0) this.log.warn({ inflight: state.inflight }, 'shutdown grace period over: closing the requests still in flight')
    }
    this.proxy.closeAllConnections()
    await stopped
    await this.close()
  }

  /** Closes listeners and pools at once. */
  async close (): Promise<void> {
    this.#closing ??= (async () => {
      this.#ready = false
      this.proxyState.draining = true
      if (this.proxy.listening) {
        const closed = new Promise<void>((resolve) => this.proxy.close(() => resolve()))
        this.proxy.closeAllConnections()
        await closed
      }
      await this.admin.close()
      await this.primaryPool.close().catch(() => this.primaryPool.destroy())
    })()
    return this.#closing
  }
}

/**
 * Builds one process's app from a validated config.
 * @param opts.logger a pino logger (tests pass one with a sink) @default a JSON logger on stdout at config.log.level
 */
export function buildApp (config: FrozenConfig, opts: { logger?: Logger } = {}): App {
  const log = opts.logger ?? createLogger(config.log.level, config.redact.headers)
  return new App(config, log)
}
