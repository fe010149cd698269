/*
 * The shipped web AnalysisTemplate and Flagger webhook against a live gate: paritygate with real
 * mirrored traffic in its three states, each answer evaluated as Argo Rollouts and Flagger would.
 */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool, request } from 'undici'
import { startProxy, type StartedProxy } from '../helpers/proxy.ts'
import { createUpstream } from '../helpers/upstream.ts'
import { assess, documentOf, jsonPath, resolveMetric, type Phase } from './helpers.ts'

/** A primary and a candidate; the candidate answers a different price on every `everyNth` request (0: never). */
async function gateWith (t: TestContext, everyNth: number): Promise<StartedProxy> {
  let n = 0
  const body = (price: number) => JSON.stringify({ id: 7, price, currency: 'EUR' })
  const primary = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body(10)))
  const candidate = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body(everyNth > 0 && ++n % everyNth === 0 ? 11 : 10)))
  // mismatchBudget 0.01: 2000 clean samples suffice to pass. latencySlackMs 25: p95 intervals on a
  // busy shared CI machine are several ms wide; these tests are about the verdict's three states.
  return startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100 }, gate: { window: '5m', mismatchBudget: 0.01, latencySlackMs: 25 } })
}

/** Sends `count` GETs through the proxy, then waits until every mirror is compared. */
async function drive (proxy: StartedProxy, count: number): Promise<void> {
  const pool = new Pool(proxy.url, { connections: 8 })
  let sent = 0
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (sent < count) {
      sent++
      await (await pool.request({ method: 'GET', path: `/orders/${sent}` })).body.text()
    }
  }))
  await pool.close()
  const until = Date.now() + 10_000
  while (Date.now() < until) {
    const answer = await (await request(`${proxy.admin}/api/v1/gate?window=5m`)).body.json() as { checks: { errors: { mirrored: number }, mismatch: { compared: number } } }
    if (answer.checks.mismatch.compared >= count) return
    await sleep(20)
  }
  throw new Error(`fewer than ${count} comparisons after 10 s`)
}

/** One measurement of the shipped web template against this gate, as the Argo Rollouts web provider makes it. */
async function measure (proxy: StartedProxy, args: Record<string, string> = {}): Promise<{ phase: Phase, verdict: unknown }> {
  const template = documentOf('argo/analysis-template-web.yaml', 'AnalysisTemplate')
  const metric = resolveMetric(template, 'paritygate-verdict', { 'paritygate-admin': new URL(proxy.admin).host, ...args })
  const web = metric.provider.web
  const headers = Object.fromEntries((web.headers ?? []).map((h: { key: string, value: string }) => [h.key, h.value]))
  const res = await request(web.url, { method: web.method, headers })
  strictEqual(res.statusCode, 200, 'a non-2xx would be a measurement error, not a verdict')
  const verdict = jsonPath(web.jsonPath, await res.body.json())
  return { phase: assess(metric, verdict), verdict }
}

/** The shipped Flagger confirm-promotion webhook's call, with the payload Flagger sends. */
async function flagger (proxy: StartedProxy): Promise<{ status: number, body: Record<string, any> }> {
  const canary = documentOf('flagger/canary.yaml', 'Canary')
  const hook = canary.spec.analysis.webhooks.find((w: { type: string }) => w.type === 'confirm-promotion')
  const url = new URL(hook.url)
  const payload = { name: canary.metadata.name, namespace: canary.metadata.namespace, phase: 'Promoting', checksum: 'abc', metadata: hook.metadata }
  const res = await request(`${proxy.admin}${url.pathname}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) })
  return { status: res.statusCode, body: await res.body.json() as Record<string, any> }
}

test('web AnalysisTemplate: a matching candidate should make the measurement Successful, and Flagger get 200', async (t) => {
  const proxy = await gateWith(t, 0)
  await drive(proxy, 2000)
  const { phase, verdict } = await measure(proxy)
  strictEqual(verdict, 'pass', JSON.stringify(await (await request(`${proxy.admin}/api/v1/gate`)).body.json()))
  strictEqual(phase, 'Successful')
  const hook = await flagger(proxy)
  strictEqual(hook.status, 200)
  strictEqual(hook.body.pass, true)
  strictEqual(hook.body.gate.window, '5m')
})

test('web AnalysisTemplate: a candidate differing on 10 % of answers should make the measurement Failed, and Flagger get 403', async (t) => {
  const proxy = await gateWith(t, 10)
  await drive(proxy, 1000)
  const { phase, verdict } = await measure(proxy)
  strictEqual(verdict, 'fail')
  strictEqual(phase, 'Failed')
  const hook = await flagger(proxy)
  strictEqual(hook.status, 403)
  strictEqual(hook.body.verdict, 'fail')
  ok(String(hook.body.reason).startsWith('mismatch: fail'), hook.body.reason)
})

test('web AnalysisTemplate: 50 requests should leave the measurement Inconclusive (neither condition), and Flagger waiting on 403', async (t) => {
  const proxy = await gateWith(t, 0)
  await drive(proxy, 50)
  const { phase, verdict } = await measure(proxy)
  strictEqual(verdict, 'inconclusive')
  strictEqual(phase, 'Inconclusive')
  const hook = await flagger(proxy)
  strictEqual(hook.status, 403)
  strictEqual(hook.body.verdict, 'inconclusive')
  strictEqual(hook.body.pass, false)
})

test('web AnalysisTemplate: no traffic at all should be Inconclusive, never Successful', async (t) => {
  const proxy = await gateWith(t, 0)
  const { phase, verdict } = await measure(proxy)
  strictEqual(verdict, 'inconclusive')
  strictEqual(phase, 'Inconclusive')
})

test('web AnalysisTemplate: a candidate answering 500 on 2 % of requests the primary answers should fail on the errors check, and Flagger get 403', async (t) => {
  let n = 0
  const primary = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":7}'))
  const candidate = await createUpstream(t, (_req, res) => res.writeHead(++n % 50 === 0 ? 500 : 200, { 'content-type': 'application/json' }).end('{"id":7}'))
  // mismatchBudget 0.05: the 2 % of 500s are mismatches too, within this budget: only the errors check can fail it
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate, breaker: { failures: 100_000 } }, mirror: { percent: 100 }, gate: { window: '5m', mismatchBudget: 0.05, latencySlackMs: 1000 } })
  await drive(proxy, 2000)
  const { phase, verdict } = await measure(proxy)
  const gate = await (await request(`${proxy.admin}/api/v1/gate?window=5m`)).body.json() as Record<string, any>
  strictEqual(gate.checks.errors.serverErrors, 40)
  strictEqual(gate.checks.errors.verdict, 'fail')
  strictEqual(gate.checks.mismatch.verdict, 'pass')
  strictEqual(verdict, 'fail')
  strictEqual(phase, 'Failed')
  const hook = await flagger(proxy)
  strictEqual(hook.status, 403)
  ok(String(hook.body.reason).startsWith('errors: fail'), hook.body.reason)
})

test('reset AnalysisTemplate: with the token from its Secret it should reset the gate (Successful); a wrong token is an Error', async (t) => {
  const proxy = await startProxy(t, { primary: { url: await createUpstream(t, (_req, res) => res.end('{}')) } }, { adminToken: 'tok-123' })
  await (await request(proxy.url + '/x')).body.dump()
  proxy.app.parity.count('r', 'match')
  const template = documentOf('argo/analysis-template-reset.yaml', 'AnalysisTemplate')
  const run = async (token: string): Promise<{ status: number, phase: Phase }> => {
    const metric = resolveMetric(template, 'paritygate-reset', { 'paritygate-admin': new URL(proxy.admin).host, 'admin-token': token })
    const web = metric.provider.web
    const headers = Object.fromEntries(web.headers.map((h: { key: string, value: string }) => [h.key, h.value]))
    const res = await request(web.url, { method: web.method, headers, body: web.body })
    const body = await res.body.json()
    // a non-2xx is a measurement Error in the web provider, whatever the body says
    return { status: res.statusCode, phase: res.statusCode >= 300 ? 'Error' : assess(metric, jsonPath(web.jsonPath, body)) }
  }
  deepStrictEqual(await run('wrong'), { status: 401, phase: 'Error' })
  strictEqual(proxy.app.parity.window.snapshot(60_000).match, 1, 'not reset without the token')
  deepStrictEqual(await run('tok-123'), { status: 200, phase: 'Successful' })
  strictEqual(proxy.app.parity.window.snapshot(60_000).match, 0)
})

test('web AnalysisTemplate: the route arg should judge one route, empty all of them, and an unknown one be an Error', async (t) => {
  let n = 0
  const body = (price: number) => JSON.stringify({ id: 7, price })
  const primary = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body(10)))
  // the list answers alike; one order in 10 differs
  const candidate = await createUpstream(t, (req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body(req.url !== '/orders' && ++n % 10 === 0 ? 11 : 10)))
  const routes = [{ name: 'get-order', match: 'GET /orders/:id' }, { name: 'list-orders', match: 'GET /orders' }]
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100 }, routes, gate: { window: '5m', mismatchBudget: 0.01, latencySlackMs: 1000 } })
  const pool = new Pool(proxy.url, { connections: 8 })
  let sent = 0
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (sent < 3000) {
      const path = sent++ < 600 ? `/orders/${sent}` : '/orders'
      await (await pool.request({ method: 'GET', path })).body.text()
    }
  }))
  await pool.close()
  for (let i = 0; i < 500; i++) {
    const answer = await (await request(`${proxy.admin}/api/v1/gate?window=5m`)).body.json() as { checks: { mismatch: { compared: number } } }
    if (answer.checks.mismatch.compared >= 3000) break
    await sleep(20)
  }
  deepStrictEqual(await measure(proxy, { route: 'list-orders' }), { phase: 'Successful', verdict: 'pass' })
  deepStrictEqual(await measure(proxy, { route: 'get-order' }), { phase: 'Failed', verdict: 'fail' })
  // route= (the template's default) is every route: the orders' differences count
  deepStrictEqual(await measure(proxy), { phase: 'Failed', verdict: 'fail' })
  const template = documentOf('argo/analysis-template-web.yaml', 'AnalysisTemplate')
  const unknown = resolveMetric(template, 'paritygate-verdict', { 'paritygate-admin': new URL(proxy.admin).host, route: 'get-ordr' })
  const res = await request(unknown.provider.web.url)
  await res.body.dump()
  strictEqual(res.statusCode, 404, 'a non-2xx: a measurement Error, not an endless inconclusive')
})
