/* Secrets planted in requests and responses never reach logs, samples or the mismatch file; the stores stay bounded. */
import { ok, strictEqual } from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { request } from 'undici'
import { SampleStore, Sample } from '../../src/compare/samples.ts'
import { startProxy } from '../helpers/proxy.ts'
import { createUpstream } from '../helpers/upstream.ts'
import { eventually, metric } from '../mirror/helpers.ts'

const CANARY = 'cnry9f27e1'

test('secrets should never appear in logs, samples, the API or the NDJSON file, even on forced mismatches', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'paritygate-secrets-'))
  const file = join(dir, 'mismatches.ndjson')
  const answer = (side: string) => JSON.stringify({ side, user: { email: `${CANARY}@example.com`, password: `pw-${CANARY}`, token: `tk-${CANARY}` }, card: { number: `4111${CANARY}` } })
  const upstream = (side: string) => createUpstream(t, (req, res) => {
    req.resume()
    res.setHeader('set-cookie', `session=${CANARY}; HttpOnly`)
    res.writeHead(200, { 'content-type': 'application/json', 'x-api-key': `key-${CANARY}` }).end(answer(side))
  })
  const primary = await upstream('v1')
  const candidate = await upstream('v2')
  const proxy = await startProxy(t, {
    primary: { url: primary },
    candidate: { url: candidate },
    mirror: { percent: 100 },
    compare: { mismatchLog: { path: file } },
    redact: { fields: ['$.card.number'] },
    log: { level: 'trace' }
  })
  for (let i = 0; i < 5; i++) {
    await (await request(`${proxy.url}/account?apikey=${CANARY}`, {
      headers: { authorization: `Bearer ${CANARY}`, cookie: `sid=${CANARY}`, 'proxy-authorization': `Basic ${CANARY}`, 'x-api-key': CANARY }
    })).body.text()
  }
  ok(await eventually(async () => await metric(proxy, 'paritygate_comparisons_total{route="GET /account",outcome="mismatch"}') === 5))
  await eventually(() => existsSync(file) && readFileSync(file, 'utf8').split('\n').length > 5)
  const api = await (await request(`${proxy.admin}/api/v1/mismatches`)).body.json() as { signatures: Array<{ samples: Array<{ id: string }> }> }
  let samples = JSON.stringify(api)
  for (const s of api.signatures[0].samples) samples += await (await request(`${proxy.admin}/api/v1/mismatches/${s.id}`)).body.text()
  ok(samples.includes('[redacted:'), 'samples keep placeholders')
  ok(samples.includes('"side\\":\\"v2\\"') || samples.includes('v2'), 'samples keep the rest of the body')
  for (const [where, text] of [['logs', proxy.logText()], ['samples', samples], ['mismatch file', readFileSync(file, 'utf8')]]) {
    strictEqual(text.includes(CANARY), false, `${where} hold no canary`)
  }
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
  strictEqual(lines.length, 5)
  strictEqual(lines[0].diffs[0].path, '$.side')
})

test('mismatch file should rotate by size and keep at most maxFiles files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'paritygate-rotate-'))
  const file = join(dir, 'm.ndjson')
  let n = 0
  const primary = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ n: 0, pad: 'p'.repeat(500) })))
  const candidate = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ n: ++n, pad: 'p'.repeat(500) })))
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100 }, compare: { mismatchLog: { path: file, maxBytes: 4096, maxFiles: 3 } } })
  for (let i = 0; i < 40; i++) await (await request(`${proxy.url}/r`)).body.text()
  ok(await eventually(async () => await metric(proxy, 'paritygate_comparisons_total{route="GET /r",outcome="mismatch"}') === 40))
  await eventually(() => false, 100)
  const files = readdirSync(dir).sort()
  strictEqual(files.join(','), 'm.ndjson,m.ndjson.1,m.ndjson.2')
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8')
    ok(text.length <= 4096 + 2048, `${f} is ${text.length} bytes`)
    for (const line of text.trim().split('\n')) JSON.parse(line)
  }
})

test('SampleStore should stay within its entry and byte caps and count evictions', () => {
  const store = new SampleStore({ perSignature: 3, maxEntries: 50, maxBytes: 200_000 })
  const side = { status: 200, headers: {}, body: 'x'.repeat(1000), bodyTruncated: false, durationMs: 1 }
  for (let i = 0; i < 100_000; i++) {
    const sig = `r $.f${i % 500}`
    if (store.offer(sig, 'r')) store.add(new Sample(sig, 'r', 'GET', '/', `id-${i}`, 'mismatch', [{ path: `$.f${i % 500}`, kind: 'changed' }], side, side))
    if (i % 997 === 0) {
      ok(store.size <= 50, `size ${store.size}`)
      ok(store.bytes <= 200_000 + 10_000, `bytes ${store.bytes}`)
    }
  }
  ok(store.evicted > 1000)
  ok(store.groups(null, 1000).length <= 500)
})
