/* The gate's evidence and answers for one process: rolling outcome counts and latency histograms in, verdicts and route reports out. */
import { LatencyHistograms, type Target } from '../stats/latency.ts'
import { RollingWindow, type Counter } from '../stats/window.ts'
import { evaluateGate, parseWindow } from './gate.ts'
import { collectGateInput } from './input.ts'
import { type GateConfig, type GateResult } from './types.ts'

/** The `gate` config section, as far as this module needs it. */
export interface ParitySettings extends GateConfig {
  window: string
  maxWindow: string
  maxRoutes: number
}

/** Route report of `GET /api/v1/routes`. */
export interface RouteReport {
  route: string
  counts: Record<Counter, number>
  mismatchRatio: number
  primary: { count: number, p50Ms: number, p95Ms: number, p99Ms: number }
  candidate: { count: number, p50Ms: number, p95Ms: number, p99Ms: number }
}

/** Errors in the gate settings that the schema cannot see (a default window longer than the kept one). */
export function checkGateSettings (gate: { window: string, maxWindow: string }): string[] {
  try {
    const max = parseWindow(gate.maxWindow, 24 * 3_600_000)
    parseWindow(gate.window, max)
    return []
  } catch (err) {
    return [`gate.window: ${(err as Error).message} (gate.maxWindow is ${gate.maxWindow})`]
  }
}

/** Where outcome counts and latencies go: the windows of this process, or the primary of a worker group. */
export interface ParitySink {
  count: (route: string, kind: Counter) => void
  time: (route: string, target: Target, micros: number) => void
}

/** Outcome windows plus latency histograms, and the gate over them. */
export class ParityStats implements ParitySink {
  readonly window: RollingWindow
  readonly latency: LatencyHistograms
  #settings: ParitySettings
  #maxWindowMs: number

  constructor (settings: ParitySettings, now: () => number = Date.now) {
    this.#settings = settings
    this.#maxWindowMs = parseWindow(settings.maxWindow, 24 * 3_600_000)
    this.window = new RollingWindow({ maxWindowMs: this.#maxWindowMs, bucketMs: Math.min(10_000, this.#maxWindowMs), maxRoutes: settings.maxRoutes, now })
    this.latency = new LatencyHistograms({ maxWindowMs: this.#maxWindowMs, bucketMs: Math.min(30_000, this.#maxWindowMs), maxRoutes: settings.maxRoutes, now })
  }

  get settings (): ParitySettings { return this.#settings }

  count (route: string, kind: Counter): void {
    this.window.record(route, kind)
  }

  time (route: string, target: Target, micros: number): void {
    this.latency.record(route, target, micros)
  }

  /** Budgets and default window from a reloaded config (the kept history is unchanged). */
  update (settings: ParitySettings): void {
    this.#settings = { ...settings, maxWindow: this.#settings.maxWindow }
  }

  /** Parses a window query (`30s`, `5m`…), the configured default when absent. @throws TypeError */
  windowMs (text: string | undefined): number {
    return parseWindow(text ?? this.#settings.window, this.#maxWindowMs)
  }

  /** The gate's answer over a window, for a route or for all. @throws TypeError on a bad window */
  gate (windowText?: string, route: string | null = null): GateResult {
    const window = windowText ?? this.#settings.window
    const input = collectGateInput(this.window, this.latency, { window, windowMs: this.windowMs(window), route, confidence: this.#settings.confidence })
    return evaluateGate(input, this.#settings)
  }

  /** Per-route counts, mismatch ratio and latency percentiles over a window. @throws TypeError on a bad window */
  routes (windowText?: string): RouteReport[] {
    const ms = this.windowMs(windowText)
    const names = new Set([...this.window.routes(), ...this.latency.routes()])
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

  reset (): void {
    this.window.reset()
    this.latency.reset()
  }
}
