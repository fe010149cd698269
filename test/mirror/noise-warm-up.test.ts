/*
 * A route's first comparisons, before its noise is learned: a fresh trace id or stamp in an answer
 * whose comparison ends before the route's first noise baselines are in must not be counted as a
 * mismatch (a newcomer's first verdict). Such mismatches wait for the learner, boundedly.
 */
import { ok, strictEqual } from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { type IncomingMessage, type ServerResponse } from 'node:http'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { ComparisonEngine, type CapturedSide, type ExchangePair, type FinalOutcome } from '../../src/compare/engine.ts'
import { validateConfig } from '../../src/config/index.ts'
import { startProxy } from '../helpers/proxy.ts'
import { createUpstream } from '../helpers/upstream.ts'
import { eventually, metricOrZero } from './helpers.ts'

/** v1 and v2 alike: the same order, a fresh trace id on every call. */
function order (res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ traceId: randomUUID(), order: { id: 7, total: '12.50' } }))
}

test('mismatches on a fresh id that end before the route\'s first noise baselines should wait for them and count as noise', async (t) => {
  let holdBaselines = true
  const held: Array<() => void> = []
  // The primary answers its noise baselines (the second calls, marked by the shadow header) only when let go.
  const primary = await createUpstream(t, (req: IncomingMessage, res) => {
    if (req.headers['x-paritygate-shadow'] !== undefined && holdBaselines) held.push(() => order(res))
    else order(res)
  })
  const candidate = await createUpstream(t, (req, res) => {
    if (req.method === 'POST') req.resume().on('end', () => order(res))
    else order(res)
  })
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100, methods: ['GET', 'POST'] }, noise: { percent: 5 }, compare: { workers: 0 } })
  const route = 'GET /orders/:id'
  // Sequential requests: the first ones get a baseline each (the route's warm-up), the later ones none.
  for (let i = 0; i < 20; i++) await (await request(`${proxy.url}/orders/${i}`)).body.dump()
  // Every answer without a baseline of its own is compared, and waits.
  ok(await eventually(() => held.length > 0 && proxy.app.engine?.waiting === 20 - held.length), `waiting ${proxy.app.engine?.waiting}, baselines held ${held.length}`)
  strictEqual(await metricOrZero(proxy, `paritygate_comparisons_total{route="${route}",outcome="mismatch"}`), 0, 'nothing judged before the noise is known')
  // A request that never gets a baseline (it has a body) is judged at once: its difference is a mismatch.
  await (await request(`${proxy.url}/orders/9`, { method: 'POST', body: '{}' })).body.dump()
  ok(await eventually(async () => await metricOrZero(proxy, 'paritygate_comparisons_total{route="POST /orders/:id",outcome="mismatch"}') === 1))

  holdBaselines = false
  for (const answer of held.splice(0)) answer()
  ok(await eventually(async () => await metricOrZero(proxy, `paritygate_comparisons_total{route="${route}",outcome="noise"}`) === 20))
  strictEqual(await metricOrZero(proxy, `paritygate_comparisons_total{route="${route}",outcome="mismatch"}`), 0)
  strictEqual(proxy.app.engine?.waiting, 0)
  const list = await (await request(`${proxy.admin}/api/v1/mismatches?route=${encodeURIComponent(route)}`)).body.json() as { signatures: unknown[] }
  strictEqual(list.signatures.length, 0, 'no sample of a noise-only difference')
})

function side (body: string): CapturedSide {
  const buf = Buffer.from(body)
  return { status: 200, headers: ['content-type', 'application/json'], bytes: buf.length, truncated: false, durationMs: 1, error: null, body: () => buf }
}

function pair (method: string, p: string, c: string, secondary: string | null = null): ExchangePair {
  return { requestId: randomUUID(), route: `${method} /x`, method, path: '/x', primary: side(p), candidate: side(c), secondary: secondary === null ? null : side(secondary) }
}

test('a held mismatch should be judged on what is known when no baseline comes in time, at a reset and at close; never held with noise learning off', async () => {
  const base = { primary: { url: 'http://127.0.0.1:1' }, candidate: { url: 'http://127.0.0.1:2' }, compare: { workers: 0 } }
  const outcomes: Array<[string, FinalOutcome]> = []
  const engine = new ComparisonEngine(validateConfig({ ...base, noise: { percent: 5 } }), (p, o) => outcomes.push([p.route, o]), () => false, 150)
  engine.submit(pair('GET', '{"a":1,"t":"x"}', '{"a":1,"t":"y"}'))
  strictEqual(engine.waiting, 1)
  strictEqual(outcomes.length, 0)
  // Its own baseline differing on the same path: noise at once, no need to wait.
  engine.submit(pair('GET', '{"a":1,"t":"p"}', '{"a":1,"t":"q"}', '{"a":1,"t":"r"}'))
  strictEqual(outcomes.length, 1)
  strictEqual(outcomes[0][1], 'noise')
  await sleep(400)
  strictEqual(engine.waiting, 0)
  strictEqual(outcomes[1][1], 'mismatch', 'the learner never saw enough of the route: judged on what it knows')

  engine.submit(pair('GET', '{"a":2}', '{"a":3}'))
  engine.submit(pair('HEAD', '{"a":2}', '{"a":3}'))
  strictEqual(engine.waiting, 2)
  engine.reset()
  strictEqual(engine.waiting, 0)
  strictEqual(outcomes.filter(([, o]) => o === 'mismatch').length, 3)
  engine.submit(pair('OPTIONS', '{"a":2}', '{"a":3}'))
  await engine.close()
  strictEqual(outcomes.filter(([, o]) => o === 'mismatch').length, 4, 'judged at close, not lost')

  const off = new ComparisonEngine(validateConfig({ ...base, noise: { percent: 0 } }), (p, o) => outcomes.push([p.route, o]))
  off.submit(pair('GET', '{"a":2}', '{"a":3}'))
  strictEqual(off.waiting, 0)
  strictEqual(outcomes.at(-1)?.[1], 'mismatch')
  await off.close()
})
