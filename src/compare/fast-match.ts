/*
 * Proves that two answers match without building canonical trees (issue 16): the common case of a
 * healthy candidate that re-serializes the primary's JSON (other key order, other whitespace, `1.0`
 * for `1`, `\u00e9` for `é`).
 *
 * It answers only `true` (the full comparison would say `match`) or `false` (not proven: run the full
 * comparison). It never says `mismatch`. `true` needs:
 * - the same status; every allow-listed header with the same raw values on both sides, except
 *   `content-type`, whose media types may be spelled differently (compare.ts compares media types only);
 * - both bodies JSON (`application/json` or `*\/*+json`) read as UTF-8, with no content-coding (a
 *   `chunked` transfer-coding only), within `maxBodyBytes`;
 * - both bodies valid UTF-8 and valid JSON without a byte order mark (JSON.parse is the grammar check:
 *   its grammar is RFC 8259's, the same as canonical.ts's parser);
 * - nothing that canonical.ts treats differently from JSON.parse: no duplicate key (JSON.parse keeps
 *   the last; canonical.ts calls the body invalid), no `\uD800`–`\uDFFF` escape (a lone surrogate is
 *   invalid there), no nesting deeper than the rules' maxDepth or 64, no number that a double cannot
 *   hold exactly enough: more than 15 digits, or an exponent over 200 in magnitude. Anything else
 *   falls back;
 * - the parsed values equal: same types, arrays item by item, objects with the same own keys and
 *   equal values. Numbers compare as doubles: every number let through has at most 15 significant
 *   digits and a magnitude between 1e-215 and 1e215, where two different decimals never round to the
 *   same double (DBL_DIG), and equal decimals (`1`, `1.0`, `10e-1`) always do, `-0` equal to `0`:
 *   the same equality as canonical.ts's normalizeNumber. Strings compare decoded, as the canonical
 *   form re-escapes them. Equal canonical texts are a match whatever the route's rules say (compare.ts
 *   answers before any rule is applied), so the rules only limit size and depth here.
 * A key count checks what the walk cannot see: the walk proves every key of each primary object is in
 * the candidate's with an equal value; the number of `:` outside strings (one per member, counted in
 * the grammar-checked text) is the same on both sides and equals the primary's distinct keys, so
 * neither side has a duplicate key nor the candidate an extra one.
 */
import { isUtf8 } from 'node:buffer'
import { effectiveCharset, parseContentType } from './body.ts'
import { type CompiledRules } from './rules.ts'

/** What the fast path looks at: status, flat headers (name, value, …), body bytes. */
export interface FastAnswer {
  status: number
  headers: readonly string[]
  body: Uint8Array
}

/** Deepest nesting the fast path walks (its walk recurses); deeper bodies take the full path. */
export const FAST_MAX_DEPTH = 64
/** Most digits (integer and fraction) of a number the fast path compares as a double. */
const MAX_DIGITS = 15
/** Largest exponent magnitude of a number the fast path compares as a double. */
const MAX_EXPONENT = 200

/** Result of {@link scanJson}: the number of members (`:` outside strings), or -1 when the body must take the full path. */
let colons = 0

/**
 * One pass over the bytes of a JSON text that JSON.parse will check: counts the members, and gives up
 * (false) on a `\uD800`–`\uDFFF` escape not in a high-low pair, nesting deeper than `maxDepth`, a number with more than 15
 * digits or an exponent over 200, a leading byte order mark. Sets {@link colons}.
 */
function scanJson (b: Uint8Array, maxDepth: number): boolean {
  const n = b.length
  let i = 0
  let depth = 0
  let members = 0
  if (n > 0 && b[0] === 0xef) return false
  while (i < n) {
    const c = b[i]
    if (c === 0x22) { // a string: only its escapes matter
      i++
      for (;;) {
        if (i >= n) return false
        const d = b[i]
        if (d === 0x22) break
        if (d === 0x5c) {
          if (b[i + 1] === 0x75 && (b[i + 2] | 0x20) === 0x64) {
            const h1 = b[i + 3] | 0x20
            if (h1 >= 0x63 && h1 <= 0x66) return false // a low surrogate \uDC00–\uDFFF first: lone
            if (h1 === 0x38 || h1 === 0x39 || h1 === 0x61 || h1 === 0x62) {
              // a high surrogate \uD800–\uDBFF: only with its low half escaped right after
              const l1 = b[i + 9] | 0x20
              if (b[i + 6] !== 0x5c || b[i + 7] !== 0x75 || (b[i + 8] | 0x20) !== 0x64 || l1 < 0x63 || l1 > 0x66) return false
              i += 12
              continue
            }
          }
          i += 2
          continue
        }
        i++
      }
      i++
    } else if (c === 0x3a) {
      members++
      i++
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return false
      i++
    } else if (c === 0x7d || c === 0x5d) {
      depth--
      i++
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      if (c === 0x2d) i++
      let digits = 0
      while (i < n && ((b[i] >= 0x30 && b[i] <= 0x39) || b[i] === 0x2e)) {
        if (b[i] !== 0x2e) digits++
        i++
      }
      if (digits > MAX_DIGITS) return false
      if (i < n && (b[i] | 0x20) === 0x65) {
        i++
        if (b[i] === 0x2b || b[i] === 0x2d) i++
        let exp = 0
        let expDigits = 0
        while (i < n && b[i] >= 0x30 && b[i] <= 0x39) {
          exp = exp * 10 + b[i] - 0x30
          if (++expDigits > 4) return false
          i++
        }
        if (exp > MAX_EXPONENT) return false
      }
    } else {
      i++
    }
  }
  colons = members
  return true
}

/** Keys of the primary's objects the last {@link sameValue} walked. */
let walked = 0

function sameValue (a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let k = 0; k < a.length; k++) if (!sameValue(a[k], b[k])) return false
    return true
  }
  if (Array.isArray(b)) return false
  const x = a as Record<string, unknown>
  const y = b as Record<string, unknown>
  const keys = Object.keys(x)
  walked += keys.length
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]
    // Own keys only: `__proto__` or `toString` missing on one side must not find Object.prototype's.
    if (!Object.hasOwn(y, key) || !sameValue(x[key], y[key])) return false
  }
  return true
}

function parsed (body: Uint8Array): unknown {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * Whether two bodies are JSON texts with the same canonical form (canonical.ts), proven without a
 * tree; false when they differ or when it cannot be proven this way (see the file's header).
 * @param a the primary's decoded body
 * @param b the candidate's decoded body
 * @param maxDepth the route's deepest nesting @default 1000
 */
export function sameJsonBody (a: Uint8Array, b: Uint8Array, maxDepth = 1000): boolean {
  const depth = Math.min(maxDepth, FAST_MAX_DEPTH)
  if (!scanJson(a, depth)) return false
  const membersA = colons
  if (!scanJson(b, depth) || colons !== membersA) return false
  if (!isUtf8(a) || !isUtf8(b)) return false
  const x = parsed(a)
  if (x === undefined) return false
  const y = parsed(b)
  if (y === undefined) return false
  walked = 0
  return sameValue(x, y) && walked === membersA
}

/** Scratch of {@link readHeaders}: content-type, content-encoding, transfer-encoding, and how many content-type lines. */
const headA: Array<string | undefined> = [undefined, undefined, undefined]
const headB: Array<string | undefined> = [undefined, undefined, undefined]
let typeLines = 0

/** The headers a body's reading depends on, straight from the flat list (no record built). */
function readHeaders (flat: readonly string[], out: Array<string | undefined>): void {
  out[0] = out[1] = out[2] = undefined
  typeLines = 0
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]
    const n = name.length
    if (n !== 12 && n !== 16 && n !== 17) continue
    const lower = name.toLowerCase()
    if (lower === 'content-type') { out[0] = flat[i + 1]; typeLines++ } else if (lower === 'content-encoding') out[1] = flat[i + 1]
    else if (lower === 'transfer-encoding') out[2] = out[2] === undefined ? flat[i + 1] : out[2] + ',' + flat[i + 1]
  }
}

/** JSON read as UTF-8 with no content-coding: the only reading the fast path takes. */
function plainJson (h: Array<string | undefined>): boolean {
  if (typeLines !== 1 || h[1] !== undefined) return false
  if (h[2] !== undefined && h[2].trim().toLowerCase() !== 'chunked') return false
  const media = parseContentType(h[0])
  return media.json && effectiveCharset(media) === 'utf-8'
}

/** The values of one header in a flat list, in order, joined by NUL (null when absent). */
function rawValues (flat: readonly string[], name: string): string | null {
  let out: string | null = null
  for (let i = 0; i < flat.length; i += 2) {
    if (flat[i].length === name.length && flat[i].toLowerCase() === name) out = out === null ? flat[i + 1] : `${out}\u0000${flat[i + 1]}`
  }
  return out
}

/**
 * Whether the full comparison (compareExchanges under these rules) would call two answers a match,
 * proven cheaply: true only then; false means "run the full comparison" (see the file's header).
 * @param a the primary's answer
 * @param b the candidate's answer
 * @param rules the route's compiled rules
 */
export function fastMatch (a: FastAnswer, b: FastAnswer, rules: CompiledRules): boolean {
  if (a.status !== b.status) return false
  const max = rules.maxBodyBytes
  if (a.body.byteLength === 0 || b.body.byteLength === 0 || a.body.byteLength > max || b.body.byteLength > max) return false
  readHeaders(a.headers, headA)
  if (!plainJson(headA)) return false
  readHeaders(b.headers, headB)
  if (!plainJson(headB)) return false
  const names = rules.headers
  for (let k = 0; k < names.length; k++) {
    const name = names[k]
    if (name === 'content-type') {
      if (headA[0] !== headB[0] && parseContentType(headA[0]).type !== parseContentType(headB[0]).type) return false
    } else if (name !== 'content-encoding' && rawValues(a.headers, name) !== rawValues(b.headers, name)) {
      // content-encoding is absent on both sides (plainJson)
      return false
    }
  }
  return sameJsonBody(a.body, b.body, rules.maxDepth)
}
