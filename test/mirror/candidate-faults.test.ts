/* Whatever the candidate does, users get exactly what the primary sent, at the primary's pace. */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { gzipSync } from 'node:zlib'
import { test, type TestContext } from 'node:test'
import { performance } from 'node:perf_hooks'
import { request } from 'undici'
import { startProxy } from '../helpers/proxy.ts'
import { createTcpUpstream, createUpstream } from '../helpers/upstream.ts'
import { eventually, jsonPrimary, metric, metricOrZero } from './helpers.ts'
import { type Socket } from 'node:net'

const N = 20

async function closedPortUrl (t: TestContext): Promise<string> {
  const tcp = await createTcpUpstream(t)
  await new Promise((resolve) => tcp.server.close(resolve))
  return tcp.url
}

/** 16 KiB of body, allocated once: the endless candidate's writes cost the test process little CPU. */
const CHUNK = Buffer.alloc(16 * 1024, 'x')

/**
 * The fault-injecting candidates (down, silent, slow, reset, garbage, endless, drip), each as a raw TCP peer.
 * `mayTimeOut`: a body read against the deadline. On a machine whose cores are busy (other test
 * files), the exchange may not read past candidate.maxResponseBytes before candidate.timeoutMs, the
 * I/O thread least of all (it runs at idle priority: the live path first); then it ends as
 * `timeout`, still an error, still counted once. On the live thread at least one is cut off as `too_large`.
 */
const FAULTS: Record<string, { candidate: (t: TestContext) => Promise<string>, reason: string, mayTimeOut?: boolean }> = {
  'is down': { candidate: closedPortUrl, reason: 'connect' },
  'accepts and never answers': { candidate: async (t) => (await createTcpUpstream(t)).url, reason: 'timeout' },
  'answers after 5 s': {
    candidate: async (t) => createUpstream(t, (_req, res) => { const timer = setTimeout(() => res.end('{}'), 5000); res.on('close', () => clearTimeout(timer)) }),
    reason: 'timeout'
  },
  'sends half a body then a reset': {
    candidate: async (t) => (await createTcpUpstream(t, (s: Socket) => s.once('data', () => { s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"id":'); setTimeout(() => s.resetAndDestroy(), 5) }))).url,
    reason: 'reset'
  },
  'sends garbage bytes': { candidate: async (t) => (await createTcpUpstream(t, (s: Socket) => s.once('data', () => s.end('\x00\x01garbage\r\n\r\n')))).url, reason: 'parse' },
  'sends an endless chunked body': {
    candidate: async (t) => createUpstream(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      const timer = setInterval(() => res.write(CHUNK), 1)
      res.on('close', () => clearInterval(timer))
    }),
    reason: 'too_large',
    mayTimeOut: true
  },
  'drips a body too slowly for the deadline but fast enough for an idle timeout': {
    candidate: async (t) => createUpstream(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      const timer = setInterval(() => res.write(' '), 50)
      res.on('close', () => clearInterval(timer))
    }),
    reason: 'timeout'
  }
}

// Each fault twice: on the live thread, and offloaded to the I/O thread (every answer counts as large there).
for (const [name, fault, offloadFromBytes] of Object.entries(FAULTS).flatMap(([n, f]) => [[n, f, 0], [`${n} (offloaded)`, f, 1]] as const)) {
  test(`mirror should leave users unaffected when the candidate ${name}`, async (t) => {
    const primary = await jsonPrimary(t)
    const candidate = await fault.candidate(t)
    const proxy = await startProxy(t, {
      primary: { url: primary.url },
      candidate: { url: candidate, timeoutMs: 400, maxResponseBytes: 256 * 1024, breaker: { failures: 1000 } },
      mirror: { percent: 100, offloadFromBytes }
    })
    const direct = await request(`${primary.url}/orders/1`)
    const directBody = await direct.body.text()
    let slowest = 0
    for (let i = 0; i < N; i++) {
      const t0 = performance.now()
      const res = await request(`${proxy.url}/orders/1`)
      strictEqual(res.statusCode, direct.statusCode)
      strictEqual(await res.body.text(), directBody)
      strictEqual(res.headers['content-type'], direct.headers['content-type'])
      slowest = Math.max(slowest, performance.now() - t0)
      // The first answer teaches the route's size; the second starts the I/O thread; once it runs, the rest go there.
      if (offloadFromBytes > 0 && i === 1) ok(await eventually(() => proxy.app.engine?.ioReady === true, 10_000), 'the I/O thread runs')
    }
    ok(slowest < 300, `no live request waited on the candidate (slowest ${slowest.toFixed(1)} ms, candidate deadline 400 ms)`)
    const reasons = fault.mayTimeOut === true ? [fault.reason, 'timeout'] : [fault.reason]
    const counted = async (): Promise<number> => {
      let sum = 0
      for (const reason of reasons) sum += await metricOrZero(proxy, `paritygate_candidate_errors_total{reason="${reason}"}`)
      return sum
    }
    ok(await eventually(async () => await counted() === N, 5000), `${N} candidate errors with reason ${reasons.join(' or ')}: ${await counted()}`)
    if (fault.mayTimeOut === true && offloadFromBytes === 0) ok(await metric(proxy, `paritygate_candidate_errors_total{reason="${fault.reason}"}`) >= 1)
    strictEqual(await metric(proxy, 'paritygate_requests_total{target="candidate",route="GET /orders/:id",method="GET",status="error"}'), N)
    strictEqual(await metric(proxy, 'paritygate_mirror_inflight'), 0)
    strictEqual(await metric(proxy, 'paritygate_requests_total{target="primary",route="GET /orders/:id",method="GET",status="2xx"}'), N)
    strictEqual(await metricOrZero(proxy, 'paritygate_mirror_offloaded_total{route="GET /orders/:id"}'), offloadFromBytes === 0 ? 0 : N - 2)
    ok(await eventually(() => proxy.app.proxyState.mirror?.budget.used === 0), 'every reserved byte was given back')
  })
}

test('mirror should count a candidate answering 500 or a gzip bomb as answers, and leave users unaffected', async (t) => {
  const primary = await jsonPrimary(t)
  const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024))
  const candidate = await createUpstream(t, (req, res) => {
    if (req.url === '/bomb') res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': bomb.length }).end(bomb)
    else res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"boom"}')
  })
  const proxy = await startProxy(t, { primary: { url: primary.url }, candidate: { url: candidate }, mirror: { percent: 100 } })
  for (const path of ['/fail', '/bomb']) {
    const res = await request(`${proxy.url}${path}`)
    strictEqual(res.statusCode, 200)
    deepStrictEqual(await res.body.json(), { id: 1, name: 'primary' })
  }
  ok(await eventually(async () => await metric(proxy, 'paritygate_requests_total{target="candidate",route="GET /fail",method="GET",status="5xx"}') === 1))
  ok(await eventually(async () => await metric(proxy, 'paritygate_requests_total{target="candidate",route="GET /bomb",method="GET",status="2xx"}') === 1))
  ok(process.memoryUsage().rss < 1024 * 1024 * 1024)
})
