/* Property tests (fast-check) of the canonicalizer and the diff (hash stable under key shuffling, idempotent canonical form). */
import { test } from 'node:test'
import { deepStrictEqual, strictEqual } from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import stringify from 'fast-json-stable-stringify'
import { type CanonicalOk, canonicalize } from '../../src/compare/canonical.ts'
import { formatKey, jsonDiff } from '../../src/compare/json-diff.ts'
import { rng } from '../helpers/rng.ts'

const RUNS = 10_000
type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

const jsonArb = fc.jsonValue({ maxDepth: 4, stringUnit: 'grapheme' }) as fc.Arbitrary<Json>

const WS = [' ', '\n', '\t', '\r', '  ', '']

function ws (r: () => number): string {
  return r() < 0.5 ? '' : WS[Math.floor(r() * WS.length)]
}

function printString (s: string, r: () => number): string {
  let out = '"'
  for (const ch of s) {
    if (ch === '/' && r() < 0.5) { out += '\\/'; continue }
    if (r() < 0.2) {
      for (let k = 0; k < ch.length; k++) out += '\\u' + ch.charCodeAt(k).toString(16).padStart(4, '0')
    } else {
      out += JSON.stringify(ch).slice(1, -1)
    }
  }
  return out + '"'
}

const ZEROS = ['0', '-0', '0.0', '0e5', '-0.000E-3']

function printNumber (n: number, r: () => number): string {
  if (n === 0) return ZEROS[Math.floor(r() * ZEROS.length)]
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/.exec(JSON.stringify(n)) as RegExpExecArray
  const digits = (m[2] + (m[3] ?? '')).replace(/^0+(?=\d)/, '')
  const exp = Number(m[4] ?? '0') - (m[3] ?? '').length
  const pad = Math.floor(r() * 3)
  const e = exp - pad
  const choice = r()
  if (choice < 0.4) return JSON.stringify(n)
  if (choice < 0.7) return m[1] + digits + '0'.repeat(pad) + (r() < 0.5 ? 'e' : 'E') + e
  return m[1] + '0.' + digits + 'e' + (exp + digits.length)
}

type Item = { raw: string, v: null } | { raw: null, v: Json }

/** Prints a JSON value with shuffled keys, random whitespace, escapes and number spellings. */
function printRandom (value: Json, seed: number): string {
  const r = rng(seed)
  const parts: string[] = []
  const stack: Item[] = [{ raw: null, v: value }]
  while (stack.length > 0) {
    const item = stack.pop() as Item
    parts.push(ws(r))
    if (item.raw !== null) { parts.push(item.raw); continue }
    const v = item.v
    if (v === null || typeof v === 'boolean') parts.push(String(v))
    else if (typeof v === 'number') parts.push(printNumber(v, r))
    else if (typeof v === 'string') parts.push(printString(v, r))
    else if (Array.isArray(v)) {
      parts.push('[')
      stack.push({ raw: ']', v: null })
      for (let k = v.length - 1; k >= 0; k--) {
        stack.push({ raw: null, v: v[k] })
        if (k > 0) stack.push({ raw: ',', v: null })
      }
    } else {
      parts.push('{')
      stack.push({ raw: '}', v: null })
      const keys = Object.keys(v)
      for (let k = keys.length - 1; k > 0; k--) {
        const j = Math.floor(r() * (k + 1))
        const t = keys[k]
        keys[k] = keys[j]
        keys[j] = t
      }
      for (let k = keys.length - 1; k >= 0; k--) {
        stack.push({ raw: null, v: v[keys[k]] })
        stack.push({ raw: printString(keys[k], r) + ws(r) + ':', v: null })
        if (k > 0) stack.push({ raw: ',', v: null })
      }
    }
  }
  return parts.join('') + ws(r)
}

function canonical (text: string): string {
  const r = canonicalize(text)
  if (!r.ok) throw new Error(`${r.reason}: ${r.detail} in ${text}`)
  return r.canonical
}

test('canonical form should equal fast-json-stable-stringify and ignore key order, whitespace and spelling', () => {
  fc.assert(fc.property(jsonArb, fc.integer(), fc.integer(), (value, s1, s2) => {
    const a = canonical(printRandom(value, s1))
    strictEqual(a, canonical(printRandom(value, s2)))
    strictEqual(a, stringify(value))
    const r = canonicalize(Buffer.from(printRandom(value, s2))) as CanonicalOk
    strictEqual(r.hash, createHash('sha256').update(stringify(value)).digest('hex'))
  }), { numRuns: RUNS })
})

test('canonical form should be idempotent', () => {
  fc.assert(fc.property(jsonArb, fc.integer(), (value, seed) => {
    const once = canonical(printRandom(value, seed))
    strictEqual(canonical(once), once)
  }), { numRuns: RUNS })
})

interface Leaf { path: string, set: (v: Json) => void, value: Json }

function leaves (root: { v: Json }): Leaf[] {
  const out: Leaf[] = []
  const stack: Array<{ holder: Record<string, Json> | Json[], key: string | number, path: string }> = [{ holder: root as unknown as Record<string, Json>, key: 'v', path: '$' }]
  while (stack.length > 0) {
    const { holder, key, path } = stack.pop() as typeof stack[number]
    const v = (holder as Record<string, Json>)[key as string]
    if (v !== null && typeof v === 'object') {
      if (Array.isArray(v)) v.forEach((_, i) => stack.push({ holder: v, key: i, path: `${path}[${i}]` }))
      else for (const k of Object.keys(v)) stack.push({ holder: v, key: k, path: path + formatKey(k) })
    } else {
      out.push({ path, value: v, set: (nv) => { (holder as Record<string, Json>)[key as string] = nv } })
    }
  }
  return out
}

test('jsonDiff should find any single leaf change at its path', () => {
  fc.assert(fc.property(jsonArb, fc.nat(), (value, pick) => {
    const original = canonicalize(JSON.stringify(value)) as CanonicalOk
    const copy = { v: structuredClone(value) }
    const all = leaves(copy)
    fc.pre(all.length > 0)
    const leaf = all[pick % all.length]
    let kind: 'changed' | 'type' = 'changed'
    const v = leaf.value
    if (v === null) { leaf.set(0); kind = 'type' } else if (typeof v === 'boolean') leaf.set(!v)
    else if (typeof v === 'number') leaf.set(v === 0 ? 1 : -v)
    else leaf.set((v as string) + 'x')
    const changed = canonicalize(JSON.stringify(copy.v)) as CanonicalOk
    const d = jsonDiff(original.value, changed.value)
    deepStrictEqual(d.diffs, [{ path: leaf.path, kind }])
    deepStrictEqual(jsonDiff(original.value, original.value).diffs, [])
  }), { numRuns: RUNS })
})

test('canonical hash should be the same in another process (T40)', async () => {
  const doc = '{"b":[1,2.50,{"z":null,"a":"\\u00e9"}],"a":9007199254740993,"c":-0}'
  const here = canonicalize(doc)
  const script = `import { canonicalize } from ${JSON.stringify(new URL('../../src/compare/canonical.ts', import.meta.url).href)}; process.stdout.write(canonicalize(${JSON.stringify(doc)}).hash)`
  const there = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]).toString()
  strictEqual(here.ok && here.hash, there)
})
