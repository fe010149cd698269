/*
 * Content coding, charsets and bodiless answers in every shortcut (issue 12, item 1): the same
 * bytes under another coding or charset are another answer; decoded-equal answers match.
 */
import { test } from 'node:test'
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { type ServerResponse } from 'node:http'
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib'
import { request } from 'undici'
import { analyze, sameAnswer, type AnalyzeResult, type SideData } from '../../src/compare/analyze.ts'
import { compareExchanges, type Exchange } from '../../src/compare/compare.ts'
import { Redactor } from '../../src/compare/redact.ts'
import { RuleSet } from '../../src/compare/rule-set.ts'
import { type RuleConfig, compileRules } from '../../src/compare/rules.ts'
import { startProxy } from '../helpers/proxy.ts'
import { createUpstream } from '../helpers/upstream.ts'
import { eventually, metricOrZero } from '../mirror/helpers.ts'

const PLAIN = Buffer.from('{"a":1}')
const GZIP = gzipSync(PLAIN)

function side (body: Buffer, headers: string[], status = 200): SideData {
  return { status, headers, body, truncated: false, error: null, durationMs: 1 }
}

const json = (body: Buffer, ...headers: string[]): SideData => side(body, ['Content-Type', 'application/json', ...headers])

function run (primary: SideData, candidate: SideData, opts: { rules?: RuleConfig, method?: string, secondary?: SideData } = {}): AnalyzeResult {
  const rules = new RuleSet({ global: opts.rules ?? {}, routes: {} })
  return analyze({ route: 'r', primary, candidate, secondary: opts.secondary ?? null, render: false, maxBodyChars: 1000, method: opts.method }, rules, new Redactor())
}

function exchange (s: SideData): Exchange {
  const headers: Exchange['headers'] = {}
  for (let i = 0; i < s.headers.length; i += 2) headers[s.headers[i].toLowerCase()] = s.headers[i + 1]
  return { status: s.status, headers, body: Buffer.from(s.body) }
}

/** The outcome through analyze (with its byte-identical shortcut) and through compareExchanges alone, both ways round. */
function outcomes (primary: SideData, candidate: SideData, rules: RuleConfig = {}): string[] {
  const compiled = compileRules(rules)
  return [
    run(primary, candidate, { rules }).outcome,
    run(candidate, primary, { rules }).outcome,
    compareExchanges(exchange(primary), exchange(candidate), compiled).outcome,
    compareExchanges(exchange(candidate), exchange(primary), compiled).outcome
  ]
}

const MISMATCH = ['mismatch', 'mismatch', 'mismatch', 'mismatch']
const MATCH = ['match', 'match', 'match', 'match']

test('a gzip label over plain bytes should be a mismatch (decode_error), not a byte-identical match', () => {
  const primary = json(PLAIN)
  const candidate = json(PLAIN, 'Content-Encoding', 'gzip')
  deepStrictEqual(outcomes(primary, candidate), MISMATCH)
  for (const headers of [[], ['content-type']]) strictEqual(sameAnswer(primary, candidate, headers), false)
  const r = run(primary, candidate)
  strictEqual(r.reason, 'decode_error')
  deepStrictEqual(r.diffs, [{ path: '$', kind: 'type' }])
  ok(r.detail?.startsWith('primary: ok [identity]; candidate: decode_error [gzip] (gzip:'), r.detail ?? '')
})

test("the primary's gzip bytes without their Content-Encoding should be a mismatch", () => {
  const primary = json(GZIP, 'Content-Encoding', 'gzip')
  const candidate = json(GZIP)
  deepStrictEqual(outcomes(primary, candidate), MISMATCH)
  // non-JSON bodies too
  deepStrictEqual(outcomes(side(GZIP, ['Content-Type', 'text/plain', 'Content-Encoding', 'gzip']), side(GZIP, ['Content-Type', 'text/plain'])), MISMATCH)
})

test('spellings of the same coding chain should match: x-gzip, case, whitespace, identity', () => {
  deepStrictEqual(outcomes(json(GZIP, 'Content-Encoding', 'gzip'), json(GZIP, 'content-encoding', ' X-Gzip ')), MATCH)
  deepStrictEqual(outcomes(json(PLAIN), json(PLAIN, 'Content-Encoding', 'identity')), MATCH)
  deepStrictEqual(outcomes(json(GZIP, 'Content-Encoding', 'gzip'), json(GZIP, 'Content-Encoding', 'identity, GZIP')), MATCH)
  strictEqual(sameAnswer(json(GZIP, 'Content-Encoding', 'gzip'), json(GZIP, 'Content-Encoding', 'x-gzip'), ['content-type']), true)
  // allow-listed, the header compares its normalised codings too
  deepStrictEqual(outcomes(json(GZIP, 'Content-Encoding', 'gzip'), json(GZIP, 'Content-Encoding', 'x-gzip'), { headers: ['content-encoding'] }), MATCH)
  deepStrictEqual(outcomes(json(PLAIN, 'Content-Encoding', 'identity'), json(PLAIN), { headers: ['content-encoding'] }), MATCH)
})

test('decoded-equal answers in different codings should match, decoded-different ones mismatch', () => {
  const br = json(brotliCompressSync(PLAIN), 'Content-Encoding', 'br')
  deepStrictEqual(outcomes(json(GZIP, 'Content-Encoding', 'gzip'), br), MATCH)
  deepStrictEqual(outcomes(json(PLAIN), json(deflateSync(PLAIN), 'Content-Encoding', 'deflate')), MATCH)
  deepStrictEqual(outcomes(json(PLAIN), json(gzipSync('{"a":2}'), 'Content-Encoding', 'gzip')), MISMATCH)
  // with the header allow-listed, the coding itself is a difference
  deepStrictEqual(run(json(PLAIN), br, { rules: { headers: ['content-encoding'] } }).diffs, [{ path: '@headers.content-encoding', kind: 'extra' }])
})

test('an undecodable body should equal only the same raw bytes under the same coding chain', () => {
  const bad = Buffer.from('not gzip at all')
  deepStrictEqual(outcomes(json(bad, 'Content-Encoding', 'gzip'), json(bad, 'Content-Encoding', 'x-gzip')), MATCH)
  deepStrictEqual(outcomes(json(bad, 'Content-Encoding', 'gzip'), json(bad, 'Content-Encoding', 'deflate')), MISMATCH)
  deepStrictEqual(outcomes(json(bad, 'Content-Encoding', 'gzip'), json(bad)), MISMATCH)
  deepStrictEqual(outcomes(json(bad, 'Content-Encoding', 'gzip'), json(Buffer.from('not gzip at al!'), 'Content-Encoding', 'gzip')), MISMATCH)
  const truncated = json(GZIP.subarray(0, GZIP.length - 4), 'Content-Encoding', 'gzip')
  const r = run(json(GZIP, 'Content-Encoding', 'gzip'), truncated)
  strictEqual(r.outcome, 'mismatch')
  strictEqual(r.reason, 'decode_error')
})

test('transfer codings left in the body should count in the chain, chunked framing should not', () => {
  deepStrictEqual(outcomes(json(GZIP, 'Content-Encoding', 'gzip'), json(GZIP, 'Transfer-Encoding', 'gzip, chunked')), MATCH)
  deepStrictEqual(outcomes(json(PLAIN), json(GZIP, 'Transfer-Encoding', 'gzip, chunked')), MATCH)
  deepStrictEqual(outcomes(json(PLAIN, 'Content-Length', '7'), json(PLAIN, 'Transfer-Encoding', 'chunked')), MATCH)
  deepStrictEqual(outcomes(json(GZIP, 'Content-Encoding', 'gzip'), json(GZIP, 'Transfer-Encoding', 'chunked')), MISMATCH)
})

test('a different declared charset over the same non-ASCII bytes should be a mismatch, the same charset spelled differently a match', () => {
  const utf8 = Buffer.from('{"s":"é"}')
  const text = (charset: string, body = utf8): SideData => side(body, ['Content-Type', `text/plain; charset=${charset}`])
  deepStrictEqual(outcomes(text('utf-8'), text('iso-8859-1')), MISMATCH)
  strictEqual(run(text('utf-8'), text('iso-8859-1')).reason, 'charset')
  deepStrictEqual(outcomes(text('UTF-8'), text('utf8')), MATCH)
  deepStrictEqual(outcomes(text('"UTF-8"'), text('unicode-1-1-utf-8')), MATCH)
  deepStrictEqual(outcomes(text('latin1'), text('ISO-8859-1')), MATCH)
  // the same text in two charsets is the same answer; ASCII reads the same in any ASCII charset
  deepStrictEqual(outcomes(text('utf-8'), text('iso-8859-1', Buffer.from('{"s":"é"}', 'latin1'))), MATCH)
  deepStrictEqual(outcomes(text('utf-8', PLAIN), text('iso-8859-1', PLAIN)), MATCH)
  deepStrictEqual(outcomes(text('utf-8', PLAIN), side(PLAIN, ['Content-Type', 'text/plain'])), MATCH)
  // no declared charset reads only ASCII
  deepStrictEqual(outcomes(text('utf-8'), side(utf8, ['Content-Type', 'text/plain'])), MISMATCH)
  deepStrictEqual(outcomes(text('utf-8', PLAIN), text('utf-16le', PLAIN)), MISMATCH)
  deepStrictEqual(outcomes(text('x-klingon', PLAIN), text('utf-8', PLAIN)), MISMATCH)
  deepStrictEqual(outcomes(text('x-klingon', PLAIN), text('X-Klingon', PLAIN)), MATCH)
})

test('JSON under another charset should be compared as the text it reads as, even with content-type outside the allow-list', () => {
  const utf8 = Buffer.from('{"s":"é"}')
  const jsonIn = (charset: string, body = utf8): SideData => side(body, ['Content-Type', `application/json; charset=${charset}`])
  for (const headers of [[], ['content-type']]) {
    deepStrictEqual(outcomes(jsonIn('utf-8'), jsonIn('iso-8859-1'), { headers }), MISMATCH)
    deepStrictEqual(run(jsonIn('utf-8'), jsonIn('iso-8859-1'), { rules: { headers } }).diffs, [{ path: '$.s', kind: 'changed' }])
    deepStrictEqual(outcomes(jsonIn('utf-8'), json(utf8), { headers }), MATCH)
    deepStrictEqual(outcomes(jsonIn('UTF-8'), jsonIn('utf8'), { headers }), MATCH)
  }
})

test('a body on one side of an answer that has none (204, 304, HEAD) should be a mismatch', () => {
  for (const status of [204, 304]) {
    const empty = side(Buffer.alloc(0), ['Content-Type', 'application/json'], status)
    const gzEmpty = side(gzipSync(Buffer.alloc(0)), ['Content-Type', 'application/json', 'Content-Encoding', 'gzip'], status)
    const r = run(empty, gzEmpty)
    strictEqual(r.outcome, 'mismatch', String(status))
    strictEqual(r.reason, 'body_not_allowed')
    deepStrictEqual(r.diffs, [{ path: '$', kind: 'extra' }])
    deepStrictEqual(run(gzEmpty, empty).diffs, [{ path: '$', kind: 'missing' }])
    // coding headers over no body at all are no difference
    strictEqual(run(empty, side(Buffer.alloc(0), ['Content-Type', 'application/json', 'Content-Encoding', 'gzip'], status)).outcome, 'match')
  }
  const head = run(json(Buffer.alloc(0)), json(gzipSync(Buffer.alloc(0)), 'Content-Encoding', 'gzip'), { method: 'HEAD' })
  strictEqual(head.reason, 'body_not_allowed')
  ok(head.detail?.includes('HEAD'))
  // a 200 to GET: an empty body and a gzip of nothing read the same
  strictEqual(run(json(Buffer.alloc(0)), json(gzipSync(Buffer.alloc(0)), 'Content-Encoding', 'gzip'), { method: 'GET' }).outcome, 'match')
})

test('the noise baseline should not take the same bytes under another coding for the same answer', () => {
  const r = run(json(PLAIN), json(PLAIN), { secondary: json(PLAIN, 'Content-Encoding', 'gzip') })
  strictEqual(r.outcome, 'match')
  deepStrictEqual(r.noisePaths, ['$'])
  deepStrictEqual(run(json(PLAIN), json(PLAIN), { secondary: json(GZIP, 'Content-Encoding', 'gzip') }).noisePaths, [])
})

function answer (body: Buffer, headers: Record<string, string>) {
  return (_req: unknown, res: ServerResponse) => { res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(body) }
}

for (const workers of [0, 1]) {
  test(`the engine's byte-identical shortcut should count a coding-only difference as a mismatch (compare.workers ${workers})`, async (t) => {
    const primary = await createUpstream(t, (req, res) => {
      if (req.url === '/gzip') answer(GZIP, { 'content-encoding': 'gzip' })(req, res)
      else answer(PLAIN, {})(req, res)
    })
    const candidate = await createUpstream(t, (req, res) => {
      if (req.url === '/label') answer(PLAIN, { 'content-encoding': 'gzip' })(req, res)
      else if (req.url === '/gzip') answer(GZIP, {})(req, res)
      else if (req.url === '/br') answer(brotliCompressSync(PLAIN), { 'content-encoding': 'br' })(req, res)
      else answer(PLAIN, {})(req, res)
    })
    const proxy = await startProxy(t, {
      primary: { url: primary },
      candidate: { url: candidate },
      mirror: { percent: 100 },
      compare: { workers, workerMinBytes: 0 }
    })
    for (const path of ['/label', '/gzip', '/br', '/same']) await (await request(`${proxy.url}${path}`)).body.dump()
    const count = async (route: string, outcome: string): Promise<number> => await metricOrZero(proxy, `paritygate_comparisons_total{route="GET /${route}",outcome="${outcome}"}`)
    ok(await eventually(async () => await count('label', 'mismatch') === 1 && await count('gzip', 'mismatch') === 1 && await count('br', 'match') === 1 && await count('same', 'match') === 1),
      JSON.stringify([await count('label', 'match'), await count('gzip', 'match'), await count('br', 'mismatch'), await count('same', 'mismatch')]))
    strictEqual(await count('label', 'match'), 0)
    strictEqual(await count('gzip', 'match'), 0)
  })
}
