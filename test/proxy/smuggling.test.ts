/* Smuggling-shaped requests get 400 and are never forwarded; request targets never reach another host. */
import { match, strictEqual } from 'node:assert/strict'
import { test } from 'node:test'
import { startProxy } from '../helpers/proxy.ts'
import { rawRequest } from '../helpers/raw.ts'
import { createRecordingUpstream, createTcpUpstream } from '../helpers/upstream.ts'

const SMUGGLING: Record<string, string> = {
  'CL.TE': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG',
  'TE.CL': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n',
  'two Content-Lengths': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde',
  'obs-fold in Transfer-Encoding': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n',
  'leading space before Transfer-Encoding': 'POST / HTTP/1.1\r\nHost: a\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  xchunked: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n',
  'chunked, identity': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
  'bare LF': 'GET / HTTP/1.1\nHost: a\n\n',
  'CR in a header value': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n',
  'backslash target': 'GET \\\\evil HTTP/1.1\r\nHost: a\r\n\r\n'
}

test('proxy should answer 400 to smuggling-shaped requests and forward none of them', async (t) => {
  const upstream = await createTcpUpstream(t)
  const proxy = await startProxy(t, { primary: { url: upstream.url } })
  for (const [name, bytes] of Object.entries(SMUGGLING)) {
    const res = await rawRequest(proxy.port, bytes, 300)
    match(res, /^HTTP\/1\.1 400 /, name)
    match(res, /connection: close/i, `${name}: the connection is closed`)
  }
  strictEqual(upstream.connections(), 0, 'the primary saw no connection at all')
})

test('proxy should refuse absolute-form targets with 400 and never contact the host they name', async (t) => {
  const upstream = await createRecordingUpstream(t)
  const evil = await createTcpUpstream(t)
  const proxy = await startProxy(t, { primary: { url: upstream.url } })
  for (const target of [`http://127.0.0.1:${evil.port}/`, `http://127.0.0.1:${evil.port}/latest/meta-data`, `https://127.0.0.1:${evil.port}/x`]) {
    const res = await rawRequest(proxy.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${evil.port}\r\n\r\n`, 300)
    match(res, /^HTTP\/1\.1 400 /)
    match(res, /PARITYGATE_ERR_BAD_REQUEST_TARGET/)
  }
  const star = await rawRequest(proxy.port, 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n', 300)
  match(star, /^HTTP\/1\.1 400 /)
  const connect = await rawRequest(proxy.port, `CONNECT 127.0.0.1:${evil.port} HTTP/1.1\r\nHost: 127.0.0.1:${evil.port}\r\n\r\n`, 300)
  match(connect, /^HTTP\/1\.1 405 /)
  for (const path of [`//127.0.0.1:${evil.port}/x`, `/http://127.0.0.1:${evil.port}/`, '/%2e%2e/etc/passwd', '/..%2f..%2f']) {
    const res = await rawRequest(proxy.port, `GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`, 300)
    match(res, /^HTTP\/1\.1 200 /, `${path} goes to the primary`)
  }
  strictEqual(upstream.received.length, 4)
  strictEqual(upstream.received[0].url, `//127.0.0.1:${evil.port}/x`)
  strictEqual(evil.connections(), 0, 'the named host saw no connection')
})

test('proxy should answer 501 to a WebSocket upgrade instead of forwarding it', async (t) => {
  const upstream = await createTcpUpstream(t)
  const proxy = await startProxy(t, { primary: { url: upstream.url } })
  const res = await rawRequest(proxy.port, 'GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n', 300)
  match(res, /^HTTP\/1\.1 501 /)
  match(res, /PARITYGATE_ERR_UPGRADE_UNSUPPORTED/)
  strictEqual(upstream.connections(), 0)
})

test('proxy should refuse HTTP/2 prior knowledge and h2c upgrades cleanly, forwarding nothing (T33)', async (t) => {
  const upstream = await createTcpUpstream(t)
  const proxy = await startProxy(t, { primary: { url: upstream.url } })
  match(await rawRequest(proxy.port, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 300), /^HTTP\/1\.1 400 /)
  match(await rawRequest(proxy.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n', 300), /^HTTP\/1\.1 501 /)
  strictEqual(upstream.connections(), 0)
})
