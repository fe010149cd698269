/*
 * Property (fast-check, seeded, bounded; issue 12): across content codings (identity, gzip,
 * deflate, br) on either side, labelled correctly, not labelled, or labelled with another coding,
 * two answers match exactly when a client reads the same content from both: decoded-equal
 * answers match, decoded-different ones mismatch, a body a client cannot decode equals only the
 * same raw bytes under the same label.
 */
import { test } from 'node:test'
import { ok, strictEqual } from 'node:assert/strict'
import { brotliCompressSync, brotliDecompressSync, deflateSync, gunzipSync, gzipSync, inflateRawSync, inflateSync } from 'node:zlib'
import fc from 'fast-check'
import stringify from 'fast-json-stable-stringify'
import { analyze, type SideData } from '../../src/compare/analyze.ts'
import { compareExchanges, type Exchange } from '../../src/compare/compare.ts'
import { Redactor } from '../../src/compare/redact.ts'
import { RuleSet } from '../../src/compare/rule-set.ts'
import { compileRules } from '../../src/compare/rules.ts'

type Coding = 'identity' | 'gzip' | 'deflate' | 'br'
type Label = 'declared' | 'omitted' | 'other'

const CODINGS: Coding[] = ['identity', 'gzip', 'deflate', 'br']
/** Ways to write each coding in Content-Encoding (null: no header). */
const SPELLINGS: Record<Coding, Array<string | null>> = {
  identity: [null, 'identity', 'Identity'],
  gzip: ['gzip', 'x-gzip', ' GZIP ', 'identity, gzip'],
  deflate: ['deflate', 'Deflate'],
  br: ['br', 'BR ']
}

function encode (bytes: Buffer, coding: Coding): Buffer {
  if (coding === 'gzip') return gzipSync(bytes)
  if (coding === 'deflate') return deflateSync(bytes)
  if (coding === 'br') return brotliCompressSync(bytes)
  return bytes
}

/** What a client reads: the bytes decoded under the label, or null when they cannot be. */
function clientRead (raw: Buffer, label: Coding): Buffer | null {
  try {
    if (label === 'gzip') return gunzipSync(raw)
    if (label === 'br') return brotliDecompressSync(raw)
    if (label === 'deflate') {
      try { return inflateSync(raw) } catch { return inflateRawSync(raw) }
    }
    return raw
  } catch {
    return null
  }
}

/** The content a JSON client sees: the parsed value in a stable text, or the bytes when they are not JSON. */
function content (bytes: Buffer): string {
  try {
    return 'json:' + stringify(JSON.parse(bytes.toString('utf8')))
  } catch {
    return 'bytes:' + bytes.toString('hex')
  }
}

interface Side { value: unknown, pretty: boolean, coding: Coding, label: Label, spelling: number, other: number }

interface Built { data: SideData, raw: Buffer, labelled: Coding }

function build (s: Side): Built {
  const text = Buffer.from(s.pretty ? JSON.stringify(s.value, null, 2) : JSON.stringify(s.value))
  const raw = encode(text, s.coding)
  let labelled: Coding = s.coding
  if (s.label === 'omitted') labelled = 'identity'
  else if (s.label === 'other') labelled = CODINGS.filter((c) => c !== s.coding)[s.other % 3]
  const spellings = SPELLINGS[labelled]
  const header = s.label === 'omitted' ? null : spellings[s.spelling % spellings.length]
  const headers = ['Content-Type', 'application/json']
  if (header !== null) headers.push(s.spelling % 2 === 0 ? 'Content-Encoding' : 'content-encoding', header)
  return { data: { status: 200, headers, body: raw, truncated: false, error: null, durationMs: 1 }, raw, labelled }
}

/** Whether a client reads the same answer from both. */
function expectedSame (p: Built, c: Built): boolean {
  const rp = clientRead(p.raw, p.labelled)
  const rc = clientRead(c.raw, c.labelled)
  if (rp === null || rc === null) return rp === null && rc === null && p.labelled === c.labelled && p.raw.equals(c.raw)
  return content(rp) === content(rc)
}

function exchange (s: SideData): Exchange {
  const headers: Exchange['headers'] = {}
  for (let i = 0; i < s.headers.length; i += 2) headers[s.headers[i].toLowerCase()] = s.headers[i + 1]
  return { status: s.status, headers, body: Buffer.from(s.body) }
}

const json = fc.jsonValue({ maxDepth: 3, stringUnit: 'grapheme' })
const side = (value: fc.Arbitrary<unknown>): fc.Arbitrary<Side> => fc.record({
  value,
  pretty: fc.boolean(),
  coding: fc.constantFrom<Coding>(...CODINGS),
  label: fc.constantFrom<Label>('declared', 'declared', 'declared', 'omitted', 'other'),
  spelling: fc.nat(),
  other: fc.nat()
})

test('answers should match exactly when a client decodes the same content from both, whatever the codings', () => {
  const rules = new RuleSet({ global: {}, routes: {} })
  const compiled = compileRules()
  const redactor = new Redactor()
  const seen = { match: 0, mismatch: 0, codedEqual: 0, mislabelled: 0 }
  const pair = fc.tuple(json, json, fc.boolean()).chain(([v, w, same]) => fc.tuple(side(fc.constant(v)), side(fc.constant(same ? v : w))))
  fc.assert(fc.property(pair, ([ps, cs]) => {
    // the identical twin half the time: the byte-identical shortcut is under test as much as the full comparison
    const p = build(ps)
    const c = build(cs)
    const want = expectedSame(p, c) ? 'match' : 'mismatch'
    for (const [a, b] of [[p, c], [c, p], [p, p], [c, c]] as const) {
      const expected = a === b ? 'match' : want
      const r = analyze({ route: 'r', primary: a.data, candidate: b.data, secondary: null, render: false, maxBodyChars: 100 }, rules, redactor)
      strictEqual(r.outcome, expected, `analyze: ${JSON.stringify({ p: ps, c: cs, reason: r.reason, detail: r.detail })}`)
      strictEqual(compareExchanges(exchange(a.data), exchange(b.data), compiled).outcome, expected, 'compareExchanges')
    }
    seen[want]++
    if (want === 'match' && ps.coding !== cs.coding) seen.codedEqual++
    if (ps.label !== 'declared' || cs.label !== 'declared') seen.mislabelled++
  }), { seed: 12_2026, numRuns: 400 })
  ok(seen.match > 50 && seen.mismatch > 50 && seen.codedEqual > 20 && seen.mislabelled > 50, JSON.stringify(seen))
})

test('the same bytes should mismatch when only one side labels them, and match when both label them the same way', () => {
  fc.assert(fc.property(json, fc.constantFrom<Coding>('gzip', 'deflate', 'br'), (value, coding) => {
    const plain = Buffer.from(JSON.stringify(value))
    const coded = encode(plain, coding)
    const rules = new RuleSet({ global: {}, routes: {} })
    const run = (a: SideData, b: SideData): string => analyze({ route: 'r', primary: a, candidate: b, secondary: null, render: false, maxBodyChars: 100 }, rules, new Redactor()).outcome
    const as = (body: Buffer, label: string | null): SideData => ({ status: 200, headers: label === null ? ['Content-Type', 'application/json'] : ['Content-Type', 'application/json', 'Content-Encoding', label], body, truncated: false, error: null, durationMs: 1 })
    // compressed bytes without their header are not their decoded twin
    strictEqual(run(as(coded, coding), as(coded, null)), 'mismatch')
    // a header claiming a coding over bytes that are not in it cannot be decoded
    strictEqual(run(as(plain, null), as(plain, coding)), 'mismatch')
    strictEqual(run(as(coded, coding), as(plain, null)), 'match')
    strictEqual(run(as(coded, coding), as(Buffer.from(coded), coding)), 'match')
  }), { seed: 4242, numRuns: 150 })
})
