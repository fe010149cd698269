/* Unordered arrays (issue 12, item 4): leftovers paired by identity field, then by fewest differences, within a bound. */
import { test } from 'node:test'
import { deepStrictEqual, ok } from 'node:assert/strict'
import { type CanonicalOk, type JsonNode, canonicalize } from '../../src/compare/canonical.ts'
import { MAX_PAIR_COSTS, type Difference, jsonDiff } from '../../src/compare/json-diff.ts'
import { type RuleConfig, compileRules } from '../../src/compare/rules.ts'

function tree (value: unknown): JsonNode {
  return (canonicalize(JSON.stringify(value)) as CanonicalOk).value
}

function diff (a: unknown, b: unknown, config: RuleConfig = { unordered: ['$.x'] }): Difference[] {
  return jsonDiff(tree(a), tree(b), compileRules(config)).diffs
}

test('leftovers should be paired by a shared id, so that only the changed field is reported', () => {
  // canonical text order would pair {a:"b",id:1} with {a:"a",id:2} and report $.x[*].id as well
  const a = { x: [{ a: 'b', id: 1 }, { a: 'c', id: 2 }] }
  const b = { x: [{ a: 'd', id: 1 }, { a: 'a', id: 2 }] }
  deepStrictEqual(diff(a, b), [{ path: '$.x[0].a', kind: 'changed' }, { path: '$.x[1].a', kind: 'changed' }])
  deepStrictEqual(diff({ x: [{ key: 'k1', n: 5 }, { key: 'k2', n: 1 }] }, { x: [{ key: 'k2', n: 0 }, { key: 'k1', n: 9 }] }),
    [{ path: '$.x[0].n', kind: 'changed' }, { path: '$.x[1].n', kind: 'changed' }])
  deepStrictEqual(diff({ x: [{ b: 5, name: 'n1' }, { b: 1, name: 'n2' }] }, { x: [{ b: 0, name: 'n2' }, { b: 9, name: 'n1' }] }),
    [{ path: '$.x[0].b', kind: 'changed' }, { path: '$.x[1].b', kind: 'changed' }])
})

test('an identity field should win over a smaller difference elsewhere, and the route\'s keyed field should count as one', () => {
  // by fewest differences A would pair with B (only sku differs); by identity, A pairs with A
  const a = { x: [{ sku: 'A', p: 1, q: 1 }, { sku: 'B', p: 2, q: 2 }] }
  const b = { x: [{ sku: 'A', p: 2, q: 2 }, { sku: 'B', p: 1, q: 1 }] }
  deepStrictEqual(diff(a, b), [{ path: '$.x[0].sku', kind: 'changed' }, { path: '$.x[1].sku', kind: 'changed' }])
  deepStrictEqual(diff(a, b, { unordered: ['$.x'], keyed: { '$.other': 'sku' } }), [
    { path: '$.x[0].p', kind: 'changed' }, { path: '$.x[0].q', kind: 'changed' },
    { path: '$.x[1].p', kind: 'changed' }, { path: '$.x[1].q', kind: 'changed' }
  ])
  // an id value found twice among the leftovers identifies nothing: fewest differences decide
  deepStrictEqual(diff({ x: [{ id: 1, s: 'u', t: 1 }, { id: 1, s: 'v', t: 2 }] }, { x: [{ id: 1, s: 'v', t: 3 }, { id: 1, s: 'u', t: 4 }] }),
    [{ path: '$.x[0].t', kind: 'changed' }, { path: '$.x[1].t', kind: 'changed' }])
})

test('without an identity field, leftovers should be paired by the fewest differing paths', () => {
  const a = { x: [{ qty: 1, sku: 'x' }, { qty: 2, sku: 'y' }] }
  const b = { x: [{ qty: 9, sku: 'x' }, { qty: 0, sku: 'y' }] }
  deepStrictEqual(diff(a, b), [{ path: '$.x[0].qty', kind: 'changed' }, { path: '$.x[1].qty', kind: 'changed' }])
  // differences are counted under the rules: an ignored field makes the right pair cost nothing
  const c = { x: [{ ts: 1, v: 'a' }, { ts: 2, v: 'b' }] }
  const d = { x: [{ ts: 0, v: 'b' }, { ts: 9, v: 'a' }] }
  deepStrictEqual(diff(c, d, { unordered: ['$.x'], ignore: ['$.x[*].ts'] }), [])
  deepStrictEqual(diff({ x: [{ n: 1.0, v: 'a' }, { n: 2, v: 'b' }] }, { x: [{ n: 2.001, v: 'b' }, { n: 1.001, v: 'a' }] }, { unordered: ['$.x'], numberTolerance: { absolute: 0.01 } }), [])
  // unequal lengths: the closest ones pair, the rest is missing
  deepStrictEqual(diff({ x: [{ p: 1, q: 1, r: 1 }, { p: 5, q: 5, r: 5 }, { p: 9, q: 9, r: 9 }] }, { x: [{ p: 5, q: 5, r: 6 }, { p: 0, q: 1, r: 1 }] }), [
    { path: '$.x', kind: 'length' },
    { path: '$.x[0].p', kind: 'changed' },
    { path: '$.x[1].r', kind: 'changed' },
    { path: '$.x[2]', kind: 'missing' }
  ])
})

test('nested unordered arrays should be compared under the same rules', () => {
  const a = { x: [{ tags: ['a', 'b'], v: 1 }, { tags: ['c'], v: 2 }] }
  const b = { x: [{ tags: ['c'], v: 3 }, { tags: ['b', 'a'], v: 1 }] }
  deepStrictEqual(diff(a, b, { unordered: ['$.x', '$.x[*].tags'] }), [{ path: '$.x[1].v', kind: 'changed' }])
})

test('pairing work should be bounded: beyond the pair cap, leftovers pair in canonical order', () => {
  const rows = (n: number, shift: number) => ({ x: Array.from({ length: n }, (_, k) => ({ qty: k + shift, sku: `s${String(k).padStart(4, '0')}` })) })
  const config = { unordered: ['$.x'], maxDiffs: 10_000 }
  const within = Math.floor(Math.sqrt(MAX_PAIR_COSTS))
  const paired = diff(rows(within, 0), rows(within, 1000), config)
  deepStrictEqual(paired.length, within)
  ok(paired.every((d) => d.path.endsWith('.qty')))
  // one more element each and the pairs are too many to cost: canonical order pairs other skus
  const beyond = diff(rows(within + 1, 0), rows(within + 1, 1000), config)
  ok(beyond.some((d) => d.path.endsWith('.sku')))
  // large elements: the node budget ends the counting, and the diff still completes
  const big = (k: number, v: number) => ({ k, payload: Array.from({ length: 400 }, (_, i) => i * v) })
  const diffs = diff({ x: Array.from({ length: 60 }, (_, k) => big(k, 1)) }, { x: Array.from({ length: 60 }, (_, k) => big(k, 2)) })
  ok(diffs.length > 0)
})
