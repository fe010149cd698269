/* Table of primary/candidate response pairs through compareExchanges (bad input and hostile bodies). */
import { test } from 'node:test'
import { deepStrictEqual, strictEqual } from 'node:assert/strict'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib'
import { ComparisonResult, type Exchange, compareExchanges } from '../../src/compare/compare.ts'
import { type RuleConfig, compileRules } from '../../src/compare/rules.ts'

const JSON_TYPE = { 'content-type': 'application/json' }

function json (body: string | Buffer, headers: Exchange['headers'] = {}, status = 200): Exchange {
  return { status, headers: { ...JSON_TYPE, ...headers }, body: typeof body === 'string' ? Buffer.from(body) : body }
}

interface Row {
  name: string
  primary: Exchange
  candidate: Exchange
  rules?: RuleConfig
  outcome: ComparisonResult['outcome']
  paths?: string[]
  reason?: string | null
}

const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n)
const item = '{"id":1,"price":9.99,"updatedAt":"2026-01-01T00:00:00Z"}'

const rows: Row[] = [
  { name: 'key order', primary: json('{"a":1,"b":2}'), candidate: json('{"b":2,"a":1}'), outcome: 'match' },
  { name: 'whitespace', primary: json('{"a":[1,2]}'), candidate: json(' {\n  "a" : [ 1 ,\t2 ]\n}\n'), outcome: 'match' },
  { name: '1 vs 1.0 (T36)', primary: json('{"n":1}'), candidate: json('{"n":1.0}'), outcome: 'match' },
  { name: '1e2 vs 100 (T36)', primary: json('{"n":1e2}'), candidate: json('{"n":100}'), outcome: 'match' },
  { name: '-0 vs 0 (T36)', primary: json('{"n":-0}'), candidate: json('{"n":0}'), outcome: 'match' },
  {
    name: '2^53+1 vs 2^53 is a mismatch (T36)',
    primary: json('{"id":9007199254740993}'),
    candidate: json('{"id":9007199254740992}'),
    outcome: 'mismatch',
    paths: ['$.id']
  },
  { name: '\\u00e9 vs é', primary: json('{"s":"\\u00e9"}'), candidate: json('{"s":"é"}'), outcome: 'match' },
  { name: 'array order without a rule (T39)', primary: json('[1,2,3]'), candidate: json('[3,1,2]'), outcome: 'mismatch', paths: ['$[0]', '$[1]', '$[2]'] },
  { name: 'array order with unordered (T39)', primary: json('{"x":[1,2,3]}'), candidate: json('{"x":[3,1,2]}'), rules: { unordered: ['$.x'] }, outcome: 'match' },
  {
    name: 'keyed arrays',
    primary: json('{"items":[{"id":1,"v":"a"},{"id":2,"v":"b"}]}'),
    candidate: json('{"items":[{"id":2,"v":"b"},{"id":1,"v":"a"}]}'),
    rules: { keyed: { '$.items': 'id' } },
    outcome: 'match'
  },
  {
    name: 'timestamps in different offsets',
    primary: json('{"at":"2026-01-01T00:00:00Z"}'),
    candidate: json('{"at":"2026-01-01T01:00:00+01:00"}'),
    rules: { timestamps: ['$.at'] },
    outcome: 'match'
  },
  {
    name: 'timestamps without the rule',
    primary: json('{"at":"2026-01-01T00:00:00Z"}'),
    candidate: json('{"at":"2026-01-01T01:00:00+01:00"}'),
    outcome: 'mismatch',
    paths: ['$.at']
  },
  { name: 'tolerance at its boundary', primary: json('{"p":10}'), candidate: json('{"p":10.5}'), rules: { numberTolerance: { absolute: 0.5 } }, outcome: 'match' },
  {
    name: 'tolerance beyond its boundary',
    primary: json('{"p":10}'),
    candidate: json('{"p":10.500001}'),
    rules: { numberTolerance: { absolute: 0.5 } },
    outcome: 'mismatch',
    paths: ['$.p']
  },
  {
    name: 'ignored paths',
    primary: json(`{"meta":{"requestId":"a"},"items":[${item}]}`),
    candidate: json(`{"meta":{"requestId":"b"},"items":[${item.replace('00:00:00Z', '00:00:01Z')}]}`),
    rules: { ignore: ['$.meta.requestId', '$.items[*].updatedAt'] },
    outcome: 'match'
  },
  { name: 'gzip vs br', primary: json(gzipSync('{"a":1}'), { 'content-encoding': 'gzip' }), candidate: json(brotliCompressSync('{"a":1.0}'), { 'content-encoding': 'br' }), outcome: 'match' },
  { name: 'deflate vs identity', primary: json(deflateSync('{"a":1}'), { 'content-encoding': 'deflate' }), candidate: json('{"a":1}'), outcome: 'match' },
  {
    name: 'non-JSON equal bytes',
    primary: { status: 200, headers: { 'content-type': 'text/plain' }, body: Buffer.from('hello') },
    candidate: { status: 200, headers: { 'content-type': 'TEXT/PLAIN; charset=utf-8' }, body: Buffer.from('hello') },
    outcome: 'match'
  },
  {
    name: 'non-JSON different bytes',
    primary: { status: 200, headers: { 'content-type': 'text/plain' }, body: Buffer.from('hello') },
    candidate: { status: 200, headers: { 'content-type': 'text/plain' }, body: Buffer.from('hullo') },
    outcome: 'mismatch',
    paths: ['$']
  },
  { name: 'invalid JSON on one side', primary: json('{"a":1}'), candidate: json('{"a":1'), outcome: 'mismatch', paths: ['$'], reason: 'invalid_json' },
  { name: 'identical invalid JSON on both sides (T38)', primary: json('{"a":1,"a":2}'), candidate: json('{"a":1,"a":2}'), outcome: 'match', reason: 'invalid_json' },
  { name: 'different invalid JSON on both sides', primary: json('<html>a'), candidate: json('<html>b'), outcome: 'mismatch', paths: ['$'], reason: 'invalid_json' },
  { name: 'lone surrogate (T38)', primary: json('"\\ud800"'), candidate: json('"x"'), outcome: 'mismatch', paths: ['$'], reason: 'invalid_json' },
  { name: 'BOM (T38)', primary: json('\ufeff{}'), candidate: json('{}'), outcome: 'mismatch', paths: ['$'], reason: 'invalid_json' },
  { name: 'trailing bytes (T38)', primary: json('{} {}'), candidate: json('{}'), outcome: 'mismatch', paths: ['$'], reason: 'invalid_json' },
  { name: 'invalid UTF-8', primary: json(Buffer.from([0x22, 0xff, 0x22])), candidate: json('"x"'), outcome: 'mismatch', paths: ['$'], reason: 'invalid_json' },
  {
    name: 'JSON against the same bytes as text',
    primary: json('{"a":1}'),
    candidate: { status: 200, headers: { 'content-type': 'text/plain' }, body: Buffer.from('{"a":1}') },
    outcome: 'mismatch',
    paths: ['@headers.content-type']
  },
  { name: '__proto__ vs {} (T37)', primary: json('{"__proto__":{"x":1}}'), candidate: json('{}'), outcome: 'mismatch', paths: ['$.__proto__'] },
  { name: 'constructor and prototype keys (T37)', primary: json('{"constructor":{"prototype":1}}'), candidate: json('{"constructor":{"prototype":2}}'), outcome: 'mismatch', paths: ['$.constructor.prototype'] },
  { name: 'status difference', primary: json('{}', {}, 200), candidate: json('{}', {}, 500), outcome: 'mismatch', paths: ['@status'] },
  { name: 'content-type media type case', primary: json('{}', { 'content-type': 'Application/Json; charset=UTF-8' }), candidate: json('{}'), outcome: 'match' },
  { name: 'header only on one side', primary: json('{}', { etag: '"1"' }), candidate: json('{}'), rules: { headers: ['content-type', 'etag'] }, outcome: 'mismatch', paths: ['@headers.etag'] },
  { name: 'header only on the candidate', primary: json('{}'), candidate: json('{}', { etag: '"1"' }), rules: { headers: ['etag'] }, outcome: 'mismatch', paths: ['@headers.etag'] },
  { name: 'header values differ', primary: json('{}', { etag: ['"1"', '"2"'] }), candidate: json('{}', { etag: '"1", "3"' }), rules: { headers: ['etag'] }, outcome: 'mismatch', paths: ['@headers.etag'] },
  { name: 'headers outside the allow-list', primary: json('{}', { date: 'a' }), candidate: json('{}', { date: 'b' }), outcome: 'match' },
  {
    name: 'gzip bomb capped',
    primary: json(gzipSync(Buffer.alloc(16 * 1024 * 1024, 0x20)), { 'content-encoding': 'gzip' }),
    candidate: json('{}'),
    outcome: 'skipped',
    reason: 'too_large'
  },
  { name: 'too large on the candidate', primary: json('{}'), candidate: json(Buffer.alloc(5 * 1024 * 1024, 0x20)), outcome: 'skipped', reason: 'too_large' },
  { name: 'too large with a status difference', primary: json(Buffer.alloc(5 * 1024 * 1024, 0x20)), candidate: json('{}', {}, 404), outcome: 'mismatch', paths: ['@status'], reason: 'too_large' },
  { name: 'nesting 100,000 levels (T34)', primary: json(deep(100_000)), candidate: json(deep(100_000)), outcome: 'skipped', reason: 'too_deep' },
  { name: 'nesting 10,000 levels on the candidate (T34)', primary: json('[]'), candidate: json(deep(10_000)), outcome: 'skipped', reason: 'too_deep' },
  { name: 'unsupported coding', primary: json('{}', { 'content-encoding': 'zstd' }), candidate: json('{}'), outcome: 'skipped', reason: 'unsupported_encoding' },
  { name: 'huge equal strings', primary: json(`{"s":"${'x'.repeat(3_000_000)}"}`), candidate: json(`{"s":"${'x'.repeat(3_000_000)}"}`), outcome: 'match' },
  { name: 'huge different strings', primary: json(`{"s":"${'x'.repeat(3_000_000)}"}`), candidate: json(`{"s":"${'x'.repeat(2_999_999)}y"}`), outcome: 'mismatch', paths: ['$.s'] }
]

for (const row of rows) {
  test(`compareExchanges should give ${row.outcome} for ${row.name}`, () => {
    const r = compareExchanges(row.primary, row.candidate, compileRules(row.rules))
    strictEqual(r.outcome, row.outcome, JSON.stringify({ reason: r.reason, detail: r.detail?.slice(0, 200), diffs: r.diffs }))
    if (row.paths !== undefined) deepStrictEqual(r.diffs.map((d) => d.path), row.paths)
    if (row.reason !== undefined) strictEqual(r.reason, row.reason)
    if (row.reason !== 'too_large' && (row.outcome === 'match' || row.outcome === 'mismatch')) strictEqual(typeof r.primaryHash, 'string')
    // symmetric: the same pair the other way round gets the same outcome (T38: identical on both sides)
    strictEqual(compareExchanges(row.candidate, row.primary, compileRules(row.rules)).outcome, row.outcome)
  })
}

test('compareExchanges should give equal hashes for equal canonical bodies', () => {
  const r = compareExchanges(json('{"b":1,"a":2}'), json('{"a":2,"b":1.0}'))
  strictEqual(r.primaryHash, r.candidateHash)
  strictEqual(r.primaryHash?.length, 64)
})

test('compareExchanges should bound the number of differences', () => {
  const a = JSON.stringify(Array.from({ length: 500 }, (_, i) => i))
  const b = JSON.stringify(Array.from({ length: 500 }, (_, i) => i + 1))
  const r = compareExchanges(json(a), json(b, {}, 201), compileRules({ maxDiffs: 20 }))
  strictEqual(r.diffs.length, 20)
  strictEqual(r.diffs[0].path, '@status')
  strictEqual(r.truncated, true)
  const full = compareExchanges(json('[1]', { etag: 'a' }), json('[2]', { etag: 'b' }, 201), compileRules({ maxDiffs: 2, headers: ['etag'] }))
  strictEqual(full.truncated, true)
  const text = compareExchanges({ status: 200, headers: { etag: 'a' }, body: Buffer.from('x') },
    { status: 201, headers: { etag: 'b' }, body: Buffer.from('y') }, compileRules({ maxDiffs: 2, headers: ['etag'] }))
  strictEqual(text.truncated, true)
})

test('compareExchanges should never throw, answering error comparator_error (T11)', () => {
  const broken = { status: 200, headers: null, body: Buffer.from('{}') } as unknown as Exchange
  const r = compareExchanges(broken, json('{}'))
  strictEqual(r instanceof ComparisonResult, true)
  strictEqual(r.outcome, 'error')
  strictEqual(r.reason, 'comparator_error')
  const thrower = { status: 200, get headers (): never { throw 'boom' }, body: Buffer.from('{}') } as unknown as Exchange // eslint-disable-line no-throw-literal
  strictEqual(compareExchanges(thrower, json('{}')).detail, 'boom')
  // the next comparison still runs
  strictEqual(compareExchanges(json('{}'), json('{}')).outcome, 'match')
})

test('ComparisonResult objects should all have one shape (H7)', () => {
  const keys = (r: ComparisonResult): string[] => Object.keys(r)
  const shapes = new Set([
    compareExchanges(json('{}'), json('{}')),
    compareExchanges(json('{}'), json('[]')),
    compareExchanges(json(deep(2000)), json('{}')),
    compareExchanges(null as unknown as Exchange, json('{}'))
  ].map((r) => keys(r).join()))
  strictEqual(shapes.size, 1)
})

test('compareExchanges should publish paritygate:compare:result to subscribers', () => {
  const seen: unknown[] = []
  const onResult = (msg: unknown): void => { seen.push(msg) }
  subscribe('paritygate:compare:result', onResult)
  try {
    compareExchanges(json('{}'), json('{}'))
  } finally {
    unsubscribe('paritygate:compare:result', onResult)
  }
  strictEqual(seen.length, 1)
  strictEqual((seen[0] as ComparisonResult).outcome, 'match')
})
