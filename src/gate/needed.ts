/* How much more evidence a ratio check needs before its Wilson interval leaves the budget: what an inconclusive verdict waits for. */
import { zForConfidence } from './normal.ts'
import { wilson } from './wilson.ts'

/** Beyond this many trials the answer is "not in practice" (null). */
const MAX_TRIALS = 1e12

/** Wilson bounds for a real-valued proportion `p` over `n` trials (the formula of `wilson`, without integer successes). */
function boundsAt (p: number, n: number, z: number): { lower: number, upper: number } {
  const z2 = z * z
  const denominator = 1 + z2 / n
  const center = (p + z2 / (2 * n)) / denominator
  const half = (z / denominator) * Math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
  return { lower: Math.max(0, center - half), upper: Math.min(1, center + half) }
}

/**
 * The smallest total n' >= `from` (n' >= 1) for which `holds(n')`, assuming `holds` turns true at
 * some n' and stays true beyond (the Wilson bounds tighten as n grows); null beyond MAX_TRIALS.
 */
function smallest (from: number, holds: (n: number) => boolean): number | null {
  let lo = Math.max(1, from)
  if (holds(lo)) return lo
  let hi = lo * 2
  while (!holds(hi)) {
    lo = hi
    hi *= 2
    if (hi > MAX_TRIALS) return null
  }
  // holds(hi), not holds(lo)
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (holds(mid)) hi = mid
    else lo = mid
  }
  return hi
}

/**
 * More trials without any further event (clean comparisons, error-free requests) after which the
 * Wilson upper bound of `events / n` is within `budget`: 0 when it already is.
 * @returns null when the budget cannot be reached (a budget <= 0) or only beyond 10^12 trials
 */
export function cleanTrialsToPass (events: number, n: number, budget: number, confidence: number): number | null {
  if (budget >= 1) return 0
  if (!(budget > 0)) return null
  const total = smallest(Math.max(n, events), (m) => wilson(events, m, confidence).upper <= budget)
  return total === null ? null : total - n
}

/**
 * More trials at the observed ratio after which the Wilson upper bound is within `budget`: 0 when
 * it already is (with n trials).
 * @returns null when the ratio is at or over the budget (it never passes at that ratio), or the
 * answer is beyond 10^12 trials
 */
export function trialsToPassAt (ratio: number, n: number, budget: number, confidence: number): number | null {
  if (budget >= 1) return 0
  if (!(ratio < budget)) return null
  const z = zForConfidence(confidence)
  const total = smallest(n, (m) => boundsAt(ratio, m, z).upper <= budget)
  return total === null ? null : Math.max(0, total - n)
}

/**
 * More trials at the observed ratio after which the Wilson lower bound is over `budget`: 0 when
 * it already is.
 * @returns null when the ratio is at or under the budget (it never fails at that ratio), or the
 * answer is beyond 10^12 trials
 */
export function trialsToFailAt (ratio: number, n: number, budget: number, confidence: number): number | null {
  if (!(ratio > budget)) return null
  const z = zForConfidence(confidence)
  const total = smallest(n, (m) => boundsAt(ratio, m, z).lower > budget)
  return total === null ? null : Math.max(0, total - n)
}
