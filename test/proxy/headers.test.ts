/* Hop-by-hop fields (RFC 9110 §7.6.1), forwarding headers, Host, request ids and large headers. */
import { deepStrictEqual, match, ok, strictEqual } from 'node:assert/strict'
import { test } from 'node:test'
import { Agent, request } from 'undici'
import { startProxy } from '../helpers/proxy.ts'
import { rawRequest } from '../helpers/raw.ts'
import { createRecordingUpstream, createTcpUpstream } from '../helpers/upstream.ts'

test('proxy should drop hop-by-hop request fields and those named by Connection', async (t) => {
  const upstream = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: upstream.url } })
  const res = await rawRequest(proxy.port, 'GET /hop HTTP/1.1\r\nHost: app.example\r\nConnection: keep-alive, X-Foo\r\nX-Foo: secret\r\nX-Bar: kept\r\n' +
    'Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nUpgrade: h2c\r\nTE: gzip\r\nTrailer: X-T\r\nProxy-Authorization: Basic eA==\r\n\r\n')
  match(res, /^HTTP\/1\.1 200 /)
  const h = upstream.received[0].headers
  for (const name of ['x-foo', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer', 'proxy-authorization']) strictEqual(h[name], undefined, name)
  strictEqual(h['x-bar'], 'kept')
  strictEqual(h.host, 'app.example')
})

test('proxy should drop hop-by-hop response fields', async (t) => {
  const upstream = await createTcpUpstream(t, (socket) => {
    socket.once('data', () => {
      socket.write('HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nUpgrade: h2c\r\n' +
        'Trailer: X-T\r\nProxy-Connection: keep-alive\r\nX-End: kept\r\nContent-Length: 2\r\n\r\nok')
    })
  })
  const proxy = await startProxy(t, { primary: { url: upstream.url } })
  const res = await request(`${proxy.url}/`)
  strictEqual(await res.body.text(), 'ok')
  for (const name of ['x-hop', 'proxy-authenticate', 'upgrade', 'trailer', 'proxy-connection']) strictEqual(res.headers[name], undefined, name)
  strictEqual(res.headers['x-end'], 'kept')
})

test('proxy should append X-Forwarded-For, -Proto and -Host to what the client sent', async (t) => {
  const upstream = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: upstream.url } })
  await (await request(`${proxy.url}/a`, { headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'edge.example', host: 'app.example' } })).body.dump()
  await (await request(`${proxy.url}/b`)).body.dump()
  const [spoofed, plain] = upstream.received
  strictEqual(spoofed.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1')
  strictEqual(spoofed.headers['x-forwarded-proto'], 'https, http')
  strictEqual(spoofed.headers['x-forwarded-host'], 'edge.example, app.example')
  strictEqual(plain.headers['x-forwarded-for'], '127.0.0.1')
  strictEqual(plain.headers['x-forwarded-proto'], 'http')
  strictEqual(plain.headers['x-forwarded-host'], new URL(proxy.url).host)
})

test('proxy should rewrite Host when primary.host is set, add Via when asked, and keep or generate x-request-id', async (t) => {
  const upstream = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: upstream.url, host: 'orders.internal' }, proxy: { via: true } })
  const res = await request(`${proxy.url}/a`, { headers: { host: 'app.example', 'x-request-id': 'abc-123' } })
  strictEqual(res.headers.via, '1.1 paritygate')
  await res.body.dump()
  await (await request(`${proxy.url}/b`)).body.dump()
  const [a, b] = upstream.received
  strictEqual(a.headers.host, 'orders.internal')
  strictEqual(a.headers['x-forwarded-host'], 'app.example')
  strictEqual(a.headers['x-request-id'], 'abc-123')
  strictEqual(a.headers.via, '1.1 paritygate')
  match(String(b.headers['x-request-id']), /^[0-9a-f-]{36}$/)
})

test('proxy should pass response headers of 64 KiB and request headers of 60 KiB', async (t) => {
  const big = 'v'.repeat(20 * 1024)
  const upstream = await createRecordingUpstream(t, (_r, res) => {
    res.writeHead(200, { 'x-a': big, 'x-b': big, 'x-c': big.slice(0, 20 * 1024 - 200), 'content-length': '2' }).end('ok')
  }, { maxHeaderSize: 128 * 1024 })
  const proxy = await startProxy(t, { primary: { url: upstream.url } })
  const client = new Agent({ maxHeaderSize: 128 * 1024 })
  t.after(() => client.close())
  const res = await request(`${proxy.url}/`, { dispatcher: client, headers: { 'x-req': 'r'.repeat(60 * 1024) } })
  strictEqual(res.statusCode, 200)
  strictEqual(res.headers['x-a'], big)
  strictEqual(await res.body.text(), 'ok')
  strictEqual(String(upstream.received[0].headers['x-req']).length, 60 * 1024)
})

test('proxy should answer Expect: 100-continue once and send the body without the Expect field', async (t) => {
  const upstream = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: upstream.url } })
  const res = await rawRequest(proxy.port, 'POST /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello')
  strictEqual(res.match(/100 Continue/g)?.length, 1)
  match(res, /HTTP\/1\.1 200 OK/)
  strictEqual(upstream.received[0].headers.expect, undefined)
  strictEqual(upstream.received[0].body.toString(), 'hello')
})

test('proxy should survive odd header names and values without reflecting them raw', async (t) => {
  const upstream = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: upstream.url } })
  const res = await rawRequest(proxy.port, Buffer.concat([
    Buffer.from('GET /odd HTTP/1.1\r\nHost: a\r\n__proto__: polluted\r\nconstructor: x\r\nX-Latin: caf'),
    Buffer.from([0xe9]),
    Buffer.from('\r\nConnection: close\r\n\r\n')
  ]))
  match(res, /^HTTP\/1\.1 200 /)
  const raw = upstream.received[0].rawHeaders
  ok(raw.includes('__proto__'), 'the __proto__ header is forwarded as data')
  strictEqual(Buffer.from(raw[raw.indexOf('X-Latin') + 1], 'latin1').at(-1), 0xe9)
  strictEqual(({} as Record<string, unknown>).polluted, undefined)
  const crlf = await rawRequest(proxy.port, 'GET / HTTP/1.1\r\nHost: a\r\nX-Bad: a\rb\r\n\r\n')
  match(crlf, /^HTTP\/1\.1 400 /)
  deepStrictEqual(upstream.received.length, 1)
})

test('proxy should drop forwarding fields the client marked hop-by-hop, then add its own', async (t) => {
  const upstream = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: upstream.url } })
  const res = await rawRequest(proxy.port, 'GET /x HTTP/1.1\r\nHost: a\r\nConnection: close, X-Forwarded-For, x-request-id\r\nX-Forwarded-For: 6.6.6.6\r\nX-Request-Id: dropped\r\n\r\n')
  match(res, /^HTTP\/1\.1 200 /)
  strictEqual(upstream.received[0].headers['x-forwarded-for'], '127.0.0.1')
  ok(upstream.received[0].headers['x-request-id'] !== 'dropped', 'a generated id replaces the hop-by-hop one')
})
