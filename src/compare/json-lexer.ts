/*
 * The lexical half of the canonical JSON parser (canonical.ts): whitespace, strings (re-escaped
 * canonically, lone surrogates refused), numbers (normalised by their exact decimal value) and
 * the errors met on the way. Synchronous and never re-entered, so one scratch token is shared.
 */
import { normalizeNumber } from './numbers.ts'

/** The last string or number scanned: `end`, the index after it (strings), and `text`, its canonical text. */
export const token = { end: 0, text: '' }

/** Why a body could not be canonicalised. */
export type CanonicalReason =
  | 'too_deep'
  | 'invalid_json'
  | 'duplicate_key'
  | 'lone_surrogate'
  | 'invalid_utf8'
  | 'bom'
  | 'trailing_bytes'

/** A syntax or content error met while scanning; canonicalize turns it into a CanonicalFailure. */
export class Failure {
  reason: CanonicalReason
  detail: string
  offset: number

  constructor (reason: CanonicalReason, detail: string, offset: number) {
    this.reason = reason
    this.detail = detail
    this.offset = offset
  }
}

export function isWellFormed (s: string): boolean {
  return (s as unknown as { isWellFormed (): boolean }).isWellFormed()
}

export function firstLoneSurrogate (s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) { i++; continue }
      return i
    }
    if (c >= 0xdc00 && c <= 0xdfff) return i
  }
  /* c8 ignore next */
  return -1
}

export function skipWs (s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i)
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++
    else return i
  }
}

export function syntax (s: string, i: number, expected: string): Failure {
  if (i >= s.length) return new Failure('invalid_json', `unexpected end of input, expected ${expected}`, i)
  return new Failure('invalid_json', `unexpected ${JSON.stringify(s[i])} at offset ${i}, expected ${expected}`, i)
}

/**
 * Parses the string starting with the quote at i. Sets token.end (index after the closing
 * quote) and token.text (canonical quoted text).
 */
export function parseString (s: string, i: number): void {
  let j = i + 1
  for (;;) {
    const c = s.charCodeAt(j)
    if (c === 0x22) break
    if (c === 0x5c || !(c >= 0x20)) { parseEscapedString(s, i); return }
    j++
  }
  token.end = j + 1
  token.text = s.slice(i, j + 1)
}

function parseEscapedString (s: string, i: number): void {
  let j = i + 1
  let from = j
  let value = ''
  let sawSurrogate = false
  for (;;) {
    const c = s.charCodeAt(j)
    if (c === 0x22) break
    if (!(c >= 0x20)) {
      if (j >= s.length) throw new Failure('invalid_json', 'unterminated string', i)
      throw new Failure('invalid_json', `unescaped control character U+${c.toString(16).padStart(4, '0')} in a string at offset ${j}`, j)
    }
    if (c !== 0x5c) { j++; continue }
    value += s.slice(from, j)
    const e = s.charCodeAt(j + 1)
    switch (e) {
      case 0x22: value += '"'; break
      case 0x5c: value += '\\'; break
      case 0x2f: value += '/'; break
      case 0x62: value += '\b'; break
      case 0x66: value += '\f'; break
      case 0x6e: value += '\n'; break
      case 0x72: value += '\r'; break
      case 0x74: value += '\t'; break
      case 0x75: {
        const code = hex4(s, j + 2)
        if (code < 0) throw new Failure('invalid_json', `invalid \\u escape at offset ${j}`, j)
        if (code >= 0xd800 && code <= 0xdfff) sawSurrogate = true
        value += String.fromCharCode(code)
        j += 4
        break
      }
      default:
        throw new Failure('invalid_json', `invalid escape at offset ${j}`, j)
    }
    j += 2
    from = j
  }
  value += s.slice(from, j)
  if (sawSurrogate && !isWellFormed(value)) {
    throw new Failure('lone_surrogate', `string at offset ${i} holds an unpaired surrogate escape`, i)
  }
  token.end = j + 1
  token.text = JSON.stringify(value)
}

function hex4 (s: string, i: number): number {
  let code = 0
  for (let k = 0; k < 4; k++) {
    const c = s.charCodeAt(i + k)
    let d: number
    if (c >= 0x30 && c <= 0x39) d = c - 0x30
    else if (c >= 0x61 && c <= 0x66) d = c - 0x57
    else if (c >= 0x41 && c <= 0x46) d = c - 0x37
    else return -1
    code = code * 16 + d
  }
  return code
}

function isDigit (c: number): boolean {
  return c >= 0x30 && c <= 0x39
}

/** Parses the number at i, sets token.text to its canonical form, returns the index after it. */
export function parseNumber (s: string, i: number): number {
  const start = i
  const negative = s.charCodeAt(i) === 0x2d
  if (negative) i++
  const intStart = i
  let c = s.charCodeAt(i)
  if (c === 0x30) {
    i++
  } else if (c >= 0x31 && c <= 0x39) {
    i++
    while (isDigit(s.charCodeAt(i))) i++
  } else {
    throw syntax(s, i, 'a digit')
  }
  const intEnd = i
  c = s.charCodeAt(i)
  if (c !== 0x2e && c !== 0x65 && c !== 0x45) {
    // Plain integer: already canonical unless it is -0 or too long for the plain form.
    const digits = intEnd - intStart
    if (digits <= 21 && !(negative && s.charCodeAt(intStart) === 0x30)) {
      token.text = s.slice(start, i)
      return i
    }
    token.text = normalizeNumber(negative, s.slice(intStart, intEnd), '', '')
    return i
  }
  let frac = ''
  if (c === 0x2e) {
    const fracStart = ++i
    if (!isDigit(s.charCodeAt(i))) throw syntax(s, i, 'a digit after "."')
    while (isDigit(s.charCodeAt(i))) i++
    frac = s.slice(fracStart, i)
    c = s.charCodeAt(i)
  }
  let exp = ''
  if (c === 0x65 || c === 0x45) {
    const expStart = ++i
    c = s.charCodeAt(i)
    if (c === 0x2b || c === 0x2d) i++
    if (!isDigit(s.charCodeAt(i))) throw syntax(s, i, 'a digit in the exponent')
    while (isDigit(s.charCodeAt(i))) i++
    exp = s.slice(expStart, i)
  }
  token.text = normalizeNumber(negative, s.slice(intStart, intEnd), frac, exp)
  return i
}
