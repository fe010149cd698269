/* The admin port times request heads too (fastify's requestTimeout 0 would leave Node's headersTimeout at 0): probes keep answering. */
import { ok, strictEqual } from 'node:assert/strict'
import { test } from 'node:test'
import { request } from 'undici'
import { closedWithin, rawClient } from '../helpers/faults.ts'
import { startProxy } from '../helpers/proxy.ts'
import { createRecordingUpstream } from '../helpers/upstream.ts'

test('admin port should close a slowloris and a silent connection after its 10 s head timeout, and keep answering probes meanwhile', async (t) => {
  const primary = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: primary.url } })
  const port = Number(new URL(proxy.admin).port)
  const silent = await rawClient(t, port)
  silent.resume()
  const slow = await rawClient(t, port)
  slow.resume()
  slow.write('GET /healthz/live HTTP/1.1\r\nHost: a\r\n')
  const drip = setInterval(() => { if (!slow.destroyed) slow.write('x-a: 1\r\n') }, 500)
  t.after(() => clearInterval(drip))
  strictEqual((await request(`${proxy.admin}/healthz/live`)).statusCode, 200)
  const [a, b] = await Promise.all([closedWithin(silent, 14_000), closedWithin(slow, 14_000)])
  clearInterval(drip)
  ok(a, 'a connection that says nothing is closed')
  ok(b, 'a head that never ends is cut off')
})
