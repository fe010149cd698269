/*
 * Counts that add up, under faults: every request gets exactly one mirror decision, every mirrored
 * request exactly one candidate exchange and one comparison outcome (README "## Metrics").
 */
import { ok, strictEqual } from 'node:assert/strict'
import { once } from 'node:events'
import { request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { test, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { validateConfig } from '../../src/config/index.ts'
import { startProxy, type StartedProxy } from '../helpers/proxy.ts'
import { createTcpUpstream, createUpstream, listenAgain } from '../helpers/upstream.ts'
import { eventually } from './helpers.ts'

const ROUTES = [{ name: 'upload', match: 'POST /upload', mirror: { methods: ['POST'] } }]
const BIG = 1024 * 1024

interface Series { name: string, labels: Record<string, string>, value: number }

/** Every paritygate_* series of the admin /metrics text. */
async function scrape (proxy: StartedProxy): Promise<Series[]> {
  const text = await (await request(`${proxy.admin}/metrics`)).body.text()
  const out: Series[] = []
  for (const line of text.split('\n')) {
    const m = /^(paritygate_\w+)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) continue
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2]
    out.push({ name: m[1], labels, value: Number(m[3]) })
  }
  return out
}

function sum (series: Series[], name: string, match: Record<string, string | string[]> = {}): number {
  let n = 0
  for (const s of series) {
    if (s.name !== name) continue
    if (Object.entries(match).every(([k, v]) => Array.isArray(v) ? v.includes(s.labels[k]) : s.labels[k] === v)) n += s.value
  }
  return n
}

/** The identity's terms, from one scrape. */
function terms (s: Series[]) {
  return {
    decisions: sum(s, 'paritygate_mirror_decisions_total'),
    mirrored: sum(s, 'paritygate_mirror_decisions_total', { decision: 'mirrored' }),
    compared: sum(s, 'paritygate_comparisons_total', { outcome: ['match', 'mismatch', 'noise'] }),
    error: sum(s, 'paritygate_comparisons_total', { outcome: 'error' }),
    skipped: sum(s, 'paritygate_comparisons_total', { outcome: 'skipped' }),
    candidateExchanges: sum(s, 'paritygate_requests_total', { target: 'candidate' }),
    candidateNoAnswer: sum(s, 'paritygate_requests_total', { target: 'candidate', status: 'error' }),
    candidateErrors: sum(s, 'paritygate_candidate_errors_total'),
    inflight: sum(s, 'paritygate_mirror_inflight'),
    queued: sum(s, 'paritygate_compare_queue')
  }
}

/** The primary: JSON for GET and HEAD, a 1 MB answer dripped for /big, uploads read whole. */
async function primaryUpstream (t: TestContext) {
  const state = { started: 0 }
  const url = await createUpstream(t, (req: IncomingMessage, res: ServerResponse) => {
    state.started++
    if (req.url?.startsWith('/big/') === true) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG })
      let sent = 0
      const timer = setInterval(() => {
        res.write(Buffer.alloc(16 * 1024, 0x61))
        sent += 16 * 1024
        if (sent >= BIG) { clearInterval(timer); res.end() }
      }, 2)
      res.on('close', () => clearInterval(timer))
      return
    }
    let n = 0
    req.on('data', (c: Buffer) => { n += c.length })
    req.on('end', () => {
      const body = JSON.stringify({ path: req.url, n })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
    })
  })
  return { url, state }
}

/**
 * The candidate, whose behaviour the test switches: healthy (the primary's answers), reset,
 * slow (never answers), down (not listening). /weird/ answers `HTTP/1.1 999` in raw bytes.
 */
async function faultyCandidate (t: TestContext) {
  const state = { mode: 'healthy' }
  let server: Server | null = null
  const url = await createUpstream(t, (req: IncomingMessage, res: ServerResponse) => {
    if (state.mode === 'reset') { req.socket.resetAndDestroy(); return }
    if (state.mode === 'slow') { req.resume(); return }
    if (req.url?.startsWith('/weird/') === true) {
      req.socket.end('HTTP/1.1 999 Weird\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}')
      return
    }
    let n = 0
    req.on('data', (c: Buffer) => { n += c.length })
    req.on('end', () => {
      if (req.url?.startsWith('/big/') === true) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG }).end(Buffer.alloc(BIG, 0x61))
        return
      }
      const body = JSON.stringify({ path: req.url, n })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
    })
  }, {}, (s) => { server = s })
  const port = Number(new URL(url).port)
  return {
    url,
    state,
    down: async () => {
      const s = server as unknown as Server
      const closed = new Promise((resolve) => s.close(resolve))
      s.closeAllConnections()
      await closed
    },
    up: async () => {
      const s = server as unknown as Server
      await listenAgain(s, port)
      strictEqual((s.address() as AddressInfo).port, port)
    }
  }
}

/** Drives the mix; returns how many requests were sent. */
async function driveMix (proxy: StartedProxy, primary: { state: { started: number } }, candidate: Awaited<ReturnType<typeof faultyCandidate>>): Promise<number> {
  let sent = 0
  const send = async (path: string, opts: { method?: 'GET' | 'HEAD' | 'POST', body?: Buffer } = {}): Promise<void> => {
    sent++
    try {
      const res = await request(`${proxy.url}${path}`, { method: opts.method ?? 'GET', body: opts.body })
      await res.body.dump()
    } catch {}
  }
  const chunked = async (size: number): Promise<void> => {
    sent++
    const req = httpRequest(`${proxy.url}/upload`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } })
    req.on('error', () => {})
    for (let i = 0; i < size; i += 1000) req.write(Buffer.alloc(Math.min(1000, size - i), 0x62))
    req.end()
    const [res] = await once(req, 'response') as [IncomingMessage]
    res.resume()
    await once(res, 'end')
  }
  /** An upload whose client goes away half-way, once the primary has seen it start. */
  const abortedUpload = async (head: string, part: string): Promise<void> => {
    sent++
    const before = primary.state.started
    const socket = connect(proxy.port, '127.0.0.1')
    socket.on('error', () => {})
    socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\n${head}\r\n\r\n${part}`)
    ok(await eventually(() => primary.state.started > before), 'the upload reached the primary')
    socket.destroy()
  }
  /** A download whose client goes away after its first bytes. */
  const abortedDownload = async (i: number): Promise<void> => {
    sent++
    const req = httpRequest(`${proxy.url}/big/${i}`)
    req.on('error', () => {})
    req.end()
    const [res] = await once(req, 'response') as [IncomingMessage]
    res.on('error', () => {})
    await once(res, 'data')
    req.destroy()
    await once(req, 'close')
  }

  // A healthy candidate, with every kind of request.
  for (let i = 0; i < 5; i++) await send(`/items/${i}`)
  for (let i = 0; i < 3; i++) await send(`/items/${i}`, { method: 'HEAD' })
  for (let i = 0; i < 2; i++) await send('/upload', { method: 'POST', body: Buffer.alloc(1000, 0x61) })
  for (let i = 0; i < 2; i++) await chunked(1000)
  for (let i = 0; i < 2; i++) await send('/upload', { method: 'POST', body: Buffer.alloc(10_000, 0x61) }) // over maxBodyBytes by Content-Length
  for (let i = 0; i < 2; i++) await chunked(10_000) // over maxBodyBytes while streaming
  for (let i = 0; i < 2; i++) await abortedUpload('Content-Length: 2000', 'x'.repeat(500))
  for (let i = 0; i < 2; i++) await abortedUpload('Transfer-Encoding: chunked', `1f4\r\n${'x'.repeat(500)}\r\n`)
  for (let i = 0; i < 2; i++) await abortedDownload(i)
  for (let i = 0; i < 3; i++) await send(`/weird/${i}`) // the candidate answers status 999
  // The candidate resets: the breaker opens (3 failures).
  candidate.state.mode = 'reset'
  for (let i = 0; i < 5; i++) await send(`/items/${i}`)
  await sleep(60) // cooldownMs 50
  // Slow past candidate.timeoutMs.
  candidate.state.mode = 'slow'
  for (let i = 0; i < 5; i++) { await send(`/items/${i}`); await sleep(20) }
  await sleep(60)
  // Down for a while.
  await candidate.down()
  for (let i = 0; i < 5; i++) { await send(`/items/${i}`); await sleep(20) }
  // Back.
  await candidate.up()
  candidate.state.mode = 'healthy'
  await sleep(60)
  for (let i = 0; i < 5; i++) await send(`/items/${i}`)
  await Promise.all([1, 2, 3, 4, 5].map(async (i) => send(`/items/${i}`, { method: i % 2 === 0 ? 'HEAD' : 'GET' })))
  return sent
}

for (const workers of [0, 1]) {
  test(`counts should add up under faults (compare.workers ${workers}): one decision per request, mirrored = compared + error + skipped`, async (t) => {
    const primary = await primaryUpstream(t)
    const candidate = await faultyCandidate(t)
    const proxy = await startProxy(t, {
      primary: { url: primary.url },
      candidate: { url: candidate.url, timeoutMs: 300, maxResponseBytes: 2 * BIG, breaker: { failures: 3, cooldownMs: 50 } },
      mirror: { percent: 100, maxBodyBytes: 4096, offloadFromBytes: 256 * 1024 },
      compare: { workers },
      routes: ROUTES
    })
    const sent = await driveMix(proxy, primary, candidate)
    let last = terms(await scrape(proxy))
    ok(await eventually(async () => {
      last = terms(await scrape(proxy))
      return last.inflight === 0 && last.queued === 0 && last.decisions === sent && last.mirrored === last.compared + last.error + last.skipped
    }, 5000), `settled: ${sent} requests sent, ${JSON.stringify(last)}`)
    const s = await scrape(proxy)
    const n = terms(s)
    strictEqual(n.decisions, sent, 'every request has exactly one mirror decision')
    strictEqual(n.mirrored, n.compared + n.error + n.skipped, 'mirrored = compared + error + skipped')
    strictEqual(n.candidateExchanges, n.mirrored, 'one candidate exchange per mirrored request')
    strictEqual(n.candidateNoAnswer, n.candidateErrors, 'every candidate exchange without an answer has a reason')
    // The mix did what it says.
    strictEqual(sum(s, 'paritygate_mirror_decisions_total', { decision: 'body_too_large' }), 4, 'two by Content-Length, two while streaming')
    strictEqual(sum(s, 'paritygate_candidate_errors_total', { reason: 'too_large' }), 0, 'an upload over maxBodyBytes is not also a candidate error')
    strictEqual(sum(s, 'paritygate_candidate_errors_total', { reason: 'client_aborted' }), 4, 'the aborted uploads')
    strictEqual(sum(s, 'paritygate_candidate_errors_total', { reason: 'parse' }), 3, 'status 999')
    ok(sum(s, 'paritygate_mirror_decisions_total', { decision: 'circuit_open' }) > 0, 'the breaker opened')
    ok(sum(s, 'paritygate_candidate_errors_total', { reason: 'reset' }) > 0)
    ok(sum(s, 'paritygate_candidate_errors_total', { reason: ['timeout', 'connect'] }) > 0)
    ok(sum(s, 'paritygate_comparisons_total', { route: 'GET /big/:id', outcome: 'skipped' }) >= 2, 'the aborted downloads are skipped')
    ok(n.compared >= 10, `compared ${n.compared}`)
  })
}

test('a candidate status outside 100–599 should be a candidate error with a reason (raw TCP candidate)', async (t) => {
  const primary = await primaryUpstream(t)
  const candidate = await createTcpUpstream(t, (socket) => {
    socket.once('data', () => socket.end('HTTP/1.1 999 Weird\r\ncontent-length: 2\r\n\r\n{}'))
  })
  const proxy = await startProxy(t, {
    primary: { url: primary.url },
    candidate: { url: candidate.url, breaker: { failures: 1000 } },
    mirror: { percent: 100 }
  })
  for (let i = 0; i < 3; i++) {
    const res = await request(`${proxy.url}/items/${i}`)
    strictEqual(res.statusCode, 200)
    await res.body.dump()
  }
  let n = terms(await scrape(proxy))
  ok(await eventually(async () => { n = terms(await scrape(proxy)); return n.error === 3 }), JSON.stringify(n))
  const s = await scrape(proxy)
  strictEqual(sum(s, 'paritygate_requests_total', { target: 'candidate', status: 'error' }), 3)
  strictEqual(sum(s, 'paritygate_candidate_errors_total', { reason: 'parse' }), 3)
  strictEqual(n.mirrored, n.compared + n.error + n.skipped)
})

test('an aborted upload should not count as mirrored in the gate\'s error check (it says nothing of the candidate)', async (t) => {
  const primary = await primaryUpstream(t)
  const candidate = await faultyCandidate(t)
  const proxy = await startProxy(t, { primary: { url: primary.url }, candidate: { url: candidate.url }, mirror: { percent: 100 }, routes: ROUTES })
  for (let i = 0; i < 2; i++) await (await request(`${proxy.url}/items/${i}`)).body.dump()
  for (let i = 0; i < 2; i++) {
    const before = primary.state.started
    const socket = connect(proxy.port, '127.0.0.1')
    socket.on('error', () => {})
    socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n${'x'.repeat(500)}`)
    ok(await eventually(() => primary.state.started > before))
    socket.destroy()
  }
  let n = terms(await scrape(proxy))
  ok(await eventually(async () => { n = terms(await scrape(proxy)); return n.mirrored === 4 && n.compared + n.error + n.skipped === 4 }), JSON.stringify(n))
  strictEqual(sum(await scrape(proxy), 'paritygate_candidate_errors_total', { reason: 'client_aborted' }), 2)
  const gate = await (await request(`${proxy.admin}/api/v1/gate`)).body.json() as { checks: { errors: { mirrored: number, errors: number } } }
  strictEqual(gate.checks.errors.mirrored, 2)
  strictEqual(gate.checks.errors.errors, 0)
})

test('a mirror in flight when a reload removes the candidate should still get its one comparison outcome (skipped)', async (t) => {
  const primary = await primaryUpstream(t)
  const candidate = await faultyCandidate(t)
  const proxy = await startProxy(t, { primary: { url: primary.url }, candidate: { url: candidate.url, timeoutMs: 300 }, mirror: { percent: 100 } })
  candidate.state.mode = 'slow'
  await (await request(`${proxy.url}/items/1`)).body.dump()
  strictEqual(proxy.app.proxyState.mirror?.state.inflight, 1)
  proxy.app.reload(validateConfig({ ...proxy.config, candidate: { ...proxy.config.candidate, url: null } }))
  strictEqual(proxy.app.engine, null)
  let n = terms(await scrape(proxy))
  ok(await eventually(async () => { n = terms(await scrape(proxy)); return n.skipped === 1 }), JSON.stringify(n))
  strictEqual(n.mirrored, 1)
  strictEqual(n.compared + n.error + n.skipped, 1)
})
