/* Issue 11.4: slow uploads and slow readers cannot take the primary's pool; stalled ones end at proxy.clientTimeoutMs. */
import { ok, strictEqual } from 'node:assert/strict'
import { test } from 'node:test'
import { request } from 'undici'
import { closedWithin, dripUpload, rawClient, readAll } from '../helpers/faults.ts'
import { startProxy } from '../helpers/proxy.ts'
import { createUpstream } from '../helpers/upstream.ts'
import { eventually, metric, metricOrZero } from '../mirror/helpers.ts'

const HUGE = Buffer.alloc(64 * 1024 * 1024, 120)

async function primaryServer (t: Parameters<typeof createUpstream>[0]): Promise<string> {
  return createUpstream(t, (req, res) => {
    if (req.url === '/big') { res.writeHead(200, { 'content-length': HUGE.length }).end(HUGE); return }
    req.resume()
    req.on('end', () => res.end('ok'))
  })
}

async function timedGet (url: string): Promise<{ status: number, ms: number }> {
  const started = Date.now()
  const res = await request(url, { headersTimeout: 10_000 })
  await res.body.dump()
  return { status: res.statusCode, ms: Date.now() - started }
}

const LIMITS = { slowClientShare: 0.5, slowClientAfterMs: 200, clientTimeoutMs: 20_000, clientMinBytesPerSecond: 1024 }

test('slow uploads should hold at most proxy.slowClientShare of the primary pool; the rest get 408 and a normal GET is served at once', async (t) => {
  const primary = await primaryServer(t)
  const proxy = await startProxy(t, { primary: { url: primary, connections: 8 }, proxy: LIMITS })
  const clients = await Promise.all(Array.from({ length: 16 }, async () => rawClient(t, proxy.port)))
  const answers = clients.map(async (s) => readAll(s, 8000))
  for (const s of clients) {
    s.write('POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n')
    dripUpload(s, 100_000, 10, 100) // 100 bytes/s
  }
  await eventually(() => proxy.app.proxyState.inflight >= 8, 3000)
  await new Promise((resolve) => setTimeout(resolve, 600))
  const normal = await timedGet(`${proxy.url}/normal`)
  strictEqual(normal.status, 200)
  ok(normal.ms < 2000, `a normal GET waited ${normal.ms} ms`)
  ok(proxy.app.proxyState.slowClients <= 4, `slow exchanges ${proxy.app.proxyState.slowClients}`)
  for (const s of clients) s.destroy()
  const texts = await Promise.all(answers)
  const cut = texts.filter((a) => a.startsWith('HTTP/1.1 408 ')).length
  ok(cut >= 8, `${cut} slow uploads were refused with 408`)
  ok(await metric(proxy, 'paritygate_client_rejections_total{reason="slow_share"}') >= 8)
  ok(await eventually(() => proxy.app.proxyState.inflight === 0 && proxy.app.proxyState.slowClients === 0, 3000))
})

test('slow readers should hold at most proxy.slowClientShare of the primary pool; a normal GET is served at once', async (t) => {
  const primary = await primaryServer(t)
  const proxy = await startProxy(t, { primary: { url: primary, connections: 8 }, proxy: LIMITS })
  const clients = await Promise.all(Array.from({ length: 12 }, async () => rawClient(t, proxy.port)))
  for (const s of clients) {
    s.pause() // reads nothing: the answer waits on the client
    s.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\n')
  }
  await eventually(() => proxy.app.proxyState.inflight >= 8, 3000)
  await new Promise((resolve) => setTimeout(resolve, 800))
  const normal = await timedGet(`${proxy.url}/normal`)
  strictEqual(normal.status, 200)
  ok(normal.ms < 2000, `a normal GET waited ${normal.ms} ms`)
  ok(proxy.app.proxyState.slowClients <= 4, `slow exchanges ${proxy.app.proxyState.slowClients}`)
  ok(await metric(proxy, 'paritygate_client_rejections_total{reason="slow_share"}') >= 4)
  const pool = proxy.app.primaryPool
  // Paused answers become slow one check after another: within a few checks, no more than the share (plus the normal GET) stays busy.
  ok(await eventually(() => pool.stats.running <= 5, 5000), `primary connections busy: ${JSON.stringify(pool.stats)}`)
})

test('an upload that stops should end with 408 at proxy.clientTimeoutMs and free its primary connection', async (t) => {
  const primary = await primaryServer(t)
  const proxy = await startProxy(t, { primary: { url: primary, connections: 2 }, proxy: { clientTimeoutMs: 500, slowClientAfterMs: 100 } })
  const s = await rawClient(t, proxy.port)
  const answer = readAll(s, 5000)
  s.write('POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\nhalf')
  const started = Date.now()
  const text = await answer
  ok(text.startsWith('HTTP/1.1 408 '), JSON.stringify(text.slice(0, 60)))
  ok(text.includes('PARITYGATE_ERR_CLIENT_TIMEOUT'))
  ok(Date.now() - started < 3000, `ended after ${Date.now() - started} ms`)
  ok(await closedWithin(s, 1000))
  strictEqual(await metric(proxy, 'paritygate_client_rejections_total{reason="client_timeout"}'), 1)
  ok(await eventually(() => proxy.app.primaryPool.stats.running === 0, 2000))
})

test('an upload the primary itself holds back should not count as a slow client', async (t) => {
  // The primary reads nothing for 1.5 s: the client is not the one waiting.
  const primary = await createUpstream(t, (req, res) => {
    req.pause()
    setTimeout(() => { req.resume(); req.on('end', () => res.end('ok')) }, 1500)
  })
  const proxy = await startProxy(t, { primary: { url: primary, connections: 2 }, proxy: { clientTimeoutMs: 500, slowClientAfterMs: 100, slowClientShare: 0.5 } })
  const res = await request(`${proxy.url}/upload`, { method: 'POST', body: Buffer.alloc(32 * 1024 * 1024, 1) })
  strictEqual(res.statusCode, 200)
  strictEqual(await res.body.text(), 'ok')
  strictEqual(await metricOrZero(proxy, 'paritygate_client_rejections_total{reason="client_timeout"}'), 0)
  strictEqual(await metricOrZero(proxy, 'paritygate_client_rejections_total{reason="slow_share"}'), 0)
})
