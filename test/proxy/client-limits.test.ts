/* Issue 11.2: the data port times request heads, caps connections and header fields, counts every refusal, and never starves the admin port. */
import { ok, strictEqual } from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { spawnCli } from '../helpers/cli.ts'
import { closedWithin, rawClient, readAll } from '../helpers/faults.ts'
import { startProxy } from '../helpers/proxy.ts'
import { createRecordingUpstream } from '../helpers/upstream.ts'
import { eventually, metric } from '../mirror/helpers.ts'

test('proxy should answer 408 and close a slowloris that sends one header line at a time past proxy.headersTimeoutMs', async (t) => {
  const primary = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: primary.url }, proxy: { headersTimeoutMs: 400 } })
  const s = await rawClient(t, proxy.port)
  s.write('GET /slow HTTP/1.1\r\nHost: a\r\n')
  const drip = setInterval(() => { if (!s.destroyed) s.write(`x-drip-${Date.now()}: 1\r\n`) }, 100)
  t.after(() => clearInterval(drip))
  const started = Date.now()
  const answer = await readAll(s, 5000)
  clearInterval(drip)
  ok(answer.startsWith('HTTP/1.1 408 '), JSON.stringify(answer))
  ok(Date.now() - started < 3000, `closed after ${Date.now() - started} ms`)
  strictEqual(primary.received.length, 0)
  strictEqual(await metric(proxy, 'paritygate_client_rejections_total{reason="headers_timeout"}'), 1)
})

test('proxy should close connections that never send a byte at proxy.headersTimeoutMs', async (t) => {
  const primary = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: primary.url }, proxy: { headersTimeoutMs: 300 } })
  const idle = await Promise.all(Array.from({ length: 20 }, async () => rawClient(t, proxy.port)))
  for (const s of idle) s.resume()
  const closed = await Promise.all(idle.map(async (s) => closedWithin(s, 4000)))
  strictEqual(closed.filter(Boolean).length, 20)
})

test('proxy should refuse connections over proxy.maxConnections, count them, and keep serving the rest and the admin port', async (t) => {
  const primary = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: primary.url }, proxy: { maxConnections: 5 } })
  const held = await Promise.all(Array.from({ length: 5 }, async () => rawClient(t, proxy.port)))
  await sleep(50)
  const extra = await Promise.all(Array.from({ length: 5 }, async () => rawClient(t, proxy.port)))
  for (const s of extra) s.resume()
  const refused = await Promise.all(extra.map(async (s) => closedWithin(s, 2000)))
  strictEqual(refused.filter(Boolean).length, 5, 'every connection over the cap is closed at once')
  strictEqual(await metric(proxy, 'paritygate_client_rejections_total{reason="max_connections"}'), 5)
  strictEqual((await request(`${proxy.admin}/healthz/live`)).statusCode, 200)
  for (const s of held) s.destroy()
  ok(await eventually(async () => (await request(`${proxy.url}/after`).then(async (r) => { await r.body.dump(); return r.statusCode }).catch(() => 0)) === 200, 3000))
})

test('proxy should answer 431 to more header fields than proxy.maxHeaderCount instead of forwarding a cut request', async (t) => {
  const primary = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: primary.url }, proxy: { maxHeaderCount: 50 } })
  const fields = Array.from({ length: 300 }, (_, i) => `x-f${i}: ${i}\r\n`).join('')
  const s = await rawClient(t, proxy.port)
  s.write(`GET /many HTTP/1.1\r\nHost: a\r\n${fields}\r\n`)
  const answer = await readAll(s, 3000)
  ok(answer.startsWith('HTTP/1.1 431 '), JSON.stringify(answer.slice(0, 80)))
  ok(answer.includes('PARITYGATE_ERR_TOO_MANY_HEADERS'))
  strictEqual(primary.received.length, 0)
  strictEqual(await metric(proxy, 'paritygate_client_rejections_total{reason="too_many_headers"}'), 1)
  // 48 fields (plus Host and Connection) pass untouched.
  const fine = Array.from({ length: 48 }, (_, i) => `x-f${i}: ${i}\r\n`).join('')
  const s2 = await rawClient(t, proxy.port)
  s2.write(`GET /fine HTTP/1.1\r\nHost: a\r\nConnection: close\r\n${fine}\r\n`)
  ok((await readAll(s2, 3000)).startsWith('HTTP/1.1 200 '))
  strictEqual(Object.keys(primary.received[0].headers).filter((h) => /^x-f\d/.test(h)).length, 48)
})

async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  return port
}

test('under a file-descriptor limit, a flood of idle connections should be refused on the data port while /healthz/live and /metrics still answer', async (t) => {
  const primary = await createRecordingUpstream(t)
  const [listen, admin] = [await freePort(), await freePort()]
  // The command as a user would run it under `ulimit -n 512`.
  const child = spawnCli(['--primary', primary.url, '--listen', `127.0.0.1:${listen}`, '--admin', `127.0.0.1:${admin}`], {}, 512)
  t.after(() => child.kill('SIGKILL'))
  ok(await eventually(async () => (await request(`http://127.0.0.1:${admin}/healthz/live`).catch(() => null))?.statusCode === 200, 15_000), 'paritygate started')
  const flood = []
  for (let i = 0; i < 700; i++) {
    const s = await rawClient(t, listen).catch(() => null)
    if (s !== null) { s.resume(); flood.push(s) }
  }
  const live = await request(`http://127.0.0.1:${admin}/healthz/live`)
  strictEqual(live.statusCode, 200)
  await live.body.dump()
  const text = await (await request(`http://127.0.0.1:${admin}/metrics`)).body.text()
  const refused = Number(/paritygate_client_rejections_total\{reason="max_connections"\} (\d+)/.exec(text)?.[1])
  ok(refused > 0, `refusals counted: ${refused}`)
  for (const s of flood) s.destroy()
})
