/* Route naming: templates first, id-like segments collapsed, a cap on distinct names. */
import { ok, strictEqual } from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { request } from 'undici'
import { isIdSegment, OTHER_ROUTE, RouteNamer } from '../../src/proxy/routes.ts'
import { startProxy } from '../helpers/proxy.ts'
import { createUpstream } from '../helpers/upstream.ts'

test('RouteNamer should prefer configured templates, in order, with method and wildcard', () => {
  const namer = new RouteNamer([{ name: 'get-order', match: 'GET /orders/:id' }, { match: '/static/*' }, { match: 'POST /orders' }])
  strictEqual(namer.name('GET', '/orders/42?x=1'), 'get-order')
  strictEqual(namer.name('PUT', '/orders/42'), 'PUT /orders/:id')
  strictEqual(namer.name('GET', '/static/css/site.css'), '/static/*')
  strictEqual(namer.name('POST', '/orders'), 'POST /orders')
  strictEqual(namer.name('GET', '/orders/'), 'GET /orders/', 'an empty segment does not match :id')
})

test('RouteNamer should collapse integers, UUIDs, long hex, ULIDs and long tokens to :id', () => {
  const namer = new RouteNamer([])
  strictEqual(namer.name('GET', '/users/123/orders/550e8400-e29b-41d4-a716-446655440000'), 'GET /users/:id/orders/:id')
  strictEqual(namer.name('GET', '/blobs/0123456789abcdef0123'), 'GET /blobs/:id')
  strictEqual(namer.name('GET', '/events/01ARZ3NDEKTSV4RRFFQ69G5FAV'), 'GET /events/:id')
  strictEqual(namer.name('GET', '/s/aGVsbG8gd29ybGQgdGhpcyBpcyAx'), 'GET /s/:id')
  strictEqual(namer.name('GET', '/v2/users/me'), 'GET /v2/users/me')
  strictEqual(namer.name('BREW', '/pot'), 'OTHER /pot', 'unknown methods share one label')
  ok(!isIdSegment('orders'))
  ok(!isIdSegment('v2'))
})

test('RouteNamer should cap distinct automatic names: 100,000 random paths give at most maxRoutes + 1 names', () => {
  const namer = new RouteNamer([], 10)
  const names = new Set<string>()
  for (let i = 0; i < 100_000; i++) names.add(namer.name(i % 2 === 0 ? 'GET' : 'BREW', `/${randomBytes(3).toString('hex')}x/page`))
  strictEqual(names.size, 11)
  ok(names.has(OTHER_ROUTE))
})

test('proxy should keep /metrics bounded after 10,000 distinct random paths and methods', async (t) => {
  const upstream = await createUpstream(t, (_req, res) => res.end())
  const proxy = await startProxy(t, { primary: { url: upstream }, maxRoutes: 50 })
  const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'BREW']
  const { Pool } = await import('undici')
  const pool = new Pool(proxy.url, { connections: 16, pipelining: 1 })
  t.after(() => pool.close())
  let i = 0
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (i < 10_000) {
      const n = i++
      const res = await pool.request({ method: methods[n % methods.length] as 'GET', path: `/${randomBytes(4).toString('hex')}x/${n}` })
      await res.body.dump()
    }
  }))
  const text = await (await request(`${proxy.admin}/metrics`)).body.text()
  const series = text.split('\n').filter((l) => l.startsWith('paritygate_requests_total{'))
  ok(series.length <= 51 * methods.length, `${series.length} series`)
  ok(text.length < 400_000, `/metrics is ${text.length} bytes`)
  ok(series.some((l) => l.includes('route="other"')))
})
