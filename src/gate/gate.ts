/* The gate: turns window counts and latency percentiles into a pass / fail / inconclusive verdict. */
import { defaultConfig } from '../config/index.ts'
import { cleanTrialsToPass, trialsToFailAt, trialsToPassAt } from './needed.ts'
import { wilson } from './wilson.ts'
import {
  type ErrorsCheck, type GateConfig, type GateInput, type GateResult, type LatencyCheck,
  type MismatchCheck, type Verdict
} from './types.ts'

const { confidence, mismatchBudget, errorBudget, latencyP95Ratio, latencySlackMs, minLatencySamples } = defaultConfig.gate
/** Defaults of the runbook this product serves: the schema's gate budgets (docs/gate.md). */
export const defaultGateConfig: Readonly<GateConfig> = Object.freeze({ confidence, mismatchBudget, errorBudget, latencyP95Ratio, latencySlackMs, minLatencySamples })

/** Windows are parsed by the config's one window parser; re-exported as part of the gate's surface. */
export { MAX_WINDOW_MS, parseWindow } from '../config/window.ts'

/**
 * The value of the `paritygate_gate_verdict` gauge for a verdict.
 * @returns 1 for pass, 0 for inconclusive, -1 for fail
 */
export function verdictToGauge (verdict: Verdict): 1 | 0 | -1 {
  return verdict === 'pass' ? 1 : verdict === 'fail' ? -1 : 0
}

const percent = (confidence: number): string => `${+(confidence * 100).toFixed(4)} %`

/** Pass when the whole interval is within budget, fail when the whole interval is above it. */
function proportionVerdict (lower: number, upper: number, budget: number): Verdict {
  if (upper <= budget) return 'pass'
  if (lower > budget) return 'fail'
  return 'inconclusive'
}

/** How a ratio check names its samples in its reason. */
interface Units {
  /** e.g. `comparisons` */
  any: string
  /** e.g. `matching comparisons` */
  clean: string
}

/** What a ratio check waits for: see {@link Needed}. */
interface Waiting {
  needed: number | null
  neededIfClean: number | null
  neededToFail: number | null
  etaSeconds: number | null
}

function etaOf (needed: number | null, rate: number | undefined): number | null {
  if (needed === null || rate === undefined || !(rate > 0)) return null
  return Math.ceil(needed / rate)
}

const perSecond = (rate: number): string => `${+rate.toFixed(rate < 10 ? 2 : 0)}/s`

function waiting (verdict: Verdict, events: number, n: number, budget: number, confidence: number, rate: number | undefined): Waiting {
  const ratio = n === 0 ? 0 : events / n
  const needed = verdict === 'pass' ? 0 : trialsToPassAt(ratio, n, budget, confidence)
  return {
    // an inconclusive check always needs at least one more
    needed: needed === 0 && verdict !== 'pass' ? 1 : needed,
    neededIfClean: verdict === 'pass' ? 0 : cleanTrialsToPass(events, n, budget, confidence),
    neededToFail: verdict === 'fail' ? 0 : trialsToFailAt(ratio, n, budget, confidence),
    etaSeconds: etaOf(needed, rate)
  }
}

/** A figure in a reason: four significant digits (the JSON fields keep the full value). */
function num (x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(4)) : x
}

/** The inconclusive part of a reason: how many more samples pass (or fail) the check, and roughly when. */
function waitingReason (w: Waiting, events: number, n: number, budget: number, units: Units, input: GateInput, rate: number | undefined): string {
  const ratio = n === 0 ? 0 : events / n
  const parts: string[] = []
  if (w.needed !== null) {
    parts.push(events === 0
      ? `passes after ${w.needed} more ${units.clean}`
      : `passes after ${w.needed} more ${units.any} at the current ratio ${num(ratio)}${w.neededIfClean === null ? '' : ` (${w.neededIfClean} more if they are all ${units.clean})`}`)
    if (w.etaSeconds !== null && rate !== undefined) {
      parts.push(`about ${w.etaSeconds} s at ${perSecond(rate)}`)
      if (input.windowMs !== undefined && n + w.needed > rate * input.windowMs / 1000) {
        parts.push(`more than the ${input.window} window holds at that rate: ask a longer window`)
      }
    }
  } else {
    parts.push(`never passes at the current ratio ${num(ratio)} (budget ${budget})`)
    if (w.neededToFail !== null) parts.push(`fails after ${w.neededToFail} more ${units.any} at this ratio`)
    if (w.neededIfClean !== null) parts.push(`would pass after ${w.neededIfClean} more ${units.clean}`)
  }
  return parts.join('; ')
}

function proportionReason (verdict: Verdict, what: string, n: number, lower: number, upper: number, budget: number, confidence: number, wait: string): string {
  const at = `at ${percent(confidence)} confidence`
  if (verdict === 'pass') return `${what} upper bound ${num(upper)} <= budget ${budget} ${at} (n=${n})`
  if (verdict === 'fail') return `${what} lower bound ${num(lower)} > budget ${budget} ${at} (n=${n})`
  return `${what} interval [${num(lower)}, ${num(upper)}] contains budget ${budget} ${at}: too few samples (n=${n}): ${wait}`
}

const COMPARISONS: Units = { any: 'comparisons', clean: 'matching comparisons' }
const MIRRORED: Units = { any: 'mirrored requests', clean: 'error-free mirrored requests' }

function mismatchCheck (input: GateInput, config: GateConfig): MismatchCheck {
  const { match, mismatch, noise, error, skipped, dropped } = input.counts
  // Only real comparisons form the denominator: a dropped, skipped or errored mirror is
  // missing evidence, never a match.
  const compared = match + mismatch + noise
  const { lower, upper } = wilson(mismatch, compared, config.confidence)
  const verdict = proportionVerdict(lower, upper, config.mismatchBudget)
  const rate = input.rates?.compared
  const w = waiting(verdict, mismatch, compared, config.mismatchBudget, config.confidence, rate)
  return {
    verdict,
    ratio: compared === 0 ? 0 : mismatch / compared,
    budget: config.mismatchBudget,
    compared,
    mismatched: mismatch,
    upper,
    lower,
    confidence: config.confidence,
    noise,
    errored: error,
    skipped,
    dropped,
    ...w,
    reason: proportionReason(verdict, 'mismatch ratio', compared, lower, upper, config.mismatchBudget, config.confidence,
      waitingReason(w, mismatch, compared, config.mismatchBudget, COMPARISONS, input, rate))
  }
}

/**
 * Candidate errors: requests that got no complete answer (transport), plus answers 5xx where the
 * primary's was not (serverErrors): both are errors a user of the candidate would see.
 */
function errorsCheck (input: GateInput, config: GateConfig): ErrorsCheck {
  const { mirrored, errors: transport, serverErrors } = input.counts
  const errors = transport + serverErrors
  // Counts come from separate events; never let a racing error exceed its request.
  const n = Math.max(mirrored, errors)
  const { lower, upper } = wilson(errors, n, config.confidence)
  const verdict = proportionVerdict(lower, upper, config.errorBudget)
  const rate = input.rates?.mirrored
  const w = waiting(verdict, errors, n, config.errorBudget, config.confidence, rate)
  const what = `candidate error ratio (${transport} without an answer, ${serverErrors} 5xx where the primary was not)`
  return {
    verdict,
    ratio: n === 0 ? 0 : errors / n,
    budget: config.errorBudget,
    mirrored,
    errors,
    transport,
    serverErrors,
    upper,
    lower,
    confidence: config.confidence,
    ...w,
    reason: proportionReason(verdict, what, n, lower, upper, config.errorBudget, config.confidence,
      waitingReason(w, errors, n, config.errorBudget, MIRRORED, input, rate))
  }
}

/**
 * Latency as a statistical check. Each p95 comes with a confidence interval from order
 * statistics (`quantileInterval`); with P = [pL, pU] for the primary and C = [cL, cU] for the
 * candidate, budget b and slack s:
 * - inconclusive when either side has fewer than `minLatencySamples` samples;
 * - fail when even the most favourable reading is over budget: cL > b * pU and cL - pU >= s
 *   (so the point difference is >= s too: a difference under the slack never fails);
 * - pass when even the least favourable reading is within budget: cU <= b * pL, or the
 *   difference is noise: cU - pL < s;
 * - inconclusive otherwise.
 * Comparing two separate intervals is conservative (stricter than a test of the difference at
 * the same confidence), so a fail is strong evidence. Without intervals in the input the
 * bounds equal the point estimates and this reduces to comparing the two p95s.
 */
function latencyCheck (input: GateInput, config: GateConfig): LatencyCheck {
  const { primary, candidate } = input.latency
  const budget = config.latencyP95Ratio
  const slack = config.latencySlackMs
  const pL = primary.p95LowerMs ?? primary.p95Ms
  const pU = primary.p95UpperMs ?? primary.p95Ms
  const cL = candidate.p95LowerMs ?? candidate.p95Ms
  const cU = candidate.p95UpperMs ?? candidate.p95Ms
  const diffMs = candidate.p95Ms - primary.p95Ms
  const ratio = primary.p95Ms > 0 ? candidate.p95Ms / primary.p95Ms : null
  let verdict: Verdict
  let reason: string
  // Latency samples come from compared pairs: one of each side per comparison.
  const short = Math.max(0, config.minLatencySamples - Math.min(primary.count, candidate.count))
  const rate = input.rates?.compared
  let needed: number | null = null
  if (short > 0) {
    verdict = 'inconclusive'
    needed = short
    const eta = etaOf(short, rate)
    reason = `too few latency samples (primary ${primary.count}, candidate ${candidate.count}, need ${config.minLatencySamples} each): ` +
      `${short} more compared pairs${eta === null || rate === undefined ? '' : ` (about ${eta} s at ${perSecond(rate)})`}`
  } else if (cL > budget * pU && cL - pU >= slack && diffMs >= slack) {
    verdict = 'fail'
    reason = `candidate p95 lower bound ${num(cL)} ms > ${budget} x primary p95 upper bound ${num(pU)} ms, and ${num(cL - pU)} ms >= slack ${slack} ms`
  } else if (cU <= budget * pL) {
    verdict = 'pass'
    reason = `candidate p95 upper bound ${num(cU)} ms <= ${budget} x primary p95 lower bound ${num(pL)} ms`
  } else if (cU - pL < slack) {
    verdict = 'pass'
    reason = `candidate p95 upper bound ${num(cU)} ms is within slack ${slack} ms of primary p95 lower bound ${num(pL)} ms`
  } else {
    verdict = 'inconclusive'
    reason = `p95 intervals (primary [${num(pL)}, ${num(pU)}] ms, candidate [${num(cL)}, ${num(cU)}] ms) neither clearly within nor clearly over budget ${budget}: ` +
      'more samples narrow them, how many cannot be told'
  }
  if (verdict === 'pass') needed = 0
  return {
    verdict,
    primaryP95Ms: primary.p95Ms,
    candidateP95Ms: candidate.p95Ms,
    ratio,
    budget,
    diffMs,
    slackMs: slack,
    primaryP95LowerMs: pL,
    primaryP95UpperMs: pU,
    candidateP95LowerMs: cL,
    candidateP95UpperMs: cU,
    primarySamples: primary.count,
    candidateSamples: candidate.count,
    minSamples: config.minLatencySamples,
    needed,
    etaSeconds: etaOf(needed, rate),
    reason
  }
}

/**
 * Evaluate the gate (docs/gate.md): the mismatch, errors and latency checks, each pass,
 * fail or inconclusive; the verdict fails if any check fails, passes if all pass, and is
 * inconclusive otherwise. Pure: data in, data out.
 * @param input window counts and latency evidence, see {@link GateInput}
 * @param config budgets; missing keys take {@link defaultGateConfig}
 * @default config defaultGateConfig
 * @returns the JSON answer of `GET /api/v1/gate`
 */
export function evaluateGate (input: GateInput, config: Partial<GateConfig> = defaultGateConfig): GateResult {
  const effective: GateConfig = { ...defaultGateConfig }
  for (const key of Object.keys(effective) as Array<keyof GateConfig>) {
    const value = config[key]
    if (value !== undefined) effective[key] = value
  }
  const checks = {
    mismatch: mismatchCheck(input, effective),
    errors: errorsCheck(input, effective),
    latency: latencyCheck(input, effective)
  }
  const verdicts = [checks.mismatch.verdict, checks.errors.verdict, checks.latency.verdict]
  const verdict: Verdict = verdicts.includes('fail')
    ? 'fail'
    : verdicts.every((v) => v === 'pass') ? 'pass' : 'inconclusive'
  return {
    verdict,
    pass: verdict === 'pass',
    window: input.window,
    route: input.route ?? null,
    checks,
    generatedAt: (input.now ?? new Date()).toISOString()
  }
}
