/*
 * The tree-less match's reader (fast-match.ts, issue 16): two JSON texts, each read once into a
 * flat tape of typed arrays (no object, no string, no number boxed per value), then walked side by
 * side. It replaces JSON.parse of both bodies, which was most of the fast path's cost.
 *
 * The reader is a strict RFC 8259 grammar check; what canonical.ts treats differently from that
 * grammar, or what a double cannot compare exactly, makes it give up (false: run the full path):
 * a lone surrogate escape, nesting deeper than asked, a number with more than 15 digits or an
 * exponent over 200 in magnitude, a duplicate key. The caller checks UTF-8 validity first, so a
 * string's bytes can be compared as they are, or decoded code point by code point when either side
 * uses escapes.
 *
 * Numbers are read exactly: at most 15 digits make an integer m below 2^53, and m × 10^k or
 * m / 10^k (|k| ≤ 22, where 10^k is itself a double) is one correctly rounded operation, the
 * double JSON.parse gives; other exponents go through Number(). Two decimals of at most 15 digits
 * are equal exactly when their doubles are (DBL_DIG), `-0` equal to `0`, which is canonical.ts's
 * number equality.
 */

const OBJECT = 1
const ARRAY = 2
const STRING = 3
/** a string with at least one escape: compared decoded */
const ESCAPED = 4
const NUMBER = 5
const TRUE = 6
const FALSE = 7
const NULL = 8

/** Most digits of a number read as a double. */
const MAX_DIGITS = 15
/** Largest exponent magnitude read. */
const MAX_EXPONENT = 200
/** Tapes up to this many values are kept between calls; larger ones are made for the call and dropped. */
const KEEP_NODES = 1 << 16
/** Objects up to this many members are matched pairwise; larger ones through a map of their keys. */
const PAIRWISE_MEMBERS = 32

const POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]

/**
 * One text's values in document order (a value's children follow it). For a string, `a` and `b`
 * are its content's byte offsets (and `hash` a key's hash); for an object or array, `a` is its member count and `b` the
 * index after its last descendant; for a number, `num` is its value.
 */
class Tape {
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

const EMPTY: Uint8Array = new Uint8Array(0)
let keptX = new Tape(256)
let keptY = new Tape(256)

/** A tape for `bytes` (a text of n bytes has at most n values): the kept one, grown, or a new one. */
function tapeFor (kept: Tape, bytes: Uint8Array): Tape {
  const need = bytes.length + 1
  let t = kept
  if (t.kind.length < need) t = new Tape(need <= KEEP_NODES ? Math.min(KEEP_NODES, Math.max(need, 2 * t.kind.length)) : need)
  t.bytes = bytes
  t.length = 0
  return t
}

// The reader: synchronous and never re-entered, so its state is the module's.
let T = keptX
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
function hex4 (b: Uint8Array, i: number): number {
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
function escaped (e: number): number {
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

/** Reads a whole text into `t`; false when it is not one JSON value (or not one this reader takes). */
function read (t: Tape, depth: number): boolean {
  T = t
  B = t.bytes
  maxDepth = depth
  let i = readValue(skipWs(0), 0)
  if (i < 0) return false
  i = skipWs(i)
  return i === B.length
}

// The walk.
let X = keptX
let Y = keptY

/** The index after value `v` of tape `t` and its descendants. */
function after (t: Tape, v: number): number {
  const k = t.kind[v]
  return k === OBJECT || k === ARRAY ? t.b[v] : v + 1
}

/** Set by {@link codePoint}: where the next character starts. */
let next = 0

/** The code point at i of a string's content (valid UTF-8, escapes checked by the reader); sets {@link next}. */
function codePoint (b: Uint8Array, i: number): number {
  const c = b[i]
  if (c === 0x5c) {
    const e = b[i + 1]
    if (e === 0x75) {
      const u = hex4(b, i + 2)
      if (u >= 0xd800 && u <= 0xdbff) {
        next = i + 12
        return 0x10000 + ((u - 0xd800) << 10) + (hex4(b, i + 8) - 0xdc00)
      }
      next = i + 6
      return u
    }
    next = i + 2
    return escaped(e)
  }
  if (c < 0x80) { next = i + 1; return c }
  if (c < 0xe0) { next = i + 2; return ((c & 0x1f) << 6) | (b[i + 1] & 0x3f) }
  if (c < 0xf0) { next = i + 3; return ((c & 0x0f) << 12) | ((b[i + 1] & 0x3f) << 6) | (b[i + 2] & 0x3f) }
  next = i + 4
  return ((c & 0x07) << 18) | ((b[i + 1] & 0x3f) << 12) | ((b[i + 2] & 0x3f) << 6) | (b[i + 3] & 0x3f)
}

/** Whether string x of tape s and string y of tape t have the same characters. */
function sameString (s: Tape, x: number, t: Tape, y: number): boolean {
  const p = s.bytes
  const q = t.bytes
  let i = s.a[x]
  const iEnd = s.b[x]
  let j = t.a[y]
  const jEnd = t.b[y]
  if (s.kind[x] === STRING && t.kind[y] === STRING) {
    if (iEnd - i !== jEnd - j) return false
    while (i < iEnd) if (p[i++] !== q[j++]) return false
    return true
  }
  while (i < iEnd && j < jEnd) {
    const c = p[i]
    if (c === q[j] && c < 0x80 && c !== 0x5c) { i++; j++; continue } // one ASCII character on both sides
    const u = codePoint(p, i)
    i = next
    if (codePoint(q, j) !== u) return false
    j = next
  }
  return i === iEnd && j === jEnd
}

/** Where an object's members' keys are gathered while it is walked: a stack, as objects nest. */
let keys = new Int32Array(256)
let top = 0

/** Whether object x (tape X) has two members with the same key. */
function hasDuplicateKey (base: number, n: number): boolean {
  for (let i = 0; i < n; i++) {
    const ki = keys[base + i]
    const h = X.hash[ki]
    for (let j = i + 1; j < n; j++) {
      const kj = keys[base + j]
      if (X.hash[kj] === h && sameString(X, ki, X, kj)) return true
    }
  }
  return false
}

/** A key's characters as a string (the reader checked its grammar). */
function keyText (t: Tape, v: number): string {
  const text = Buffer.prototype.utf8Slice.call(t.bytes, t.a[v], t.b[v]) as string
  return t.kind[v] === ESCAPED ? JSON.parse(`"${text}"`) as string : text
}

/** Large objects: members matched through a map of the candidate's keys. */
function sameLargeObject (x: number, y: number, n: number): boolean {
  const members = new Map<string, number>()
  for (let m = 0, v = y + 1; m < n; m++, v = after(Y, v + 1)) members.set(keyText(Y, v), v)
  if (members.size !== n) return false // a duplicate key
  for (let m = 0, u = x + 1; m < n; m++, u = after(X, u + 1)) {
    const key = keyText(X, u)
    const v = members.get(key)
    // a key met twice on the primary's side finds the candidate's member gone
    if (v === undefined || !same(u + 1, v + 1)) return false
    members.delete(key)
  }
  return true
}

function sameObject (x: number, y: number): boolean {
  const n = X.a[x]
  if (Y.a[y] !== n) return false
  if (n === 0) return true
  if (n > PAIRWISE_MEMBERS) return sameLargeObject(x, y, n)
  const base = top
  if (keys.length < base + 2 * n) {
    const grown = new Int32Array(2 * (base + 2 * n))
    grown.set(keys)
    keys = grown
  }
  for (let m = 0, u = x + 1, v = y + 1; m < n; m++, u = after(X, u + 1), v = after(Y, v + 1)) {
    keys[base + m] = u
    keys[base + n + m] = v
  }
  top = base + 2 * n
  const result = !hasDuplicateKey(base, n) && pairMembers(base, n)
  top = base
  return result
}

/**
 * Pairs each member of x (keys at base…) with a member of y (keys at base + n…) not paired yet,
 * with the same key and an equal value. With as many members on both sides, that pairing is one
 * to one: a key twice in x is then twice in y too, so checking x for duplicates is enough.
 */
function pairMembers (base: number, n: number): boolean {
  const xh = X.hash
  const yh = Y.hash
  for (let m = 0; m < n; m++) {
    const u = keys[base + m]
    const h = xh[u]
    // the same place first, then the mirrored one (keys reversed), then any
    let slot = m
    let v = keys[base + n + slot]
    if (v < 0 || yh[v] !== h || !sameString(X, u, Y, v)) {
      slot = n - 1 - m
      v = keys[base + n + slot]
      if (v < 0 || yh[v] !== h || !sameString(X, u, Y, v)) {
        for (slot = 0; slot < n; slot++) {
          v = keys[base + n + slot]
          if (v >= 0 && yh[v] === h && sameString(X, u, Y, v)) break
        }
        if (slot === n) return false
      }
    }
    keys[base + n + slot] = -1
    if (!same(u + 1, v + 1)) return false
  }
  return true
}

/** Whether value x of tape X and value y of tape Y are equal as canonical.ts sees them. */
function same (x: number, y: number): boolean {
  const k = X.kind[x]
  const l = Y.kind[y]
  if (k === STRING || k === ESCAPED) return (l === STRING || l === ESCAPED) && sameString(X, x, Y, y)
  if (k !== l) return false
  if (k === NUMBER) return X.num[x] === Y.num[y]
  if (k === OBJECT) return sameObject(x, y)
  if (k === ARRAY) {
    const n = X.a[x]
    if (Y.a[y] !== n) return false
    for (let m = 0, u = x + 1, v = y + 1; m < n; m++, u = after(X, u), v = after(Y, v)) if (!same(u, v)) return false
    return true
  }
  return true // true, false, null
}

/**
 * Whether two UTF-8 texts (checked valid by the caller) are JSON values with the same canonical
 * form; false also when that cannot be proven this way (see the file's header).
 * @param a the primary's body
 * @param b the candidate's body
 * @param depth the deepest nesting read
 */
export function sameJsonText (a: Uint8Array, b: Uint8Array, depth: number): boolean {
  const x = tapeFor(keptX, a)
  if (x.kind.length <= KEEP_NODES) keptX = x
  if (!read(x, depth)) return false
  const y = tapeFor(keptY, b)
  if (y.kind.length <= KEEP_NODES) keptY = y
  if (!read(y, depth)) return false
  X = x
  Y = y
  top = 0
  try {
    return same(0, 0)
  } finally {
    // nothing of the bodies outlives the call
    x.bytes = y.bytes = B = EMPTY
  }
}
