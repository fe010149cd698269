/*
 * The tree-less match's walk (fast-match.ts, issue 16): two JSON texts, each read once into a tape
 * of typed arrays (json-tape-read.ts), then walked side by side. It replaced JSON.parse of both
 * bodies, which was most of the fast path's cost.
 *
 * What canonical.ts treats differently, or what a double cannot compare exactly, makes it give up
 * (false: run the full path): the reader's refusals, and a duplicate key. The caller checks UTF-8
 * validity first, so a string's bytes can be compared as they are, or decoded code point by code
 * point when either side uses escapes. Two decimals of at most 15 digits are equal exactly when
 * their doubles are (DBL_DIG), `-0` equal to `0`, which is canonical.ts's number equality.
 */
import * as read from './json-tape-read.ts'
import { EMPTY, escaped, hex4, readTape, Tape, tapeFor } from './json-tape-read.ts'

// The reader's value kinds as constants of this module: an imported binding is a load at every use
// in the walk's loops (measured: the walk took twice as long), a module constant is folded.
const OBJECT = read.OBJECT
const ARRAY = read.ARRAY
const STRING = read.STRING
const ESCAPED = read.ESCAPED
const NUMBER = read.NUMBER
const KEEP_NODES = read.KEEP_NODES

/** Objects up to this many members are matched pairwise; larger ones through a map of their keys. */
const PAIRWISE_MEMBERS = 32

let keptX = new Tape(256)
let keptY = new Tape(256)

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
  if (!readTape(x, depth)) return false
  const y = tapeFor(keptY, b)
  if (y.kind.length <= KEEP_NODES) keptY = y
  if (!readTape(y, depth)) return false
  X = x
  Y = y
  top = 0
  try {
    return same(0, 0)
  } finally {
    // nothing of the bodies outlives the call
    x.bytes = y.bytes = EMPTY
  }
}
