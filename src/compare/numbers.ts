/* JSON numbers as exact decimals: one canonical text per value, shared by the canonical form and the tolerance rules. */

/** An exact decimal m * 10^e, with the Number value for the fallback. */
export class Decimal {
  m: bigint
  e: number
  n: number

  constructor (m: bigint, e: number, n: number) {
    this.m = m
    this.e = e
    this.n = n
  }
}

const NUMBER_RE = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/

/**
 * Exact decimal of a canonical (or any JSON) number text.
 * @param text JSON number text
 */
export function toDecimal (text: string): Decimal {
  const m = NUMBER_RE.exec(text)
  /* c8 ignore next */
  if (m === null) return new Decimal(0n, 0, Number(text))
  const canonical = normalizeNumber(m[1] === '-', m[2], m[3] ?? '', m[4] ?? '')
  const c = NUMBER_RE.exec(canonical) as RegExpExecArray
  const frac = c[3] ?? ''
  const exp = Number(c[4] ?? '0')
  const mantissa = BigInt(c[1] + c[2] + frac)
  return new Decimal(mantissa, exp - frac.length, Number(canonical))
}

/**
 * Canonical text of the decimal `(-)int.frac e exp`, computed on its digits only.
 * Shared by the canonical form (canonical.ts) and the numeric tolerance rules (toDecimal).
 * @param negative sign
 * @param int integer digits
 * @param frac fraction digits ('' when none)
 * @param exp exponent with optional sign ('' when none)
 */
export function normalizeNumber (negative: boolean, int: string, frac: string, exp: string): string {
  let digits = int + frac
  let lead = 0
  while (lead < digits.length && digits.charCodeAt(lead) === 0x30) lead++
  if (lead === digits.length) return '0'
  let end = digits.length
  while (digits.charCodeAt(end - 1) === 0x30) end--
  const trailing = digits.length - end
  digits = digits.slice(lead, end)
  const k = digits.length
  const sign = negative ? '-' : ''
  // value = digits * 10^(exp - frac.length + trailing); n = position of the decimal point.
  const expText = stripExponent(exp)
  if (expText.length > 15) {
    const n = BigInt(expText) - BigInt(frac.length) + BigInt(trailing) + BigInt(k)
    return sign + exponentForm(digits, n - 1n)
  }
  const n = Number(expText) - frac.length + trailing + k
  if (k <= n && n <= 21) return sign + digits + '0'.repeat(n - k)
  if (n > 0 && n <= 21) return sign + digits.slice(0, n) + '.' + digits.slice(n)
  if (n > -6 && n <= 0) return sign + '0.' + '0'.repeat(-n) + digits
  return sign + exponentForm(digits, n - 1)
}

function stripExponent (exp: string): string {
  if (exp === '') return '0'
  let negative = false
  let i = 0
  const c = exp.charCodeAt(0)
  if (c === 0x2b || c === 0x2d) { negative = c === 0x2d; i = 1 }
  while (i < exp.length - 1 && exp.charCodeAt(i) === 0x30) i++
  const body = exp.slice(i)
  return negative && body !== '0' ? '-' + body : body
}

function exponentForm (digits: string, e: number | bigint): string {
  const mantissa = digits.length === 1 ? digits : digits[0] + '.' + digits.slice(1)
  return mantissa + (e < 0 ? 'e' : 'e+') + String(e)
}
