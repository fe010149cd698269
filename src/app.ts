/* buildApp(config): wires pools, metrics, the proxy listener and the admin listener for one process; never listens itself. */
import { type Server } from 'node:http'
import { type AddressInfo } from 'node:net'
import { type FastifyInstance } from 'fastify'
import { type Pool } from 'undici'
import { buildAdmin, localBackend } from './admin/admin.ts'
import { VerdictNotifier } from './admin/notify.ts'
import { ComparisonEngine } from './compare/engine.ts'
import { ParityGate } from './gate/parity.ts'
import { parseHostPort, type FrozenConfig } from './config/index.ts'
import { createLogger, type Logger } from './logger.ts'
import { type BreakerEvent } from './mirror/breaker.ts'
import { MirrorController } from './mirror/controller.ts'
import { type MirrorObserver } from './mirror/types.ts'
import { connectionCap, createProxyServer, type ProxyState } from './proxy/proxy.ts'
import { RouteNamer } from './proxy/routes.ts'
import { createPrimaryPool } from './proxy/upstream.ts'
import { DeadlineList } from './deadlines.ts'
import { listenError, notesFor, registerGateGauges } from './process.ts'
import { ParityStats, type ParitySink, type VersionEvent } from './stats/parity.ts'
import { Metrics } from './stats/registry.ts'
import { versionOf } from './stats/version.ts'
import { VERSION } from './version.ts'
import { createMirrorObserver, createOutcomeHook, type VersionOf } from './wiring.ts'

function urlOf (address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `http://${host}:${address.port}`
}

/** Proxy settings the listener took at start (a reload cannot change them); the others are applied on reload. */
function listenerSettings (proxy: FrozenConfig['proxy']): unknown {
  const { requestIdHeader: _r, via: _v, xForwarded: _x, slowClientShare: _s, ...listener } = proxy
  return listener
}

/** How many slow exchanges may hold primary connections: proxy.slowClientShare of primary.connections, at least one. */
function slowClientCap (config: FrozenConfig): number {
  return Math.max(1, Math.floor(config.primary.connections * config.proxy.slowClientShare))
}

function proxyStateFor (config: FrozenConfig, pool: Pool, mirror: MirrorController | null, metrics: Metrics, log: Logger): ProxyState {
  return {
    pool,
    mirror,
    metrics,
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
    headersDeadlines: config.primary.timeoutMs > 0 ? new DeadlineList(config.primary.timeoutMs) : null,
    bodyDeadlines: config.primary.bodyTimeoutMs > 0 ? new DeadlineList(config.primary.bodyTimeoutMs) : null,
    clientChecks: new DeadlineList(config.proxy.slowClientAfterMs),
    clientTimeoutMs: config.proxy.clientTimeoutMs,
    uploadMinBytes: Math.max(1, Math.floor(config.proxy.clientMinBytesPerSecond * config.proxy.slowClientAfterMs / 1000)),
    slowClients: 0,
    slowClientCap: slowClientCap(config),
    maxHeaderCount: config.proxy.maxHeaderCount,
    draining: false,
    inflight: 0,
    onIdle: null
  }
}

/** Options of one process that are not config: secrets and test hooks. */
export interface AppOptions {
  /** a pino logger (tests pass one with a sink) @default JSON on stdout at config.log.level */
  logger?: Logger
  /** `PARITYGATE_ADMIN_TOKEN`: required as a Bearer token by the admin endpoints that change state */
  adminToken?: string | null
  /**
   * `worker`: one process of a `--workers` group: only the proxy listens; outcome counts and
   * latencies go to `paritySink` (the group's primary), which serves the admin port and the gate.
   * @default 'single'
   */
  role?: 'single' | 'worker'
  paritySink?: ParitySink
}

/** One paritygate process: the live listener, the admin listener and what they share. */
export class App {
  readonly log: Logger
  readonly metrics: Metrics
  readonly proxyState: ProxyState
  readonly proxy: Server
  readonly admin: FastifyInstance
  readonly observer: MirrorObserver
  readonly parity: ParityStats<FrozenConfig['gate']>
  /** the gate's answers over `parity` */
  readonly gate: ParityGate
  readonly notifier: VerdictNotifier
  /** the comparison engine; null while no candidate is configured */
  engine: ComparisonEngine | null
  #config: FrozenConfig
  #ready: boolean
  #closing: Promise<void> | null
  /** the addresses and listener settings in force since listen(): a reload compares against these */
  #listening: { listen: string, admin: string, proxy: FrozenConfig['proxy'], maxWindow: string } | null
  /** breaker logs: when the last `still unreachable` line was written (at most one a minute) */
  #breakerLoggedAt: number

  readonly role: 'single' | 'worker'
  readonly sink: ParitySink

  constructor (config: FrozenConfig, log: Logger, adminToken: string | null, role: 'single' | 'worker' = 'single', sink?: ParitySink) {
    this.#config = config
    this.log = log
    this.metrics = new Metrics(VERSION)
    this.role = role
    this.parity = new ParityStats(config.gate)
    this.gate = new ParityGate(this.parity)
    this.sink = sink ?? this.parity
    this.observer = createMirrorObserver(this.metrics, this.sink, log, () => this.engine, this.#versionOf)
    this.engine = config.candidate.url !== null ? new ComparisonEngine(config, createOutcomeHook(this.metrics, this.sink, log, this.#versionOf), () => log.isLevelEnabled('debug')) : null
    this.notifier = new VerdictNotifier(role === 'worker' ? { ...config.gate.notify, webhooks: [] } : config.gate.notify, () => this.gate.evaluate(), log)
    if (role === 'single') {
      registerGateGauges(this.metrics.registry, this.gate)
      this.parity.onVersion((event) => this.#versionChanged(event))
    }
    this.metrics.gaugeFrom('paritygate_compare_queue', 'Exchanges waiting for or in comparison', () => this.engine?.queued ?? 0)
    this.metrics.gaugeFrom('paritygate_samples', 'Mismatch samples kept', () => this.engine?.samples.size ?? 0)
    this.metrics.gaugeFrom('paritygate_samples_bytes', 'Approximate memory of the mismatch samples', () => this.engine?.samples.bytes ?? 0)
    this.metrics.gaugeFrom('paritygate_samples_evicted', 'Mismatch samples dropped to stay within the caps, since start', () => this.engine?.samples.evicted ?? 0)
    this.#listening = null
    this.#breakerLoggedAt = 0
    const mirror = this.#mirrorFor(config)
    this.proxyState = proxyStateFor(config, createPrimaryPool(config.primary, config.proxy.maxHeaderBytes), mirror, this.metrics, log)
    this.proxy = createProxyServer(this.proxyState, {
      ...config.proxy,
      // Descriptors kept back from the data port: upstream connections, the admin port, files and workers.
      maxConnections: connectionCap(config.proxy.maxConnections, 256 + config.primary.connections + 2 * config.candidate.connections)
    })
    this.admin = buildAdmin(localBackend({
      metrics: this.metrics,
      isReady: () => this.#ready,
      config: () => this.#config,
      mirror: () => this.proxyState.mirror,
      engine: () => this.engine,
      parity: this.parity,
      gate: this.gate,
      adminToken
    }), log)
    this.#ready = false
    this.#closing = null
    this.gate.setNotes(() => notesFor(this.#config, this.proxyState.mirror?.state ?? null))
  }

  /** A mirror controller for `config` (null without a candidate), its breaker's changes logged. */
  #mirrorFor (config: FrozenConfig, runtime?: MirrorController['runtime']): MirrorController | null {
    if (config.candidate.url === null) return null
    const mirror = new MirrorController(config, this.observer, runtime)
    mirror.breaker.onChange = (event) => this.#breakerChanged(event)
    return mirror
  }

  /**
   * A candidate going down or coming back is logged at warn and info: every open after a close and
   * every close, and while it stays down (a failed probe opens it again) one line a minute at most.
   */
  #breakerChanged (event: BreakerEvent): void {
    const now = Date.now()
    const since = new Date(event.since).toISOString()
    if (event.state === 'closed') {
      this.log.info({ since, downMs: now - event.since, reason: event.reason }, 'candidate reachable again: mirroring resumes')
      return
    }
    if (event.previous === 'closed') {
      this.#breakerLoggedAt = now
      this.log.warn({ since, reason: event.reason, cooldownMs: this.#config.candidate.breaker.cooldownMs }, `candidate unreachable: mirroring paused: ${event.reason ?? 'unknown'}`)
    } else if (now - this.#breakerLoggedAt >= 60_000) {
      this.#breakerLoggedAt = now
      this.log.warn({ since, reason: event.reason }, `candidate still unreachable: ${event.reason ?? 'unknown'}`)
    }
  }

  /** The config in force (replaced by a successful reload). */
  get config (): FrozenConfig { return this.#config }

  /** The candidate version of a pair, from `candidate.versionHeader` in force (read after capture, never on the live path). */
  #versionOf: VersionOf = (pair) => {
    const name = this.#config.candidate.versionHeader
    return name === null ? null : versionOf(pair.candidate.headers, name.toLowerCase())
  }

  /** The judged candidate version changed: field counts and samples follow the windows; logged and notified. */
  #versionChanged (event: VersionEvent): void {
    if (event.change === 'first') {
      this.log.info({ version: event.version }, 'candidate version seen: the gate judges it')
      return
    }
    this.engine?.reset()
    this.log.info({ previous: event.previous, version: event.version }, 'candidate version changed: gate windows, field counts and samples start afresh')
    this.notifier.versionChanged(event.previous, event.version).catch(() => {})
  }

  /** The primary's connection pool in force. */
  get primaryPool (): Pool { return this.proxyState.pool as Pool }

  /**
   * Applies a new, already validated config without dropping a connection: new pools take the
   * next requests, the old ones close once their requests finish. The listen and admin addresses
   * need a restart. Run-time mirror overrides (the kill switch) are kept.
   * @returns what could not be applied
   */
  reload (next: FrozenConfig): string[] {
    const prev = this.#config
    const state = this.proxyState
    const notes: string[] = []
    // Against what runs, not the previous file: a change back to the running address needs nothing.
    const running = this.#listening ?? { listen: prev.listen, admin: prev.admin, proxy: prev.proxy, maxWindow: prev.gate.maxWindow }
    if (next.listen !== running.listen) notes.push(`listen: changes need a restart (listening on ${running.listen})`)
    if (next.admin !== running.admin && this.role === 'single') notes.push(`admin: changes need a restart (listening on ${running.admin})`)
    if (JSON.stringify(listenerSettings(next.proxy)) !== JSON.stringify(listenerSettings(running.proxy))) notes.push('proxy: listener settings (header size, keep-alive) need a restart; forwarding options applied')
    if (JSON.stringify(next.primary) !== JSON.stringify(prev.primary)) {
      const old = state.pool as Pool
      state.pool = createPrimaryPool(next.primary, next.proxy.maxHeaderBytes)
      old.close().catch(() => old.destroy())
    }
    // A run-time override (PUT /api/v1/mirror) stays in force until the file changes that key:
    // then the file's new word wins. Either way the reload's notes say so.
    let runtime = state.mirror?.runtime ?? { enabled: null, percent: null }
    if (runtime.percent !== null && next.mirror.percent !== prev.mirror.percent) {
      notes.push(`mirror.percent: the file's new ${next.mirror.percent} replaces the run-time ${runtime.percent}`)
      runtime = { ...runtime, percent: null }
    }
    if (runtime.enabled !== null && next.mirror.enabled !== prev.mirror.enabled) {
      notes.push(`mirror.enabled: the file's new ${String(next.mirror.enabled)} replaces the run-time ${String(runtime.enabled)}`)
      runtime = { ...runtime, enabled: null }
    }
    if (runtime.percent !== null && runtime.percent !== next.mirror.percent) notes.push(`mirror.percent: the run-time ${runtime.percent} stays in force over the file's ${next.mirror.percent} (PUT /api/v1/mirror, or a new mirror.percent in the file, replaces it)`)
    if (runtime.enabled !== null && runtime.enabled !== next.mirror.enabled) notes.push(`mirror.enabled: the run-time ${String(runtime.enabled)} stays in force over the file's ${String(next.mirror.enabled)} (PUT /api/v1/mirror, or a new mirror.enabled in the file, replaces it)`)
    const overrides = state.mirror?.runtime
    if (JSON.stringify([next.candidate, next.mirror, next.proxy.maxHeaderBytes, next.noise]) !== JSON.stringify([prev.candidate, prev.mirror, prev.proxy.maxHeaderBytes, prev.noise]) ||
        overrides?.percent !== runtime.percent || overrides?.enabled !== runtime.enabled) {
      const old = state.mirror
      state.mirror = this.#mirrorFor(next, runtime)
      if (old !== null) old.close().catch(() => {})
    }
    if (next.candidate.url === null) {
      this.engine?.close().catch(() => {})
      this.engine = null
    } else if (this.engine === null) {
      this.engine = new ComparisonEngine(next, createOutcomeHook(this.metrics, this.sink, this.log, this.#versionOf), () => this.log.isLevelEnabled('debug'))
    } else {
      this.engine.reconfigure(next)
    }
    this.parity.update(next.gate)
    if (next.gate.maxWindow !== running.maxWindow) notes.push(`gate.maxWindow: changes need a restart (${running.maxWindow} in force)`)
    const fresh = proxyStateFor(next, state.pool as Pool, state.mirror, this.metrics, this.log)
    state.routes = fresh.routes
    state.forwarding = fresh.forwarding
    state.requestIdHeader = fresh.requestIdHeader
    state.via = fresh.via
    state.slowClientCap = fresh.slowClientCap
    // Exchanges in flight keep the deadline list they joined; new ones get the new lengths.
    if (next.primary.timeoutMs !== prev.primary.timeoutMs) state.headersDeadlines = fresh.headersDeadlines
    if (next.primary.bodyTimeoutMs !== prev.primary.bodyTimeoutMs) state.bodyDeadlines = fresh.bodyDeadlines
    this.log.level = next.log.level
    this.#config = next
    return notes
  }

  get ready (): boolean { return this.#ready }

  /**
   * Starts both listeners; `0` ports pick free ones.
   * @returns the URLs they listen on
   */
  async listen (proxyAddr = this.config.listen, adminAddr = this.config.admin): Promise<{ proxy: string, admin: string }> {
    const p = parseHostPort(proxyAddr)
    try {
      await new Promise<void>((resolve, reject) => {
        this.proxy.once('error', reject)
        this.proxy.listen(p.port, p.host, () => { this.proxy.off('error', reject); resolve() })
      })
    } catch (err) {
      await this.close()
      throw listenError('proxy', proxyAddr, err as NodeJS.ErrnoException)
    }
    const proxy = urlOf(this.proxy.address() as AddressInfo)
    this.#listening = { listen: proxyAddr, admin: adminAddr, proxy: this.config.proxy, maxWindow: this.config.gate.maxWindow }
    if (this.role === 'worker') { // the group's primary serves the admin port
      this.#ready = true
      return { proxy, admin: '' }
    }
    const a = parseHostPort(adminAddr)
    try {
      await this.admin.listen({ host: a.host, port: a.port })
    } catch (err) {
      // No proxy without its health endpoints: an orchestrator would never see it ready, nor stop it.
      await this.close()
      throw listenError('admin', adminAddr, err as NodeJS.ErrnoException)
    }
    this.#ready = true
    this.notifier.start()
    return { proxy, admin: urlOf(this.admin.server.address() as AddressInfo) }
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
    state.mirror?.shutdown()
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
      this.notifier.stop()
      if (this.proxy.listening) {
        const closed = new Promise<void>((resolve) => this.proxy.close(() => resolve()))
        this.proxy.closeAllConnections()
        await closed
      }
      await this.admin.close()
      await this.proxyState.mirror?.close(true)
      await this.engine?.close()
      await this.primaryPool.close().catch(() => this.primaryPool.destroy())
    })()
    return this.#closing
  }
}

/**
 * Builds one process's app from a validated config.
 */
export function buildApp (config: FrozenConfig, opts: AppOptions = {}): App {
  const log = opts.logger ?? createLogger(config.log.level, config.redact.headers)
  return new App(config, log, opts.adminToken ?? null, opts.role ?? 'single', opts.paritySink)
}
