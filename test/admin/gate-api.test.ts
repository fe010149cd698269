/* The gate over real mirrored traffic: verdicts in the three states, the Flagger webhook, routes, reset, gauges. */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { Pool, request } from 'undici'
import { startProxy, type StartedProxy } from '../helpers/proxy.ts'
import { createUpstream } from '../helpers/upstream.ts'
import { eventually } from '../mirror/helpers.ts'

/** A primary and a candidate; the candidate answers a different price on every `everyNth` request. */
async function pair (t: TestContext, everyNth: number, gate: Record<string, unknown> = {}) {
  let n = 0
  const body = (price: number) => JSON.stringify({ id: 1, price })
  const primary = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body(10)))
  const candidate = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body(everyNth > 0 && ++n % everyNth === 0 ? 11 : 10)))
  return startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100 }, gate: { mismatchBudget: 0.01, ...gate } })
}

async function drive (proxy: StartedProxy, count: number, path = '/orders/1') {
  const pool = new Pool(proxy.url, { connections: 16 })
  let i = 0
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (i < count) {
      i++
      await (await pool.request({ method: 'GET', path })).body.text()
    }
  }))
  await pool.close()
  await eventually(() => (proxy.app.engine?.queued ?? 0) === 0 && proxy.app.proxyState.mirror?.state.inflight === 0)
  await eventually(() => false, 50)
}

async function gate (proxy: StartedProxy, query = '') {
  const res = await request(`${proxy.admin}/api/v1/gate${query}`)
  strictEqual(res.statusCode, 200)
  return await res.body.json() as Record<string, any>
}

test('gate should pass a candidate that matches, with the documented JSON shape (docs/gate.md)', async (t) => {
  // A loaded CI machine widens both p95 intervals; the slack keeps this test about the mismatch check.
  const proxy = await pair(t, 0, { latencySlackMs: 25 })
  await drive(proxy, 2000)
  const answer = await gate(proxy, '?window=5m')
  strictEqual(answer.verdict, 'pass', JSON.stringify(answer.checks))
  strictEqual(answer.pass, true)
  strictEqual(answer.window, '5m')
  strictEqual(answer.route, null)
  strictEqual(answer.checks.mismatch.compared, 2000)
  strictEqual(answer.checks.mismatch.mismatched, 0)
  strictEqual(answer.checks.errors.mirrored, 2000)
  ok(answer.checks.latency.primaryP95Ms > 0 && answer.checks.latency.candidateP95Ms > 0)
  ok(!Number.isNaN(Date.parse(answer.generatedAt)))
  const flagger = await request(`${proxy.admin}/api/v1/gate/flagger`, { method: 'POST', body: JSON.stringify({ name: 'orders', namespace: 'prod', phase: 'Progressing', metadata: { window: '5m' } }), headers: { 'content-type': 'application/json' } })
  strictEqual(flagger.statusCode, 200)
  const metrics = await (await request(`${proxy.admin}/metrics`)).body.text()
  ok(metrics.includes('paritygate_gate_verdict{check="overall"} 1'))
  ok(metrics.includes('paritygate_mismatch_ratio{window="5m"} 0'))
})

test('gate should fail a candidate with 10 % mismatches, and Flagger should get 403 with the reason', async (t) => {
  const proxy = await pair(t, 10)
  await drive(proxy, 1000)
  const answer = await gate(proxy)
  strictEqual(answer.verdict, 'fail')
  strictEqual(answer.checks.mismatch.verdict, 'fail')
  strictEqual(answer.checks.mismatch.mismatched, 100)
  ok(answer.checks.mismatch.lower > 0.01)
  const flagger = await request(`${proxy.admin}/api/v1/gate/flagger`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
  strictEqual(flagger.statusCode, 403)
  const reason = await flagger.body.json() as { reason: string, pass: boolean }
  strictEqual(reason.pass, false)
  ok(reason.reason.startsWith('mismatch: fail'), reason.reason)
  const metrics = await (await request(`${proxy.admin}/metrics`)).body.text()
  ok(metrics.includes('paritygate_gate_verdict{check="mismatch"} -1'))
  const routes = await (await request(`${proxy.admin}/api/v1/routes?window=1m`)).body.json() as { routes: Array<{ route: string, mismatchRatio: number, counts: Record<string, number>, primary: { count: number } }> }
  strictEqual(routes.routes[0].route, 'GET /orders/:id')
  strictEqual(routes.routes[0].counts.mismatch, 100)
  strictEqual(routes.routes[0].mismatchRatio, 0.1)
  strictEqual(routes.routes[0].primary.count, 1000)
})

test('gate should be inconclusive with few samples, never pass, and start afresh after a reset', async (t) => {
  const proxy = await pair(t, 0)
  strictEqual((await gate(proxy)).verdict, 'inconclusive', 'no traffic at all')
  await drive(proxy, 50)
  const few = await gate(proxy)
  strictEqual(few.verdict, 'inconclusive')
  strictEqual(few.checks.mismatch.compared, 50)
  strictEqual(few.checks.latency.verdict, 'inconclusive')
  strictEqual((await request(`${proxy.admin}/api/v1/gate/flagger`, { method: 'POST' })).statusCode, 403)
  const reset = await request(`${proxy.admin}/api/v1/reset`, { method: 'POST' })
  strictEqual(reset.statusCode, 200)
  await reset.body.dump()
  strictEqual((await gate(proxy)).checks.mismatch.compared, 0)
  strictEqual((await request(`${proxy.admin}/api/v1/gate?window=forever`)).statusCode, 400)
  strictEqual((await request(`${proxy.admin}/api/v1/gate?window=2h`)).statusCode, 400, 'beyond gate.maxWindow')
})

test('gate should never count dropped or failed mirrors as matches', async (t) => {
  const primary = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"a":1}'))
  let n = 0
  const candidate = await createUpstream(t, (req, res) => { if (++n % 3 === 0) req.socket.destroy(); else res.writeHead(200, { 'content-type': 'application/json' }).end('{"a":1}') })
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate, breaker: { failures: 1000 } }, mirror: { percent: 100 } })
  await drive(proxy, 300)
  const answer = await gate(proxy)
  strictEqual(answer.checks.mismatch.compared, 200)
  strictEqual(answer.checks.mismatch.errored, 100)
  strictEqual(answer.checks.errors.errors, 100)
  strictEqual(answer.checks.errors.verdict, 'fail')
  strictEqual(answer.verdict, 'fail')
  deepStrictEqual([answer.checks.errors.mirrored], [300])
})
