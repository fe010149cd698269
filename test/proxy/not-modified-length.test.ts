/* A 304 (or 204) that announces the representation's Content-Length (RFC 9110 §8.6) is a complete answer, on both sides. */
import { ok, strictEqual } from 'node:assert/strict'
import { once } from 'node:events'
import { type Socket } from 'node:net'
import { test } from 'node:test'
import { startProxy } from '../helpers/proxy.ts'
import { createFaultUpstream, rawClient } from '../helpers/faults.ts'
import { eventually, metric, metricOrZero } from '../mirror/helpers.ts'

const NOT_MODIFIED = 'HTTP/1.1 304 Not Modified\r\netag: "v1"\r\ncontent-length: 5000\r\n\r\n'

/** Answers every request on a connection with the 304 (one request per read, as these tests send them). */
function answerEach (socket: Socket): void {
  socket.write(NOT_MODIFIED)
  socket.on('data', () => socket.write(NOT_MODIFIED))
  socket.resume()
}

test('proxy should relay a 304 carrying Content-Length as a complete answer, and the mirror should compare it', async (t) => {
  const primary = await createFaultUpstream(t, answerEach)
  // the candidate's connection is kept: a 304's announced length is no body to wait for
  const candidate = await createFaultUpstream(t, answerEach)
  const proxy = await startProxy(t, { primary: { url: primary.url }, candidate: { url: candidate.url }, mirror: { percent: 100 } })
  // A raw client: undici (the tests' usual client) makes the same complaint about a 304's Content-Length.
  const s = await rawClient(t, proxy.port)
  for (let i = 0; i < 3; i++) {
    s.write('GET /cached HTTP/1.1\r\nHost: a\r\nIf-None-Match: "v1"\r\n\r\n')
    const [answer] = await once(s, 'data') as [Buffer]
    const text = answer.toString('latin1')
    ok(text.startsWith('HTTP/1.1 304 '), text)
    ok(/\r\netag: "v1"\r\n/i.test(text) && text.endsWith('\r\n\r\n'), text)
  }
  ok(!s.destroyed, 'the keep-alive connection served all three')
  ok(await eventually(async () => await metric(proxy, 'paritygate_comparisons_total{route="GET /cached",outcome="match"}') === 3, 5000))
  strictEqual(await metricOrZero(proxy, 'paritygate_requests_total{target="primary",route="GET /cached",method="GET",status="error"}'), 0)
  strictEqual(await metricOrZero(proxy, 'paritygate_candidate_errors_total{reason="reset"}'), 0)
  strictEqual(await metricOrZero(proxy, 'paritygate_candidate_errors_total{reason="timeout"}'), 0)
  strictEqual(candidate.connections(), 1, 'the three mirrors shared one keep-alive connection')
  strictEqual(proxy.logs.filter((l) => l.level === 40).length, 0, proxy.logText())
})
