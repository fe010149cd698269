/* Distribution-free confidence interval for a quantile, from order statistics (for the p95 latency check). */
import { zForConfidence } from './normal.ts'

/**
 * Which order statistics bound the q-quantile of a sample of n at a two-sided confidence level,
 * expressed as percentiles (0-100) to read from a histogram: the rank of the true quantile is
 * Binomial(n, q), so with the normal approximation the ranks `n q ± z sqrt(n q (1 - q))`
 * (rounded outwards, clamped to [0, n]; percentile 0 reads the smallest value) bracket it.
 * @param n sample size (0 gives the whole range)
 * @param q quantile in (0, 1), e.g. 0.95
 * @param confidence two-sided confidence level in (0, 1)
 * @default confidence 0.95
 * @returns `{ lower, upper }` percentiles with 0 <= lower <= 100 q <= upper <= 100
 * @throws {RangeError} on q or confidence outside (0, 1)
 */
export function quantileInterval (n: number, q: number, confidence = 0.95): { lower: number, upper: number } {
  if (!(q > 0 && q < 1)) throw new RangeError(`quantileInterval: q must be in (0, 1), got ${q}`)
  const z = zForConfidence(confidence)
  if (!(n >= 1)) return { lower: 0, upper: 100 }
  const spread = z * Math.sqrt(n * q * (1 - q))
  const lowRank = Math.max(0, Math.floor(n * q - spread))
  const highRank = Math.min(n, Math.ceil(n * q + spread))
  return { lower: (100 * lowRank) / n, upper: (100 * highRank) / n }
}
