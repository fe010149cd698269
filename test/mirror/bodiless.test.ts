/* Answers without a body by definition (to HEAD; 204, 304) never get a capture buffer sized from their Content-Length. */
import { ok, strictEqual } from 'node:assert/strict'
import { type IncomingMessage, type ServerResponse } from 'node:http'
import { test, type TestContext } from 'node:test'
import { request } from 'undici'
import { CaptureBudget } from '../../src/mirror/capture-budget.ts'
import { CapturedResponse } from '../../src/mirror/captured-response.ts'
import { startProxy, type StartedProxy } from '../helpers/proxy.ts'
import { createUpstream } from '../helpers/upstream.ts'
import { eventually, metric, metricOrZero } from './helpers.ts'

const FIVE_MB = 5 * 1024 * 1024

/** An upstream answering `status` with Content-Length 5 MB and no body; while `hold` is set, answers wait for `release()`. */
async function bodilessUpstream (t: TestContext) {
  let waiting: Array<() => void> = []
  const state = {
    hold: false,
    seen: 0,
    answered: 0,
    release: () => { const w = waiting; waiting = []; for (const go of w) go() }
  }
  const url = await createUpstream(t, (req: IncomingMessage, res: ServerResponse) => {
    state.seen++
    const answer = (): void => {
      const status = req.url?.startsWith('/status/') === true ? Number(req.url.slice(8)) : 200
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(FIVE_MB) })
      res.end()
      state.answered++
    }
    if (state.hold) waiting.push(answer)
    else answer()
  })
  t.after(() => state.release())
  return { url, state }
}

function budgetUsed (proxy: StartedProxy): number {
  return proxy.app.proxyState.mirror?.budget.used ?? -1
}

test('CapturedResponse.takeHeaders should not size a buffer for a HEAD answer, a 204 or a 304, whatever Content-Length says', () => {
  const budget = new CaptureBudget(64 * 1024 * 1024)
  const raw = [Buffer.from('Content-Length'), Buffer.from(String(FIVE_MB))]
  for (const [status, head] of [[200, true], [204, false], [304, false], [204, true]] as const) {
    const c = new CapturedResponse(8 * 1024 * 1024, budget)
    c.takeHeaders(status, raw, head)
    strictEqual(c.buf, null, `${status}${head ? ' to HEAD' : ''}: no buffer`)
    strictEqual(c.expected, 0, 'an empty body is expected')
  }
  strictEqual(budget.used, 0)
  const get = new CapturedResponse(8 * 1024 * 1024, budget)
  get.takeHeaders(200, raw)
  strictEqual(get.expected, FIVE_MB, 'a 200 to GET is still sized from Content-Length')
  ok(budget.used >= FIVE_MB)
  get.release()
})

for (const [name, method, path] of [['HEAD', 'HEAD', '/big'], ['204', 'GET', '/status/204'], ['304', 'GET', '/status/304']] as const) {
  test(`mirror should reserve no capture for ${name} answers with Content-Length 5 MB, on the primary's side, the candidate's and the noise baseline's`, async (t) => {
    const primary = await bodilessUpstream(t)
    const candidate = await bodilessUpstream(t)
    const proxy = await startProxy(t, {
      primary: { url: primary.url },
      candidate: { url: candidate.url, maxResponseBytes: 8 * 1024 * 1024, timeoutMs: 5000 },
      mirror: { percent: 100 },
      noise: { percent: 100 },
      compare: { workers: 0 }
    })
    // The candidate waits: the primary's and the noise baseline's answers are captured, then held.
    candidate.state.hold = true
    const answers = await Promise.all([1, 2, 3].map(async () => request(`${proxy.url}${path}`, { method })))
    for (const res of answers) {
      strictEqual(res.statusCode, name === 'HEAD' ? 200 : Number(name))
      await res.body.dump().catch(() => {}) // undici takes a 204 or 304 announcing a length as cut short
    }
    ok(await eventually(() => primary.state.answered === 6 && candidate.state.seen === 3), 'live answers, noise baselines, and candidate requests waiting')
    strictEqual(budgetUsed(proxy), 0, 'no capture budget for the primary\'s or the baseline\'s empty bodies')
    candidate.state.release()
    candidate.state.hold = false
    ok(await eventually(async () => await metric(proxy, 'paritygate_mirror_inflight') === 0))

    // The primary waits: the candidate's answers are captured, then held.
    primary.state.hold = true
    const pending = [1, 2, 3].map(async () => request(`${proxy.url}${path}`, { method }))
    ok(await eventually(() => candidate.state.answered === 6 && proxy.app.proxyState.mirror?.state.inflight === 0), 'the candidate answered first')
    strictEqual(budgetUsed(proxy), 0, 'no capture budget for the candidate\'s empty bodies')
    primary.state.hold = false
    primary.state.release()
    for (const res of await Promise.all(pending)) await res.body.dump().catch(() => {})
    primary.state.release() // the noise baselines
    const route = `${method} ${path.replace(/\d+$/, ':id')}`
    const compared = async (): Promise<number> => {
      let n = 0
      for (const outcome of ['match', 'mismatch', 'noise', 'error', 'skipped']) n += await metric(proxy, `paritygate_comparisons_total{route="${route}",outcome="${outcome}"}`)
      return n
    }
    ok(await eventually(async () => await compared() === 6), `6 comparisons: ${await compared()}`)
    // A HEAD's answers match; undici takes a 204 or 304 announcing a length as cut short (reset) on both sides.
    if (name === 'HEAD') strictEqual(await metric(proxy, `paritygate_comparisons_total{route="${route}",outcome="match"}`), 6)
    strictEqual(budgetUsed(proxy), 0)
  })
}

test('the mirror\'s I/O thread should take a 304 with Content-Length over candidate.maxResponseBytes as an empty answer, not a too_large one', async (t) => {
  // /docs/1xx: a 200 with a body (the route's answers are large: offloaded); /docs/2xx: a 304 announcing 5 MB.
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url?.startsWith('/docs/2') === true) res.writeHead(304, { etag: '"v1"', 'content-length': String(FIVE_MB) }).end()
    else res.writeHead(200, { 'content-type': 'application/json', etag: '"v1"' }).end('{"id":1}')
  }
  const primary = await createUpstream(t, handler)
  const candidate = await createUpstream(t, handler)
  const proxy = await startProxy(t, {
    primary: { url: primary },
    candidate: { url: candidate, maxResponseBytes: 1024 * 1024 },
    mirror: { percent: 100, offloadFromBytes: 1 },
    compare: { workers: 1 }
  })
  // The first answer marks the route large; the second starts the I/O thread.
  for (const id of [100, 101]) await (await request(`${proxy.url}/docs/${id}`)).body.dump()
  ok(await eventually(() => proxy.app.engine?.ioReady === true, 10_000), 'the I/O thread runs')
  const route = 'GET /docs/:id'
  for (let i = 0; i < 3; i++) {
    await (await request(`${proxy.url}/docs/${110 + i}`)).body.dump() // large again: the next goes to the I/O thread
    const res = await request(`${proxy.url}/docs/${200 + i}`)
    strictEqual(res.statusCode, 304)
    await res.body.dump().catch(() => {})
  }
  const compared = async (): Promise<number> => {
    let n = 0
    for (const outcome of ['match', 'mismatch', 'noise', 'error', 'skipped']) n += await metric(proxy, `paritygate_comparisons_total{route="${route}",outcome="${outcome}"}`)
    return n
  }
  ok(await eventually(async () => await compared() === 8), `every mirror compared: ${await compared()}`)
  // Each 304 follows a 200 with a body (the route is large again): the 304s went to the I/O thread.
  ok(await metric(proxy, `paritygate_mirror_offloaded_total{route="${route}"}`) >= 3, 'the 304s went to the I/O thread')
  // (undici itself takes a 304 announcing a length as cut short: a reset, not a capture the I/O thread sized.)
  strictEqual(await metricOrZero(proxy, 'paritygate_candidate_errors_total{reason="too_large"}'), 0, 'no 304 is cut off as too large')
})

test('mirror should never hand a HEAD to the I/O thread (which reserves budget for a body), even on a route whose answers are large', async (t) => {
  const handler = (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '8' }).end('{"id":1}')
  }
  const primary = await createUpstream(t, handler)
  const candidate = await createUpstream(t, handler)
  const proxy = await startProxy(t, {
    primary: { url: primary },
    candidate: { url: candidate },
    mirror: { percent: 100, offloadFromBytes: 1 },
    compare: { workers: 1 },
    routes: [{ name: 'doc', match: '/doc/:id' }]
  })
  for (const id of [1, 2]) await (await request(`${proxy.url}/doc/${id}`)).body.dump()
  ok(await eventually(() => proxy.app.engine?.ioReady === true, 10_000), 'the I/O thread runs')
  await (await request(`${proxy.url}/doc/3`)).body.dump()
  strictEqual(await metric(proxy, 'paritygate_mirror_offloaded_total{route="doc"}'), 1, 'a GET of the route goes there')
  for (let i = 0; i < 3; i++) await (await request(`${proxy.url}/doc/${10 + i}`, { method: 'HEAD' })).body.dump()
  ok(await eventually(async () => await metric(proxy, 'paritygate_comparisons_total{route="doc",outcome="match"}') === 6))
  strictEqual(await metric(proxy, 'paritygate_mirror_offloaded_total{route="doc"}'), 1, 'no HEAD went there')
})
