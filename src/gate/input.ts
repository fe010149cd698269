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
  return {
    window: query.window,
    route: query.route ?? null,
    counts: window.snapshot(query.windowMs, query.route),
    latency: {
      primary: latencyEvidence(latency, query, 'primary', confidence),
      candidate: latencyEvidence(latency, query, 'candidate', confidence)
    },
    now: query.now ?? new Date()
  }
}
