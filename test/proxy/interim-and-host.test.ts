/* Issue 11.7: an unsolicited 100 Continue is passed over (RFC 9110 §15.2); an HTTP/1.0 request without Host reaches the primary with this listener's authority. */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { type Socket } from 'node:net'
import { test } from 'node:test'
import { request } from 'undici'
import { stripContinue } from '../../src/connector.ts'
import { createFaultUpstream, faults, rawClient, readAll } from '../helpers/faults.ts'
import { startProxy } from '../helpers/proxy.ts'
import { createRecordingUpstream, createUpstream } from '../helpers/upstream.ts'
import { eventually, metric, metricOrZero } from '../mirror/helpers.ts'

test('proxy should pass over an unsolicited 100 Continue from the primary and relay its final answer', async (t) => {
  for (const status of [100, 102, 103]) {
    const primary = await createFaultUpstream(t, faults.interim(status))
    const proxy = await startProxy(t, { primary: { url: primary.url } })
    for (let i = 0; i < 3; i++) { // and again on the same pooled connection
      const res = await request(`${proxy.url}/x${i}`)
      deepStrictEqual([status, res.statusCode, await res.body.text()], [status, 200, '{"ok":true}'])
    }
  }
})

test('the mirror should pass over an unsolicited 100 Continue from the candidate: compared, not a candidate error', async (t) => {
  const primary = await createUpstream(t, (_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}') })
  const candidate = await createFaultUpstream(t, faults.interim(100))
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate.url }, mirror: { percent: 100 } })
  for (let i = 0; i < 3; i++) await (await request(`${proxy.url}/y`)).body.dump()
  ok(await eventually(async () => await metric(proxy, 'paritygate_comparisons_total{route="GET /y",outcome="match"}') === 3, 5000))
  strictEqual(await metricOrZero(proxy, 'paritygate_candidate_errors_total{reason="reset"}'), 0)
})

test('stripContinue should drop 100 Continue answers split anywhere, and nothing else', () => {
  const socket = {} as Socket
  const final = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'
  const stream = `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\nx-a: b\r\n\r\n${final}`
  for (let cut = 1; cut < stream.length; cut++) {
    const s = {} as Socket & Record<symbol, unknown>
    const out = Buffer.concat([stripContinue(s, Buffer.from(stream.slice(0, cut), 'latin1')), stripContinue(s, Buffer.from(stream.slice(cut), 'latin1'))])
    // once the final answer has begun, later bytes are not looked at (the socket stops calling it)
    ok(final.endsWith(out.toString('latin1').slice(-2)), `cut ${cut}`)
  }
  strictEqual(stripContinue(socket, Buffer.from(final)).toString(), final)
  strictEqual(stripContinue({} as Socket, Buffer.from('HTTP/1.1 1000 weird\r\n\r\n')).toString(), 'HTTP/1.1 1000 weird\r\n\r\n')
})

test('proxy should give an HTTP/1.0 request without Host the authority the client reached, never the primary\'s own address', async (t) => {
  const primary = await createRecordingUpstream(t)
  const candidate = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: primary.url }, candidate: { url: candidate.url }, mirror: { percent: 100 } })
  const s = await rawClient(t, proxy.port)
  s.write('GET /old HTTP/1.0\r\n\r\n')
  ok((await readAll(s, 3000)).startsWith('HTTP/1.1 200 '))
  strictEqual(primary.received[0].headers.host, `127.0.0.1:${proxy.port}`)
  ok(await eventually(() => candidate.received.length === 1))
  strictEqual(candidate.received[0].headers.host, `127.0.0.1:${proxy.port}`)
  strictEqual(primary.received[0].headers['x-forwarded-host'], undefined)
})
