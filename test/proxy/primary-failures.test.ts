/* Each failure mode of the primary: the right status, one log line with the request id, no retries, no crash. */
import { deepStrictEqual, match, ok, rejects, strictEqual } from 'node:assert/strict'
import { createServer, type AddressInfo } from 'node:net'
import { test } from 'node:test'
import { performance } from 'node:perf_hooks'
import { request } from 'undici'
import { validateConfig } from '../../src/config/index.ts'
import { startProxy, type StartedProxy } from '../helpers/proxy.ts'
import { createTcpUpstream, createUpstream } from '../helpers/upstream.ts'

async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function expectGatewayError (proxy: StartedProxy, status: number, code: string, opts: { method?: 'GET' | 'POST', body?: string } = {}) {
  const res = await request(`${proxy.url}/fail`, { method: opts.method ?? 'GET', body: opts.body, headers: { 'x-request-id': `rid-${code}-${status}` } })
  strictEqual(res.statusCode, status)
  match(String(res.headers['content-type']), /application\/json/)
  const body = await res.body.json() as Record<string, unknown>
  strictEqual(body.code, code)
  strictEqual(body.requestId, `rid-${code}-${status}`)
  const line = proxy.logs.find((l) => l.requestId === `rid-${code}-${status}`)
  ok(line !== undefined, 'one log line names the request id')
  strictEqual(line.msg, 'primary request failed')
  return body
}

async function stillServes (t: Parameters<typeof createUpstream>[0], proxy: StartedProxy) {
  const res = await request(`${proxy.url}/after`)
  await res.body.dump()
  ok(res.statusCode >= 200, 'the process still answers')
}

test('proxy should answer 502 PARITYGATE_ERR_PRIMARY_UNAVAILABLE when the primary is down', async (t) => {
  const proxy = await startProxy(t, { primary: { url: `http://127.0.0.1:${await closedPort()}` } })
  const body = await expectGatewayError(proxy, 502, 'PARITYGATE_ERR_PRIMARY_UNAVAILABLE')
  strictEqual(body.error, 'Bad Gateway')
  const metrics = await (await request(`${proxy.admin}/metrics`)).body.text()
  match(metrics, /paritygate_requests_total\{target="primary",route="GET \/fail",method="GET",status="error"\} 1/)
})

test('proxy should answer 504 PARITYGATE_ERR_PRIMARY_TIMEOUT at primary.timeoutMs when the primary never sends headers', async (t) => {
  const upstream = await createTcpUpstream(t)
  const proxy = await startProxy(t, { primary: { url: upstream.url, timeoutMs: 150 } })
  const t0 = performance.now()
  await expectGatewayError(proxy, 504, 'PARITYGATE_ERR_PRIMARY_TIMEOUT')
  const took = performance.now() - t0
  ok(took >= 140 && took < 3000, `answered after ${took} ms`)
  strictEqual(upstream.connections(), 1, 'no retry after a timeout')
})

test('proxy should answer 502 when the primary resets before answering, and not resend a POST', async (t) => {
  const upstream = await createTcpUpstream(t, (socket) => socket.once('data', () => socket.resetAndDestroy()))
  const proxy = await startProxy(t, { primary: { url: upstream.url } })
  await expectGatewayError(proxy, 502, 'PARITYGATE_ERR_PRIMARY_UNAVAILABLE', { method: 'POST', body: 'payload' })
  strictEqual(upstream.connections(), 1)
  await stillServes(t, proxy)
})

test('proxy should answer 502 to garbage and to a response with both Content-Length and Transfer-Encoding', async (t) => {
  for (const reply of ['NOT HTTP AT ALL\r\n\r\n', 'HTTP/1.1 888 Weird\r\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\nContent-Length: 0\r\n\r\n']) {
    const upstream = await createTcpUpstream(t, (socket) => socket.once('data', () => socket.end(reply)))
    const proxy = await startProxy(t, { primary: { url: upstream.url } })
    await expectGatewayError(proxy, 502, 'PARITYGATE_ERR_PRIMARY_UNAVAILABLE', { method: 'POST', body: 'x' })
    await stillServes(t, proxy)
  }
})

test('proxy should abort the client connection when the primary cuts a response short after its headers', async (t) => {
  const upstream = await createTcpUpstream(t, (socket) => socket.once('data', () => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\nabcdef')
    setTimeout(() => socket.destroy(), 20)
  }))
  const proxy = await startProxy(t, { primary: { url: upstream.url } })
  const res = await request(`${proxy.url}/short`)
  strictEqual(res.statusCode, 200)
  await rejects(res.body.text(), 'a short body never looks complete')
  await stillServes(t, proxy)
})

test('proxy should pass a 503 through unchanged and send exactly one request to the primary', async (t) => {
  let hits = 0
  const upstream = await createUpstream(t, (_req, res) => { hits++; res.writeHead(503, { 'retry-after': '1', 'content-type': 'text/plain' }).end('busy') })
  const proxy = await startProxy(t, { primary: { url: upstream } })
  const res = await request(`${proxy.url}/x`)
  strictEqual(res.statusCode, 503)
  strictEqual(res.headers['retry-after'], '1')
  strictEqual(await res.body.text(), 'busy')
  strictEqual(hits, 1)
})

test('proxy should retry an idempotent body-less request once when its pooled connection was closed, but never a POST', async (t) => {
  // The primary answers the first request on each connection and silently closes on the second:
  // the keep-alive race of Node #52649, made deterministic.
  const seen: string[] = []
  const upstream = await createTcpUpstream(t, (socket) => {
    let n = 0
    socket.on('data', (d) => {
      const line = d.toString().split('\r\n')[0]
      if (n++ === 0) { seen.push(line); socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok') } else socket.destroy()
    })
  })
  const proxy = await startProxy(t, { primary: { url: upstream.url, connections: 1 } })
  for (let i = 0; i < 5; i++) {
    const res = await request(`${proxy.url}/get/${i}`)
    strictEqual(res.statusCode, 200, `GET ${i}`)
    await res.body.dump()
  }
  deepStrictEqual(seen, [0, 1, 2, 3, 4].map((i) => `GET /get/${i} HTTP/1.1`))
  const post = await request(`${proxy.url}/post`, { method: 'POST', body: 'once' })
  strictEqual(post.statusCode, 502)
  await post.body.dump()
  strictEqual(seen.filter((l) => l.startsWith('POST')).length, 0, 'the POST was not re-sent on a new connection')
})

test('proxy should abort the client connection when the primary body goes silent for primary.bodyTimeoutMs, not while chunks keep coming', { timeout: 10_000 }, async (t) => {
  const upstream = await createUpstream(t, (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write('first;')
    if (req.url === '/silent') return // never another byte
    let n = 0
    const timer = setInterval(() => {
      res.write(`chunk${n};`)
      if (++n === 6) {
        clearInterval(timer)
        res.end('done')
      }
    }, 60)
  })
  const proxy = await startProxy(t, { primary: { url: upstream, bodyTimeoutMs: 500 } })
  const t0 = performance.now()
  const silent = await request(`${proxy.url}/silent`)
  strictEqual(silent.statusCode, 200)
  await rejects(silent.body.text(), 'a silent primary never makes a body look complete')
  const took = performance.now() - t0
  ok(took >= 490 && took < 5000, `aborted after ${took} ms`)

  const dripping = await request(`${proxy.url}/drip`)
  strictEqual(await dripping.body.text(), 'first;chunk0;chunk1;chunk2;chunk3;chunk4;chunk5;done', '360 ms of 60 ms gaps pass a 500 ms body timeout')
  await stillServes(t, proxy)
})

test('proxy should apply primary.timeoutMs to a request still waiting for a pooled connection', { timeout: 10_000 }, async (t) => {
  const upstream = await createTcpUpstream(t)
  const proxy = await startProxy(t, { primary: { url: upstream.url, timeoutMs: 150, connections: 1 } })
  const [first, second] = await Promise.all([request(`${proxy.url}/a`), request(`${proxy.url}/b`)])
  strictEqual(first.statusCode, 504)
  strictEqual(second.statusCode, 504)
  await Promise.all([first.body.dump(), second.body.dump()])
})

test('proxy should apply a reloaded primary.timeoutMs to new requests', { timeout: 10_000 }, async (t) => {
  const upstream = await createTcpUpstream(t)
  const proxy = await startProxy(t, { primary: { url: upstream.url, timeoutMs: 60_000 } })
  const notes = proxy.app.reload(validateConfig({ ...proxy.config, primary: { ...proxy.config.primary, timeoutMs: 150 } }))
  deepStrictEqual(notes, [])
  const t0 = performance.now()
  await expectGatewayError(proxy, 504, 'PARITYGATE_ERR_PRIMARY_TIMEOUT')
  const took = performance.now() - t0
  ok(took >= 140 && took < 3000, `answered after ${took} ms, not 60 s`)
})
