/* Wilson score interval for a binomial proportion, the gate's test for mismatch and error ratios. */
import { zForConfidence } from './normal.ts'

/** A two-sided confidence interval on a proportion, both ends in [0, 1]. */
export interface Interval {
  lower: number
  upper: number
}

/**
 * Wilson score interval for `successes` out of `n` trials at a two-sided confidence level.
 * With n = 0 nothing is known, so the interval is [0, 1].
 * @param successes events counted (an integer, 0 <= successes <= n)
 * @param n trials (an integer >= 0)
 * @param confidence two-sided confidence level in (0, 1)
 * @default confidence 0.95
 * @throws {RangeError} on negative, non-integer or inconsistent counts, or a confidence outside (0, 1)
 */
export function wilson (successes: number, n: number, confidence = 0.95): Interval {
  const z = zForConfidence(confidence)
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`wilson: n must be a non-negative integer, got ${n}`)
  if (!Number.isSafeInteger(successes) || successes < 0 || successes > n) {
    throw new RangeError(`wilson: successes must be an integer in [0, n=${n}], got ${successes}`)
  }
  if (n === 0) return { lower: 0, upper: 1 }
  const p = successes / n
  const z2 = z * z
  const denominator = 1 + z2 / n
  const center = (p + z2 / (2 * n)) / denominator
  const half = (z / denominator) * Math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
  // Exact ends at the boundaries, and clamp rounding so that lower <= p <= upper always holds
  // (true in exact arithmetic; floating point can miss by an ulp).
  const lower = successes === 0 ? 0 : Math.min(p, Math.max(0, center - half))
  const upper = successes === n ? 1 : Math.max(p, Math.min(1, center + half))
  return { lower, upper }
}
