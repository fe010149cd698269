/*
 * The reader of the tree-less match (json-tape.ts, fast-match.ts; issue 16): one JSON text read
 * once into a flat tape of typed arrays, no object, no string and no number boxed per value.
 *
 * A strict RFC 8259 grammar check; what canonical.ts treats differently, or what a double cannot
 * hold exactly, makes it give up (false: the caller runs the full path): a lone surrogate escape,
 * nesting deeper than asked, a number with more than 15 digits or an exponent over 200.
 *
 * Numbers are read exactly: at most 15 digits make an integer m below 2^53, and m × 10^k or
 * m / 10^k (|k| ≤ 22, where 10^k is itself a double) is one correctly rounded operation, the
 * double JSON.parse gives; other exponents go through Number().
 */

export const OBJECT = 1
export const ARRAY = 2
export const STRING = 3
/** a string with at least one escape: compared decoded */
export const ESCAPED = 4
export const NUMBER = 5
const TRUE = 6
const FALSE = 7
const NULL = 8

/** Most digits of a number read as a double. */
const MAX_DIGITS = 15
/** Largest exponent magnitude read. */
const MAX_EXPONENT = 200
/** Tapes up to this many values are kept between calls; larger ones are made for the call and dropped. */
export const KEEP_NODES = 1 << 16

const POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]

/**
 * One text's values in document order (a value's children follow it). For a string, `a` and `b`
 * are its content's byte offsets (and `hash` a key's hash); for an object or array, `a` is its member count and `b` the
 * index after its last descendant; for a number, `num` is its value.
 */
export class Tape {
  kind: Uint8Array
  a: Int32Array
  b: Int32Array
  num: Float64Array
  /** a key's hash ({@link readString}) */
  hash: Int32Array
  bytes: Uint8Array
  length: number

  constructor (capacity: number) {
    this.kind = new Uint8Array(capacity)
    this.a = new Int32Array(capacity)
    this.b = new Int32Array(capacity)
    this.num = new Float64Array(capacity)
    this.hash = new Int32Array(capacity)
    this.bytes = EMPTY
    this.length = 0
  }
}

export const EMPTY: Uint8Array = new Uint8Array(0)

/** A tape for `bytes` (a text of n bytes has at most n values): the kept one, grown, or a new one. */
export function tapeFor (kept: Tape, bytes: Uint8Array): Tape {
  const need = bytes.length + 1
  let t = kept
  if (t.kind.length < need) t = new Tape(need <= KEEP_NODES ? Math.min(KEEP_NODES, Math.max(need, 2 * t.kind.length)) : need)
  t.bytes = bytes
  t.length = 0
  return t
}

// The reader: synchronous and never re-entered, so its state is the module's.
let T = new Tape(1)
let B = EMPTY
let maxDepth = 0

function isDigit (c: number): boolean {
  return c >= 0x30 && c <= 0x39
}

function isHex (c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66)
}

function hexDigit (c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57
}

/** The four hex digits at i (checked by the reader). */
export function hex4 (b: Uint8Array, i: number): number {
  return (hexDigit(b[i]) << 12) | (hexDigit(b[i + 1]) << 8) | (hexDigit(b[i + 2]) << 4) | hexDigit(b[i + 3])
}

function skipWs (i: number): number {
  const b = B
  const n = b.length
  while (i < n) {
    const c = b[i]
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++
    else break
  }
  return i
}

/**
 * Reads the string whose `"` is at i into a new value; the index after its closing quote, or -1.
 * A key also gets a hash of its characters' UTF-8 bytes (FNV-1a), so that members are paired and
 * duplicates found by comparing numbers first.
 */
function readString (i: number, key: boolean): number {
  const b = B
  const n = b.length
  const node = T.length++
  let kind = STRING
  let hash = 0x811c9dc5
  let j = i + 1
  for (;;) {
    // the common bytes, in a loop of their own
    if (key) {
      while (j < n) {
        const c = b[j]
        if (c === 0x22 || c === 0x5c || c < 0x20) break
        hash = Math.imul(hash ^ c, 0x01000193)
        j++
      }
    } else {
      while (j < n) {
        const c = b[j]
        if (c === 0x22 || c === 0x5c || c < 0x20) break
        j++
      }
    }
    if (j >= n) return -1
    const c = b[j]
    if (c === 0x22) break
    if (c < 0x20) return -1
    kind = ESCAPED
    const e = b[j + 1]
    if (e === 0x75) {
      if (!isHex(b[j + 2]) || !isHex(b[j + 3]) || !isHex(b[j + 4]) || !isHex(b[j + 5])) return -1
      const u = hex4(b, j + 2)
      if (u >= 0xdc00 && u <= 0xdfff) return -1 // a low surrogate first: lone
      if (u >= 0xd800 && u <= 0xdbff) {
        // a high surrogate: only with its low half escaped right after
        if (b[j + 6] !== 0x5c || b[j + 7] !== 0x75 || !isHex(b[j + 8]) || !isHex(b[j + 9]) || !isHex(b[j + 10]) || !isHex(b[j + 11])) return -1
        const low = hex4(b, j + 8)
        if (low < 0xdc00 || low > 0xdfff) return -1
        if (key) hash = hashUtf8(hash, 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00))
        j += 12
      } else {
        if (key) hash = hashUtf8(hash, u)
        j += 6
      }
    } else if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
      if (key) hash = Math.imul(hash ^ escaped(e), 0x01000193)
      j += 2
    } else {
      return -1
    }
  }
  const t = T
  t.kind[node] = kind
  t.a[node] = i + 1
  t.b[node] = j
  if (key) t.hash[node] = hash
  return j + 1
}

/** The character a one-letter escape stands for (`e` checked by the reader). */
export function escaped (e: number): number {
  switch (e) {
    case 0x62: return 0x08
    case 0x66: return 0x0c
    case 0x6e: return 0x0a
    case 0x72: return 0x0d
    case 0x74: return 0x09
    default: return e // " \ /
  }
}

/** FNV-1a over the UTF-8 bytes of code point u, as a raw key's bytes are hashed. */
function hashUtf8 (hash: number, u: number): number {
  if (u < 0x80) return Math.imul(hash ^ u, 0x01000193)
  if (u < 0x800) {
    hash = Math.imul(hash ^ (0xc0 | (u >> 6)), 0x01000193)
  } else if (u < 0x10000) {
    hash = Math.imul(hash ^ (0xe0 | (u >> 12)), 0x01000193)
    hash = Math.imul(hash ^ (0x80 | ((u >> 6) & 0x3f)), 0x01000193)
  } else {
    hash = Math.imul(hash ^ (0xf0 | (u >> 18)), 0x01000193)
    hash = Math.imul(hash ^ (0x80 | ((u >> 12) & 0x3f)), 0x01000193)
    hash = Math.imul(hash ^ (0x80 | ((u >> 6) & 0x3f)), 0x01000193)
  }
  return Math.imul(hash ^ (0x80 | (u & 0x3f)), 0x01000193)
}

/** Reads the number at i into a new value; the index after it, or -1 (bad grammar, or not exactly readable here). */
function readNumber (i: number): number {
  const b = B
  const start = i
  let negative = false
  if (b[i] === 0x2d) { negative = true; i++ }
  let m = 0
  let digits = 0
  let c = b[i]
  if (c === 0x30) {
    i++
    digits++
  } else if (c >= 0x31 && c <= 0x39) {
    do {
      m = m * 10 + (c - 0x30)
      digits++
      c = b[++i]
    } while (isDigit(c))
  } else {
    return -1
  }
  let k = 0
  if (b[i] === 0x2e) {
    c = b[++i]
    if (!isDigit(c)) return -1
    do {
      m = m * 10 + (c - 0x30)
      digits++
      k--
      c = b[++i]
    } while (isDigit(c))
  }
  if (digits > MAX_DIGITS) return -1
  if ((b[i] | 0x20) === 0x65) {
    i++
    let sign = 1
    if (b[i] === 0x2b) i++
    else if (b[i] === 0x2d) { sign = -1; i++ }
    c = b[i]
    if (!isDigit(c)) return -1
    let exp = 0
    do {
      exp = exp * 10 + (c - 0x30)
      if (exp > MAX_EXPONENT) return -1
      c = b[++i]
    } while (isDigit(c))
    k += sign * exp
  }
  let value: number
  if (k === 0) value = m
  else if (k > 0 && k <= 22) value = m * POW10[k]
  else if (k < 0 && k >= -22) value = m / POW10[-k]
  else value = Number(Buffer.prototype.latin1Slice.call(b, negative ? start + 1 : start, i))
  const node = T.length++
  T.kind[node] = NUMBER
  T.num[node] = negative ? -value : value
  return i
}

function readLiteral (i: number, kind: number, word: string): number {
  const b = B
  for (let k = 1; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return -1
  const node = T.length++
  T.kind[node] = kind
  return i + word.length
}

/** Reads the value starting at i (not whitespace), inside `depth` containers; the index after it, or -1. */
function readValue (i: number, depth: number): number {
  const b = B
  const c = b[i]
  if (c === 0x22) return readString(i, false)
  if (c === 0x2d || isDigit(c)) return readNumber(i)
  if (c === 0x7b || c === 0x5b) {
    if (depth >= maxDepth) return -1
    const t = T
    const node = t.length++
    const close = c + 2 // } is { + 2, ] is [ + 2
    let count = 0
    i = skipWs(i + 1)
    if (b[i] !== close) {
      for (;;) {
        if (c === 0x7b) {
          if (b[i] !== 0x22) return -1
          i = readString(i, true)
          if (i < 0) return -1
          i = skipWs(i)
          if (b[i] !== 0x3a) return -1
          i = skipWs(i + 1)
        }
        i = readValue(i, depth + 1)
        if (i < 0) return -1
        count++
        i = skipWs(i)
        const d = b[i]
        if (d === 0x2c) { i = skipWs(i + 1); continue }
        if (d === close) break
        return -1
      }
    }
    t.kind[node] = c === 0x7b ? OBJECT : ARRAY
    t.a[node] = count
    t.b[node] = t.length
    return i + 1
  }
  if (c === 0x74) return readLiteral(i, TRUE, 'true')
  if (c === 0x66) return readLiteral(i, FALSE, 'false')
  if (c === 0x6e) return readLiteral(i, NULL, 'null')
  return -1
}

/** Reads the whole text of `t` into it; false when it is not one JSON value (or not one this reader takes). */
export function readTape (t: Tape, depth: number): boolean {
  T = t
  B = t.bytes
  maxDepth = depth
  let i = readValue(skipWs(0), 0)
  if (i >= 0) i = skipWs(i)
  const whole = i === B.length
  B = EMPTY // the reader keeps no body
  return whole
}
