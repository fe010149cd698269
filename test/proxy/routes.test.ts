/* Route naming: templates first, id-like segments collapsed, a cap on distinct names. */
import { ok, strictEqual } from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { request } from 'undici'
import { isIdSegment, MAX_NAME_CHARS, OTHER_ROUTE, ROUTE_CACHE_BYTES, RouteNamer } from '../../src/proxy/routes.ts'
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

test('RouteNamer should bound its cache in bytes: 10,000 unique 60 KB paths, then 50,000 short ones, never hold more than ROUTE_CACHE_BYTES', () => {
  const namer = new RouteNamer([])
  const long = 'z'.repeat(60 * 1024)
  let most = 0
  for (let i = 0; i < 10_000; i++) {
    strictEqual(namer.name('GET', `/${i}/${long}`), 'GET /:id/:long')
    most = Math.max(most, namer.cacheBytes)
  }
  strictEqual(most, 0, 'a path this long is never cached')
  for (let i = 0; i < 50_000; i++) {
    namer.name('GET', `/files/${i}/${'b'.repeat(200)}`)
    most = Math.max(most, namer.cacheBytes)
  }
  ok(most > 0 && most <= ROUTE_CACHE_BYTES, `cache held at most ${most} bytes`)
  strictEqual(namer.name('GET', '/orders/1'), 'GET /orders/:id', 'naming is unchanged')
  ok(namer.cacheBytes > 0, 'short paths are cached')
})

test('RouteNamer should name `other` a path whose automatic name would exceed MAX_NAME_CHARS', () => {
  const namer = new RouteNamer([])
  // 2,000 short segments: none is long or id-like, but the name would be 8 KB on every series of the route.
  const path = '/' + Array.from({ length: 2000 }, () => 'abc').join('/')
  strictEqual(namer.name('GET', path), OTHER_ROUTE)
  const fits = '/' + Array.from({ length: 20 }, () => 'abc').join('/')
  ok(fits.length + 4 <= MAX_NAME_CHARS)
  strictEqual(namer.name('GET', fits), `GET ${fits}`)
})

test('proxy should not grow its heap with many unique long paths (mirroring off)', async (t) => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const upstream = await createUpstream(t, (_req, res) => res.end())
  const proxy = await startProxy(t, { primary: { url: upstream } })
  const { Pool } = await import('undici')
  const pool = new Pool(proxy.url, { connections: 8, pipelining: 1 })
  t.after(() => pool.close())
  const long = 'z'.repeat(30 * 1024)
  const send = async (from: number, n: number) => {
    let i = from
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (i < from + n) {
        const res = await pool.request({ method: 'GET', path: `/${i++}x/${long}` })
        await res.body.dump()
      }
    }))
  }
  await send(0, 200)
  gc()
  const before = process.memoryUsage().heapUsed
  await send(200, 2000)
  gc()
  const grown = process.memoryUsage().heapUsed - before
  // Cached, 2,000 keys of 30 KB would hold 60 MB.
  ok(grown < 16 * 1024 * 1024, `heap grew by ${(grown / 1048576).toFixed(1)} MiB`)
})
