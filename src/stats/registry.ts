/* The Prometheus metrics of one app instance, in a registry of its own (never the global one). */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { FastCounter, FastHistogram, type CounterChild, type HistogramChild } from './fast-metrics.ts'

/** Latency buckets in seconds, from 0.5 ms to 30 s. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
/** The proxy's own cost is tens of microseconds: finer buckets. */
const OVERHEAD_BUCKETS = [0.00002, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05]

export type Target = 'primary' | 'candidate'

/** Status class label: 1xx..5xx, or `error` when no response came. */
export function statusClass (status: number): string {
  if (status >= 100 && status < 600) return STATUS_CLASSES[Math.floor(status / 100)]
  return 'error'
}
const STATUS_CLASSES = ['error', '1xx', '2xx', '3xx', '4xx', '5xx']

/** Metrics plus a cache of bound children, so that recording costs one Map lookup, not a label hash. */
export class Metrics {
  readonly registry: Registry
  /** in a `--workers` group's worker: the prom-client aggregator that answers the primary */
  aggregator: Registry | null
  readonly requests: FastCounter
  readonly duration: FastHistogram
  readonly overhead: FastHistogram
  readonly buildInfo: Gauge<'version'>
  readonly mirrorDecisions: FastCounter
  readonly mirrorInflight: Gauge
  readonly candidateErrors: Counter<'reason'>
  readonly configReloads: Counter<'result'>
  readonly comparisons: FastCounter
  #comparisonChildren: Map<string, CounterChild>
  #decisionChildren: Map<string, CounterChild>
  #requestChildren: Map<string, CounterChild>
  #durationChildren: Map<string, HistogramChild>
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
    this.mirrorInflight = new Gauge({ name: 'paritygate_mirror_inflight', help: 'Mirrored requests awaiting the candidate', registers })
    this.candidateErrors = new Counter({
      name: 'paritygate_candidate_errors_total',
      help: 'Candidate exchanges that ended without a complete answer, by reason',
      labelNames: ['reason'],
      registers
    })
    this.configReloads = new Counter({ name: 'paritygate_config_reloads_total', help: 'SIGHUP reloads by result', labelNames: ['result'], registers })
    this.#decisionChildren = new Map()
    this.comparisons = new FastCounter({
      name: 'paritygate_comparisons_total',
      help: 'Compared exchanges by route and outcome (match, mismatch, noise, error, skipped)',
      labelNames: ['route', 'outcome'],
      registers
    })
    this.#comparisonChildren = new Map()
    collectDefaultMetrics({ register: registry })
    this.#requestChildren = new Map()
    this.#durationChildren = new Map()
    this.#overheadChild = this.overhead.labels()
  }

  /** Counts one mirroring decision. */
  recordDecision (route: string, decision: string): void {
    const key = `${route}\0${decision}`
    let counter = this.#decisionChildren.get(key)
    if (counter === undefined) {
      counter = this.mirrorDecisions.labels(route, decision)
      this.#decisionChildren.set(key, counter)
    }
    counter.inc()
  }

  /** Counts one comparison outcome. */
  recordComparison (route: string, outcome: string): void {
    const key = `${route}\0${outcome}`
    let counter = this.#comparisonChildren.get(key)
    if (counter === undefined) {
      counter = this.comparisons.labels(route, outcome)
      this.#comparisonChildren.set(key, counter)
    }
    counter.inc()
  }

  /** A gauge whose value is read at scrape time. */
  gaugeFrom (name: string, help: string, read: () => number): Gauge {
    return new Gauge({ name, help, registers: [this.registry], collect () { this.set(read()) } })
  }

  /** Records the time the proxy added to one live request. */
  recordOverhead (seconds: number): void {
    this.#overheadChild.observe(seconds)
  }

  /** Counts one exchange and its duration in seconds (status 0: no response). */
  recordExchange (target: Target, route: string, method: string, status: number, seconds: number): void {
    const cls = statusClass(status)
    const key = `${target}\0${route}\0${method}\0${cls}`
    let counter = this.#requestChildren.get(key)
    if (counter === undefined) {
      counter = this.requests.labels(target, route, method, cls)
      this.#requestChildren.set(key, counter)
    }
    counter.inc()
    if (seconds >= 0) {
      const dkey = `${target}\0${route}`
      let hist = this.#durationChildren.get(dkey)
      if (hist === undefined) {
        hist = this.duration.labels(target, route)
        this.#durationChildren.set(dkey, hist)
      }
      hist.observe(seconds)
    }
  }
}
