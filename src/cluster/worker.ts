/* One proxy process of a `--workers` group: serves the live path, sends its outcome counts and latencies to the primary, answers its queries. */
import { AggregatorRegistry } from 'prom-client'
import { buildApp, type App } from '../app.ts'
import { ConfigErrors, type FrozenConfig } from '../config/index.ts'
import { type ParitySink } from '../stats/parity.ts'
import { type Logger } from '../logger.ts'
import { type MirrorDecision } from '../mirror/types.ts'
import { type Target } from '../stats/latency.ts'
import { type Counter } from '../stats/window.ts'
import { type PrimaryMessage, type StatsMessage } from './protocol.ts'

/** Most latency samples held between two flushes; beyond, samples are dropped (the counts never are). */
const MAX_PENDING_TIMES = 50_000
/** Most distinct candidate versions reported in one batch (a flood of values is not a rollout). */
const MAX_BATCH_VERSIONS = 8

/**
 * Batches outcome counts and latencies and sends them to the primary every `intervalMs`:
 * one IPC message per interval, not one per request.
 */
export class IpcParitySink implements ParitySink {
  #counts: Map<string, number>
  #times: Array<[string, Target, number, string]>
  #versions: string[]
  #decisions: Map<string, number>
  #timer: NodeJS.Timeout
  droppedTimes: number

  constructor (intervalMs = 100) {
    this.#counts = new Map()
    this.#times = []
    this.#versions = []
    this.#decisions = new Map()
    this.droppedTimes = 0
    this.#timer = setInterval(() => this.flush(), intervalMs).unref()
  }

  count (route: string, kind: Counter, version?: string | null): void {
    const key = `${route}\u0000${kind}\u0000${version ?? ''}`
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1)
  }

  time (route: string, target: Target, micros: number, version?: string | null): void {
    if (this.#times.length >= MAX_PENDING_TIMES) { this.droppedTimes++; return }
    this.#times.push([route, target, Math.round(micros), version ?? ''])
  }

  decision (route: string, decision: MirrorDecision): void {
    const key = `${route}\u0000${decision}`
    this.#decisions.set(key, (this.#decisions.get(key) ?? 0) + 1)
  }

  /** The primary judges versions for the group: it hears each one seen, in order, once per batch. */
  version (version: string | null): undefined {
    if (version === null || this.#versions[this.#versions.length - 1] === version) return undefined
    if (this.#versions.includes(version)) this.#versions.splice(this.#versions.indexOf(version), 1)
    else if (this.#versions.length >= MAX_BATCH_VERSIONS) this.#versions.shift()
    this.#versions.push(version)
  }

  flush (): void {
    if ((this.#counts.size === 0 && this.#times.length === 0 && this.#versions.length === 0 && this.#decisions.size === 0) || process.send === undefined || !process.connected) return
    const counts: StatsMessage['counts'] = []
    for (const [key, n] of this.#counts) {
      const [route, kind, version] = key.split('\u0000')
      counts.push([route, kind as Counter, n, version])
    }
    const decisions: NonNullable<StatsMessage['decisions']> = []
    for (const [key, n] of this.#decisions) {
      const [route, decision] = key.split('\u0000')
      decisions.push([route, decision, n])
    }
    const message: StatsMessage = { pg: 'stats', counts, times: this.#times, versions: this.#versions, decisions }
    this.#decisions = new Map()
    this.#counts = new Map()
    this.#times = []
    this.#versions = []
    process.send(message)
  }

  stop (): void {
    clearInterval(this.#timer)
    this.flush()
  }
}

function reply (id: number, result: unknown, error?: string): void {
  if (process.send !== undefined && process.connected) process.send({ pg: 'answer', id, result, error })
}

/** Answers one query of the primary from this worker's app. */
async function answer (app: App, msg: Extract<PrimaryMessage, { pg: 'query' }>, reload: () => FrozenConfig): Promise<unknown> {
  const args = msg.args as Record<string, unknown>
  switch (msg.op) {
    case 'mirrorState': return app.proxyState.mirror?.state ?? null
    case 'setMirror': {
      const mirror = app.proxyState.mirror
      if (mirror === null) return null
      mirror.setRuntime(args as { enabled?: boolean, percent?: number })
      return mirror.state
    }
    case 'fields': return app.engine?.fieldReport(args.route as string | null) ?? []
    case 'noise': return app.engine?.noiseReport(args.route as string | null) ?? []
    case 'mismatches': {
      const engine = app.engine
      return { signatures: engine?.samples.groups(args.route as string | null, args.limit as number) ?? [], stored: engine?.samples.size ?? 0, evicted: engine?.samples.evicted ?? 0 }
    }
    case 'sample': {
      return app.engine?.samples.view(args.id as string) ?? null
    }
    case 'reset':
      app.engine?.reset()
      return true
    case 'reload': {
      let next: FrozenConfig
      try {
        next = reload()
      } catch (err) {
        throw new Error(err instanceof ConfigErrors ? err.errors.join('; ') : (err as Error).message)
      }
      return app.reload(next)
    }
  }
}

/**
 * Runs this process as a worker: builds the app without an admin listener, listens on the shared
 * proxy port, and follows the primary's instructions. SIGTERM and SIGINT are the primary's to
 * handle; a worker drains when told to, or when the primary goes away.
 */
export async function runWorker (config: FrozenConfig, opts: { log: Logger, reload: () => FrozenConfig, adminToken: string | null }): Promise<App> {
  const sink = new IpcParitySink()
  const app = buildApp(config, { logger: opts.log, adminToken: opts.adminToken, role: 'worker', paritySink: sink })
  // Constructing one is what makes prom-client answer the primary's metrics requests in a worker.
  AggregatorRegistry.setRegistries([app.metrics.registry])
  app.metrics.aggregator = new AggregatorRegistry()
  const { proxy } = await app.listen()
  let draining = false
  const drain = () => {
    if (draining) return
    draining = true
    // The primary already waited shutdown.delayMs before telling the workers to drain.
    app.drain(app.config.shutdown.graceMs, 0).then(() => {
      sink.stop()
      process.disconnect?.()
    }, (err: Error) => {
      opts.log.error({ err }, 'worker drain failed')
      process.exitCode = 1
      process.disconnect?.()
    })
  }
  process.on('SIGTERM', () => {})
  process.on('SIGINT', () => {})
  process.on('SIGHUP', () => {})
  process.on('disconnect', drain)
  process.on('message', (msg: PrimaryMessage) => {
    if (msg === null || typeof msg !== 'object' || !('pg' in msg)) return
    if (msg.pg === 'drain') drain()
    else if (msg.pg === 'query') answer(app, msg, opts.reload).then((r) => reply(msg.id, r), (err: Error) => reply(msg.id, null, err.message))
  })
  process.send?.({ pg: 'ready', proxy })
  return app
}
