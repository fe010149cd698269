/* The fidelity matrix: through the proxy, the primary receives and the client gets what a direct call gives. */
import { deepStrictEqual, strictEqual } from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import { request } from 'undici'
import { createRecordingUpstream, type Received } from '../helpers/upstream.ts'
import { startProxy } from '../helpers/proxy.ts'

/** Headers that legitimately differ between a direct call and a proxied one. */
const ADDED_BY_PROXY = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id', 'host'])

function comparable (r: Received) {
  const headers: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(r.headers)) if (!ADDED_BY_PROXY.has(k)) headers[k] = v
  return { method: r.method, url: r.url, headers, body: createHash('sha256').update(r.body).digest('hex') }
}

const BODIES: Record<string, { body: Buffer | undefined, type?: string }> = {
  none: { body: undefined },
  'json-bigint': { body: Buffer.from('{"id":9007199254740993,"n":1.0,"s":"\\u00e9"}'), type: 'application/json' },
  'json-proto': { body: Buffer.from('{"__proto__":{"admin":true},"constructor":{"prototype":1}}'), type: 'application/json' },
  'json-dupkeys-odd-space': { body: Buffer.from('{ "a":1 ,\n\t"a" :2 }'), type: 'application/json' },
  'invalid-utf8': { body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), type: 'application/json' },
  form: { body: Buffer.from('a=1&b=%20x&b=2'), type: 'application/x-www-form-urlencoded' },
  binary: { body: Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) & 255)), type: 'application/octet-stream' }
}
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

test('proxy should deliver method, path, query, headers and body byte for byte, and return the response unchanged', async (t) => {
  const upstream = await createRecordingUpstream(t, (r, res) => {
    const body = JSON.stringify({ m: r.method, u: r.url, n: r.body.length })
    res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; HttpOnly'])
    res.setHeader('x-custom', ['one', 'two'])
    res.writeHead(r.method === 'POST' ? 201 : 200, 'Custom Reason', { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), etag: '"v1"' })
    res.end(body)
  })
  const proxy = await startProxy(t, { primary: { url: upstream.url } })

  for (const method of METHODS) {
    for (const [name, spec] of Object.entries(BODIES)) {
      if (method === 'GET' && spec.body !== undefined) continue
      const path = `/items/${name}?q=a%20b&q=2&x=${encodeURIComponent('é/?')}`
      const headers: Record<string, string | string[]> = { 'x-trace': 'abc', accept: '*/*', cookie: 'sid=1', 'x-multi': ['1', '2'], 'x-request-id': `rid-${method}-${name}` }
      if (spec.type !== undefined) headers['content-type'] = spec.type
      const direct = await request(`${upstream.url}${path}`, { method: method as 'GET', headers, body: spec.body })
      const directBody = await direct.body.arrayBuffer()
      const via = await request(`${proxy.url}${path}`, { method: method as 'GET', headers, body: spec.body })
      const viaBody = await via.body.arrayBuffer()

      const [a, b] = upstream.received.slice(-2)
      deepStrictEqual(comparable(b), comparable(a), `${method} ${name}: what the primary received`)
      strictEqual(b.headers['x-request-id'], `rid-${method}-${name}`)
      strictEqual(b.headers.host, new URL(proxy.url).host, 'Host is the one the client sent')
      strictEqual(via.statusCode, direct.statusCode)
      deepStrictEqual(Buffer.from(viaBody), Buffer.from(directBody), `${method} ${name}: response body`)
      const strip = (h: Record<string, unknown>) => { const { date: _d, connection: _c, 'keep-alive': _k, ...rest } = h; return rest }
      deepStrictEqual(strip(via.headers), strip(direct.headers), `${method} ${name}: response headers`)
    }
  }
})

test('proxy should pass HEAD, 204 and 304 answers without a body and without hanging', async (t) => {
  const upstream = await createRecordingUpstream(t, (r, res) => {
    if (r.url === '/204') res.writeHead(204, { 'x-a': '1' }).end()
    else if (r.url === '/304') res.writeHead(304, { etag: '"x"' }).end()
    else res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '11' }).end(r.method === 'HEAD' ? undefined : 'hello world')
  })
  const proxy = await startProxy(t, { primary: { url: upstream.url } })
  const head = await request(`${proxy.url}/x`, { method: 'HEAD' })
  strictEqual(head.statusCode, 200)
  strictEqual(head.headers['content-length'], '11')
  strictEqual((await head.body.arrayBuffer()).byteLength, 0)
  const r204 = await request(`${proxy.url}/204`)
  strictEqual(r204.statusCode, 204)
  strictEqual(r204.headers['x-a'], '1')
  strictEqual(await r204.body.text(), '')
  const r304 = await request(`${proxy.url}/304`, { headers: { 'if-none-match': '"x"' } })
  strictEqual(r304.statusCode, 304)
  strictEqual(upstream.received[2].headers['if-none-match'], '"x"')
  strictEqual(await r304.body.text(), '')
})

test('proxy should pass compressed responses through untouched', async (t) => {
  const { gzipSync } = await import('node:zlib')
  const zipped = gzipSync(JSON.stringify({ a: 1, pad: 'x'.repeat(5000) }))
  const upstream = await createRecordingUpstream(t, (_r, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': zipped.length, vary: 'accept-encoding' }).end(zipped)
  })
  const proxy = await startProxy(t, { primary: { url: upstream.url } })
  const res = await request(`${proxy.url}/z`, { headers: { 'accept-encoding': 'gzip, br' } })
  strictEqual(res.headers['content-encoding'], 'gzip')
  strictEqual(upstream.received[0].headers['accept-encoding'], 'gzip, br')
  deepStrictEqual(Buffer.from(await res.body.arrayBuffer()), zipped)
})
