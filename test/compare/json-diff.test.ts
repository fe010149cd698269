/* Unit tests of jsonDiff, the path rules it applies, collapsePath and signature. */
import { test } from 'node:test'
import { deepStrictEqual, strictEqual, throws } from 'node:assert/strict'
import { type CanonicalOk, type JsonNode, canonicalize } from '../../src/compare/canonical.ts'
import { parseInstant } from '../../src/compare/instants.ts'
import { parsePath } from '../../src/config/json-path.ts'
import { toDecimal } from '../../src/compare/numbers.ts'
import { type RuleConfig, compileRules } from '../../src/compare/rules.ts'
import { withinTolerance } from '../../src/compare/tolerance.ts'
import { type Difference, formatKey, jsonDiff } from '../../src/compare/json-diff.ts'
import { collapsePath, signature } from '../../src/compare/signature.ts'

function tree (text: string): JsonNode {
  return (canonicalize(text) as CanonicalOk).value
}

function diff (a: string, b: string, config: RuleConfig = {}, maxDiffs?: number): Difference[] {
  return jsonDiff(tree(a), tree(b), compileRules(config), { maxDiffs }).diffs
}

test('jsonDiff should report changed, missing, extra and type differences in document order', () => {
  deepStrictEqual(diff('{"a":1,"b":{"c":[1,2]},"d":"x","e":null}', '{"a":2,"b":{"c":[1,3]},"e":{},"f":true}'), [
    { path: '$.a', kind: 'changed' },
    { path: '$.b.c[1]', kind: 'changed' },
    { path: '$.d', kind: 'missing' },
    { path: '$.e', kind: 'type' },
    { path: '$.f', kind: 'extra' }
  ])
  deepStrictEqual(diff('{"a":true}', '{"a":false}'), [{ path: '$.a', kind: 'changed' }])
  deepStrictEqual(diff('1', '"1"'), [{ path: '$', kind: 'type' }])
  deepStrictEqual(diff('{"a":{"b":1}}', '{"a":{"b":1}}'), [])
  deepStrictEqual(diff('null', 'null'), [])
})

test('jsonDiff should quote keys that are not identifiers', () => {
  deepStrictEqual(diff('{"a.b":1,"x y":{"é":1},"0":1}', '{"a.b":2,"x y":{"é":2},"0":2}'), [
    { path: '$["0"]', kind: 'changed' },
    { path: '$["a.b"]', kind: 'changed' },
    { path: '$["x y"]["é"]', kind: 'changed' }
  ])
  strictEqual(formatKey('ok_$1'), '.ok_$1')
  strictEqual(formatKey('a"b'), '["a\\"b"]')
})

test('jsonDiff should treat array order as significant unless the path is unordered (T39)', () => {
  deepStrictEqual(diff('{"items":[1,2,3]}', '{"items":[3,2,1]}'), [
    { path: '$.items[0]', kind: 'changed' },
    { path: '$.items[2]', kind: 'changed' }
  ])
  deepStrictEqual(diff('{"items":[1,2,3]}', '{"items":[3,2,1]}', { unordered: ['$.items'] }), [])
  deepStrictEqual(diff('{"items":[1,1,2]}', '{"items":[1,2,2]}', { unordered: ['$.items'] }), [
    { path: '$.items[1]', kind: 'changed' }
  ])
  deepStrictEqual(diff('[1,2,3]', '[3,1]', { unordered: ['$'] }), [
    { path: '$', kind: 'length' },
    { path: '$[1]', kind: 'missing' }
  ])
  deepStrictEqual(diff('[1]', '[1,4]', { unordered: ['$'] }), [
    { path: '$', kind: 'length' },
    { path: '$[1]', kind: 'extra' }
  ])
})

test('jsonDiff should apply ignores inside unordered arrays by pairing leftovers in canonical order', () => {
  const a = '{"items":[{"id":1,"updatedAt":"x"},{"id":2,"updatedAt":"y"}]}'
  const b = '{"items":[{"id":2,"updatedAt":"q"},{"id":1,"updatedAt":"r"}]}'
  deepStrictEqual(diff(a, b, { unordered: ['$.items'], ignore: ['$.items[*].updatedAt'] }), [])
})

test('jsonDiff should match keyed arrays by their key member', () => {
  const a = '{"items":[{"id":1,"v":1},{"id":2,"v":2},{"id":3,"v":3},7]}'
  const b = '{"items":[{"id":4,"v":4},{"id":2,"v":20},{"id":1,"v":1},8]}'
  deepStrictEqual(diff(a, b, { keyed: { '$.items': 'id' } }), [
    { path: '$.items[1].v', kind: 'changed' },
    { path: '$.items[2]', kind: 'missing' },
    { path: '$.items[3]', kind: 'changed' },
    { path: '$.items[0]', kind: 'extra' }
  ])
  deepStrictEqual(diff('[{"id":1},{"id":1}]', '[{"id":1}]', { keyed: { $: 'id' } }), [
    { path: '$', kind: 'length' },
    { path: '$[1]', kind: 'missing' }
  ])
  deepStrictEqual(diff('[{"id":"a"},{"id":"b"}]', '[{"id":"b"},{"id":"a"}]', { keyed: { $: 'id' } }), [])
})

test('jsonDiff should report a length difference and compare the common prefix of ordered arrays', () => {
  deepStrictEqual(diff('[1,2,3]', '[1,5]'), [{ path: '$', kind: 'length' }, { path: '$[1]', kind: 'changed' }])
})

test('jsonDiff should skip ignored paths, with wildcards and descendants', () => {
  const a = '{"meta":{"requestId":"a","n":1},"items":[{"updatedAt":1,"p":1},{"updatedAt":2,"p":2}],"deep":{"x":{"id":1}}}'
  const b = '{"meta":{"requestId":"b","n":1},"items":[{"updatedAt":3,"p":1},{"p":2}],"deep":{"x":{"id":2}}}'
  deepStrictEqual(diff(a, b), [
    { path: '$.deep.x.id', kind: 'changed' },
    { path: '$.items[0].updatedAt', kind: 'changed' },
    { path: '$.items[1].updatedAt', kind: 'missing' },
    { path: '$.meta.requestId', kind: 'changed' }
  ])
  deepStrictEqual(diff(a, b, { ignore: ['$.meta.requestId', '$.items[*].updatedAt', '$..id'] }), [])
  deepStrictEqual(diff(a, b, { ignore: ['$.meta.*', '$.items[0].updatedAt', '$.items[1]', '$..x'] }), [])
  deepStrictEqual(diff('{"a":[{"id":1}]}', '{"a":[{"id":2}]}', { ignore: ['$..[*]'] }), [])
  deepStrictEqual(diff('{"a b":1}', '{"a b":2}', { ignore: ['$["a b"]'] }), [])
  deepStrictEqual(diff('{"a b":1}', '{"a b":2}', { ignore: ["$['a b']"] }), [])
  deepStrictEqual(diff('[1]', '[2]', { ignore: ['$'] }), [])
})

test('jsonDiff should apply numeric tolerance at and beyond its boundary', () => {
  const abs = { tolerances: { '$.price': { absolute: 0.1 } } }
  deepStrictEqual(diff('{"price":1.0}', '{"price":1.1}', abs), [])
  deepStrictEqual(diff('{"price":1.1}', '{"price":1.0}', abs), [])
  deepStrictEqual(diff('{"price":1.0}', '{"price":1.1000000000000001}', abs), [{ path: '$.price', kind: 'changed' }])
  deepStrictEqual(diff('{"other":1.0}', '{"other":1.1}', abs), [{ path: '$.other', kind: 'changed' }])
  const rel = { numberTolerance: { relative: 0.01 } }
  deepStrictEqual(diff('[100, -200]', '[101, -202]', rel), [])
  deepStrictEqual(diff('[99]', '[100]', rel), [])
  deepStrictEqual(diff('[99]', '[100.0000001]', rel), [{ path: '$[0]', kind: 'changed' }])
  deepStrictEqual(diff('[100]', '[102.1]', rel), [{ path: '$[0]', kind: 'changed' }])
  deepStrictEqual(diff('[9007199254740993]', '[9007199254740992]', { numberTolerance: { absolute: 1 } }), [])
  deepStrictEqual(diff('[9007199254740993]', '[9007199254740992]', { numberTolerance: { absolute: 0 } }), [{ path: '$[0]', kind: 'changed' }])
  deepStrictEqual(diff('[1e-2000]', '[2e-2000]', { numberTolerance: { absolute: 1e-9 } }), [])
  deepStrictEqual(diff('[1]', '[2]', { numberTolerance: {} }), [{ path: '$[0]', kind: 'changed' }])
})

test('withinTolerance should be exact on decimals', () => {
  const tol = compileRules({ numberTolerance: { absolute: 0.3 } }).numberTolerance
  strictEqual(tol === null, false)
  if (tol === null) return
  strictEqual(withinTolerance('0.1', '0.4', tol), true)
  strictEqual(withinTolerance('0.1', '0.4000000000000000000001', tol), false)
  strictEqual(withinTolerance('1e+3000', '1e+3000', tol), true)
  strictEqual(toDecimal('-12.5e3').m, -12500n)
  strictEqual(toDecimal('-12.5e-3').m, -125n)
  strictEqual(toDecimal('-12.5e-3').e, -4)
})

test('jsonDiff should compare timestamps by instant only where configured', () => {
  const a = '{"at":"2026-01-01T00:00:00Z","b":"2026-01-01T00:00:00.5Z"}'
  const b = '{"at":"2026-01-01T01:00:00+01:00","b":"2025-12-31T19:00:00.500000-05:00"}'
  deepStrictEqual(diff(a, b), [{ path: '$.at', kind: 'changed' }, { path: '$.b', kind: 'changed' }])
  deepStrictEqual(diff(a, b, { timestamps: ['$.at'] }), [{ path: '$.b', kind: 'changed' }])
  deepStrictEqual(diff(a, b, { timestamps: true }), [])
  deepStrictEqual(diff('["2026-01-01T00:00:00Z"]', '["2026-01-01T00:00:00.9Z"]', { timestamps: true, timestampToleranceMs: 1000 }), [])
  deepStrictEqual(diff('["2026-01-01T00:00:00Z"]', '["2026-01-01T00:00:01.001Z"]', { timestamps: true, timestampToleranceMs: 1000 }), [
    { path: '$[0]', kind: 'changed' }
  ])
  deepStrictEqual(diff('["not a date"]', '["2026-01-01T00:00:00Z"]', { timestamps: true }), [{ path: '$[0]', kind: 'changed' }])
  deepStrictEqual(diff('["2026-01-01T00:00:00Z"]', '["nope"]', { timestamps: true }), [{ path: '$[0]', kind: 'changed' }])
  deepStrictEqual(diff('["2026-01-01T00:00:00\\u005a"]', '["2026-01-01T00:00:00+00:00"]', { timestamps: true }), [])
})

test('parseInstant should accept RFC 3339 date-times only', () => {
  strictEqual(parseInstant('2026-01-01T00:00:00Z'), BigInt(Date.UTC(2026, 0, 1)) * 1_000_000n)
  strictEqual(parseInstant('2026-01-01t00:00:00.123456789z'), BigInt(Date.UTC(2026, 0, 1)) * 1_000_000n + 123456789n)
  strictEqual(parseInstant('2024-02-29T00:00:00Z') !== null, true)
  for (const bad of ['2026-01-01', '2026-13-01T00:00:00Z', '2026-02-29T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T00:00:00+24:00',
    '2026-01-32T00:00:00Z', '2026-01-01T00:00:00', '1900-02-29T00:00:00Z']) {
    strictEqual(parseInstant(bad), null, bad)
  }
})

test('jsonDiff should stop at maxDiffs and flag truncation', () => {
  const a = JSON.stringify(Array.from({ length: 50 }, (_, i) => i))
  const b = JSON.stringify(Array.from({ length: 50 }, (_, i) => -i - 1))
  const r = jsonDiff(tree(a), tree(b), compileRules({ maxDiffs: 10 }))
  strictEqual(r.diffs.length, 10)
  strictEqual(r.truncated, true)
  strictEqual(jsonDiff(tree(a), tree(b)).diffs.length, 50)
  strictEqual(jsonDiff(tree(a), tree(b), undefined, { maxDiffs: 3 }).diffs.length, 3)
})

test('jsonDiff should walk deep trees without recursion', () => {
  const depth = 999
  const a = tree('['.repeat(depth) + '1' + ']'.repeat(depth))
  const b = tree('['.repeat(depth) + '2' + ']'.repeat(depth))
  const r = jsonDiff(a, b)
  strictEqual(r.diffs.length, 1)
  strictEqual(r.diffs[0].path === '$' + '[0]'.repeat(depth), true)
})

test('parsePath and compileRules should reject malformed paths and values', () => {
  deepStrictEqual(parsePath('$.a[*]["b.c"][2]..d.*'), [
    { type: 'key', key: 'a' }, { type: 'anyIndex' }, { type: 'key', key: 'b.c' }, { type: 'index', index: 2 },
    { type: 'descendant' }, { type: 'key', key: 'd' }, { type: 'anyKey' }
  ])
  for (const bad of ['a', '$.', '$[', '$[x]', '$["a]', '$["a"x]', '$..', '$a', '$["\\x"]', '$[\'a']) {
    throws(() => compileRules({ ignore: [bad] }), /PARITYGATE_ERR_CONFIG_INVALID|Invalid configuration/, bad)
  }
  throws(() => compileRules({ ignore: '$.a' as unknown as string[] }), /compare.ignore/)
  throws(() => compileRules({ numberTolerance: { absolute: -1 } }), /absolute/)
  throws(() => compileRules({ numberTolerance: 5 as unknown as object }), /numberTolerance/)
  throws(() => compileRules({ keyed: { '$.a': '' } }), /keyed/)
  throws(() => compileRules({ timestampToleranceMs: -1 }), /timestampToleranceMs/)
  throws(() => compileRules({ headers: [''] }), /headers/)
  throws(() => compileRules({ maxDiffs: 0 }), /maxDiffs/)
  strictEqual(compileRules({ timestamps: false }).timestamps, false)
  deepStrictEqual(compileRules({ headers: ['Content-Type', 'ETag', 'etag'] }).headers, ['content-type', 'etag'])
})

test('collapsePath and signature should collapse indices and sort unique paths', () => {
  strictEqual(collapsePath('$.items[3].price'), '$.items[*].price')
  strictEqual(collapsePath('$["a[1]"][12]["b\\"[2]"]'), '$["a[1]"][*]["b\\"[2]"]')
  strictEqual(collapsePath('$.a'), '$.a')
  strictEqual(collapsePath('$[oops'), '$[oops')
  strictEqual(signature('GET /orders/:id', ['$.items[3].price', '$.total', '$.items[0].price']), 'GET /orders/:id $.items[*].price $.total')
  strictEqual(signature('r', []), 'r')
})
