/* Unit tests of body decoding (content-codings, caps) and content-type classification. */
import { test } from 'node:test'
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib'
import { bodyText, charsetName, codingChain, decodeContent, parseContentType, readBody, sha256 } from '../../src/compare/body.ts'

test('parseContentType should lower-case the media type and read the charset', () => {
  deepStrictEqual(parseContentType('Application/JSON; Charset="UTF-16LE"'), { type: 'application/json', charset: 'utf-16le', json: true })
  deepStrictEqual(parseContentType('application/problem+json'), { type: 'application/problem+json', charset: null, json: true })
  deepStrictEqual(parseContentType(['text/html; foo; charset=latin1']), { type: 'text/html', charset: 'latin1', json: false })
  deepStrictEqual(parseContentType(undefined), { type: '', charset: null, json: false })
  strictEqual(parseContentType('+json').json, false)
})

test('decodeContent should undo gzip, x-gzip, deflate (zlib and raw), br and identity', () => {
  const body = Buffer.from('{"a":1}')
  for (const [coding, encoded] of [
    ['gzip', gzipSync(body)], ['x-gzip', gzipSync(body)], ['deflate', deflateSync(body)], ['deflate', deflateRawSync(body)],
    ['br', brotliCompressSync(body)], ['identity', body], ['GZIP', gzipSync(body)]
  ] as const) {
    const r = decodeContent(encoded, coding)
    strictEqual(r.ok, true, coding)
    if (r.ok) deepStrictEqual(r.body, body)
  }
  const chained = decodeContent(brotliCompressSync(gzipSync(body)), 'gzip, br')
  strictEqual(chained.ok && chained.body.toString(), '{"a":1}')
  const split = decodeContent(brotliCompressSync(gzipSync(body)), ['gzip', 'br'])
  strictEqual(split.ok && split.body.toString(), '{"a":1}')
})

test('decodeContent should refuse long chains, unknown codings and corrupt data', () => {
  const body = Buffer.from('x')
  deepStrictEqual(decodeContent(body, 'gzip, gzip, gzip').ok === false && decodeContent(body, 'gzip, gzip, gzip'), {
    ok: false, reason: 'too_many_encodings', detail: '3 content-codings (at most 2)'
  })
  const zstd = decodeContent(body, 'zstd')
  strictEqual(!zstd.ok && zstd.reason, 'unsupported_encoding')
  const corrupt = decodeContent(Buffer.from('not gzip'), 'gzip')
  strictEqual(!corrupt.ok && corrupt.reason, 'decode_error')
  const corruptDeflate = decodeContent(Buffer.from([0xff, 0xff, 0xff]), 'deflate')
  strictEqual(!corruptDeflate.ok && corruptDeflate.reason, 'decode_error')
})

test('decodeContent should stop a gzip bomb at the output cap', () => {
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024))
  strictEqual(bomb.length < 100_000, true)
  const started = process.hrtime.bigint()
  const r = decodeContent(bomb, 'gzip', 4 * 1024 * 1024)
  strictEqual(!r.ok && r.reason, 'too_large')
  strictEqual(Number(process.hrtime.bigint() - started) / 1e6 < 2000, true)
  const brBomb = decodeContent(brotliCompressSync(Buffer.alloc(8 * 1024 * 1024)), 'br', 1024 * 1024)
  strictEqual(!brBomb.ok && brBomb.reason, 'too_large')
  const deflateBomb = decodeContent(deflateSync(Buffer.alloc(8 * 1024 * 1024)), 'deflate', 1024 * 1024)
  strictEqual(!deflateBomb.ok && deflateBomb.reason, 'too_large')
  const raw = decodeContent(Buffer.alloc(11), undefined, 10)
  strictEqual(!raw.ok && raw.reason, 'too_large')
})

test('readBody should canonicalise JSON in UTF-8 and other charsets', () => {
  const utf8 = readBody({ 'content-type': 'application/json' }, Buffer.from('{"b":"é","a":1}'))
  strictEqual(utf8.kind, 'json')
  strictEqual(utf8.hash, sha256('{"a":1,"b":"é"}'))
  const utf16 = readBody({ 'content-type': 'application/json; charset=utf-16le' }, Buffer.from('{"a":1,"b":"é"}', 'utf16le'))
  strictEqual(utf16.kind, 'json')
  strictEqual(utf16.hash, utf8.hash)
  const latin1 = readBody({ 'content-type': 'application/vnd.api+json; charset=iso-8859-1' }, Buffer.from('{"a":1,"b":"é"}', 'latin1'))
  strictEqual(latin1.hash, utf8.hash)
})

test('readBody should fall back to bytes for unknown charsets and non-JSON types', () => {
  const unknown = readBody({ 'content-type': 'application/json; charset=x-klingon' }, Buffer.from('{}'))
  strictEqual(unknown.kind, 'bytes')
  strictEqual(unknown.anomaly, null)
  strictEqual(unknown.hash, sha256('{}'))
  const html = readBody({ 'content-type': 'text/html' }, Buffer.from('<p>'))
  strictEqual(html.kind, 'bytes')
  const none = readBody({}, Buffer.from('{}'))
  strictEqual(none.kind, 'bytes')
  const badUtf16 = readBody({ 'content-type': 'application/json; charset=utf-16le' }, Buffer.from([0x7b]))
  strictEqual(badUtf16.anomaly, 'invalid_charset')
})

test('readBody should skip bodies that are too large or too deep, and classify anomalies', () => {
  strictEqual(readBody({ 'content-type': 'application/json' }, Buffer.alloc(20, 0x20), { maxBodyBytes: 10 }).skipReason, 'too_large')
  const deep = readBody({ 'content-type': 'application/json' }, Buffer.from('[[[]]]'), { maxDepth: 2 })
  strictEqual(deep.kind, 'skipped')
  strictEqual(deep.skipReason, 'too_deep')
  const dup = readBody({ 'content-type': 'application/json' }, Buffer.from('{"a":1,"a":2}'))
  strictEqual(dup.kind, 'bytes')
  strictEqual(dup.anomaly, 'duplicate_key')
  const corrupt = readBody({ 'content-type': 'application/json', 'content-encoding': 'gzip' }, Buffer.from('zz'))
  strictEqual(corrupt.anomaly, 'decode_error')
  strictEqual(corrupt.hash, sha256('zz'))
  strictEqual(readBody({ 'content-encoding': 'compress' }, Buffer.from('zz')).skipReason, 'unsupported_encoding')
})

test('codingChain should normalise Content-Encoding then Transfer-Encoding codings, without chunked or identity', () => {
  deepStrictEqual(codingChain({}), [])
  deepStrictEqual(codingChain({ 'content-encoding': ' X-Gzip , identity', 'transfer-encoding': 'chunked' }), ['gzip'])
  deepStrictEqual(codingChain({ 'content-encoding': ['br', 'GZIP'], 'transfer-encoding': 'x-gzip, Chunked' }), ['br', 'gzip', 'gzip'])
  deepStrictEqual(codingChain({ 'content-encoding': 'x-compress' }), ['compress'])
  // an empty body is empty content whatever its coding
  deepStrictEqual(decodeContent(Buffer.alloc(0), 'gzip'), { ok: true, body: Buffer.alloc(0) })
})

test('charsetName should give the WHATWG name of a label, and mark unknown ones', () => {
  for (const label of ['utf-8', 'utf8', 'unicode-1-1-utf-8']) strictEqual(charsetName(label), 'utf-8')
  for (const label of ['latin1', 'iso-8859-1', 'us-ascii']) strictEqual(charsetName(label), 'windows-1252')
  strictEqual(charsetName('x-klingon'), '?x-klingon')
  const view = readBody({ 'content-type': 'text/plain' }, Buffer.from('é'))
  strictEqual(view.charset, null)
  strictEqual(bodyText(view), null, 'an undeclared charset reads only ASCII')
  strictEqual(bodyText(readBody({ 'content-type': 'text/plain' }, Buffer.from('ok'))), 'ok')
  strictEqual(bodyText(readBody({ 'content-type': 'text/plain; charset=latin1' }, Buffer.from([0xe9]))), 'é')
  strictEqual(readBody({ 'content-type': 'application/json' }, Buffer.from('{}')).charset, 'utf-8')
  strictEqual(readBody({ 'content-type': 'application/json', 'content-encoding': 'gzip' }, Buffer.from('{}')).coding, 'gzip')
})

test('parseContentType should answer the same for a value seen before, past its cache\'s bound', () => {
  const first = parseContentType('application/json; charset=utf-8')
  for (let i = 0; i < 200; i++) strictEqual(parseContentType(`text/plain; id=${i}`).type, 'text/plain')
  deepStrictEqual(parseContentType('application/json; charset=utf-8'), first)
  ok(Object.isFrozen(first), 'shared between callers: nobody may change it')
})
