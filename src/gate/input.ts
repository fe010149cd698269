/* Gathers the gate's evidence from the rolling stats: window counts plus p95 with confidence bounds. */
import { type LatencyHistograms, type Target } from '../stats/latency.ts'
import { type RollingWindow } from '../stats/window.ts'
import { defaultGateConfig } from './gate.ts'
import { quantileInterval } from './quantile.ts'
import { type GateInput, type LatencyEvidence } from './types.ts'

/** What to gather. */
export interface GateQuery {
  /** Window label echoed in the answer, e.g. `5m`. */
  window: string
  /** Window length in ms, usually `parseWindow(window)`. */
  windowMs: number
  /** Route name, or null/undefined for every route. @default null */
  route?: string | null
  /** Confidence of the p95 bounds; use the gate's. @default 0.95 */
  confidence?: number
  /** Time of the answer. @default new Date() */
  now?: Date
  /** Since when (ms since the epoch) evidence is kept: the start, or the last reset. @default unknown */
  since?: number
}

/** Span of the recent rates the estimates use. */
const RATE_SPAN_MS = 60_000

/**
 * Comparisons and mirrored requests per second over the last minute (or the window, if shorter),
 * counting only the time the ring's buckets cover and, with `since`, only time since then.
 */
function recentRates (window: RollingWindow, query: GateQuery, now: number): { compared: number, mirrored: number } {
  const span = Math.min(RATE_SPAN_MS, query.windowMs, window.maxWindowMs)
  const counts = window.snapshot(span, query.route)
  const buckets = Math.ceil(span / window.bucketMs)
  let covered = (buckets - 1) * window.bucketMs + (now % window.bucketMs)
  if (query.since !== undefined) covered = Math.min(covered, now - query.since)
  const seconds = Math.max(1000, covered) / 1000
  return { compared: (counts.match + counts.mismatch + counts.noise) / seconds, mirrored: counts.mirrored / seconds }
}

function latencyEvidence (latency: LatencyHistograms, query: GateQuery, target: Target, confidence: number): LatencyEvidence {
  const { count, valuesMs } = latency.valuesAt(query.windowMs, query.route, target, (n) => {
    const { lower, upper } = quantileInterval(n, 0.95, confidence)
    return [95, lower, upper]
  })
  return { count, p95Ms: valuesMs[0], p95LowerMs: valuesMs[1], p95UpperMs: valuesMs[2] }
}

/**
 * Build a {@link GateInput} from the rolling stats for one window and route.
 * @param window the outcome counts
 * @param latency the latency histograms
 * @param query window, route and confidence, see {@link GateQuery}
 * @throws {RangeError} when windowMs exceeds what the stats keep
 */
export function collectGateInput (window: RollingWindow, latency: LatencyHistograms, query: GateQuery): GateInput {
  const confidence = query.confidence ?? defaultGateConfig.confidence
  const now = query.now ?? new Date()
  return {
    window: query.window,
    windowMs: query.windowMs,
    route: query.route ?? null,
    counts: window.snapshot(query.windowMs, query.route),
    latency: {
      primary: latencyEvidence(latency, query, 'primary', confidence),
      candidate: latencyEvidence(latency, query, 'candidate', confidence)
    },
    rates: recentRates(window, query, now.getTime()),
    now
  }
}
