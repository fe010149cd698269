/* The Prometheus metrics of one app instance, in a registry of its own (never the global one). */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { FastCounter, FastHistogram, type HistogramChild } from './fast-metrics.ts'
import { type Target } from './latency.ts'

/** Latency buckets in seconds, from 0.5 ms to 30 s. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
/** The proxy's own cost is tens of microseconds: finer buckets. */
const OVERHEAD_BUCKETS = [0.00002, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05]

/** Status class label: 1xx..5xx, or `error` when no response came. */
export function statusClass (status: number): string {
  if (status >= 100 && status < 600) return STATUS_CLASSES[Math.floor(status / 100)]
  return 'error'
}
const STATUS_CLASSES = ['error', '1xx', '2xx', '3xx', '4xx', '5xx']
const OUTCOMES = ['match', 'mismatch', 'noise', 'error', 'skipped']
/** Reasons of paritygate_client_rejections_total; every series exists from the start at 0. */
export const CLIENT_REJECTIONS = ['max_connections', 'headers_timeout', 'header_overflow', 'too_many_headers', 'bad_request', 'client_timeout', 'slow_share'] as const
export type ClientRejection = typeof CLIENT_REJECTIONS[number]

/** The metrics of one process; recording costs one Map lookup of a bound child, not a label hash. */
export class Metrics {
  readonly registry: Registry
  /** in a `--workers` group's worker: the prom-client aggregator that answers the primary */
  aggregator: Registry | null
  readonly requests: FastCounter
  readonly duration: FastHistogram
  readonly overhead: FastHistogram
  readonly buildInfo: Gauge<'version'>
  readonly mirrorDecisions: FastCounter
  readonly mirrorOffloaded: FastCounter
  readonly mirrorInflight: Gauge
  /** mirrors in flight now; paritygate_mirror_inflight reports it */
  mirrorInflightNow = 0
  readonly candidateErrors: Counter<'reason'>
  readonly configReloads: Counter<'result'>
  /** clients the data port refused or cut off, by reason (see CLIENT_REJECTIONS) */
  readonly clientRejections: Counter<'reason'>
  readonly comparisons: FastCounter
  readonly candidateServerErrors: FastCounter
  #comparedRoutes: Set<string>
  #overheadChild: HistogramChild

  constructor (version: string) {
    const registry = new Registry()
    const registers = [registry]
    this.registry = registry
    this.aggregator = null
    this.requests = new FastCounter({
      name: 'paritygate_requests_total',
      help: 'Upstream exchanges by target, route, method and status class (error: no response)',
      labelNames: ['target', 'route', 'method', 'status'],
      registers
    })
    this.duration = new FastHistogram({
      name: 'paritygate_request_duration_seconds',
      help: 'Upstream exchange duration, from dispatch to the last byte of the response',
      labelNames: ['target', 'route'],
      buckets: DURATION_BUCKETS,
      registers
    })
    this.overhead = new FastHistogram({
      name: 'paritygate_proxy_overhead_seconds',
      help: 'Time the proxy adds on the live path: total time minus time waiting on the primary',
      buckets: OVERHEAD_BUCKETS,
      registers
    })
    this.buildInfo = new Gauge({ name: 'paritygate_build_info', help: 'Build information', labelNames: ['version'], registers, aggregator: 'first' })
    this.buildInfo.set({ version }, 1)
    this.mirrorDecisions = new FastCounter({
      name: 'paritygate_mirror_decisions_total',
      help: 'Mirroring decision per request: mirrored, or why not',
      labelNames: ['route', 'decision'],
      registers
    })
    this.mirrorOffloaded = new FastCounter({
      name: 'paritygate_mirror_offloaded_total',
      help: 'Mirrored requests whose candidate answer was received by the I/O thread (large-answer routes, mirror.offloadFromBytes)',
      labelNames: ['route'],
      registers
    })
    // Read at scrape time: prom-client's set() allocates, and the mirror changes the count twice per request.
    const metrics = this
    this.mirrorInflight = new Gauge({ name: 'paritygate_mirror_inflight', help: 'Mirrored requests awaiting the candidate', registers, collect () { this.set(metrics.mirrorInflightNow) } })
    this.candidateErrors = new Counter({
      name: 'paritygate_candidate_errors_total',
      help: 'Candidate exchanges that ended without a complete answer, by reason',
      labelNames: ['reason'],
      registers
    })
    this.configReloads = new Counter({ name: 'paritygate_config_reloads_total', help: 'SIGHUP reloads by result', labelNames: ['result'], registers })
    this.clientRejections = new Counter({
      name: 'paritygate_client_rejections_total',
      help: 'Clients the data port refused or cut off: max_connections, headers_timeout, header_overflow, too_many_headers, bad_request, client_timeout, slow_share',
      labelNames: ['reason'],
      registers
    })
    for (const reason of CLIENT_REJECTIONS) this.clientRejections.labels(reason)
    this.comparisons = new FastCounter({
      name: 'paritygate_comparisons_total',
      help: 'Compared exchanges by route and outcome (match, mismatch, noise, error, skipped)',
      labelNames: ['route', 'outcome'],
      registers
    })
    this.candidateServerErrors = new FastCounter({
      name: 'paritygate_candidate_server_errors_total',
      help: 'Candidate answers 5xx where the primary answered, and not 5xx: errors in the gate\'s errors check (also mismatches)',
      labelNames: ['route'],
      registers
    })

    collectDefaultMetrics({ register: registry })
    this.#overheadChild = this.overhead.labels()
    this.#comparedRoutes = new Set()
  }

  /** Counts one mirroring decision. */
  recordDecision (route: string, decision: string): void {
    this.mirrorDecisions.labels(route, decision).inc()
  }

  /**
   * Counts one comparison outcome. A route's first outcome creates all five series at 0, so that
   * `rate(...{outcome="mismatch"})` of a perfect candidate is 0, not an absent series (with which
   * the documented ratio query (docs/operations.md) would never pass).
   */
  recordComparison (route: string, outcome: string): void {
    if (!this.#comparedRoutes.has(route)) {
      this.#comparedRoutes.add(route)
      for (const o of OUTCOMES) this.comparisons.labels(route, o)
      this.candidateServerErrors.labels(route)
    }
    this.comparisons.labels(route, outcome).inc()
  }

  /** Counts a candidate 5xx where the primary's answer was not 5xx (its series exists from the route's first comparison). */
  recordServerError (route: string): void {
    this.candidateServerErrors.labels(route).inc()
  }

  /** A gauge whose value is read at scrape time. */
  gaugeFrom (name: string, help: string, read: () => number): Gauge {
    return new Gauge({ name, help, registers: [this.registry], collect () { this.set(read()) } })
  }

  /** Records the time the proxy added to one live request. */
  recordOverhead (seconds: number): void {
    this.#overheadChild.observe(seconds)
  }

  /** Counts one exchange and its duration in seconds (status 0: no response); the candidate's `error` series exists from its first exchange. */
  recordExchange (target: Target, route: string, method: string, status: number, seconds: number): void {
    if (target === 'candidate') this.requests.labels(target, route, method, 'error')
    this.requests.labels(target, route, method, statusClass(status)).inc()
    if (seconds >= 0) this.duration.labels(target, route).observe(seconds)
  }
}
