/*
 * Fuzzing the canonicalizer with fast-check (issue 11, "Proof"): hostile bytes and near-JSON text against
 * JSON.parse as the oracle, exact decimals of any size, key shuffling and spelling, nesting around the limit,
 * and keys that name Object.prototype members. test/compare/properties.test.ts covers ordinary JSON values
 * (doubles, printed at random) against fast-json-stable-stringify; this file covers what it does not.
 *
 * Seeded and bounded: FUZZ_SEED and FUZZ_RUNS (a multiplier) replay or widen a run; fast-check prints the seed and
 * the counterexample's path on failure.
 */
import { test } from 'node:test'
import { deepStrictEqual, notStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { isUtf8 } from 'node:buffer'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { type CanonicalOk, type CanonicalReason, type CanonicalResult, canonicalize, canonicalText, Kind } from '../../src/compare/canonical.ts'
import { jsonDiff } from '../../src/compare/json-diff.ts'
import { rng } from '../helpers/rng.ts'

const SEED = Number(process.env.FUZZ_SEED ?? 0x11f022)
const SCALE = Number(process.env.FUZZ_RUNS ?? 1)

function params (numRuns: number): fc.Parameters<unknown> {
  return { seed: SEED, numRuns: Math.max(1, Math.round(numRuns * SCALE)) }
}

const REASONS = new Set<CanonicalReason>(['too_deep', 'invalid_json', 'duplicate_key', 'lone_surrogate', 'invalid_utf8', 'bom', 'trailing_bytes'])
/** What JSON.parse accepts but the canonicalizer must refuse. */
const STRICTER = new Set<CanonicalReason>(['duplicate_key', 'lone_surrogate', 'too_deep'])

const PROTO_KEYS = Object.getOwnPropertyNames(Object.prototype).sort()

function sha256 (text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** The canonical text, or `!reason` for a failure (so that a mismatch shows which). */
function canon (r: CanonicalResult): string {
  return r.ok ? r.canonical : `!${r.reason}`
}

/** -0 and 0 are one value in the canonical form. */
function noNegativeZero (_key: string, value: unknown): unknown {
  return Object.is(value, -0) ? 0 : value
}

/** Every result is ok or a classified failure with an offset inside the input; ok results are self-consistent. */
function checkShape (r: CanonicalResult, length: number): void {
  if (r.ok) {
    strictEqual(r.hash, sha256(r.canonical))
    strictEqual(canonicalText(r.value), r.canonical)
    const again = canonicalize(r.canonical)
    ok(again.ok, 'the canonical text parses')
    strictEqual(again.canonical, r.canonical, 'canonical form is idempotent')
  } else {
    ok(REASONS.has(r.reason), `unclassified reason ${r.reason}`)
    ok(Number.isInteger(r.offset) && r.offset >= 0 && r.offset <= length, `offset ${r.offset} outside 0..${length}`)
    strictEqual(typeof r.detail, 'string')
  }
}

/** JSON.parse as the oracle: both accept the same texts (bar the stricter reasons), with the same values. */
function checkAgainstJsonParse (text: string): CanonicalResult {
  let r: CanonicalResult
  try {
    r = canonicalize(text)
  } catch (err) {
    throw new Error(`canonicalize threw on ${JSON.stringify(text)}: ${(err as Error).stack}`)
  }
  checkShape(r, text.length)
  let parsed: unknown
  let parses = true
  try { parsed = JSON.parse(text, noNegativeZero) } catch { parses = false }
  if (r.ok) {
    ok(parses, `accepted what JSON.parse refuses: ${JSON.stringify(text)}`)
    deepStrictEqual(JSON.parse(r.canonical, noNegativeZero), parsed)
  } else if (parses) {
    ok(STRICTER.has(r.reason), `refused ${JSON.stringify(text)} (which JSON.parse accepts) as ${r.reason}`)
  }
  return r
}

// Near-JSON: valid JSON with a few edits, and soups of JSON tokens and fragments.
const ALPHABET = ['{', '}', '[', ']', ',', ':', '"', '\\', '/', '0', '1', '9', '-', '+', '.', 'e', 'E', 't', 'n', 'u', 'x',
  ' ', '\t', '\r', '\n', '\u0000', '\u001f', '\u007f', '\u00e9', '\u2028', '\ud800', '\udc00', '\ufeff', '\ud83d\ude00']
const TOKENS = ['{', '}', '[', ']', ',', ':', ' ', '"a"', '"b"', '"__proto__"', '"constructor"', '"\\u00e9"', '"\\ud800"', '"\\udc00"',
  '"\\ud83d\\ude00"', '"\\u12"', '"\\x"', '"\\/"', '"', '\\', '0', '-0', '1', '01', '1.', '.5', '1.5e', '1e+', '1E-7', '9007199254740993',
  '1e999999999999999999', '-1.0e-0000', 'true', 'tru', 'false', 'null', 'nul', 'NaN', 'Infinity', '\ufeff', '\u0000', '\t', '\n']

const edit = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('insert', 'delete', 'replace', 'duplicate', 'truncate'),
  ch: fc.constantFrom(...ALPHABET),
  len: fc.integer({ min: 1, max: 8 })
})

function applyEdits (text: string, edits: Array<{ at: number, kind: string, ch: string, len: number }>): string {
  let s = text
  for (const e of edits) {
    const at = s.length === 0 ? 0 : e.at % (s.length + 1)
    if (e.kind === 'insert') s = s.slice(0, at) + e.ch + s.slice(at)
    else if (e.kind === 'delete') s = s.slice(0, at) + s.slice(at + e.len)
    else if (e.kind === 'replace') s = s.slice(0, at) + e.ch + s.slice(at + 1)
    else if (e.kind === 'duplicate') s = s.slice(0, at + e.len) + s.slice(at)
    else s = s.slice(0, at)
  }
  return s
}

const validText = fc.tuple(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom(undefined, 1, '\t')).map(([v, space]) => JSON.stringify(v, null, space))
const editedText = fc.tuple(validText, fc.array(edit, { minLength: 1, maxLength: 3 })).map(([text, edits]) => applyEdits(text, edits))
const tokenSoup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 24 }).map((parts) => parts.join(''))
const nearJson = fc.oneof(editedText, tokenSoup, validText)

test('canonicalize should classify arbitrary near-JSON text exactly where JSON.parse fails, and never throw', () => {
  fc.assert(fc.property(nearJson, (text) => { checkAgainstJsonParse(text) }), params(3000))
})

test('canonicalize should treat bytes as their UTF-8 text, refuse invalid UTF-8 and a BOM, and never throw', () => {
  const anyBytes = fc.uint8Array({ maxLength: 48 })
  const editedBytes = fc.tuple(nearJson, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 2 }), fc.boolean())
    .map(([text, flips, bom]) => {
      const bytes = Buffer.from((bom ? '\ufeff' : '') + text)
      for (const [at, byte] of flips) if (bytes.length > 0) bytes[at % bytes.length] = byte
      return bytes
    })
  fc.assert(fc.property(fc.oneof(anyBytes, editedBytes), fc.nat({ max: 7 }), fc.nat({ max: 7 }), (input, before, after) => {
    const bytes = Buffer.from(input)
    // The same bytes as a Uint8Array view in the middle of a larger ArrayBuffer.
    const backing = new Uint8Array(before + bytes.length + after).fill(0x5b)
    backing.set(bytes, before)
    const view = backing.subarray(before, before + bytes.length)
    const r = canonicalize(bytes)
    checkShape(r, bytes.length)
    deepStrictEqual(canonicalize(view), r)
    if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
      strictEqual(!r.ok && r.reason, 'bom')
    } else if (!isUtf8(bytes)) {
      strictEqual(!r.ok && r.reason, 'invalid_utf8')
    } else {
      deepStrictEqual(r, checkAgainstJsonParse(bytes.toString('utf8')))
    }
  }), params(3000))
})

// Exact decimals: value = (negative ? -1 : 1) × mantissa × 10^exponent, of any size.
interface Decimal { negative: boolean, mantissa: bigint, exponent: number }

const decimal: fc.Arbitrary<Decimal> = fc.record({
  negative: fc.boolean(),
  mantissa: fc.oneof(fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: 0n, max: 10n ** 40n }), fc.bigInt({ min: 2n ** 53n - 4n, max: 2n ** 53n + 4n })),
  exponent: fc.oneof(fc.integer({ min: -8, max: 8 }), fc.integer({ min: -400, max: 400 }))
})

/** The canonical text of a decimal by the definition (ECMAScript Number::toString's shape), from BigInt arithmetic. */
function referenceNumber (d: Decimal): string {
  if (d.mantissa === 0n) return '0'
  let digits = d.mantissa.toString()
  let exponent = d.exponent
  while (digits.endsWith('0')) { digits = digits.slice(0, -1); exponent++ }
  const k = digits.length
  const n = exponent + k // value = 0.digits × 10^n
  const sign = d.negative ? '-' : ''
  if (k <= n && n <= 21) return sign + digits + '0'.repeat(n - k)
  if (n > 0 && n <= 21) return sign + digits.slice(0, n) + '.' + digits.slice(n)
  if (n > -6 && n <= 0) return sign + '0.' + '0'.repeat(-n) + digits
  const e = n - 1
  return sign + digits[0] + (k > 1 ? '.' + digits.slice(1) : '') + (e < 0 ? 'e-' : 'e+') + String(Math.abs(e))
}

/** One JSON spelling of the decimal, chosen by `pick`: padded with zeros, as a fraction, in exponent form… */
function spellNumber (d: Decimal, pick: number, pad: number): string {
  const sign = d.negative ? '-' : ''
  if (d.mantissa === 0n) return [sign + '0', sign + '0.0', sign + '0e5', sign + '0.000E-12', sign + '0' + '.' + '0'.repeat(pad + 1)][pick % 5]
  const digits = d.mantissa.toString() + '0'.repeat(pad)
  const exponent = d.exponent - pad
  const expText = (e: number, upper: boolean, plus: boolean, zeros: number): string =>
    (upper ? 'E' : 'e') + (e < 0 ? '-' : plus ? '+' : '') + '0'.repeat(zeros) + String(Math.abs(e))
  switch (pick % 6) {
    case 0: return sign + digits + expText(exponent, false, false, 0)
    case 1: return sign + digits + expText(exponent, true, true, pad)
    case 2: return sign + '0.' + digits + expText(exponent + digits.length, false, pick % 2 === 0, 0)
    case 3: return sign + digits[0] + '.' + (digits.slice(1) || '0') + expText(exponent + digits.length - 1, pick % 3 === 0, false, 0)
    default: {
      // Plain decimal when the point falls near the digits, else back to exponent form.
      if (exponent >= 0 && exponent <= 30) return sign + digits + '0'.repeat(exponent) + (pick % 2 === 0 ? '' : '.' + '0'.repeat(pad + 1))
      const point = digits.length + exponent
      if (point > 0 && point < digits.length) return sign + digits.slice(0, point) + '.' + digits.slice(point)
      if (point <= 0 && point > -30) return sign + '0.' + '0'.repeat(-point) + digits
      return sign + digits + expText(exponent, false, false, 0)
    }
  }
}

function scaled (d: Decimal, to: number): bigint {
  return (d.negative ? -1n : 1n) * d.mantissa * 10n ** BigInt(d.exponent - to)
}

test('canonicalize should print any exact decimal by its value, whatever its spelling (1, 1.0, 1e0, 10e-1)', () => {
  for (const text of ['1', '1.0', '1e0', '10e-1', '0.1e1', '1.000E+000', '100e-2']) strictEqual(canon(canonicalize(text)), '1', text)
  fc.assert(fc.property(decimal, fc.nat(), fc.nat(), fc.nat({ max: 4 }), fc.nat({ max: 4 }), (d, p1, p2, pad1, pad2) => {
    const a = canonicalize(spellNumber(d, p1, pad1))
    const b = canonicalize(`[${spellNumber(d, p2, pad2)}]`)
    ok(a.ok && b.ok, `${spellNumber(d, p1, pad1)} / ${spellNumber(d, p2, pad2)}`)
    const expected = referenceNumber(d)
    strictEqual(a.canonical, expected, spellNumber(d, p1, pad1))
    strictEqual(b.canonical, `[${expected}]`)
    strictEqual(a.value.kind, Kind.Number)
  }), params(3000))
})

test('canonicalize should give distinct decimals distinct canonical forms (no rounding through a double)', () => {
  fc.assert(fc.property(decimal, decimal, fc.nat(), fc.nat(), (x, y, p1, p2) => {
    const low = Math.min(x.exponent, y.exponent)
    const same = scaled(x, low) === scaled(y, low)
    const a = canonicalize(`{"v":${spellNumber(x, p1, 0)}}`) as CanonicalOk
    const b = canonicalize(`{"v":${spellNumber(y, p2, 1)}}`) as CanonicalOk
    strictEqual(a.hash === b.hash, same, `${spellNumber(x, p1, 0)} vs ${spellNumber(y, p2, 1)}`)
  }), params(2000))
  const big = fc.bigInt({ min: 2n ** 53n, max: 2n ** 80n })
  fc.assert(fc.property(big, big, fc.boolean(), (x, y, negative) => {
    fc.pre(x !== y)
    const sign = negative ? '-' : ''
    const a = canonicalize(`${sign}${x}`)
    const b = canonicalize(`${sign}${y}`)
    notStrictEqual(canon(a), canon(b))
    if (String(x).length <= 21) strictEqual(canon(a), `${sign}${x}`)
  }), params(1000))
})

// Documents with exact numbers and hostile keys, printed with shuffled keys, random whitespace and escapes.
type Doc = { t: 'null' } | { t: 'bool', v: boolean } | { t: 'num', v: Decimal } | { t: 'str', v: string } | { t: 'arr', v: Doc[] } | { t: 'obj', v: Array<[string, Doc]> }

const KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'isPrototypeOf', 'polluted', 'length', '0', '']
const keyArb = fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 6, unit: 'grapheme' }))

const { doc } = fc.letrec<{ doc: Doc }>((tie) => ({
  doc: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    fc.constant({ t: 'null' } as Doc),
    fc.boolean().map((v): Doc => ({ t: 'bool', v })),
    decimal.map((v): Doc => ({ t: 'num', v })),
    fc.string({ maxLength: 8, unit: 'grapheme' }).map((v): Doc => ({ t: 'str', v })),
    fc.array(tie('doc'), { maxLength: 4 }).map((v): Doc => ({ t: 'arr', v })),
    fc.uniqueArray(fc.tuple(keyArb, tie('doc')), { maxLength: 5, selector: ([k]) => k }).map((v): Doc => ({ t: 'obj', v }))
  )
}))

/** Canonical text by the definition: keys sorted by UTF-16 code units, strings as JSON.stringify prints them. */
function referenceDoc (d: Doc): string {
  switch (d.t) {
    case 'null': return 'null'
    case 'bool': return String(d.v)
    case 'num': return referenceNumber(d.v)
    case 'str': return JSON.stringify(d.v)
    case 'arr': return '[' + d.v.map(referenceDoc).join(',') + ']'
    case 'obj': return '{' + [...d.v].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([k, v]) => JSON.stringify(k) + ':' + referenceDoc(v)).join(',') + '}'
  }
}

const WS = ['', '', ' ', '\n', '\t', '\r\n', '   ']

function printStr (s: string, r: () => number): string {
  let out = '"'
  for (const ch of s) { // by code point: both halves of a surrogate pair are escaped, or neither
    const roll = r()
    if (roll < 0.15) {
      for (let k = 0; k < ch.length; k++) {
        const hex = ch.charCodeAt(k).toString(16).padStart(4, '0')
        out += '\\u' + (r() < 0.5 ? hex : hex.toUpperCase())
      }
    } else if (roll < 0.2 && ch === '/') out += '\\/'
    else out += JSON.stringify(ch).slice(1, -1)
  }
  return out + '"'
}

function printDoc (d: Doc, seed: number): string {
  const r = rng(seed)
  const ws = (): string => WS[Math.floor(r() * WS.length)]
  const print = (x: Doc): string => {
    switch (x.t) {
      case 'null': return 'null'
      case 'bool': return String(x.v)
      case 'num': return spellNumber(x.v, Math.floor(r() * 1000), Math.floor(r() * 3))
      case 'str': return printStr(x.v, r)
      case 'arr': return '[' + ws() + x.v.map((c) => ws() + print(c) + ws()).join(',') + ws() + ']'
      case 'obj': {
        const members = [...x.v]
        for (let k = members.length - 1; k > 0; k--) {
          const j = Math.floor(r() * (k + 1))
          const t = members[k]
          members[k] = members[j]
          members[j] = t
        }
        return '{' + ws() + members.map(([k, v]) => ws() + printStr(k, r) + ws() + ':' + ws() + print(v) + ws()).join(',') + '}'
      }
    }
  }
  return ws() + print(d) + ws()
}

test('canonicalize should hash documents with exact numbers and prototype-named keys the same under any key order and spelling', () => {
  fc.assert(fc.property(doc, fc.integer(), fc.integer(), (d, s1, s2) => {
    const text1 = printDoc(d, s1)
    const text2 = printDoc(d, s2)
    const a = canonicalize(text1)
    const b = canonicalize(Buffer.from(text2))
    ok(a.ok, `${text1}: ${a.ok || a.reason}`)
    ok(b.ok, `${text2}: ${b.ok || b.reason}`)
    strictEqual(a.canonical, referenceDoc(d))
    strictEqual(a.hash, b.hash)
    strictEqual(canon(canonicalize(a.canonical)), a.canonical)
    deepStrictEqual(jsonDiff(a.value, b.value).diffs, [])
  }), params(1500))
  deepStrictEqual(Object.getOwnPropertyNames(Object.prototype).sort(), PROTO_KEYS)
})

function hasDuplicateKey (d: Doc): boolean {
  if (d.t === 'arr') return d.v.some(hasDuplicateKey)
  if (d.t !== 'obj') return false
  return new Set(d.v.map(([k]) => k)).size < d.v.length || d.v.some(([, v]) => hasDuplicateKey(v))
}

test('canonicalize should refuse a repeated key at any depth, however it is escaped, and accept every other object', () => {
  const { small } = fc.letrec<{ small: Doc }>((tie) => ({
    small: fc.oneof({ depthSize: 'small' },
      fc.constant({ t: 'null' } as Doc),
      fc.array(tie('small'), { maxLength: 3 }).map((v): Doc => ({ t: 'arr', v })),
      fc.array(fc.tuple(fc.constantFrom('a', 'b', '__proto__', 'é', '\ud83d\ude00', '/'), tie('small')), { maxLength: 4 }).map((v): Doc => ({ t: 'obj', v }))
    )
  }))
  fc.assert(fc.property(small, fc.integer(), (d, seed) => {
    const text = printDoc(d, seed)
    const r = canonicalize(text)
    if (hasDuplicateKey(d)) strictEqual(!r.ok && r.reason, 'duplicate_key', text)
    else strictEqual(canon(r), referenceDoc(d), text)
  }), params(1500))
})

test('canonicalize and jsonDiff should keep __proto__ and constructor keys as data and never touch Object.prototype', () => {
  const hostile = fc.tuple(fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.constantFrom('__proto__', 'constructor', 'prototype', 'polluted', 'toString'))
  fc.assert(fc.property(hostile, hostile, fc.jsonValue({ maxDepth: 2 }), (p1, p2, leaf) => {
    const text = `{"${p1[0]}":{"${p1[1]}":{"polluted":${JSON.stringify(leaf)}}},"${p2[0]}":{"${p2[1]}":{"polluted":"yes"}}}`
    const r = canonicalize(text)
    if (p1[0] === p2[0]) {
      strictEqual(!r.ok && r.reason, 'duplicate_key')
      return
    }
    ok(r.ok)
    deepStrictEqual(r.value.keys, [p1[0], p2[0]].sort())
    const other = canonicalize(text.replace('"yes"', '"no"')) as CanonicalOk
    const diffs = jsonDiff(r.value, other.value).diffs
    strictEqual(diffs.length, 1)
    ok(diffs[0].path.endsWith('.polluted'), diffs[0].path)
    strictEqual(({} as Record<string, unknown>).polluted, undefined)
    strictEqual(Object.prototype.toString.call([]), '[object Array]')
  }), params(300))
  deepStrictEqual(Object.getOwnPropertyNames(Object.prototype).sort(), PROTO_KEYS)
  strictEqual(Object.getPrototypeOf({}), Object.prototype)
})

// Nesting around the limit: openers `[` and `{"k":` in random order.
test('canonicalize should classify nesting past maxDepth as too_deep, never a RangeError, closed or not', () => {
  const shape = fc.record({
    openers: fc.array(fc.boolean(), { minLength: 1, maxLength: 80 }),
    maxDepth: fc.integer({ min: 1, max: 80 }),
    end: fc.constantFrom('closed', 'open', 'junk', 'comma')
  })
  fc.assert(fc.property(shape, ({ openers, maxDepth, end }) => {
    const open = openers.map((isObject) => isObject ? '{"k":' : '[').join('')
    const close = openers.map((isObject) => isObject ? '}' : ']').reverse().join('')
    const text = open + '1' + (end === 'closed' ? close : end === 'junk' ? close + ']' : end === 'comma' ? ',' : '')
    const r = canonicalize(text, { maxDepth })
    checkShape(r, text.length)
    if (openers.length > maxDepth) strictEqual(!r.ok && r.reason, 'too_deep')
    else if (end === 'closed') strictEqual(canon(r), text)
    else strictEqual(!r.ok && r.reason, end === 'junk' ? 'trailing_bytes' : 'invalid_json')
  }), params(1000))
})

test('canonical trees 100,000 levels deep (the largest compare.maxDepth) should canonicalize, hash and diff without a RangeError', () => {
  const depth = 100_000
  const make = (leaf: string): string => '{"a":['.repeat(depth / 2) + leaf + ']}'.repeat(depth / 2)
  const a = canonicalize(make('1'), { maxDepth: depth })
  const b = canonicalize(make('2'), { maxDepth: depth })
  ok(a.ok && b.ok)
  strictEqual(a.canonical.length, make('1').length)
  const d = jsonDiff(a.value, b.value, undefined, { maxDiffs: 5 }).diffs
  strictEqual(d.length, 1)
  strictEqual(d[0].kind, 'changed')
  strictEqual(d[0].path.length, '$'.length + (depth / 2) * '.a[0]'.length)
  strictEqual(!canonicalize(make('1'), { maxDepth: depth - 1 }).ok, true)
})
