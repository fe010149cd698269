/* Keyed arrays (issue 12, item 3): elements sharing a key, elements without it, keys of different types. */
import { test } from 'node:test'
import { deepStrictEqual, strictEqual } from 'node:assert/strict'
import { type CanonicalOk, type JsonNode, canonicalize } from '../../src/compare/canonical.ts'
import { compareExchanges } from '../../src/compare/compare.ts'
import { type Difference, jsonDiff } from '../../src/compare/json-diff.ts'
import { type RuleConfig, compileRules } from '../../src/compare/rules.ts'

const KEYED: RuleConfig = { keyed: { '$.items': 'id' } }

function tree (value: unknown): JsonNode {
  return (canonicalize(JSON.stringify(value)) as CanonicalOk).value
}

function diff (a: unknown, b: unknown, config: RuleConfig = KEYED): Difference[] {
  return jsonDiff(tree(a), tree(b), compileRules(config)).diffs
}

test('elements sharing a key should match among themselves as a multiset, in any order', () => {
  const a = { items: [{ id: 1, v: 'a' }, { id: 1, v: 'b' }, { id: 2, v: 'c' }] }
  const b = { items: [{ id: 2, v: 'c' }, { id: 1, v: 'b' }, { id: 1, v: 'a' }] }
  deepStrictEqual(diff(a, b), [])
  deepStrictEqual(diff(b, a), [])
  const ex = (v: unknown) => ({ status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(v)) })
  strictEqual(compareExchanges(ex(a), ex(b), compileRules(KEYED)).outcome, 'match')
})

test('elements sharing a key should pair equal ones first, then the rest in order', () => {
  deepStrictEqual(diff({ items: [{ id: 1, v: 'a' }, { id: 1, v: 'b' }] }, { items: [{ id: 1, v: 'b' }, { id: 1, v: 'x' }] }), [
    { path: '$.items[0].v', kind: 'changed' }
  ])
  deepStrictEqual(diff({ items: [{ id: 1, v: 'a' }, { id: 1, v: 'b' }, { id: 1, v: 'c' }] }, { items: [{ id: 1, v: 'y' }, { id: 1, v: 'x' }, { id: 1, v: 'b' }] }), [
    { path: '$.items[0].v', kind: 'changed' },
    { path: '$.items[2].v', kind: 'changed' }
  ])
  // more of a key on one side: the surplus is missing (or extra), the shared ones are not
  deepStrictEqual(diff({ items: [{ id: 1, v: 'a' }, { id: 1, v: 'a' }, { id: 2 }] }, { items: [{ id: 2 }, { id: 1, v: 'a' }] }), [
    { path: '$.items', kind: 'length' },
    { path: '$.items[1]', kind: 'missing' }
  ])
  deepStrictEqual(diff({ items: [{ id: 1, v: 'b' }] }, { items: [{ id: 1, v: 'a' }, { id: 1, v: 'b' }] }), [
    { path: '$.items', kind: 'length' },
    { path: '$.items[0]', kind: 'extra' }
  ])
})

test('elements without the key field should match among themselves as a multiset', () => {
  deepStrictEqual(diff({ items: [{ v: 1 }, { id: 1, v: 2 }, { v: 3 }, 7, 'x'] }, { items: ['x', { id: 1, v: 2 }, { v: 3 }, 7, { v: 1 }] }), [])
  deepStrictEqual(diff({ items: [{ v: 1 }, { v: 3 }] }, { items: [{ v: 3 }, { v: 4 }] }), [{ path: '$.items[0].v', kind: 'changed' }])
  deepStrictEqual(diff({ items: [{ v: 1 }, { id: 1 }] }, { items: [{ id: 1 }] }), [
    { path: '$.items', kind: 'length' },
    { path: '$.items[0]', kind: 'missing' }
  ])
})

test('key values of different types should be different keys', () => {
  deepStrictEqual(diff({ items: [{ id: 1, v: 'a' }] }, { items: [{ id: '1', v: 'a' }] }), [
    { path: '$.items[0]', kind: 'missing' },
    { path: '$.items[0]', kind: 'extra' }
  ])
  deepStrictEqual(diff({ items: [{ id: null }, { id: false }, { id: 0 }] }, { items: [{ id: 0 }, { id: null }, { id: false }] }), [])
  // the same number spelled differently is the same key (canonical text)
  strictEqual(jsonDiff((canonicalize('{"items":[{"id":1.0,"v":1},{"id":2,"v":2}]}') as CanonicalOk).value,
    (canonicalize('{"items":[{"id":2,"v":2},{"id":1e0,"v":1}]}') as CanonicalOk).value, compileRules(KEYED)).diffs.length, 0)
})

test('a large group sharing one key should stay linear', () => {
  const many = Array.from({ length: 20_000 }, (_, k) => ({ id: 1, v: k }))
  const shuffled = [...many].reverse()
  deepStrictEqual(diff({ items: many }, { items: shuffled }), [])
})
