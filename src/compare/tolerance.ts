/* Numeric tolerance: whether two JSON numbers are equal within an absolute or relative bound, exactly on their decimals. */
import { toDecimal, type Decimal } from './numbers.ts'

/** A compiled {@link Tolerance}. */
export class CompiledTolerance {
  absolute: Decimal | null
  relative: Decimal | null

  constructor (absolute: Decimal | null, relative: Decimal | null) {
    this.absolute = absolute
    this.relative = relative
  }
}

const MAX_SCALE = 1000

/** Compares x.m*10^x.e with y.m*10^y.e exactly; null when the exponents are too far apart. */
function cmpDecimal (xm: bigint, xe: number, ym: bigint, ye: number): number | null {
  if (Math.abs(xe - ye) > MAX_SCALE) return null
  if (xe > ye) xm *= 10n ** BigInt(xe - ye)
  else if (ye > xe) ym *= 10n ** BigInt(ye - xe)
  return xm < ym ? -1 : xm > ym ? 1 : 0
}

/**
 * True when two canonical numbers are within the tolerance.
 * @param a canonical number text
 * @param b canonical number text
 * @param tol compiled tolerance
 */
export function withinTolerance (a: string, b: string, tol: CompiledTolerance): boolean {
  const x = toDecimal(a)
  const y = toDecimal(b)
  if (Math.abs(x.e - y.e) > MAX_SCALE) return withinNumber(x.n, y.n, tol)
  const e = Math.min(x.e, y.e)
  const xm = x.m * 10n ** BigInt(x.e - e)
  const ym = y.m * 10n ** BigInt(y.e - e)
  const diff = xm > ym ? xm - ym : ym - xm
  if (tol.absolute !== null) {
    const c = cmpDecimal(diff, e, tol.absolute.m, tol.absolute.e)
    if (c === null ? withinNumber(x.n, y.n, tol) : c <= 0) return true
  }
  if (tol.relative !== null) {
    const ax = xm < 0n ? -xm : xm
    const ay = ym < 0n ? -ym : ym
    const max = ax > ay ? ax : ay
    const c = cmpDecimal(diff, e, tol.relative.m * max, tol.relative.e + e)
    if (c === null ? withinNumber(x.n, y.n, tol) : c <= 0) return true
  }
  return false
}

function withinNumber (a: number, b: number, tol: CompiledTolerance): boolean {
  if (a === b) return true
  const diff = Math.abs(a - b)
  if (tol.absolute !== null && diff <= tol.absolute.n) return true
  return tol.relative !== null && diff <= tol.relative.n * Math.max(Math.abs(a), Math.abs(b))
}
