/* The candidate's circuit breaker: every mirror it lets through reports back, and a probe that ends neutrally frees the probe's slot. */
import { ok, strictEqual } from 'node:assert/strict'
import { connect } from 'node:net'
import { test } from 'node:test'
import { request } from 'undici'
import { validateConfig } from '../../src/config/index.ts'
import { CircuitBreaker } from '../../src/mirror/breaker.ts'
import { MirrorController } from '../../src/mirror/controller.ts'
import { startProxy, type StartedProxy } from '../helpers/proxy.ts'
import { createRecordingUpstream, createUpstream } from '../helpers/upstream.ts'
import { countingObserver, eventually, jsonPrimary, metric } from './helpers.ts'

test('CircuitBreaker should open after consecutive failures, let one probe through after the cool-down, and free the probe on release()', () => {
  const b = new CircuitBreaker(2, 100)
  ok(b.allow(0))
  b.failure(0)
  strictEqual(b.state, 'closed')
  b.failure(0)
  strictEqual(b.state, 'open')
  ok(!b.allow(50), 'refused during the cool-down')
  ok(b.allow(100), 'the probe')
  strictEqual(b.state, 'half_open')
  ok(b.probing)
  ok(!b.allow(101), 'one probe at a time')
  b.release()
  strictEqual(b.state, 'half_open', 'a neutral end says nothing of the candidate')
  ok(!b.probing)
  ok(b.allow(102), 'released: the next request probes')
  ok(!b.allow(103))
  b.failure(103)
  strictEqual(b.state, 'open', 'a failed probe opens it again')
  ok(!b.allow(150))
  ok(b.allow(203))
  b.success()
  strictEqual(b.state, 'closed')
  ok(!b.probing)
  ok(b.allow(204) && b.allow(204), 'closed: everything passes')
})

async function breakerState (proxy: StartedProxy): Promise<string> {
  return proxy.app.proxyState.mirror?.state.breaker ?? 'none'
}

/** Resets until the breaker opens (2 failures), then moves its clock past the cool-down (no sleep). */
async function openBreaker (proxy: StartedProxy, mode: { value: string }): Promise<void> {
  mode.value = 'reset'
  for (let i = 0; i < 2; i++) await (await request(`${proxy.url}/items/${i}`)).body.dump()
  ok(await eventually(async () => await breakerState(proxy) === 'open'), `the breaker opened: ${await breakerState(proxy)}`)
  const breaker = proxy.app.proxyState.mirror?.breaker
  ok(breaker !== undefined)
  const skew = breaker.clock() - Date.now() + breaker.cooldownMs
  breaker.clock = () => Date.now() + skew
}

test('mirror should probe again after a half-open probe cut off as too_large, then close the breaker on a healthy candidate', async (t) => {
  const primary = await jsonPrimary(t)
  const mode = { value: 'healthy' }
  const candidate = await createUpstream(t, (req, res) => {
    if (mode.value === 'reset') { req.socket.resetAndDestroy(); return }
    const body = mode.value === 'big' ? JSON.stringify({ pad: 'x'.repeat(8192) }) : '{"id":1,"name":"primary"}'
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
  })
  const proxy = await startProxy(t, {
    primary: { url: primary.url },
    candidate: { url: candidate, timeoutMs: 1000, maxResponseBytes: 1024, breaker: { failures: 2, cooldownMs: 60_000 } },
    mirror: { percent: 100 }
  })
  await openBreaker(proxy, mode)
  mode.value = 'big'
  await (await request(`${proxy.url}/items/9`)).body.dump()
  ok(await eventually(async () => await metric(proxy, 'paritygate_candidate_errors_total{reason="too_large"}') === 1), 'the probe was cut off as too_large')
  strictEqual(await breakerState(proxy), 'half_open')
  mode.value = 'healthy'
  // The probe's slot is free: the next request probes, succeeds and closes the breaker.
  await (await request(`${proxy.url}/items/10`)).body.dump()
  ok(await eventually(async () => await breakerState(proxy) === 'closed'), `a healthy candidate closes the breaker (${await breakerState(proxy)})`)
  for (let i = 0; i < 5; i++) await (await request(`${proxy.url}/items/${20 + i}`)).body.dump()
  strictEqual(await metric(proxy, 'paritygate_mirror_decisions_total{route="GET /items/:id",decision="mirrored"}'), 2 + 1 + 1 + 5)
})

test('mirror should probe again after a half-open probe whose client aborted its upload', async (t) => {
  const primary = await createRecordingUpstream(t)
  const mode = { value: 'healthy' }
  const candidate = await createUpstream(t, (req, res) => {
    if (mode.value === 'reset') { req.socket.resetAndDestroy(); return }
    req.resume()
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'))
  })
  const proxy = await startProxy(t, {
    primary: { url: primary.url },
    candidate: { url: candidate, timeoutMs: 1000, breaker: { failures: 2, cooldownMs: 60_000 } },
    mirror: { percent: 100 },
    routes: [{ name: 'upload', match: 'POST /upload', mirror: { methods: ['POST'] } }]
  })
  await openBreaker(proxy, mode)
  mode.value = 'healthy'
  // The probe: a chunked upload whose client goes away half-way.
  const socket = connect(proxy.port, '127.0.0.1')
  socket.on('error', () => {})
  socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n')
  ok(await eventually(() => proxy.app.proxyState.mirror?.state.inflight === 1), 'the upload is the probe')
  strictEqual(await breakerState(proxy), 'half_open')
  socket.destroy()
  ok(await eventually(() => proxy.app.proxyState.mirror?.state.inflight === 0), 'the probe ended')
  strictEqual(await breakerState(proxy), 'half_open')
  await (await request(`${proxy.url}/items/10`)).body.dump()
  ok(await eventually(async () => await breakerState(proxy) === 'closed'), `a healthy candidate closes the breaker (${await breakerState(proxy)})`)
  strictEqual(await metric(proxy, 'paritygate_candidate_errors_total{reason="client_aborted"}'), 1, 'the aborted probe is counted')
})

test('a mirror whose dispatch throws should still report back: counted, and the breaker told', async (t) => {
  const primary = await jsonPrimary(t)
  const candidate = await createRecordingUpstream(t)
  const config = validateConfig({ primary: { url: primary.url }, candidate: { url: candidate.url, breaker: { failures: 1, cooldownMs: 60_000 } }, mirror: { percent: 100, offloadFromBytes: 1 } })
  // the I/O thread hand-off throws, as a broken one would
  const observer = countingObserver(() => { throw new Error('the I/O thread is gone') })
  const controller = new MirrorController(config, observer)
  t.after(() => controller.close(true))
  // A real request to take the mirror's decision on.
  const begun: Array<ReturnType<MirrorController['begin']>> = []
  const server = await createUpstream(t, (req, res) => {
    begun.push(controller.begin(req, { name: 'r', mirrorPercent: null, mirrorMethods: null }, ['host', 'x'], 'id-1', false))
    res.end()
  })
  await (await request(`${server}/r`)).body.dump()
  const started = begun[0]
  ok(started !== null && started !== undefined, 'mirrored')
  started.job.large = true // offloaded: the hand-off throws
  started.job.dispatch()
  strictEqual(controller.state.inflight, 0, 'the job ended')
  strictEqual(observer.candidates.length, 1)
  strictEqual(observer.candidates[0], 'other')
  strictEqual(controller.breaker.state, 'open', 'the breaker heard of it')
  strictEqual(controller.budget.used, 0, 'the budget reserved for the hand-off is given back')
})
