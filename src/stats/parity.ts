/* The gate's evidence for one process: rolling outcome counts, mirror decisions and latency histograms in, route reports and time series out (the verdicts are gate/parity.ts's). */
import { parseWindow } from '../config/window.ts'
import { DECISIONS, isDecision, type MirrorDecision } from './decisions.ts'
import { LatencyHistograms, type Target } from './latency.ts'
import { VersionTracker, type VersionChange } from './version.ts'
import { COUNTERS, RollingWindow, type Counter } from './window.ts'

/** The `gate` config section, as far as the evidence needs it (the budgets the gate reads ride along). */
export interface EvidenceSettings {
  window: string
  maxWindow: string
  maxRoutes: number
  /** drawn on the history's chart */
  mismatchBudget: number
}

/** Route report of `GET /api/v1/routes`. */
export interface RouteReport {
  route: string
  counts: Record<Counter, number>
  mismatchRatio: number
  primary: { count: number, p50Ms: number, p95Ms: number, p99Ms: number }
  candidate: { count: number, p50Ms: number, p95Ms: number, p99Ms: number }
}

/** Time series of `GET /api/v1/history`: oldest point first; a point is the bucket starting at `start + k * stepMs`. */
export interface HistoryReport {
  window: string
  route: string | null
  /** the outcome and decision series: one point per 10 s bucket (or per group of buckets, at most 360 points) */
  start: number
  stepMs: number
  /** requests seen by the mirror (every decision), mirrored, each outcome, dropped, errors, serverErrors */
  counts: Record<'requests' | Counter, number[]>
  /** mismatch / (match + mismatch + noise) per point, null where nothing was compared */
  mismatchRatio: Array<number | null>
  /** the mismatch budget, for the chart's line */
  mismatchBudget: number
  decisions: Record<MirrorDecision, number[]>
  /** latency percentiles per latency bucket (30 s) */
  latency: {
    start: number
    stepMs: number
    primary: { count: number[], p50Ms: number[], p95Ms: number[], p99Ms: number[] }
    candidate: { count: number[], p50Ms: number[], p95Ms: number[], p99Ms: number[] }
  }
}

/**
 * Where outcome counts and latencies go: the windows of this process, or the primary of a worker
 * group. `version` is the candidate version of the answer counted (from `candidate.versionHeader`),
 * null or absent when unknown: counts of another version than the judged one are not evidence.
 */
export interface ParitySink {
  count: (route: string, kind: Counter, version?: string | null) => void
  time: (route: string, target: Target, micros: number, version?: string | null) => void
  /** a mirror decision (for the history of decisions); absent where nobody keeps it */
  decision?: (route: string, decision: MirrorDecision) => void
  /**
   * A candidate answer of this version was captured (before its comparison): may start fresh
   * windows. `stale` when it is an earlier build's answer (not evidence); void when not known here.
   */
  version?: (version: string | null) => VersionChange | undefined
}

/** A change of the judged candidate version, for logs, notifications and the comparison's reset. */
export interface VersionEvent {
  change: Extract<VersionChange, 'first' | 'changed'>
  previous: string | null
  version: string
}

/** Most route names remembered from before resets (a bound on memory; the routes themselves are bounded). */
const MAX_EARLIER_ROUTES = 1000

/**
 * Outcome windows, mirror decisions and latency histograms since start or the last reset, for the
 * candidate version judged. `S` is the settings it was given (the gate reads its budgets there).
 */
export class ParityStats<S extends EvidenceSettings = EvidenceSettings> implements ParitySink {
  readonly window: RollingWindow
  /** mirror decisions per route, for their history */
  readonly decisions: RollingWindow<MirrorDecision>
  readonly latency: LatencyHistograms
  #settings: S
  #maxWindowMs: number
  #now: () => number
  /** start, or the last reset: evidence is no older */
  #since: number
  #versions: VersionTracker
  #listeners: Array<(event: VersionEvent) => void>
  /** route names seen before the last reset, still known to the API */
  #earlier: Set<string>

  constructor (settings: S, now: () => number = Date.now) {
    this.#settings = settings
    this.#now = now
    this.#maxWindowMs = parseWindow(settings.maxWindow, 24 * 3_600_000)
    this.window = new RollingWindow({ maxWindowMs: this.#maxWindowMs, bucketMs: Math.min(10_000, this.#maxWindowMs), maxRoutes: settings.maxRoutes, now })
    this.decisions = new RollingWindow({ maxWindowMs: this.#maxWindowMs, bucketMs: Math.min(10_000, this.#maxWindowMs), maxRoutes: settings.maxRoutes, now, counters: DECISIONS })
    this.latency = new LatencyHistograms({ maxWindowMs: this.#maxWindowMs, bucketMs: Math.min(30_000, this.#maxWindowMs), maxRoutes: settings.maxRoutes, now })
    this.#since = now()
    this.#versions = new VersionTracker()
    this.#listeners = []
    this.#earlier = new Set()
  }

  get settings (): S { return this.#settings }

  /** Start, or the last reset: the evidence is no older. */
  get since (): number { return this.#since }

  /** The candidate version the evidence belongs to; null until an answer carried one. */
  get candidateVersion (): string | null { return this.#versions.current }

  count (route: string, kind: Counter, version?: string | null): void {
    if (this.#versions.isStale(version)) return
    this.window.record(route, kind)
  }

  /** `count` times `n` (the batches of a worker group). */
  add (route: string, kind: Counter, n: number, version?: string | null): void {
    if (this.#versions.isStale(version)) return
    this.window.add(route, kind, n)
  }

  time (route: string, target: Target, micros: number, version?: string | null): void {
    if (this.#versions.isStale(version)) return
    this.latency.record(route, target, micros)
  }

  /** One mirror decision, for the history (called on the live path: a decision it does not know is ignored, never thrown). */
  decision (route: string, decision: MirrorDecision): void {
    this.addDecisions(route, decision, 1)
  }

  /** `decision` times `n` (the batches of a worker group); an unknown decision is ignored. */
  addDecisions (route: string, decision: string, n: number): void {
    if (isDecision(decision)) this.decisions.add(route, decision, n)
  }

  /**
   * Time series over a window, for a route or for all: counts, the mismatch ratio, mirror
   * decisions per 10 s bucket, latency percentiles per 30 s bucket; bounded in points.
   * @throws TypeError on a bad window
   */
  history (windowText?: string, route: string | null = null): HistoryReport {
    const window = windowText ?? this.#settings.window
    const ms = this.windowMs(window)
    const outcomes = this.window.series(ms, route)
    const decisions = this.decisions.series(ms, route)
    const points = outcomes.counts.match.length
    const requests = new Array<number>(points).fill(0)
    for (const d of DECISIONS) for (let k = 0; k < points; k++) requests[k] += decisions.counts[d][k]
    const mismatchRatio = outcomes.counts.match.map((m, k) => {
      const compared = m + outcomes.counts.mismatch[k] + outcomes.counts.noise[k]
      return compared === 0 ? null : outcomes.counts.mismatch[k] / compared
    })
    const counts = { requests } as HistoryReport['counts']
    for (const c of COUNTERS) counts[c] = outcomes.counts[c]
    const { start, stepMs, ...primary } = this.latency.series(ms, route, 'primary')
    const { start: _start, stepMs: _stepMs, ...candidate } = this.latency.series(ms, route, 'candidate')
    return {
      window,
      route,
      start: outcomes.start,
      stepMs: outcomes.stepMs,
      counts,
      mismatchRatio,
      mismatchBudget: this.#settings.mismatchBudget,
      decisions: decisions.counts as HistoryReport['decisions'],
      latency: { start, stepMs, primary, candidate }
    }
  }

  /**
   * A candidate answer of `version` was captured. A new build starts fresh windows (the listeners
   * reset field counts and samples, log and notify); the first version seen is only recorded.
   */
  version (version: string | null): VersionChange {
    const previous = this.#versions.current
    const change = this.#versions.observe(version, this.#now())
    if (change === 'changed') this.reset()
    if (change === 'first' || change === 'changed') {
      const event: VersionEvent = { change, previous, version: version as string }
      for (const listener of this.#listeners) listener(event)
    }
    return change
  }

  /** Calls `listener` on the first candidate version seen and on every change of it. */
  onVersion (listener: (event: VersionEvent) => void): void {
    this.#listeners.push(listener)
  }

  /** Route names the API answers for: configured, or seen since start (resets included), sorted. */
  knownRoutes (configured: readonly string[] = []): string[] {
    return [...new Set([...configured, ...this.#earlier, ...this.window.routes(), ...this.latency.routes()])].sort()
  }

  /** Whether a route query names a configured route or one seen since start (null, every route, is known). */
  isKnownRoute (route: string | null, configured: readonly string[] = []): boolean {
    return route === null || configured.includes(route) || this.#earlier.has(route) || this.window.routes().includes(route) || this.latency.routes().includes(route)
  }

  /** Budgets and default window from a reloaded config (the kept history is unchanged). */
  update (settings: S): void {
    this.#settings = { ...settings, maxWindow: this.#settings.maxWindow }
  }

  /** Parses a window query (`30s`, `5m`…), the configured default when absent. @throws TypeError */
  windowMs (text: string | undefined): number {
    return parseWindow(text ?? this.#settings.window, this.#maxWindowMs)
  }

  /**
   * Per-route counts, mismatch ratio and latency percentiles over a window; with `only`, that
   * route's report alone (zeros for a route without traffic). @throws TypeError on a bad window
   */
  routes (windowText?: string, only: string | null = null): RouteReport[] {
    const ms = this.windowMs(windowText)
    const names = only !== null ? [only] : new Set([...this.window.routes(), ...this.latency.routes()])
    return [...names].sort().map((route) => {
      const counts = this.window.snapshot(ms, route)
      const compared = counts.match + counts.mismatch + counts.noise
      return {
        route,
        counts,
        mismatchRatio: compared === 0 ? 0 : counts.mismatch / compared,
        primary: this.latency.percentiles(ms, route, 'primary'),
        candidate: this.latency.percentiles(ms, route, 'candidate')
      }
    })
  }

  /** Fresh windows: the evidence so far is forgotten; route names stay known, and so does the judged version. */
  reset (): void {
    for (const route of [...this.window.routes(), ...this.latency.routes()]) {
      if (this.#earlier.size >= MAX_EARLIER_ROUTES) break
      this.#earlier.add(route)
    }
    this.window.reset()
    this.decisions.reset()
    this.latency.reset()
    this.#since = this.#now()
  }
}
