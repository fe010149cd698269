/* Types shared by the gate: its configuration, its input evidence and its JSON answer (docs/gate.md). */
import { type GateBudgets } from '../config/index.ts'
import { type WindowCounts } from '../stats/window.ts'

export type Verdict = 'pass' | 'fail' | 'inconclusive'

/** Budgets and confidence of the gate; the keys of `gate:` in the config file. */
export type GateConfig = GateBudgets

/** What the gate knows about one target's latency over the window. */
export interface LatencyEvidence {
  /** Samples in the window. */
  count: number
  /** Point estimate of p95 in ms. */
  p95Ms: number
  /** Lower confidence bound of p95 in ms. @default p95Ms (no interval: a point comparison) */
  p95LowerMs?: number
  /** Upper confidence bound of p95 in ms. @default p95Ms (no interval: a point comparison) */
  p95UpperMs?: number
}

/** The evidence for one gate evaluation. */
export interface GateInput {
  /** Window label echoed in the answer, e.g. `5m`. */
  window: string
  /** Route name, or null for every route. @default null */
  route?: string | null
  /** Counts over the window, from `RollingWindow.snapshot()`. */
  counts: WindowCounts
  latency: { primary: LatencyEvidence, candidate: LatencyEvidence }
  /** Time of the answer. @default new Date() */
  now?: Date
  /** Window length in ms, to tell when the evidence needed is more than the window holds. @default unknown */
  windowMs?: number
  /**
   * Recent rates per second (over the last minute at most), for the `etaSeconds` estimates:
   * `compared` (match + mismatch + noise, also the latency samples) and `mirrored`.
   * @default unknown: no estimates
   */
  rates?: { compared: number, mirrored: number }
}

/** What an inconclusive (or failing) check waits for, in more samples of its own kind. */
export interface Needed {
  /**
   * More samples at the current observed ratio after which the check passes: 0 once it passes,
   * null when it never passes at the current ratio (the ratio is at or over the budget), or the
   * latency check is short of nothing countable.
   */
  needed: number | null
  /** Seconds until `needed` more at the recent rate; null without a rate or a `needed`. */
  etaSeconds: number | null
}

export interface MismatchCheck extends Needed {
  verdict: Verdict
  /** mismatched / compared (0 when nothing was compared). */
  ratio: number
  budget: number
  /** match + mismatch + noise: the denominator. Dropped, skipped and errored mirrors are not in it. */
  compared: number
  mismatched: number
  upper: number
  lower: number
  confidence: number
  noise: number
  /** Comparisons whose candidate call failed (outcome `error`): not compared, never a match. */
  errored: number
  /** Pairs not comparable (too large, unsupported type): never a match. */
  skipped: number
  /** Mirrors wanted but not sent (overloaded, circuit open, body too large...): never a match. */
  dropped: number
  /** More comparisons after which the check passes if every one of them matches (0 once it passes). */
  neededIfClean: number | null
  /** More comparisons at the current ratio after which the check fails (null when the ratio is within budget). */
  neededToFail: number | null
  reason: string
}

export interface ErrorsCheck extends Needed {
  verdict: Verdict
  /** errors / mirrored (0 when nothing was mirrored). */
  ratio: number
  budget: number
  mirrored: number
  /** transport + serverErrors: what the ratio counts. */
  errors: number
  /** Candidate requests that got no complete answer: refused, reset, timed out, unparsable. */
  transport: number
  /** Candidate answers 5xx where the primary's was not (the pair is also a mismatch). */
  serverErrors: number
  /** More error-free mirrored requests after which the check passes (0 once it passes). */
  neededIfClean: number | null
  /** More mirrored requests at the current ratio after which the check fails (null when within budget). */
  neededToFail: number | null
  upper: number
  lower: number
  confidence: number
  reason: string
}

export interface LatencyCheck extends Needed {
  verdict: Verdict
  primaryP95Ms: number
  candidateP95Ms: number
  /** candidate p95 / primary p95, or null when the primary p95 is 0 (no data). */
  ratio: number | null
  budget: number
  /** candidate p95 - primary p95, in ms. */
  diffMs: number
  slackMs: number
  primaryP95LowerMs: number
  primaryP95UpperMs: number
  candidateP95LowerMs: number
  candidateP95UpperMs: number
  primarySamples: number
  candidateSamples: number
  minSamples: number
  reason: string
}

/** The JSON answer of `GET /api/v1/gate`. */
export interface GateResult {
  verdict: Verdict
  pass: boolean
  window: string
  route: string | null
  checks: { mismatch: MismatchCheck, errors: ErrorsCheck, latency: LatencyCheck }
  /**
   * The candidate version the evidence belongs to (from `candidate.versionHeader`), null when
   * unknown. Set by the stats that keep the windows, not by `evaluateGate`.
   */
  candidateVersion?: string | null
  generatedAt: string
}
