/* Isolation: in-flight cap, circuit breaker with half-open probe, kill on shutdown, bounded gauges. */
import { ok, strictEqual } from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { CircuitBreaker } from '../../src/mirror/breaker.ts'
import { LagMonitor } from '../../src/mirror/lag.ts'
import { startProxy } from '../helpers/proxy.ts'
import { createTcpUpstream, createUpstream } from '../helpers/upstream.ts'
import { eventually, jsonPrimary, metric } from './helpers.ts'

test('mirror should keep at most candidate.maxInflight mirrors in flight and count the rest as overloaded', async (t) => {
  const primary = await jsonPrimary(t)
  const candidate = await createTcpUpstream(t)
  const proxy = await startProxy(t, { primary: { url: primary.url }, candidate: { url: candidate.url, maxInflight: 3, timeoutMs: 60_000 }, mirror: { percent: 100 } })
  for (let i = 0; i < 10; i++) await (await request(`${proxy.url}/a`)).body.dump()
  strictEqual(await metric(proxy, 'paritygate_mirror_inflight'), 3)
  strictEqual(await metric(proxy, 'paritygate_mirror_decisions_total{route="GET /a",decision="mirrored"}'), 3)
  strictEqual(await metric(proxy, 'paritygate_mirror_decisions_total{route="GET /a",decision="overloaded"}'), 7)
})

test('mirror should open the breaker after consecutive failures, probe after the cool-down, and resume when the candidate is back', async (t) => {
  const primary = await jsonPrimary(t)
  let healthy = false
  const candidate = await createUpstream(t, (req, res) => {
    if (healthy) res.end('{}')
    else req.socket.destroy()
  })
  const proxy = await startProxy(t, { primary: { url: primary.url }, candidate: { url: candidate, breaker: { failures: 3, cooldownMs: 300 } }, mirror: { percent: 100 } })
  const hit = async () => {
    await (await request(`${proxy.url}/b`)).body.dump()
    await eventually(async () => await metric(proxy, 'paritygate_mirror_inflight') === 0)
  }
  for (let i = 0; i < 6; i++) await hit()
  strictEqual(await metric(proxy, 'paritygate_candidate_errors_total{reason="reset"}'), 3)
  strictEqual(await metric(proxy, 'paritygate_mirror_decisions_total{route="GET /b",decision="circuit_open"}'), 3)
  await sleep(350)
  await hit() // the half-open probe fails: open again
  strictEqual(await metric(proxy, 'paritygate_candidate_errors_total{reason="reset"}'), 4)
  await hit()
  strictEqual(await metric(proxy, 'paritygate_mirror_decisions_total{route="GET /b",decision="circuit_open"}'), 4)
  healthy = true
  await sleep(350)
  for (let i = 0; i < 3; i++) await hit()
  strictEqual(await metric(proxy, 'paritygate_requests_total{target="candidate",route="GET /b",method="GET",status="2xx"}'), 3)
})

test('CircuitBreaker should allow one probe at a time when half-open', () => {
  const b = new CircuitBreaker(2, 100)
  b.failure(0)
  strictEqual(b.state, 'closed')
  b.failure(0)
  strictEqual(b.state, 'open')
  strictEqual(b.allow(50), false)
  strictEqual(b.allow(150), true)
  strictEqual(b.state, 'half_open')
  strictEqual(b.allow(151), false)
  b.success()
  strictEqual(b.state, 'closed')
  strictEqual(b.allow(152), true)
})

test('LagMonitor should report lag when the event loop is blocked', async () => {
  const lag = new LagMonitor(30, 10)
  lag.start()
  await sleep(30)
  const until = Date.now() + 120
  while (Date.now() < until) { /* block the loop */ }
  await sleep(15)
  ok(lag.lagMs > 30, `lag ${lag.lagMs}`)
  ok(lag.lagging)
  lag.stop()
})

test('drain should drop the mirrors in flight, count them as shutdown, and still serve the live requests', async (t) => {
  const primary = await createUpstream(t, (_req, res) => setTimeout(() => res.end('{"ok":true}'), 100))
  const candidate = await createTcpUpstream(t)
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate.url, timeoutMs: 60_000 }, mirror: { percent: 100 }, shutdown: { graceMs: 2000 } })
  const live = Array.from({ length: 5 }, () => request(`${proxy.url}/c`).then(async (r) => ({ status: r.statusCode, body: await r.body.text() })))
  ok(await eventually(async () => await metric(proxy, 'paritygate_mirror_inflight') === 5))
  const metricsText = proxy.app.metrics.registry
  const draining = proxy.app.drain()
  const results = await Promise.all(live)
  strictEqual(results.filter((r) => r.status === 200 && r.body === '{"ok":true}').length, 5)
  await draining
  const shutdown = (await metricsText.getSingleMetric('paritygate_candidate_errors_total')?.get())?.values.find((v) => v.labels.reason === 'shutdown')?.value
  strictEqual(shutdown, 5)
})
