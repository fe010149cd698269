/* Unit tests of the exact iterative JSON canonicalizer (bad input: deep nesting, big integers, __proto__, duplicate keys, key order). */
import { test } from 'node:test'
import { deepStrictEqual, notStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { createHash } from 'node:crypto'
import stringify from 'fast-json-stable-stringify'
import { type CanonicalFailure, type CanonicalOk, Kind, canonicalize } from '../../src/compare/canonical.ts'
import { normalizeNumber } from '../../src/compare/numbers.ts'

function canon (input: string | Buffer | Uint8Array): string {
  const r = canonicalize(input)
  if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`)
  return r.canonical
}

function failure (input: string | Buffer, opts = {}): CanonicalFailure {
  const r = canonicalize(input, opts)
  strictEqual(r.ok, false, `expected a failure for ${String(input).slice(0, 80)}`)
  return r as CanonicalFailure
}

test('canonicalize should sort keys and drop whitespace', () => {
  strictEqual(canon(' { "b" : 1 ,\n\t"a" : [ 1 , { "d":true, "c":null } ] }\r\n'), '{"a":[1,{"c":null,"d":true}],"b":1}')
  strictEqual(canon('{"b":1,"a":2}'), canon('{"a":2,"b":1}'))
})

test('canonicalize should order keys by UTF-16 code units like fast-json-stable-stringify', () => {
  const obj = { b: 1, a: 2, A: 3, é: 4, '😀': 5, '\uffff': 6, '': 7, aa: 8, '"q': 9, '\\': 10 }
  strictEqual(canon(JSON.stringify(obj)), stringify(obj))
})

test('canonicalize should compute the sha256 of the canonical text', () => {
  const r = canonicalize('{"b":"é","a":1}') as CanonicalOk
  strictEqual(r.hash, createHash('sha256').update('{"a":1,"b":"é"}').digest('hex'))
  strictEqual((canonicalize('1', { hash: false }) as CanonicalOk).hash, '')
})

test('canonicalize should normalise numbers by value from their digits', () => {
  const equal = [
    ['1', '1.0', '1e0', '10e-1', '0.1e1', '100e-2', '1.000E+0', '1E0'],
    ['0', '-0', '0.0', '-0.0e5', '0e-10'],
    ['100', '1e2', '1E+2', '100.00', '0.01e4'],
    ['-1.5', '-1.50', '-15e-1', '-0.15E1'],
    ['1e+21', '1e21', '1000000000000000000000.0', '10e20'],
    ['0.000001', '1e-6', '0.0000010'],
    ['1e-7', '0.0000001', '10e-8']
  ]
  for (const group of equal) {
    const first = canon(group[0])
    for (const n of group) strictEqual(canon(n), first, `${n} should equal ${group[0]}`)
  }
  strictEqual(canon('1e0'), '1')
  strictEqual(canon('-0'), '0')
  strictEqual(canon('1E+2'), '100')
  strictEqual(canon('123.4500'), '123.45')
  strictEqual(canon('1.5e-7'), '1.5e-7')
  strictEqual(canon('123456789012345678901234'), '1.23456789012345678901234e+23')
  strictEqual(canon('1e0000000000000000000000001'), '10')
  strictEqual(canon('1e-0000000000000000000000001'), '0.1')
  strictEqual(canon('2e1000000000000000000000000'), '2e+1000000000000000000000000')
  strictEqual(canon('-2.5e-1000000000000000000000000'), '-2.5e-1000000000000000000000000')
})

test('canonicalize should print ordinary numbers as JSON.stringify does', () => {
  for (const n of [0, 1, -1, 0.5, 123.456, 1e21, 1e-7, 1.5e300, -2.5e-300, 123456789, 0.000001, 1e-6, 12e20]) {
    strictEqual(canon(String(n)), JSON.stringify(n), String(n))
  }
})

test('canonicalize should keep integers beyond 2^53 exact (T36)', () => {
  notStrictEqual(canon('{"id":9007199254740993}'), canon('{"id":9007199254740992}'))
  strictEqual(canon('9007199254740993'), '9007199254740993')
  strictEqual(canon('12345678901234567890.123456789012345678901234567890'), '12345678901234567890.12345678901234567890123456789')
  notStrictEqual(canon('0.10000000000000000000000000000001'), canon('0.1'))
})

test('normalizeNumber should handle the edge positions of the decimal point', () => {
  strictEqual(normalizeNumber(false, '1', '', '21'), '1e+21')
  strictEqual(normalizeNumber(false, '1', '', '20'), '100000000000000000000')
  strictEqual(normalizeNumber(false, '12', '5', '-7'), '0.00000125')
  strictEqual(normalizeNumber(true, '0', '000', ''), '0')
  strictEqual(normalizeNumber(false, '0', '0001', '+0'), '0.0001')
})

test('canonicalize should re-escape strings canonically (é, \\/ and control characters)', () => {
  strictEqual(canon('"\\u00e9"'), canon('"é"'))
  strictEqual(canon('"\\u00E9"'), '"é"')
  strictEqual(canon('"a\\/b"'), '"a/b"')
  strictEqual(canon('"\\b\\f\\n\\r\\t\\"\\\\"'), JSON.stringify('\b\f\n\r\t"\\'))
  strictEqual(canon('"\\u0001\\u001F"'), '"\\u0001\\u001f"')
  strictEqual(canon('"\\ud83d\\ude00"'), '"😀"')
  strictEqual(canon('{"\\u0061":1}'), '{"a":1}')
})

test('canonicalize should treat __proto__, constructor and prototype as plain data (T37)', () => {
  const r = canonicalize('{"__proto__":{"x":1},"constructor":{"prototype":{"y":2}}}') as CanonicalOk
  strictEqual(r.ok, true)
  strictEqual(r.canonical, '{"__proto__":{"x":1},"constructor":{"prototype":{"y":2}}}')
  deepStrictEqual(r.value.keys, ['__proto__', 'constructor'])
  strictEqual(({} as Record<string, unknown>).x, undefined)
  strictEqual(({} as Record<string, unknown>).y, undefined)
  notStrictEqual(canon('{"__proto__":{"x":1}}'), canon('{}'))
})

test('canonicalize should build a tree of tagged nodes', () => {
  const r = canonicalize('{"b":[1,"x",null,true,false],"a":{}}') as CanonicalOk
  strictEqual(r.value.kind, Kind.Object)
  deepStrictEqual(r.value.keys, ['a', 'b'])
  const arr = r.value.children?.[1]
  strictEqual(arr?.kind, Kind.Array)
  deepStrictEqual(arr?.children?.map((n) => n.kind), [Kind.Number, Kind.String, Kind.Null, Kind.Bool, Kind.Bool])
  deepStrictEqual(arr?.children?.map((n) => n.canonical), ['1', '"x"', 'null', 'true', 'false'])
})

test('canonicalize should return too_deep for 100,000 levels of nesting without throwing (T34)', () => {
  for (const depth of [10_000, 100_000]) {
    for (const text of ['['.repeat(depth) + ']'.repeat(depth), '{"a":'.repeat(depth) + '1' + '}'.repeat(depth), '['.repeat(depth)]) {
      const f = failure(text)
      strictEqual(f.reason, 'too_deep')
    }
  }
  strictEqual(canon('['.repeat(1000) + ']'.repeat(1000)).length, 2000)
  strictEqual(failure('['.repeat(1001) + ']'.repeat(1001)).reason, 'too_deep')
  strictEqual(failure('[[[]]]', { maxDepth: 2 }).reason, 'too_deep')
  strictEqual(canon('[[[]]]'), '[[[]]]')
  const deep = canonicalize('['.repeat(5000) + ']'.repeat(5000), { maxDepth: 10_000 }) as CanonicalOk
  strictEqual(deep.ok, true)
})

test('canonicalize should report duplicate keys, lone surrogates, BOM and trailing bytes (T38)', () => {
  strictEqual(failure('{"a":1,"a":2}').reason, 'duplicate_key')
  strictEqual(failure('{"b":0,"a":1,"c":2,"a":2}').reason, 'duplicate_key')
  strictEqual(failure('{"a":1,"\\u0061":2}').reason, 'duplicate_key')
  const many = '{' + Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',') + ',"k7":1}'
  strictEqual(failure(many).reason, 'duplicate_key')
  strictEqual(failure('"\\ud800"').reason, 'lone_surrogate')
  strictEqual(failure('"\\udc00\\ud800"').reason, 'lone_surrogate')
  strictEqual(failure('"a\ud800b"').reason, 'lone_surrogate')
  strictEqual(failure('"\udc00"').reason, 'lone_surrogate')
  strictEqual(failure('\ufeff{}').reason, 'bom')
  strictEqual(failure(Buffer.from('\ufeff{}')).reason, 'bom')
  strictEqual(failure('{} x').reason, 'trailing_bytes')
  strictEqual(failure('{}{}').reason, 'trailing_bytes')
  strictEqual(failure(Buffer.from([0x7b, 0x7d, 0x0a, 0x00])).reason, 'trailing_bytes')
})

test('canonicalize should report invalid UTF-8 in a Buffer', () => {
  strictEqual(failure(Buffer.from([0x22, 0xc3, 0x28, 0x22])).reason, 'invalid_utf8')
  strictEqual(failure(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22])).reason, 'invalid_utf8')
  strictEqual(canon(Buffer.from('"é"')), '"é"')
  strictEqual(canon(new Uint8Array(Buffer.from('[1]'))), '[1]')
})

test('canonicalize should classify syntax errors as invalid_json', () => {
  const bad = ['', ' ', '{', '[', '[1,]', '{"a":1,}', '{"a"}', '{"a" 1}', '{a:1}', "'x'", '1.', '.5', '1e', '1e+',
    '-', '+1', 'tru', 'nul', 'NaN', 'Infinity', '"abc', '"\\x"', '"\\u12g4"', '"a\nb"', '"\t"', '<html></html>', '[1 2]',
    '{"a":1 "b":2}', '{1:2}', '"\\', '[-]']
  for (const text of bad) strictEqual(failure(text).reason, 'invalid_json', JSON.stringify(text))
  strictEqual(failure('01').reason, 'trailing_bytes')
  ok(failure('[1,]').detail.includes('offset 3'))
  ok(failure('[').detail.includes('end of input'))
})

test('canonicalize should handle huge strings and wide arrays', () => {
  const big = 'x'.repeat(5_000_000)
  strictEqual(canon(`"${big}"`).length, big.length + 2)
  const escaped = '\\n'.repeat(100_000)
  strictEqual(canon(`"${escaped}"`), JSON.stringify('\n'.repeat(100_000)))
  const wide = JSON.stringify(Array.from({ length: 100_000 }, (_, i) => i))
  strictEqual(canon(wide), wide)
})
