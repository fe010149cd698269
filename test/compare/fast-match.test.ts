/*
 * The tree-less match (src/compare/fast-match.ts, issue 16): whenever it says match, the full comparison
 * (compareExchanges under the same rules) says match too, over random JSON printed two ways (key order,
 * number spellings, escapes, whitespace), mutated pairs and hostile texts; it takes the ordinary
 * re-serialized case; it gives up on what canonical.ts treats differently from JSON.parse.
 *
 * Seeded and bounded: FUZZ_SEED and FUZZ_RUNS (a multiplier) replay or widen a run.
 */
import { test } from 'node:test'
import { ok, strictEqual } from 'node:assert/strict'
import fc from 'fast-check'
import { analyze, type SideData } from '../../src/compare/analyze.ts'
import { compareExchanges } from '../../src/compare/compare.ts'
import { fastMatch, sameJsonBody } from '../../src/compare/fast-match.ts'
import { Redactor, redactSettings } from '../../src/compare/redact.ts'
import { RuleSet } from '../../src/compare/rule-set.ts'
import { compileRules, type CompiledRules } from '../../src/compare/rules.ts'
import { rng } from '../helpers/rng.ts'

const SEED = Number(process.env.FUZZ_SEED ?? 0x16f457)
const SCALE = Number(process.env.FUZZ_RUNS ?? 1)

function params (numRuns: number): fc.Parameters<unknown> {
  return { seed: SEED, numRuns: Math.max(1, Math.round(numRuns * SCALE)) }
}

const RULES = compileRules()
const JSON_TYPE = ['content-type', 'application/json']

function answer (body: string | Buffer, headers: string[] = JSON_TYPE, status = 200): SideData {
  return { status, headers, body: typeof body === 'string' ? Buffer.from(body) : body, truncated: false, error: null, durationMs: 1 }
}

/** What the full path says about the two answers. */
function full (a: SideData, b: SideData, rules: CompiledRules = RULES): string {
  const record = (h: string[]): Record<string, string> => Object.fromEntries(h.flatMap((v, k) => k % 2 === 0 ? [[v.toLowerCase(), h[k + 1]]] : []))
  return compareExchanges({ status: a.status, headers: record(a.headers), body: Buffer.from(a.body) }, { status: b.status, headers: record(b.headers), body: Buffer.from(b.body) }, rules).outcome
}

/** Fast says match only when the full path does; returns what fast said. */
function check (a: string | Buffer, b: string | Buffer, rules: CompiledRules = RULES, ha = JSON_TYPE, hb = JSON_TYPE): boolean {
  const x = answer(a, ha)
  const y = answer(b, hb)
  const fast = fastMatch(x, y, rules)
  if (fast) strictEqual(full(x, y, rules), 'match', `fast path said match, full path did not:\n${String(a)}\n${String(b)}`)
  return fast
}

// A JSON value with exact decimals: numbers are sign, digits and a power of ten, printed many ways.
type Num = { n: true, neg: boolean, digits: string, exp: number }
type Val = null | boolean | string | Num | Val[] | { [key: string]: Val }

function isNum (v: Val): v is Num {
  // a generated object may have a member `n: true` of its own: a number also has its digits
  return typeof v === 'object' && v !== null && !Array.isArray(v) && (v as Num).n === true && typeof (v as Num).digits === 'string'
}

const KEYS = ['a', 'b', 'id', 'é', 'x y', '__proto__', 'toString', 'constructor', 'hasOwnProperty', '"', '\\', '\u2028', '😀', '']
const keyArb = fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 4 }))
const strArb = fc.oneof(fc.string({ maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 6 }), fc.constantFrom('Renée', 'l’Église', '\u0000\n', '😀', '\ud800', 'a\udc00'))
const numArb = fc.record({
  n: fc.constant(true as const),
  neg: fc.boolean(),
  digits: fc.oneof(fc.bigInt({ min: 0n, max: 999999n }), fc.bigInt({ min: 0n, max: 10n ** 22n })).map(String),
  exp: fc.oneof(fc.integer({ min: -8, max: 8 }), fc.integer({ min: -400, max: 400 }))
})
const valArb: fc.Arbitrary<Val> = fc.letrec<{ v: Val }>((tie) => ({
  v: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    fc.constant(null), fc.boolean(), strArb, numArb,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(keyArb, tie('v'), { maxKeys: 5 }))
})).v

function spellNumber (v: Num, r: () => number): string {
  const zeros = Math.floor(r() * 3)
  const d = v.digits + '0'.repeat(v.digits === '0' ? 0 : zeros)
  const e = v.exp - (v.digits === '0' ? 0 : zeros)
  const sign = v.neg ? '-' : ''
  const pick = r()
  let int: string
  let frac: string
  if (pick < 0.2 || d === '0') { int = '0'; frac = d === '0' ? '' : d } else {
    const p = 1 + Math.floor(r() * d.length)
    int = d.slice(0, p)
    frac = d.slice(p)
  }
  const exp = e + frac.length
  const fracText = frac === '' ? (r() < 0.2 ? '.0' : '') : '.' + frac
  const expText = exp === 0 && r() < 0.7 ? '' : (r() < 0.5 ? 'e' : 'E') + (exp >= 0 && r() < 0.3 ? '+' : '') + String(exp)
  return sign + int + fracText + expText
}

function spellString (s: string, r: () => number): string {
  let out = '"'
  for (const ch of s) {
    const c = ch.codePointAt(0) as number
    const roll = r()
    if (ch === '"' || ch === '\\') out += '\\' + ch
    else if (c < 0x20 || roll < 0.15) {
      for (let k = 0; k < ch.length; k++) out += '\\u' + ch.charCodeAt(k).toString(16).padStart(4, '0')[r() < 0.5 ? 'toUpperCase' : 'toLowerCase']()
    } else if (ch === '/' && roll < 0.5) out += '\\/'
    else out += ch
  }
  return out + '"'
}

function ws (r: () => number): string {
  return r() < 0.8 ? '' : [' ', '\n', '\t', '\r\n '][Math.floor(r() * 4)]
}

/** Prints a value with random key order, number spellings, escapes and whitespace; `dup` repeats one member now and then. */
function print (v: Val, r: () => number, dup = false): string {
  if (v === null || typeof v === 'boolean') return String(v)
  if (typeof v === 'string') return spellString(v, r)
  if (isNum(v)) return spellNumber(v, r)
  if (Array.isArray(v)) return '[' + ws(r) + v.map((x) => print(x, r, dup)).join(ws(r) + ',' + ws(r)) + ws(r) + ']'
  const keys = Object.keys(v)
  for (let k = keys.length - 1; k > 0; k--) {
    const j = Math.floor(r() * (k + 1));
    [keys[k], keys[j]] = [keys[j], keys[k]]
  }
  const members = keys.map((k) => spellString(k, r) + ws(r) + ':' + ws(r) + print(v[k], r, dup))
  if (dup && members.length > 0 && r() < 0.3) members.push(members[0])
  return '{' + ws(r) + members.join(',') + ws(r) + '}'
}

/** The value with one change somewhere (a number's digit, a member dropped or added, a string, a type). */
function mutate (v: Val, r: () => number): Val {
  if (Array.isArray(v)) {
    if (v.length === 0 || r() < 0.2) return [...v, null]
    const k = Math.floor(r() * v.length)
    return v.map((x, j) => j === k ? mutate(x, r) : x)
  }
  if (isNum(v)) {
    const roll = r()
    if (roll < 0.4) return { ...v, digits: v.digits === '0' ? '1' : v.digits + '1' }
    if (roll < 0.7) return { ...v, exp: v.exp + 1 }
    return String(v.digits)
  }
  if (typeof v === 'object' && v !== null) {
    const keys = Object.keys(v)
    const roll = r()
    if (keys.length === 0 || roll < 0.2) return { ...v, [keys.length === 0 ? 'new' : keys[0] + 'x']: 1 as unknown as Val }
    const copy: Record<string, Val> = Object.create(null)
    for (const k of keys) copy[k] = v[k]
    if (roll < 0.4) { delete copy[keys[0]]; return copy }
    const k = keys[Math.floor(r() * keys.length)]
    copy[k] = mutate(v[k], r)
    return copy
  }
  if (typeof v === 'string') return v + 'x'
  if (typeof v === 'boolean') return !v
  return 0 as unknown as Val
}

function wellFormed (s: string): boolean {
  return (s as unknown as { isWellFormed (): boolean }).isWellFormed()
}

/** Whether canonical.ts sees the value the way the fast path can prove: exact in a double, no lone surrogate, shallow. */
function plain (v: Val, depth = 0): boolean {
  if (v === null || typeof v === 'boolean') return true
  if (typeof v === 'string') return wellFormed(v)
  if (isNum(v)) return v.digits.length + 2 <= 15 && Math.abs(v.exp) + 2 + v.digits.length <= 150
  if (depth >= 60) return false
  if (Array.isArray(v)) return v.every((x) => plain(x, depth + 1))
  return Object.keys(v).every((k) => wellFormed(k) && plain(v[k], depth + 1))
}

test('the same value printed two ways: fast says match only when the full path does, and always when the value is plain', () => {
  let fastCount = 0
  let plainCount = 0
  fc.assert(fc.property(valArb, fc.integer(), (v, seed) => {
    const r = rng(seed)
    const a = print(v, r)
    const b = print(v, r)
    const fast = check(a, b)
    if (plain(v)) {
      plainCount++
      ok(fast, `plain value not proven equal:\n${a}\n${b}`)
    }
    if (fast) fastCount++
  }), params(600))
  ok(plainCount > 300 && fastCount >= plainCount, `${fastCount} fast matches, ${plainCount} plain values`)
})

test('mutated pairs and repeated members: fast never says match where the full path does not', () => {
  let fastCount = 0
  fc.assert(fc.property(valArb, fc.integer(), fc.boolean(), (v, seed, dup) => {
    const r = rng(seed)
    const a = print(v, r, dup)
    const b = print(r() < 0.5 ? mutate(v, r) : v, r, dup && r() < 0.5)
    if (check(a, b)) fastCount++
    // the other way round too: the walk looks from the primary's side
    check(b, a)
  }), params(800))
  ok(fastCount > 0)
})

test('hostile texts: arbitrary JSON-ish strings and bytes against a re-print of themselves', () => {
  const textArb = fc.oneof(fc.json(), fc.string({ maxLength: 30 }), fc.constantFrom('{"a":1,"a":1}', '{"a":1}garbage', '\ufeff{}', '[1,]', '01', '{"a":"\\ud800"}', '[9007199254740993]'))
  fc.assert(fc.property(textArb, textArb, (a, b) => {
    check(a, b)
    check(a, a + ' ')
    let reprinted: string | null = null
    try { reprinted = JSON.stringify(JSON.parse(a)) } catch {}
    if (reprinted !== null) check(a, reprinted)
  }), params(600))
  fc.assert(fc.property(fc.uint8Array({ maxLength: 24 }), fc.uint8Array({ maxLength: 24 }), (a, b) => {
    check(Buffer.from(a), Buffer.from(b))
  }), params(300))
})

test('the bench\'s re-serialized document (keys reversed, 1.0 for 1, \\u00e9 for é) is proven a match', () => {
  const doc = { id: 918273, version: 1, customer: { name: 'Renée Dupré', score: 1, vip: true }, items: [{ qty: 2, unitPrice: 2.5, discount: 0 }], tags: ['été'], eta: null }
  const b = '{"eta":null,"tags":["\\u00e9t\\u00e9"],"items":[{"discount":0.0,"unitPrice":2.5,"qty":2.0}],"customer":{"vip":true,"score":1e0,"name":"Ren\\u00e9e Dupr\\u00e9"},"version":1.0,"id":918273.0}'
  ok(check(JSON.stringify(doc), b))
})

test('the cases canonical.ts treats differently from JSON.parse fall back to the full path', () => {
  // duplicate keys: JSON.parse keeps the last, canonical.ts calls the body invalid
  strictEqual(check('{"a":1,"a":2}', '{"a":2}'), false)
  strictEqual(check('{"a":2}', '{"a":1,"a":2}'), false)
  strictEqual(check('{"a":{"b":1,"b":1}}', '{"a":{"b":1}}'), false)
  // lone surrogates, in either case
  strictEqual(check('["\\ud800"]', '[ "\\ud800"]'), false)
  strictEqual(check('["\\uDC00"]', '[ "\\uDC00"]'), false)
  strictEqual(check('["\\ud83d"]', '[ "\\ud83d"]'), false)
  strictEqual(check('["\\ud83d\\u0041"]', '[ "\\ud83d\\u0041"]'), false)
  strictEqual(check('["\\ude00\\ud83d"]', '[ "\\ude00\\ud83d"]'), false)
  strictEqual(check('["\\ud83d\\\\ude00"]', '[ "\\ud83d\\\\ude00"]'), false)
  // an escaped pair is one well-formed character
  ok(check('["\\ud83d\\ude00"]', '["😀"]'))
  ok(check('["\\uD83D\\uDE00x"]', '["😀x"]'))
  // numbers a double cannot tell apart
  strictEqual(check('[9007199254740993]', '[9007199254740992]'), false)
  strictEqual(check('[0.1]', '[0.1000000000000000055511151231257827]'), false)
  strictEqual(check('[1e400]', '[2e400]'), false)
  strictEqual(check('[1e-400]', '[2e-400]'), false)
  // nesting beyond the walk's depth, or the rules' maxDepth
  const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n)
  strictEqual(check(deep(65), deep(65) + ' '), false)
  ok(check(deep(64), deep(64) + ' '))
  strictEqual(check(deep(5), deep(5) + ' ', compileRules({ maxDepth: 4 })), false)
  // byte order mark, invalid UTF-8, trailing bytes
  strictEqual(check('\ufeff{}', '{}'), false)
  strictEqual(check(Buffer.from([0x22, 0xff, 0x22]), Buffer.from([0x22, 0xfe, 0x22])), false)
  strictEqual(check('{} x', '{}'), false)
  // a key missing on one side must not find Object.prototype's
  strictEqual(check('{"__proto__":{}}', '{"x":{}}'), false)
  strictEqual(check('{"x":{}}', '{"__proto__":{}}'), false)
  strictEqual(check('{"toString":{}}', '{"x":{}}'), false)
  ok(check('{"__proto__":{"a":1},"b":2}', '{"b":2.0,"__proto__":{"a":1e0}}'))
  // an extra member on the candidate's side
  strictEqual(check('{"a":1}', '{"a":1,"b":1}'), false)
  strictEqual(check('{"a":{"c":1}}', '{"a":{"c":1,"d":1}}'), false)
})

test('headers and reading: only plain UTF-8 JSON with the same allow-listed headers is proven', () => {
  const a = '{"a":1}'
  const b = '{"a":1.0}'
  ok(check(a, b))
  ok(check(a, b, RULES, ['Content-Type', 'application/json; charset=utf-8'], ['content-type', 'application/json']))
  ok(check(a, b, RULES, JSON_TYPE, ['content-type', 'application/json', 'Transfer-Encoding', 'chunked']))
  ok(check(a, b, compileRules({ headers: [] }), JSON_TYPE, ['content-type', 'application/problem+json']))
  strictEqual(check(a, b, RULES, JSON_TYPE, ['content-type', 'text/plain']), false)
  strictEqual(check(a, b, RULES, JSON_TYPE, ['content-type', 'application/json; charset=iso-8859-1']), false)
  strictEqual(check(a, b, RULES, JSON_TYPE, ['content-type', 'application/json', 'content-encoding', 'identity']), false)
  strictEqual(check(a, b, RULES, JSON_TYPE, ['content-type', 'application/json', 'content-type', 'application/json']), false)
  strictEqual(check(a, b, RULES, JSON_TYPE, ['content-type', 'application/json', 'transfer-encoding', 'gzip, chunked']), false)
  strictEqual(check(a, b, RULES, JSON_TYPE, []), false)
  // media types differ under the default allow-list (content-type): a header difference
  strictEqual(check(a, b, RULES, JSON_TYPE, ['content-type', 'application/problem+json']), false)
  // another allow-listed header: raw values must be equal
  const etag = compileRules({ headers: ['content-type', 'etag'] })
  ok(check(a, b, etag, [...JSON_TYPE, 'ETag', '"1"'], [...JSON_TYPE, 'etag', '"1"']))
  strictEqual(check(a, b, etag, [...JSON_TYPE, 'ETag', '"1"'], [...JSON_TYPE, 'etag', '"2"']), false)
  strictEqual(check(a, b, etag, [...JSON_TYPE, 'ETag', '"1"'], JSON_TYPE), false)
  // status, size cap, empty bodies
  strictEqual(fastMatch(answer(a), { ...answer(b), status: 201 }, RULES), false)
  strictEqual(check(a, b, compileRules({ maxBodyBytes: 8 })), false)
  strictEqual(check('', ''), false)
})

test('analyze takes the fast path for a re-serialized match, and still compares mismatches in full', () => {
  const rules = new RuleSet({ global: {}, routes: {} })
  const redactor = Redactor.from(redactSettings({ headers: [], fields: [] }))
  const task = (b: string, hashes = false): Parameters<typeof analyze>[0] => ({ route: 'default', primary: answer('{"a":1,"b":[1,2]}'), candidate: answer(b), secondary: null, render: false, maxBodyChars: 100, hashes })
  const fast = analyze(task('{"b":[1.0,2e0],"a":1}'), rules, redactor)
  strictEqual(fast.outcome, 'match')
  strictEqual(fast.primaryHash, null, 'no canonical hash computed on the fast path')
  const hashed = analyze(task('{"b":[1.0,2e0],"a":1}', true), rules, redactor)
  strictEqual(hashed.outcome, 'match')
  ok(hashed.primaryHash !== null && hashed.primaryHash === hashed.candidateHash, 'debug breadcrumbs still get both hashes')
  const miss = analyze(task('{"b":[1.0,3],"a":1}'), rules, redactor)
  strictEqual(miss.outcome, 'mismatch')
  strictEqual(miss.diffs[0].path, '$.b[1]')
})

test('sameJsonBody alone: equal canonical forms only', () => {
  ok(sameJsonBody(Buffer.from('{"a":[1,{"b":null}]}'), Buffer.from(' { "a" : [ 1E0 , { "b" : null } ] } ')))
  strictEqual(sameJsonBody(Buffer.from('[1]'), Buffer.from('["1"]')), false)
  strictEqual(sameJsonBody(Buffer.from('[[]]'), Buffer.from('[{}]')), false)
  ok(sameJsonBody(Buffer.from('[-0]'), Buffer.from('[0.0]')))
})

test('the reader is a strict grammar check: what JSON does not allow is never proven, even printed alike', () => {
  const invalid = ['[01]', '[1.]', '[.5]', '[+1]', '[-]', '[1e]', '[1e+]', '{"a" 1}', '{"a":1,}', '[1 2]', '[1,]', '[,1]', '{,}', '{"a"}',
    '["\u0001"]', '["a\tb"]', '["\\x"]', '["\\u12G4"]', '["\\u12"]', 'tru', 'nul', 'falsey', '"abc', '[', '{"a":[}', '[]]', '', ' ', '[NaN]', '[Infinity]']
  for (const text of invalid) {
    strictEqual(sameJsonBody(Buffer.from(text), Buffer.from(text + ' ')), false, text)
    strictEqual(sameJsonBody(Buffer.from(text), Buffer.from(text)), false, text)
  }
  // escapes of every kind read as the characters they stand for
  ok(sameJsonBody(Buffer.from('["\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00"]'), Buffer.from('["\\u0022\\u005c/\\u0008\\u000c\\u000a\\u000d\\u0009é😀"]')))
  strictEqual(sameJsonBody(Buffer.from('["\\n"]'), Buffer.from('["\\r"]')), false)
  strictEqual(sameJsonBody(Buffer.from('["é"]'), Buffer.from('["ë"]')), false)
  strictEqual(sameJsonBody(Buffer.from('["é"]'), Buffer.from('["\\u00eb"]')), false)
  strictEqual(sameJsonBody(Buffer.from('["ab"]'), Buffer.from('["a\\u0062c"]')), false)
  // numbers outside ±22 powers of ten are read exactly too
  ok(sameJsonBody(Buffer.from('[1e30,-2.5e-40,123456789012345e100]'), Buffer.from('[10e29,-25e-41,1.23456789012345e114]')))
  strictEqual(sameJsonBody(Buffer.from('[1e30]'), Buffer.from('[1.00000000000001e30]')), false)
  strictEqual(sameJsonBody(Buffer.from('[1e201]'), Buffer.from('[1e201]')), false, 'an exponent over 200 takes the full path')
  strictEqual(sameJsonBody(Buffer.from('[1234567890123456]'), Buffer.from('[1234567890123456]')), false, '16 digits take the full path')
})

test('wide objects (over 32 members) pair their keys through a map, escapes and duplicates included', () => {
  const keys = Array.from({ length: 40 }, (_, k) => `k${k}é`)
  const doc = Object.fromEntries(keys.map((k, v) => [k, v]))
  const reversed = '{' + [...keys].reverse().map((k) => `"${k.replace('é', '\\u00e9')}":${doc[k]}.0`).join(',') + '}'
  ok(check(JSON.stringify(doc), reversed))
  const changed = reversed.replace('"k7\\u00e9":7.0', '"k7\\u00e9":8')
  strictEqual(check(JSON.stringify(doc), changed), false)
  const renamed = reversed.replace('"k7\\u00e9"', '"k7x"')
  strictEqual(check(JSON.stringify(doc), renamed), false)
  // a key twice on either side (as many members on both)
  const dupA = JSON.stringify(doc).replace('"k1é":1', '"k0é":0')
  strictEqual(check(dupA, reversed), false)
  strictEqual(check(reversed, dupA), false)
  strictEqual(check(dupA, dupA), false)
})

test('objects pair members in any order, each member of the candidate at most once', () => {
  ok(check('{"a":1,"b":2,"c":3,"d":4}', '{"c":3,"a":1,"d":4,"b":2}'))
  strictEqual(check('{"a":1,"a":1,"b":2}', '{"a":1,"b":2,"b":2}'), false)
  strictEqual(check('{"a":1,"b":1}', '{"a":1,"a":1}'), false)
  strictEqual(check('{"a":1}', '{"b":1}'), false)
  // keys that collide in length and hash class still compare by their characters
  strictEqual(check('{"ab":1,"ba":2}', '{"ab":2,"ba":1}'), false)
})
