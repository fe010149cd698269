/* Sampling: accurate random shares, sticky users, per-route percentages, and the candidate's own count agreeing. */
import { ok, strictEqual } from 'node:assert/strict'
import { test } from 'node:test'
import { Pool, request } from 'undici'
import { randomPick, stickyPick, cookieValue } from '../../src/mirror/sampler.ts'
import { startProxy } from '../helpers/proxy.ts'
import { createRecordingUpstream } from '../helpers/upstream.ts'
import { eventually, jsonPrimary, metric } from './helpers.ts'

test('mirror should send 10 % of 20,000 requests within ±1 point, and the candidate should count the same', async (t) => {
  const primary = await jsonPrimary(t)
  let seen = 0
  const candidate = await createRecordingUpstream(t, (_r, res) => { seen++; res.end('{}') })
  const proxy = await startProxy(t, { primary: { url: primary.url }, candidate: { url: candidate.url }, mirror: { percent: 10 } })
  const pool = new Pool(proxy.url, { connections: 32 })
  t.after(() => pool.close())
  let i = 0
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (i < 20_000) {
      i++
      await (await pool.request({ method: 'GET', path: '/items/1' })).body.dump()
    }
  }))
  const mirrored = await metric(proxy, 'paritygate_mirror_decisions_total{route="GET /items/:id",decision="mirrored"}')
  const sampledOut = await metric(proxy, 'paritygate_mirror_decisions_total{route="GET /items/:id",decision="sampled_out"}')
  strictEqual(mirrored + sampledOut, 20_000)
  ok(mirrored >= 1800 && mirrored <= 2200, `mirrored ${mirrored} of 20,000`)
  ok(await eventually(() => seen === mirrored), `candidate saw ${seen}, proxy mirrored ${mirrored}`)
  ok(candidate.received.every((r) => r.headers['x-paritygate-shadow'] === '1'))
})

test('mirror should be sticky on a header or cookie: one user is all mirrored or not at all', async (t) => {
  const primary = await jsonPrimary(t)
  const candidate = await createRecordingUpstream(t, (_r, res) => res.end('{}'))
  const proxy = await startProxy(t, { primary: { url: primary.url }, candidate: { url: candidate.url }, mirror: { percent: 50, stickyHeader: 'x-user-id', stickyCookie: 'uid' } })
  for (let user = 0; user < 60; user++) {
    for (let k = 0; k < 4; k++) {
      const headers: Record<string, string> = user % 2 === 0 ? { 'x-user-id': `user-${user}` } : { cookie: `a=1; uid=user-${user}; b=2` }
      await (await request(`${proxy.url}/profile`, { headers })).body.dump()
    }
  }
  await eventually(() => false, 200)
  const perUser = new Map<string, number>()
  for (const r of candidate.received) {
    const id = String(r.headers['x-user-id'] ?? cookieValue(r.headers.cookie, 'uid'))
    perUser.set(id, (perUser.get(id) ?? 0) + 1)
  }
  for (const [user, n] of perUser) strictEqual(n, 4, `${user} mirrored ${n} of 4`)
  ok(perUser.size > 15 && perUser.size < 45, `${perUser.size} of 60 users mirrored`)
})

test('sampler should pick by percent and hash keys stably', () => {
  strictEqual(randomPick(0), false)
  strictEqual(randomPick(100), true)
  let n = 0
  for (let i = 0; i < 100_000; i++) if (randomPick(0.5)) n++
  ok(n > 380 && n < 620, `0.5 % gave ${n} of 100,000`)
  strictEqual(stickyPick('alice', 37), stickyPick('alice', 37))
  strictEqual(stickyPick('alice', 0), false)
  strictEqual(stickyPick('alice', 100), true)
  strictEqual(cookieValue('a=1; uid=42;b=3', 'uid'), '42')
  strictEqual(cookieValue('a=1', 'uid'), null)
  strictEqual(cookieValue(undefined, 'uid'), null)
  strictEqual(cookieValue('junk', 'uid'), null)
})

test('mirror should apply per-route percentages and methods over the global ones', async (t) => {
  const primary = await jsonPrimary(t)
  const candidate = await createRecordingUpstream(t, (_r, res) => res.end('{}'))
  const proxy = await startProxy(t, {
    primary: { url: primary.url },
    candidate: { url: candidate.url },
    mirror: { percent: 0 },
    routes: [{ name: 'search', match: 'POST /search', mirror: { percent: 100, methods: ['POST'] } }, { name: 'hot', match: 'GET /hot', mirror: { percent: 100 } }]
  })
  await (await request(`${proxy.url}/hot`)).body.dump()
  await (await request(`${proxy.url}/cold`)).body.dump()
  await (await request(`${proxy.url}/search`, { method: 'POST', body: '{"q":"shoes","n":9007199254740993}', headers: { 'content-type': 'application/json' } })).body.dump()
  await (await request(`${proxy.url}/orders`, { method: 'POST', body: '{}' })).body.dump()
  ok(await eventually(() => candidate.received.length === 2))
  strictEqual(candidate.received.find((r) => r.method === 'POST')?.body.toString(), '{"q":"shoes","n":9007199254740993}')
  strictEqual(await metric(proxy, 'paritygate_mirror_decisions_total{route="GET /cold",decision="sampled_out"}'), 1)
  strictEqual(await metric(proxy, 'paritygate_mirror_decisions_total{route="POST /orders",decision="unsafe_method"}'), 1)
  strictEqual(await metric(proxy, 'paritygate_mirror_decisions_total{route="search",decision="mirrored"}'), 1)
})
