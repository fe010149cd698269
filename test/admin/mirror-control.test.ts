/* Run-time control: the kill switch and the dial, token and loopback rules, the redacted effective config. */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { test } from 'node:test'
import { request } from 'undici'
import { isLoopback } from '../../src/admin/admin.ts'
import { startProxy } from '../helpers/proxy.ts'
import { createRecordingUpstream } from '../helpers/upstream.ts'
import { eventually } from '../mirror/helpers.ts'

const SECRET = 'Bearer candidate-secret-5e1f'

async function put (admin: string, body: unknown, token?: string) {
  const res = await request(`${admin}/api/v1/mirror`, {
    method: 'PUT',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }
  })
  return { status: res.statusCode, body: await res.body.json() as Record<string, unknown> }
}

test('PUT /api/v1/mirror should change the percent and switch mirroring off for the very next request', async (t) => {
  const primary = await createRecordingUpstream(t)
  const candidate = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: primary.url }, candidate: { url: candidate.url }, mirror: { percent: 0 } })
  await (await request(`${proxy.url}/a`)).body.dump()
  strictEqual((await put(proxy.admin, { percent: 100 })).status, 200)
  await (await request(`${proxy.url}/b`)).body.dump()
  ok(await eventually(() => candidate.received.length === 1))
  const off = await put(proxy.admin, { enabled: false })
  deepStrictEqual({ enabled: (off.body.mirror as { enabled: boolean }).enabled, percent: (off.body.mirror as { percent: number }).percent }, { enabled: false, percent: 100 })
  await (await request(`${proxy.url}/c`)).body.dump()
  await eventually(() => false, 100)
  strictEqual(candidate.received.length, 1, 'nothing mirrored after the kill switch')
  strictEqual(candidate.received[0].url, '/b')
  for (const bad of [{ percent: 101 }, { percent: '5' }, { enabled: 'no' }, { other: 1 }, {}, [1]]) {
    strictEqual((await put(proxy.admin, bad)).status, 400, JSON.stringify(bad))
  }
})

test('PUT /api/v1/mirror should require the admin token when one is set', async (t) => {
  const primary = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: primary.url }, candidate: { url: primary.url } }, { adminToken: 'tok-123' })
  strictEqual((await put(proxy.admin, { percent: 5 })).status, 401)
  strictEqual((await put(proxy.admin, { percent: 5 }, 'wrong')).status, 401)
  const ok200 = await put(proxy.admin, { percent: 5 }, 'tok-123')
  strictEqual(ok200.status, 200)
  strictEqual((ok200.body.mirror as { percent: number }).percent, 5)
})

test('PUT /api/v1/mirror should refuse peers that are not loopback when no token is set', async (t) => {
  const primary = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: primary.url }, candidate: { url: primary.url } })
  // fastify's inject sets the peer address in-process: no traffic leaves loopback.
  const res = await proxy.app.admin.inject({ method: 'PUT', url: '/api/v1/mirror', payload: { percent: 50 }, remoteAddress: '10.1.2.3' })
  strictEqual(res.statusCode, 403)
  strictEqual((await proxy.app.admin.inject({ method: 'PUT', url: '/api/v1/mirror', payload: { percent: 50 }, remoteAddress: '127.0.0.1' })).statusCode, 200)
  ok(isLoopback('::1') && isLoopback('::ffff:127.0.0.1') && isLoopback('127.8.9.1'))
  ok(!isLoopback('10.0.0.1') && !isLoopback('::ffff:10.0.0.1') && !isLoopback(undefined))
})

test('PUT /api/v1/mirror should answer 409 when no candidate is configured', async (t) => {
  const primary = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: primary.url } })
  strictEqual((await put(proxy.admin, { percent: 5 })).status, 409)
})

test('GET /api/v1/config should show the effective config with candidate credentials redacted', async (t) => {
  const primary = await createRecordingUpstream(t)
  const candidate = await createRecordingUpstream(t)
  const proxy = await startProxy(t, {
    primary: { url: primary.url },
    candidate: { url: candidate.url, dropHeaders: ['cookie'], setHeaders: { authorization: SECRET }, host: 'orders-v2.internal' },
    mirror: { percent: 100 }
  })
  const text = await (await request(`${proxy.admin}/api/v1/config`)).body.text()
  ok(!text.includes('candidate-secret'), text)
  const body = JSON.parse(text)
  strictEqual(body.config.candidate.setHeaders.authorization, '[redacted]')
  strictEqual(body.config.primary.url, primary.url)
  strictEqual(body.mirror.percent, 100)

  await (await request(`${proxy.url}/x`, { headers: { cookie: 'sid=user', authorization: 'Bearer user-token' } })).body.dump()
  ok(await eventually(() => candidate.received.length === 1))
  const seen = candidate.received[0].headers
  strictEqual(seen.cookie, undefined, 'dropped for the candidate')
  strictEqual(seen.authorization, SECRET, 'replaced for the candidate')
  strictEqual(seen.host, 'orders-v2.internal')
  strictEqual(primary.received[0].headers.authorization, 'Bearer user-token', 'the primary gets the user credentials')
  strictEqual(primary.received[0].headers.cookie, 'sid=user')
})

test('mirror should send the candidate request while the primary is still working, not after it', async (t) => {
  let candidateAt = 0
  let primaryDoneAt = 0
  const primary = await createRecordingUpstream(t, (_r, res) => setTimeout(() => { primaryDoneAt = Date.now(); res.end('{}') }, 300))
  const candidate = await createRecordingUpstream(t, (_r, res) => { candidateAt = Date.now(); res.end('{}') })
  const proxy = await startProxy(t, { primary: { url: primary.url }, candidate: { url: candidate.url }, mirror: { percent: 100 } })
  await (await request(`${proxy.url}/slow`)).body.dump()
  ok(candidateAt > 0 && candidateAt < primaryDoneAt, `candidate at ${candidateAt}, primary answered at ${primaryDoneAt}`)
})
