/* Inverse of the standard normal CDF (Acklam's algorithm), used to turn a confidence level into a z quantile. */

// Coefficients from Peter J. Acklam, "An algorithm for computing the inverse normal cumulative
// distribution function" (relative error below 1.15e-9 over the whole open interval (0, 1)).
const A = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
const B = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
const C = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
const D = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
const P_LOW = 0.02425
const P_HIGH = 1 - P_LOW

/**
 * The p-quantile of the standard normal distribution: the z with Φ(z) = p.
 * @param p probability in the open interval (0, 1)
 * @throws {RangeError} when p is not strictly between 0 and 1
 */
export function normalQuantile (p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`)
  if (p < P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p))
    return (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) /
      ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1)
  }
  if (p > P_HIGH) {
    const q = Math.sqrt(-2 * Math.log(1 - p))
    return -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) /
      ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1)
  }
  const q = p - 0.5
  const r = q * q
  return (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q /
    (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1)
}

/**
 * The two-sided z for a confidence level: `zForConfidence(0.95)` ≈ 1.959964.
 * @param confidence in the open interval (0, 1)
 * @default confidence 0.95
 * @throws {RangeError} when confidence is not strictly between 0 and 1
 */
export function zForConfidence (confidence = 0.95): number {
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(`confidence must be in (0, 1), got ${confidence}`)
  }
  return normalQuantile(1 - (1 - confidence) / 2)
}
