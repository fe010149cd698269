/* Request bodies for the mirror: copied up to mirror.maxBodyBytes, never pausing the live upload. */
import { createHash, randomBytes } from 'node:crypto'
import { ok, strictEqual } from 'node:assert/strict'
import { once } from 'node:events'
import { request as httpRequest } from 'node:http'
import { test } from 'node:test'
import { request } from 'undici'
import { startProxy } from '../helpers/proxy.ts'
import { createRecordingUpstream, createTcpUpstream } from '../helpers/upstream.ts'
import { eventually, metric, metricOrZero } from './helpers.ts'

const ROUTES = [{ name: 'upload', match: 'POST /upload', mirror: { methods: ['POST'] } }]

function sha (b: Buffer): string {
  return createHash('sha256').update(b).digest('hex')
}

test('mirror should send the same body to both when it fits, by Content-Length and chunked', async (t) => {
  const primary = await createRecordingUpstream(t)
  const candidate = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: primary.url }, candidate: { url: candidate.url }, mirror: { percent: 100, maxBodyBytes: 64 * 1024 }, routes: ROUTES })
  const body = randomBytes(48 * 1024)
  await (await request(`${proxy.url}/upload`, { method: 'POST', body })).body.dump()
  const req = httpRequest(`${proxy.url}/upload`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } })
  req.write(body.subarray(0, 1000))
  req.end(body.subarray(1000))
  const [res] = await once(req, 'response')
  res.resume()
  ok(await eventually(() => candidate.received.length === 2))
  for (let i = 0; i < 2; i++) {
    strictEqual(sha(primary.received[i].body), sha(body))
    strictEqual(sha(candidate.received[i].body), sha(body))
  }
  strictEqual(primary.received[1].headers['transfer-encoding'], 'chunked', 'the live upload streamed')
  strictEqual(await metric(proxy, 'paritygate_mirror_decisions_total{route="upload",decision="mirrored"}'), 2)
})

test('mirror should skip bodies over mirror.maxBodyBytes (by Content-Length and while streaming) and leave the live request whole', async (t) => {
  const primary = await createRecordingUpstream(t)
  const candidate = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: primary.url }, candidate: { url: candidate.url }, mirror: { percent: 100, maxBodyBytes: 1024 }, routes: ROUTES })
  const body = randomBytes(200 * 1024)
  const res1 = await request(`${proxy.url}/upload`, { method: 'POST', body })
  strictEqual(res1.statusCode, 200)
  await res1.body.dump()
  const req = httpRequest(`${proxy.url}/upload`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } })
  for (let i = 0; i < 200; i++) req.write(body.subarray(i * 1024, (i + 1) * 1024))
  req.end()
  const [res2] = await once(req, 'response')
  strictEqual(res2.statusCode, 200)
  res2.resume()
  await once(res2, 'end')
  strictEqual(primary.received.length, 2)
  strictEqual(sha(primary.received[0].body), sha(body))
  strictEqual(sha(primary.received[1].body), sha(body))
  strictEqual(await metric(proxy, 'paritygate_mirror_decisions_total{route="upload",decision="body_too_large"}'), 2)
  strictEqual(await metricOrZero(proxy, 'paritygate_mirror_decisions_total{route="upload",decision="mirrored"}'), 0)
  ok(candidate.received.every((r) => r.body.length < 200 * 1024), 'the candidate never got a complete oversized body')
})

test('mirror should never pause the live upload when the candidate does not read', async (t) => {
  const primary = await createRecordingUpstream(t)
  const candidate = await createTcpUpstream(t) // accepts, never reads, never answers
  const proxy = await startProxy(t, {
    primary: { url: primary.url },
    candidate: { url: candidate.url, timeoutMs: 2000 },
    mirror: { percent: 100, maxBodyBytes: 8 * 1024 * 1024 },
    routes: ROUTES
  })
  const body = randomBytes(5 * 1024 * 1024)
  for (let i = 0; i < 3; i++) {
    const res = await request(`${proxy.url}/upload`, { method: 'POST', body })
    strictEqual(res.statusCode, 200)
    await res.body.dump()
  }
  strictEqual(primary.received.length, 3)
  strictEqual(sha(primary.received[2].body), sha(body))
  ok(await eventually(async () => await metric(proxy, 'paritygate_candidate_errors_total{reason="timeout"}') === 3, 5000))
})
