/* The admin listener: health, readiness, metrics on its own port; the proxy port forwards those paths. */
import { match, strictEqual } from 'node:assert/strict'
import { test } from 'node:test'
import { request } from 'undici'
import { startProxy } from '../helpers/proxy.ts'
import { createRecordingUpstream } from '../helpers/upstream.ts'

test('admin should answer live, ready and metrics with the documented series', async (t) => {
  const upstream = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: upstream.url }, routes: [{ name: 'get-order', match: 'GET /orders/:id' }] })
  strictEqual((await request(`${proxy.admin}/healthz/live`)).statusCode, 200)
  strictEqual((await request(`${proxy.admin}/healthz/ready`)).statusCode, 200)
  await (await request(`${proxy.url}/orders/7`)).body.dump()
  const res = await request(`${proxy.admin}/metrics`)
  strictEqual(res.statusCode, 200)
  match(String(res.headers['content-type']), /text\/plain/)
  const text = await res.body.text()
  match(text, /paritygate_requests_total\{target="primary",route="get-order",method="GET",status="2xx"\} 1/)
  match(text, /paritygate_request_duration_seconds_count\{target="primary",route="get-order"\} 1/)
  match(text, /paritygate_proxy_overhead_seconds_count 1/)
  match(text, /paritygate_build_info\{version="\d+\.\d+\.\d+"\} 1/)
  match(text, /process_resident_memory_bytes/)
})

test('proxy port should forward /metrics, /healthz and /api paths to the primary like any other', async (t) => {
  const upstream = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: upstream.url } })
  for (const path of ['/metrics', '/healthz/ready', '/api/v1/gate', '/admin/x']) {
    const res = await request(`${proxy.url}${path}`)
    strictEqual((await res.body.json() as { url: string }).url, path)
  }
  strictEqual(upstream.received.length, 4)
})

test('admin readiness should turn 503 once draining starts, while liveness stays 200', async (t) => {
  const upstream = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: upstream.url }, shutdown: { delayMs: 300, graceMs: 1000 } })
  const draining = proxy.app.drain()
  strictEqual((await request(`${proxy.admin}/healthz/ready`)).statusCode, 503)
  strictEqual((await request(`${proxy.admin}/healthz/live`)).statusCode, 200)
  await draining
})
