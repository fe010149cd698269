/* Issue 11.11 (live path): a request whose client leaves is still one primary exchange in paritygate_requests_total and its histogram. */
import { ok, strictEqual } from 'node:assert/strict'
import { test } from 'node:test'
import { rawClient } from '../helpers/faults.ts'
import { startProxy } from '../helpers/proxy.ts'
import { createUpstream } from '../helpers/upstream.ts'
import { eventually, metric } from '../mirror/helpers.ts'

test('proxy should count requests whose client leaves before the answer, and mid-answer, once each', async (t) => {
  const primary = await createUpstream(t, (req, res) => {
    if (req.url === '/stall') return // never answers
    res.writeHead(200, { 'content-length': 10 * 1024 * 1024 })
    res.write(Buffer.alloc(64 * 1024)) // then stalls mid-body
  })
  const proxy = await startProxy(t, { primary: { url: primary } })
  for (const path of ['/stall', '/half']) {
    const s = await rawClient(t, proxy.port)
    s.write(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`)
    await eventually(() => proxy.app.proxyState.inflight === 1, 2000)
    await new Promise((resolve) => setTimeout(resolve, 100))
    s.destroy()
    ok(await eventually(() => proxy.app.proxyState.inflight === 0, 2000))
  }
  strictEqual(await metric(proxy, 'paritygate_requests_total{target="primary",route="GET /stall",method="GET",status="error"}'), 1)
  strictEqual(await metric(proxy, 'paritygate_requests_total{target="primary",route="GET /half",method="GET",status="2xx"}'), 1)
  strictEqual(await metric(proxy, 'paritygate_request_duration_seconds_count{target="primary",route="GET /stall"}'), 1)
  strictEqual(await metric(proxy, 'paritygate_request_duration_seconds_count{target="primary",route="GET /half"}'), 1)
})
