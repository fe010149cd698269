/*
 * A route's first comparisons, before its noise is learned: a fresh trace id or stamp in an answer
 * whose comparison ends before the route's first noise baselines are in must not be counted as a
 * mismatch (a newcomer's first verdict). Such mismatches wait for the learner, boundedly.
 */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
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
  // Only the warm-up's baselines (7, within the noise pool's 8 connections): a random pick at 5 % now
  // and then made it 9, one of them queued behind the held ones, and the count below never matched.
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100, methods: ['GET', 'POST'] }, noise: { percent: 0.0001 }, compare: { workers: 0 } })
  const route = 'GET /orders/:id'
  // Sequential requests: the first ones get a baseline each (the route's warm-up), the later ones none.
  for (let i = 0; i < 20; i++) await (await request(`${proxy.url}/orders/${i}`)).body.dump()
  // Every answer without a baseline of its own is compared, and waits.
  // (10 s at most: on a loaded machine the last mirrors can come late.)
  ok(await eventually(() => held.length > 0 && proxy.app.engine?.waiting === 20 - held.length, 10_000), `waiting ${proxy.app.engine?.waiting}, baselines held ${held.length}`)
  strictEqual(await metricOrZero(proxy, `paritygate_comparisons_total{route="${route}",outcome="mismatch"}`), 0, 'nothing judged before the noise is known')
  // A request that never gets a baseline (it has a body) is judged at once: its difference is a mismatch.
  await (await request(`${proxy.url}/orders/9`, { method: 'POST', body: '{}' })).body.dump()
  ok(await eventually(async () => await metricOrZero(proxy, 'paritygate_comparisons_total{route="POST /orders/:id",outcome="mismatch"}') === 1))

  holdBaselines = false
  for (const answer of held.splice(0)) answer()
  ok(await eventually(async () => await metricOrZero(proxy, `paritygate_comparisons_total{route="${route}",outcome="noise"}`) === 20, 10_000))
  strictEqual(await metricOrZero(proxy, `paritygate_comparisons_total{route="${route}",outcome="mismatch"}`), 0)
  strictEqual(proxy.app.engine?.waiting, 0)
  const list = await (await request(`${proxy.admin}/api/v1/mismatches?route=${encodeURIComponent(route)}`)).body.json() as { signatures: unknown[] }
  strictEqual(list.signatures.length, 0, 'no sample of a noise-only difference')
})

test('a burst of a few requests with a real difference should be counted as soon as its baselines are in, not after their deadline', async (t) => {
  const primary = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"price":10}'))
  const candidate = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"price":11}'))
  // candidate.timeoutMs 5 s (the default): the longest a mismatch may wait for baselines.
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100 }, noise: { percent: 5 }, compare: { workers: 0 } })
  const started = Date.now()
  // Three at once: each gets a baseline (the warm-up), fewer than the learner needs to judge the route.
  await Promise.all([1, 2, 3].map(async (i) => await (await request(`${proxy.url}/items/${i}`)).body.dump()))
  ok(await eventually(async () => await metricOrZero(proxy, 'paritygate_comparisons_total{route="GET /items/:id",outcome="mismatch"}') === 3, 3000))
  ok(Date.now() - started < 3000, `counted after ${Date.now() - started} ms`)
  strictEqual(proxy.app.engine?.waiting, 0)
})

function side (body: string): CapturedSide {
  const buf = Buffer.from(body)
  return { status: 200, headers: ['content-type', 'application/json'], bytes: buf.length, truncated: false, durationMs: 1, error: null, body: () => buf }
}

function pair (method: string, p: string, c: string, secondary: string | null = null, moreBaselines = true): ExchangePair {
  return { requestId: randomUUID(), route: `${method} /x`, method, path: '/x', primary: side(p), candidate: side(c), secondary: secondary === null ? null : side(secondary), moreBaselines }
}

test('a mismatch should wait only while its route\'s baselines are out and unjudged; judged on what is known when none comes in time, at a reset and at close', async () => {
  const config = validateConfig({ primary: { url: 'http://127.0.0.1:1' }, candidate: { url: 'http://127.0.0.1:2' }, compare: { workers: 0 } })
  const outcomes: FinalOutcome[] = []
  const engine = new ComparisonEngine(config, (_p, o) => outcomes.push(o), () => false, 150)
  engine.submit(pair('GET', '{"a":1,"t":"x"}', '{"a":1,"t":"y"}'))
  strictEqual(engine.waiting, 1)
  // Its own baseline explains every difference: noise at once. One it does not explain waits too
  // (v1's two answers can agree on a stamp by chance), unless no other baseline is on its way.
  engine.submit(pair('GET', '{"a":1,"t":"p"}', '{"a":1,"t":"q"}', '{"a":1,"t":"r"}'))
  engine.submit(pair('GET', '{"a":1,"t":"p"}', '{"a":2,"t":"p"}', '{"a":1,"t":"p"}'))
  engine.submit(pair('OPTIONS', '{"a":1}', '{"a":2}', null, false))
  strictEqual(engine.waiting, 2)
  deepStrictEqual(outcomes, ['noise', 'mismatch'])
  await sleep(400)
  strictEqual(engine.waiting, 0)
  deepStrictEqual(outcomes, ['noise', 'mismatch', 'mismatch', 'mismatch'], 'no more baselines came: judged on what the learner knows')

  // The last pair of a burst (no baseline out any more when it was ready) lets its route's held ones go.
  engine.submit(pair('GET', '{"a":2}', '{"a":3}'))
  engine.submit(pair('GET', '{"a":2}', '{"a":2}', '{"a":2}', false))
  strictEqual(engine.waiting, 0)
  deepStrictEqual(outcomes.slice(4), ['mismatch', 'match'])

  engine.submit(pair('GET', '{"a":2}', '{"a":3}'))
  engine.submit(pair('HEAD', '{"a":2}', '{"a":3}'))
  strictEqual(engine.waiting, 2)
  engine.reset()
  strictEqual(engine.waiting, 0)
  strictEqual(outcomes.length, 8)
  engine.submit(pair('OPTIONS', '{"a":2}', '{"a":3}'))
  await engine.close()
  strictEqual(outcomes.length, 9, 'judged at close, not lost')
  strictEqual(outcomes.at(-1), 'mismatch')
})
