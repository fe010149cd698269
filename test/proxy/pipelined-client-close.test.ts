/* Issue 11.1: a response queued behind another on a pipelined connection must end when its client's socket ends. */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { test } from 'node:test'
import { request } from 'undici'
import { closedWithin, rawClient } from '../helpers/faults.ts'
import { startProxy } from '../helpers/proxy.ts'
import { createUpstream } from '../helpers/upstream.ts'
import { eventually, metric } from '../mirror/helpers.ts'

const BIG = Buffer.alloc(8 * 1024 * 1024, 120)

test('proxy should release every primary connection and exchange when pipelining clients pause and close', async (t) => {
  const primary = await createUpstream(t, (req, res) => {
    if (req.url === '/big') res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG.length }).end(BIG)
    else res.end('ok')
  })
  const proxy = await startProxy(t, { primary: { url: primary, connections: 16 } })
  const sockets = []
  for (let i = 0; i < 8; i++) {
    const s = await rawClient(t, proxy.port)
    s.pause() // never reads: the first answer fills the buffers, the next two queue behind it
    s.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\nGET /big HTTP/1.1\r\nHost: a\r\n\r\nGET /big HTTP/1.1\r\nHost: a\r\n\r\n')
    sockets.push(s)
  }
  ok(await eventually(() => proxy.app.proxyState.inflight === 24, 5000), `all 24 requests reached the proxy (inflight ${proxy.app.proxyState.inflight})`)
  for (const s of sockets) s.destroy()
  for (const s of sockets) ok(await closedWithin(s, 1000))

  ok(await eventually(() => proxy.app.proxyState.inflight === 0, 5000), `every exchange ended with its client (inflight ${proxy.app.proxyState.inflight})`)
  const pool = proxy.app.primaryPool
  ok(await eventually(() => pool.stats.running === 0 && pool.stats.pending === 0, 5000), `no primary connection stays busy: ${JSON.stringify(pool.stats)}`)

  // The proxy still serves at once, and drains at once.
  const started = Date.now()
  const res = await request(`${proxy.url}/small`)
  deepStrictEqual([res.statusCode, await res.body.text()], [200, 'ok'])
  ok(Date.now() - started < 2000)
  const drainStarted = Date.now()
  await proxy.app.drain(10_000, 0)
  ok(Date.now() - drainStarted < 2000, `drain took ${Date.now() - drainStarted} ms`)
})

test('proxy should give a paused exchange a deadline: a pipelined client that never reads is cut off at proxy.clientTimeoutMs', async (t) => {
  // Larger than what loopback's socket buffers can hold, so that the answers really wait on the client.
  const HUGE = Buffer.alloc(64 * 1024 * 1024, 120)
  const primary = await createUpstream(t, (req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': HUGE.length }).end(HUGE)
  })
  const proxy = await startProxy(t, { primary: { url: primary, connections: 4 }, proxy: { clientTimeoutMs: 300 } })
  const s = await rawClient(t, proxy.port)
  s.pause()
  s.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\nGET /big HTTP/1.1\r\nHost: a\r\n\r\n')
  ok(await eventually(() => proxy.app.proxyState.inflight === 2, 3000), 'both requests reached the proxy')
  ok(await eventually(() => proxy.app.proxyState.inflight === 0, 6000), `both exchanges ended (inflight ${proxy.app.proxyState.inflight})`)
  const pool = proxy.app.primaryPool
  ok(await eventually(() => pool.stats.running === 0, 3000), JSON.stringify(pool.stats))
  strictEqual(proxy.app.proxyState.slowClients, 0)
  strictEqual(proxy.app.proxyState.clientChecks.size, 0)
  // The client, reading at last, finds its connection cut short: never two whole answers.
  let received = 0
  s.on('data', (d: Buffer) => { received += d.length })
  s.resume()
  ok(await closedWithin(s, 5000), `the stalled client is disconnected (received ${received}, destroyed ${s.destroyed}, ${s.readyState})`)
  ok(received < HUGE.length, `received ${received}`)
  ok(await metric(proxy, 'paritygate_client_rejections_total{reason="client_timeout"}') >= 1)
})
