/* Bodies are streamed both ways: large uploads byte-exact, slow bodies never held back, aborts propagate. */
import { once } from 'node:events'
import { createHash, randomBytes } from 'node:crypto'
import { ok, strictEqual } from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { startProxy } from '../helpers/proxy.ts'
import { createUpstream } from '../helpers/upstream.ts'

test('proxy should stream a 50 MiB upload to the primary byte for byte', async (t) => {
  let digest = ''
  let size = 0
  const upstream = await createUpstream(t, (req, res) => {
    const hash = createHash('sha256')
    req.on('data', (c: Buffer) => { hash.update(c); size += c.length })
    req.on('end', () => { digest = hash.digest('hex'); res.end('ok') })
  })
  const proxy = await startProxy(t, { primary: { url: upstream } })
  const chunk = randomBytes(1024 * 1024)
  const expected = createHash('sha256')
  for (let i = 0; i < 50; i++) expected.update(chunk)
  const body = Readable.from((function * () { for (let i = 0; i < 50; i++) yield chunk })())
  const res = await request(`${proxy.url}/upload`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream', 'content-length': String(50 * 1024 * 1024) } })
  strictEqual(res.statusCode, 200)
  strictEqual(await res.body.text(), 'ok')
  strictEqual(size, 50 * 1024 * 1024)
  strictEqual(digest, expected.digest('hex'))
})

test('proxy should forward the first chunk of a slow response before the primary sends the last', async (t) => {
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  const upstream = await createUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write('first;')
    released.then(() => res.end('last'), () => {})
  })
  const proxy = await startProxy(t, { primary: { url: upstream } })
  const res = await request(`${proxy.url}/slow`)
  strictEqual(res.statusCode, 200)
  const it = res.body[Symbol.asyncIterator]()
  const first = await it.next()
  strictEqual(Buffer.from(first.value).toString(), 'first;')
  release()
  let rest = ''
  for (let r = await it.next(); r.done !== true; r = await it.next()) rest += Buffer.from(r.value).toString()
  strictEqual(rest, 'last')
})

test('proxy should forward a large known-length response while it streams', async (t) => {
  const part = Buffer.alloc(256 * 1024, 'a')
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  const upstream = await createUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-length': String(part.length * 2) })
    res.write(part)
    released.then(() => res.end(part), () => {})
  })
  const proxy = await startProxy(t, { primary: { url: upstream } })
  const res = await request(`${proxy.url}/big`)
  let received = 0
  for await (const c of res.body) {
    received += c.length
    if (received >= part.length) release()
  }
  strictEqual(received, part.length * 2)
})

test('proxy should deliver the first chunk of a slow chunked upload to the primary before the client finishes', async (t) => {
  let gotFirst!: () => void
  const firstSeen = new Promise<void>((resolve) => { gotFirst = resolve })
  let total = ''
  const upstream = await createUpstream(t, (req, res) => {
    req.on('data', (c: Buffer) => { total += c.toString(); gotFirst() })
    req.on('end', () => res.end(total))
  })
  const proxy = await startProxy(t, { primary: { url: upstream } })
  const req = httpRequest(`${proxy.url}/drip`, { method: 'POST' })
  req.write('one;')
  await firstSeen
  strictEqual(total, 'one;')
  req.end('two')
  const [res] = await once(req, 'response')
  let text = ''
  for await (const c of res) text += c
  strictEqual(text, 'one;two')
})

test('proxy should abort the primary exchange when the client leaves mid-response, and leak no sockets', async (t) => {
  let open = 0
  let closedEarly = 0
  const upstream = await createUpstream(t, (req, res) => {
    open++
    res.writeHead(200)
    res.write('x'.repeat(1024))
    const timer = setInterval(() => res.write('y'), 5)
    res.on('close', () => { clearInterval(timer); open--; if (!res.writableFinished) closedEarly++ })
    req.resume()
  })
  const proxy = await startProxy(t, { primary: { url: upstream } })
  for (let i = 0; i < 100; i++) {
    const req = httpRequest(`${proxy.url}/stream/${i}`)
    req.end()
    const [res] = await once(req, 'response')
    await once(res, 'data')
    req.destroy()
  }
  const openNow = () => open
  for (let i = 0; i < 100 && openNow() > 0; i++) await sleep(20)
  strictEqual(open, 0, 'every upstream response was aborted')
  strictEqual(closedEarly, 100)
  strictEqual(proxy.app.proxyState.inflight, 0)
  ok(proxy.app.proxy.listenerCount('request') === 1)
})

test('proxy should abort the primary request when the client leaves mid-upload', async (t) => {
  let aborted = 0
  let seen!: () => void
  const started = new Promise<void>((resolve) => { seen = resolve })
  const upstream = await createUpstream(t, (req, res) => {
    req.on('data', () => seen())
    req.on('aborted', () => aborted++)
    req.on('error', () => {})
    req.on('end', () => res.end('done'))
  })
  const proxy = await startProxy(t, { primary: { url: upstream } })
  const req = httpRequest(`${proxy.url}/up`, { method: 'POST', headers: { 'content-length': '1000000' } })
  req.on('error', () => {})
  req.write('x'.repeat(1000))
  await started
  req.destroy()
  const abortedNow = () => aborted
  for (let i = 0; i < 100 && abortedNow() === 0; i++) await sleep(10)
  strictEqual(aborted, 1)
  for (let i = 0; i < 100 && proxy.app.proxyState.inflight > 0; i++) await sleep(10)
  strictEqual(proxy.app.proxyState.inflight, 0)
})
