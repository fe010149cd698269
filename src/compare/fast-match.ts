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
 * - both bodies valid UTF-8 and valid JSON without a byte order mark (json-tape-read.ts's reader is a strict
 *   RFC 8259 grammar check, the same grammar as canonical.ts's parser);
 * - nothing that canonical.ts treats differently: no duplicate key (canonical.ts calls the body
 *   invalid), no `\uD800`–`\uDFFF` escape outside a high-low pair (a lone surrogate is invalid there),
 *   no nesting deeper than the rules' maxDepth or 64, no number that a double cannot hold exactly
 *   enough: more than 15 digits, or an exponent over 200 in magnitude. Anything else falls back;
 * - the values equal: same types, arrays item by item, objects with the same keys (paired one to one)
 *   and equal values. Numbers compare as doubles: every number let through has at most 15 significant
 *   digits and a magnitude between 1e-215 and 1e215, where two different decimals never round to the
 *   same double (DBL_DIG), and equal decimals (`1`, `1.0`, `10e-1`) always do, `-0` equal to `0`:
 *   the same equality as canonical.ts's normalizeNumber. Strings compare decoded, as the canonical
 *   form re-escapes them. Equal canonical texts are a match whatever the route's rules say (compare.ts
 *   answers before any rule is applied), so the rules only limit size and depth here.
 * Nothing is built per value: each body is read once into a tape of typed arrays (json-tape-read.ts, json-tape.ts), about
 * three times cheaper than JSON.parse of both.
 */
import { isUtf8 } from 'node:buffer'
import { effectiveCharset, parseContentType } from './body.ts'
import { sameJsonText } from './json-tape.ts'
import { type CompiledRules } from './rules.ts'

/** What the fast path looks at: status, flat headers (name, value, …), body bytes. */
export interface FastAnswer {
  status: number
  headers: readonly string[]
  body: Uint8Array
}

/** Deepest nesting the fast path reads (its reader recurses); deeper bodies take the full path. */
export const FAST_MAX_DEPTH = 64

/**
 * Whether two bodies are JSON texts with the same canonical form (canonical.ts), proven without a
 * tree; false when they differ or when it cannot be proven this way (see the file's header).
 * @param a the primary's decoded body
 * @param b the candidate's decoded body
 * @param maxDepth the route's deepest nesting @default 1000
 */
export function sameJsonBody (a: Uint8Array, b: Uint8Array, maxDepth = 1000): boolean {
  if (!isUtf8(a) || !isUtf8(b)) return false
  return sameJsonText(a, b, Math.min(maxDepth, FAST_MAX_DEPTH))
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
