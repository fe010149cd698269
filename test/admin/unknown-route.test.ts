/* A route the gate does not know is a 404 with the known routes, never a silent inconclusive; a window over the maximum is a 400 in its own unit (issue 12, item 6). */
import { deepStrictEqual, ok, match, strictEqual } from 'node:assert/strict'
import { test } from 'node:test'
import { request } from 'undici'
import { startProxy } from '../helpers/proxy.ts'
import { createUpstream } from '../helpers/upstream.ts'
import { eventually } from '../mirror/helpers.ts'

async function call (url: string, method: 'GET' | 'POST' = 'GET', body?: unknown): Promise<{ status: number, body: Record<string, any> }> {
  const res = await request(url, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
  return { status: res.statusCode, body: await res.body.json() as Record<string, any> }
}

test('gate, routes, fields, mismatches and the Flagger webhook should answer 404 for an unknown route, with the known ones', async (t) => {
  const primary = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"a":1}'))
  const candidate = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"a":1}'))
  const proxy = await startProxy(t, {
    primary: { url: primary },
    candidate: { url: candidate },
    mirror: { percent: 100 },
    routes: [{ name: 'get-order', match: 'GET /orders/:id' }, { match: 'GET /quiet' }]
  })
  // traffic on a configured route and on an unconfigured one (named automatically)
  for (const path of ['/orders/1', '/items/7']) await (await request(proxy.url + path)).body.dump()
  await eventually(() => proxy.app.parity.window.snapshot(60_000).match === 2)
  const known = ['GET /items/:id', 'GET /quiet', 'get-order']

  const unknown = [
    call(`${proxy.admin}/api/v1/gate?route=nope`),
    call(`${proxy.admin}/api/v1/gate?route=nope&window=5m`),
    call(`${proxy.admin}/api/v1/routes?route=nope`),
    call(`${proxy.admin}/api/v1/fields?route=nope`),
    call(`${proxy.admin}/api/v1/mismatches?route=nope`),
    call(`${proxy.admin}/api/v1/noise?route=nope`),
    call(`${proxy.admin}/api/v1/history?route=nope`),
    call(`${proxy.admin}/api/v1/gate/flagger`, 'POST', { name: 'orders', metadata: { window: '5m', route: 'nope' } }),
    call(`${proxy.admin}/api/v1/gate/flagger?route=nope`, 'POST', {})
  ]
  for (const answer of await Promise.all(unknown)) {
    strictEqual(answer.status, 404, JSON.stringify(answer.body))
    strictEqual(answer.body.code, 'PARITYGATE_ERR_UNKNOWN_ROUTE')
    match(answer.body.message, /Unknown route "nope"/)
    deepStrictEqual(answer.body.routes, known)
  }

  // a configured route without traffic yet is known: inconclusive, not 404
  const quiet = await call(`${proxy.admin}/api/v1/gate?route=${encodeURIComponent('GET /quiet')}`)
  strictEqual(quiet.status, 200)
  strictEqual(quiet.body.verdict, 'inconclusive')
  strictEqual(quiet.body.checks.mismatch.compared, 0)
  const quietRoutes = await call(`${proxy.admin}/api/v1/routes?route=${encodeURIComponent('GET /quiet')}`)
  strictEqual(quietRoutes.status, 200)
  deepStrictEqual(quietRoutes.body.routes.map((r: { route: string }) => r.route), ['GET /quiet'])
  strictEqual(quietRoutes.body.routes[0].counts.match, 0)
  // seen routes answer, one route at a time
  const seen = await call(`${proxy.admin}/api/v1/routes?route=${encodeURIComponent('GET /items/:id')}`)
  deepStrictEqual(seen.body.routes.map((r: { route: string, counts: { match: number } }) => [r.route, r.counts.match]), [['GET /items/:id', 1]])
  for (const path of ['fields', 'mismatches', 'noise', 'history']) strictEqual((await call(`${proxy.admin}/api/v1/${path}?route=get-order`)).status, 200, path)
  strictEqual((await call(`${proxy.admin}/api/v1/gate`)).status, 200, 'no route: every route')

  // a route seen since start stays known after a reset (a new candidate version)
  strictEqual((await call(`${proxy.admin}/api/v1/reset`, 'POST')).status, 200)
  const after = await call(`${proxy.admin}/api/v1/gate?route=${encodeURIComponent('GET /items/:id')}`)
  strictEqual(after.status, 200)
  strictEqual(after.body.checks.mismatch.compared, 0)
  deepStrictEqual((await call(`${proxy.admin}/api/v1/gate?route=nope`)).body.routes, known)
})

test('a window over gate.maxWindow should be a 400 that says so in the unit it was given', async (t) => {
  const primary = await createUpstream(t, (_req, res) => res.end('x'))
  const proxy = await startProxy(t, { primary: { url: primary } })
  for (const [window, max] of [['2h', '1h'], ['61m', '60m'], ['3601s', '3600s']]) {
    for (const url of [`${proxy.admin}/api/v1/gate?window=${window}`, `${proxy.admin}/api/v1/routes?window=${window}`]) {
      const answer = await call(url)
      strictEqual(answer.status, 400, url)
      strictEqual(answer.body.code, 'PARITYGATE_ERR_BAD_WINDOW')
      strictEqual(answer.body.message, `window ${window} exceeds the maximum ${max} (gate.maxWindow)`)
    }
  }
  const flagger = await call(`${proxy.admin}/api/v1/gate/flagger`, 'POST', { metadata: { window: '2h' } })
  strictEqual(flagger.status, 400)
  match(flagger.body.message, /2h exceeds the maximum 1h/)
  const malformed = await call(`${proxy.admin}/api/v1/gate?window=forever`)
  strictEqual(malformed.status, 400)
  ok(malformed.body.message.includes('like 30s, 5m, 1h'))
})
