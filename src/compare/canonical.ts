/*
 * Exact, iterative JSON parser that yields a canonical tree, its canonical text and a sha256.
 *
 * Why our own parser: JSON.parse loses integers beyond 2^53 (9007199254740993 becomes
 * ...992), silently keeps the last of duplicate keys, overflows the stack in recursive
 * post-processing near 10,000 levels, and treats `__proto__` specially when objects are
 * rebuilt. This parser never recurses, keeps numbers as decimal text, and stores objects as
 * sorted key arrays (no prototype involved).
 *
 * Canonical form (RFC 8785 in spirit, fast-json-stable-stringify in key order):
 * - no insignificant whitespace; object keys sorted by UTF-16 code units;
 * - strings re-escaped the way JSON.stringify escapes them (`"`, `\`, control characters;
 *   everything else raw), so "\u00e9" and "é" are the same string;
 * - numbers normalised by their exact decimal VALUE, never through a JS Number:
 *   `1`, `1.0`, `1e0`, `10e-1` all become `1`; `-0` becomes `0`; digits are kept exactly, so
 *   9007199254740993 and 9007199254740992 stay different. The printed shape follows
 *   ECMAScript Number::toString (plain up to 21 integer digits, `0.000001` down to 1e-6,
 *   exponent form `1.5e+25` outside), so ordinary numbers print as JSON.stringify prints them.
 *
 * Anomaly policy (returned, never thrown; classification depends only on the bytes of one
 * side, so the same body is classified identically as primary or candidate):
 * - `too_deep`: more than `maxDepth` nested arrays/objects (default 1000); scanning stops there.
 * - `duplicate_key`: an object repeats a key (no last-wins).
 * - `lone_surrogate`: a `\ud800`-style escape without its pair, or a lone surrogate in a string input.
 * - `invalid_utf8`: a Buffer input that is not valid UTF-8.
 * - `bom`: a leading byte order mark (RFC 8259 §8.1 forbids sending one).
 * - `trailing_bytes`: anything but whitespace after the top-level value.
 * - `invalid_json`: any other syntax error.
 * The first anomaly met wins. compare.ts treats every reason except `too_deep` as the class
 * `invalid_json` (see there); `too_deep` is `skipped`.
 */
import { createHash } from 'node:crypto'
import { isUtf8 } from 'node:buffer'
import { RULE_DEFAULTS } from '../config/rule-defaults.ts'
import { canonicalText, JsonNode, Kind, type JsonKind } from './json-tree.ts'
import { Failure, firstLoneSurrogate, isWellFormed, parseNumber, parseString, skipWs, syntax, token, type CanonicalReason } from './json-lexer.ts'

/** The tree's nodes and text, with the parser that builds them. */
export { canonicalText, JsonNode, Kind, type JsonKind } from './json-tree.ts'
export { type CanonicalReason } from './json-lexer.ts'

/** Options of {@link canonicalize}. */
export interface CanonicalOptions {
  /** Deepest nesting of arrays and objects accepted. @default 1000 */
  maxDepth?: number
  /** Compute the sha256 of the canonical text. @default true */
  hash?: boolean
}

/** A canonicalised body. `hash` is '' when `hash: false` was asked for. */
export interface CanonicalOk {
  ok: true
  value: JsonNode
  canonical: string
  hash: string
}

/** A body that is not canonicalisable, with the reason and where it was found. */
export interface CanonicalFailure {
  ok: false
  reason: CanonicalReason
  detail: string
  offset: number
}

/** Result of {@link canonicalize}. */
export type CanonicalResult = CanonicalOk | CanonicalFailure

/** Default of {@link CanonicalOptions.maxDepth}: that of `compare.maxDepth`. */
export const DEFAULT_MAX_DEPTH = RULE_DEFAULTS.maxDepth

const EMPTY_KEYS = new Map<string, KeyEntry>()
const EMPTY_SCALARS = new Map<string, JsonNode>()
const NULL_NODE = new JsonNode(Kind.Null, 'null', null, null, null)
const TRUE_NODE = new JsonNode(Kind.Bool, 'true', null, null, null)
const FALSE_NODE = new JsonNode(Kind.Bool, 'false', null, null, null)

const NO_KEYS: string[] = []

class Frame {
  isObject: boolean
  keys: string[]
  keyTexts: string[]
  values: JsonNode[]

  constructor (isObject: boolean) {
    this.isObject = isObject
    this.keys = isObject ? [] : NO_KEYS
    this.keyTexts = isObject ? [] : NO_KEYS
    this.values = []
  }
}

class KeyEntry {
  value: string
  text: string

  constructor (value: string, text: string) {
    this.value = value
    this.text = text
  }
}

// Keys and short scalars repeat across the elements of an array: sharing one string / node
// per distinct text keeps the retained tree small (what JSON.parse does by internalising keys).
let keyCache = new Map<string, KeyEntry>()
let scalarCache = new Map<string, JsonNode>()
const CACHE_LIMIT = 4096
const SHARED_SCALAR_MAX = 32

let sharing = false
/** Below this input length the caches cost more than they save. */
const SHARING_MIN_LENGTH = 8192

function scalar (kind: JsonKind, text: string): JsonNode {
  if (!sharing || text.length > SHARED_SCALAR_MAX) return new JsonNode(kind, text, null, null, null)
  let node = scalarCache.get(text)
  if (node === undefined) {
    node = new JsonNode(kind, text, null, null, null)
    if (scalarCache.size < CACHE_LIMIT) scalarCache.set(text, node)
  }
  return node
}

/**
 * Parse a JSON body and return its canonical tree, canonical text and sha256 (hex of the
 * UTF-8 canonical text). Never throws on any input; anomalies come back as `{ ok: false }`.
 * @param input raw body bytes (must be UTF-8) or an already decoded string
 * @param opts see {@link CanonicalOptions}
 */
export function canonicalize (input: Buffer | Uint8Array | string, opts: CanonicalOptions = {}): CanonicalResult {
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH
  let text: string
  if (typeof input === 'string') {
    if (input.charCodeAt(0) === 0xfeff) return fail('bom', 'byte order mark before the JSON text', 0)
    if (!isWellFormed(input)) return fail('lone_surrogate', 'string input holds a lone UTF-16 surrogate', firstLoneSurrogate(input))
    text = input
  } else {
    if (input.length >= 3 && input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf) {
      return fail('bom', 'byte order mark before the JSON text', 0)
    }
    if (!isUtf8(input)) return fail('invalid_utf8', 'body is not valid UTF-8', 0)
    text = Buffer.isBuffer(input) ? input.toString('utf8') : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8')
  }
  let value: JsonNode
  sharing = text.length >= SHARING_MIN_LENGTH
  if (sharing) {
    keyCache = new Map()
    scalarCache = new Map()
  }
  try {
    value = parse(text, maxDepth)
  } catch (err) {
    if (err instanceof Failure) return fail(err.reason, err.detail, err.offset)
    throw err
  } finally {
    keyCache = EMPTY_KEYS
    scalarCache = EMPTY_SCALARS
  }
  const canonical = canonicalText(value)
  const hash = opts.hash === false ? '' : createHash('sha256').update(canonical).digest('hex')
  return { ok: true, value, canonical, hash }
}

function fail (reason: CanonicalReason, detail: string, offset: number): CanonicalFailure {
  return { ok: false, reason, detail, offset }
}

function parse (s: string, maxDepth: number): JsonNode {
  const len = s.length
  const stack: Frame[] = []
  let frame: Frame | null = null
  let i = skipWs(s, 0)
  let value: JsonNode
  for (;;) {
    // A value starts at i.
    const c = s.charCodeAt(i)
    if (c === 0x7b || c === 0x5b) { // { [
      if (stack.length + (frame === null ? 0 : 1) >= maxDepth) {
        throw new Failure('too_deep', `nesting deeper than ${maxDepth} levels`, i)
      }
      const isObject = c === 0x7b
      i = skipWs(s, i + 1)
      const close = isObject ? 0x7d : 0x5d
      if (s.charCodeAt(i) === close) {
        i++
        value = isObject ? new JsonNode(Kind.Object, '{}', [], [], []) : new JsonNode(Kind.Array, '[]', null, null, [])
      } else {
        if (frame !== null) stack.push(frame)
        frame = new Frame(isObject)
        if (isObject) i = parseKey(s, i, frame)
        continue
      }
    } else if (c === 0x22) {
      parseString(s, i)
      i = token.end
      value = scalar(Kind.String, token.text)
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      i = parseNumber(s, i)
      value = scalar(Kind.Number, token.text)
    } else if (c === 0x74 && s.startsWith('true', i)) {
      i += 4
      value = TRUE_NODE
    } else if (c === 0x66 && s.startsWith('false', i)) {
      i += 5
      value = FALSE_NODE
    } else if (c === 0x6e && s.startsWith('null', i)) {
      i += 4
      value = NULL_NODE
    } else {
      throw syntax(s, i, 'a JSON value')
    }
    // A value ended before i: attach it to the open containers, closing as many as end here.
    for (;;) {
      if (frame === null) {
        i = skipWs(s, i)
        if (i < len) throw new Failure('trailing_bytes', `${len - i} characters after the JSON value`, i)
        return value
      }
      frame.values.push(value)
      i = skipWs(s, i)
      const d = s.charCodeAt(i)
      if (d === 0x2c) { // ,
        i = skipWs(s, i + 1)
        if (frame.isObject) i = parseKey(s, i, frame)
        break
      }
      if (frame.isObject) {
        if (d !== 0x7d) throw syntax(s, i, '"," or "}"')
        value = closeObject(frame, i)
      } else {
        if (d !== 0x5d) throw syntax(s, i, '"," or "]"')
        value = new JsonNode(Kind.Array, null, null, null, frame.values)
      }
      i++
      frame = stack.length > 0 ? stack.pop() as Frame : null
    }
  }
}

/** Parses `"key" :` at i into the frame; returns the index of the value after it. */
function parseKey (s: string, i: number, frame: Frame): number {
  if (s.charCodeAt(i) !== 0x22) throw syntax(s, i, 'a string key')
  parseString(s, i)
  let entry = keyCache.get(token.text)
  if (entry === undefined) {
    const value = token.text.indexOf('\\') < 0 ? token.text.slice(1, -1) : JSON.parse(token.text) as string
    entry = new KeyEntry(value, token.text + ':')
    if (sharing && keyCache.size < CACHE_LIMIT) keyCache.set(token.text, entry)
  }
  frame.keys.push(entry.value)
  frame.keyTexts.push(entry.text)
  i = skipWs(s, token.end)
  if (s.charCodeAt(i) !== 0x3a) throw syntax(s, i, '":"')
  return skipWs(s, i + 1)
}

function closeObject (frame: Frame, at: number): JsonNode {
  const keys = frame.keys
  const texts = frame.keyTexts
  const values = frame.values
  const n = keys.length
  let sorted = true
  for (let k = 1; k < n; k++) {
    if (keys[k - 1] >= keys[k]) { sorted = false; break }
  }
  if (!sorted) {
    sortMembers(keys, texts, values)
    for (let k = 1; k < n; k++) {
      if (keys[k - 1] === keys[k]) throw new Failure('duplicate_key', `duplicate key ${texts[k].slice(0, -1)} in the object ending at offset ${at}`, at)
    }
  }
  return new JsonNode(Kind.Object, null, keys, texts, values)
}

/** Sorts the three parallel arrays by key: insertion sort for small objects, index sort above. */
function sortMembers (keys: string[], texts: string[], values: JsonNode[]): void {
  const n = keys.length
  if (n <= 24) {
    for (let k = 1; k < n; k++) {
      const key = keys[k]
      const t = texts[k]
      const v = values[k]
      let j = k - 1
      while (j >= 0 && keys[j] > key) {
        keys[j + 1] = keys[j]
        texts[j + 1] = texts[j]
        values[j + 1] = values[j]
        j--
      }
      keys[j + 1] = key
      texts[j + 1] = t
      values[j + 1] = v
    }
    return
  }
  const order = new Array<number>(n)
  for (let k = 0; k < n; k++) order[k] = k
  order.sort((a, b) => keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : 0)
  const k2 = keys.slice()
  const t2 = texts.slice()
  const v2 = values.slice()
  for (let k = 0; k < n; k++) {
    keys[k] = k2[order[k]]
    texts[k] = t2[order[k]]
    values[k] = v2[order[k]]
  }
}
