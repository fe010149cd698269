/* The comparison wired to the mirror: outcomes counted, noise learned from second primary answers, samples and the API. */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { type ServerResponse } from 'node:http'
import { test } from 'node:test'
import { request } from 'undici'
import { startProxy } from './helpers/proxy.ts'
import { createTcpUpstream, createUpstream } from './helpers/upstream.ts'
import { eventually, metric } from './mirror/helpers.ts'

function json (body: unknown) {
  return (_req: unknown, res: ServerResponse) => {
    const text = JSON.stringify(body)
    res.writeHead(200, { 'content-type': 'application/json' }).end(text)
  }
}

test('comparison should count match and mismatch with the field-level differences and keep samples per signature', async (t) => {
  const primary = await createUpstream(t, (req, res) => json({ id: 1, price: 10, items: [{ sku: 'a' }, { sku: 'b' }], path: req.url?.split('?')[0] })(req, res))
  const candidate = await createUpstream(t, (req, res) => json({ id: 1, price: req.url?.startsWith('/diff') === true ? 11 : 10, items: [{ sku: 'a' }, { sku: 'b' }], path: req.url?.split('?')[0] })(req, res))
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100 } })
  for (let i = 0; i < 6; i++) await (await request(`${proxy.url}/same/${i}`)).body.dump()
  for (let i = 0; i < 4; i++) await (await request(`${proxy.url}/diff/${i}?token=t0p-secret`)).body.dump()
  ok(await eventually(async () => await metric(proxy, 'paritygate_comparisons_total{route="GET /diff/:id",outcome="mismatch"}') === 4))
  strictEqual(await metric(proxy, 'paritygate_comparisons_total{route="GET /same/:id",outcome="match"}'), 6)

  const fields = await (await request(`${proxy.admin}/api/v1/fields?route=${encodeURIComponent('GET /diff/:id')}`)).body.json() as { fields: Array<{ path: string, count: number, kinds: Record<string, number> }> }
  deepStrictEqual(fields.fields.map((f) => [f.path, f.count, f.kinds]), [['$.price', 4, { changed: 4 }]])
  const list = await (await request(`${proxy.admin}/api/v1/mismatches?route=${encodeURIComponent('GET /diff/:id')}&limit=5`)).body.json() as { signatures: Array<{ signature: string, seen: number, samples: Array<{ id: string, path: string }> }> }
  strictEqual(list.signatures.length, 1)
  strictEqual(list.signatures[0].signature, 'GET /diff/:id $.price')
  strictEqual(list.signatures[0].seen, 4)
  ok(list.signatures[0].samples.every((s) => !s.path.includes('t0p-secret')), 'query values redacted')
  const sample = await (await request(`${proxy.admin}/api/v1/mismatches/${list.signatures[0].samples[0].id}`)).body.json() as Record<string, any>
  deepStrictEqual(sample.diffs, [{ path: '$.price', kind: 'changed', primary: { json: 10 }, candidate: { json: 11 } }])
  strictEqual(sample.primary.body.price, 10)
  strictEqual(sample.candidate.body.price, 11)
  strictEqual((await request(`${proxy.admin}/api/v1/mismatches/nope`)).statusCode, 404)
  strictEqual((await request(`${proxy.admin}/api/v1/mismatches?limit=0`)).statusCode, 400)
})

test('comparison should learn fresh ids and timestamps as noise from second primary answers, and keep a real difference a mismatch', async (t) => {
  let n = 0
  const answer = (price: number) => ({ requestId: randomUUID(), generatedAt: new Date(Date.now() + n++).toISOString(), order: { id: 7, price } })
  const primary = await createUpstream(t, (req, res) => json(answer(10))(req, res))
  const candidate = await createUpstream(t, (req, res) => json(answer(req.url === '/orders/broken' ? 99 : 10))(req, res))
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100 }, noise: { percent: 100, minObservations: 5 } })
  for (let i = 0; i < 30; i++) await (await request(`${proxy.url}/orders/ok`)).body.dump()
  ok(await eventually(async () => await metric(proxy, 'paritygate_comparisons_total{route="GET /orders/ok",outcome="noise"}') >= 20))
  for (let i = 0; i < 10; i++) await (await request(`${proxy.url}/orders/broken`)).body.dump()
  ok(await eventually(async () => await metric(proxy, 'paritygate_comparisons_total{route="GET /orders/broken",outcome="mismatch"}') === 10),
    `broken: ${await metric(proxy, 'paritygate_comparisons_total{route="GET /orders/broken",outcome="mismatch"}')}`)
  const noise = await (await request(`${proxy.admin}/api/v1/noise?route=${encodeURIComponent('GET /orders/ok')}`)).body.json() as { paths: Array<{ path: string, noisy: boolean, rate: number }> }
  deepStrictEqual(noise.paths.filter((p) => p.noisy).map((p) => p.path).sort(), ['$.generatedAt', '$.requestId'])
  const list = await (await request(`${proxy.admin}/api/v1/mismatches`)).body.json() as { signatures: Array<{ signature: string }> }
  ok(list.signatures.some((s) => s.signature === 'GET /orders/broken $.order.price'), JSON.stringify(list.signatures))
})

test('comparison should count a failed candidate as error and an oversized one as skipped', async (t) => {
  const primary = await createUpstream(t, json({ a: 1 }))
  const down = await createTcpUpstream(t, (s) => s.destroy())
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: down.url, breaker: { failures: 100 } }, mirror: { percent: 100 } })
  for (let i = 0; i < 3; i++) await (await request(`${proxy.url}/x`)).body.dump()
  ok(await eventually(async () => await metric(proxy, 'paritygate_comparisons_total{route="GET /x",outcome="error"}') === 3))

  const big = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ pad: 'x'.repeat(100_000) })))
  const proxy2 = await startProxy(t, { primary: { url: primary }, candidate: { url: big, maxResponseBytes: 10_000 }, mirror: { percent: 100 } })
  await (await request(`${proxy2.url}/y`)).body.dump()
  ok(await eventually(async () => await metric(proxy2, 'paritygate_comparisons_total{route="GET /y",outcome="skipped"}') === 1))
})

test('comparison should compare large bodies in a worker thread and survive hostile ones', async (t) => {
  const deep = '['.repeat(100_000) + ']'.repeat(100_000)
  const big = JSON.stringify({ rows: Array.from({ length: 40_000 }, (_, i) => ({ id: i, name: `row-${i}`, v: i * 1.5 })) })
  const primary = await createUpstream(t, (req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(req.url === '/deep' ? deep : big))
  // Identical bytes are a match at any depth (a memcmp decides); different deep bodies cannot be parsed: skipped.
  const candidate = await createUpstream(t, (req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(req.url === '/deep' ? deep.replace('[]', '[1]') : big.replace('"row-39999"', '"row-x"')))
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100 }, compare: { workers: 1, workerMinBytes: 64 * 1024 } })
  await (await request(`${proxy.url}/big`)).body.text()
  await (await request(`${proxy.url}/deep`)).body.dump()
  ok(await eventually(async () => await metric(proxy, 'paritygate_comparisons_total{route="GET /big",outcome="mismatch"}') === 1, 10_000))
  ok(await eventually(async () => await metric(proxy, 'paritygate_comparisons_total{route="GET /deep",outcome="skipped"}') === 1, 10_000))
  const fields = await (await request(`${proxy.admin}/api/v1/fields?route=${encodeURIComponent('GET /big')}`)).body.json() as { fields: Array<{ path: string }> }
  deepStrictEqual(fields.fields.map((f) => f.path), ['$.rows[*].name'])
  ok(proxy.app.engine !== null && proxy.app.engine.workerTasks === 2, 'both went to the worker')
})

test('captures should stay within mirror.maxCaptureBytes and compare.maxQueueBytes, skipping what does not fit', async (t) => {
  const body = JSON.stringify({ pad: 'x'.repeat(300_000) })
  const headers = { 'content-type': 'application/json', 'content-length': String(body.length) }
  const primary = await createUpstream(t, (_req, res) => res.writeHead(200, headers).end(body))
  const candidate = await createUpstream(t, (_req, res) => res.writeHead(200, headers).end(body))
  const tight = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100, maxCaptureBytes: 400_000 } })
  for (let i = 0; i < 3; i++) strictEqual((await (await request(`${tight.url}/a`)).body.text()).length, body.length, 'users get the whole body')
  ok(await eventually(async () => await metric(tight, 'paritygate_comparisons_total{route="GET /a",outcome="skipped"}') === 3))
  strictEqual(tight.app.proxyState.mirror?.budget.used, 0, 'every reserved byte was given back')

  const queue = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100 }, compare: { maxQueueBytes: 100_000 } })
  strictEqual((await (await request(`${queue.url}/b`)).body.text()).length, body.length, 'users get the whole body')
  ok(await eventually(async () => await metric(queue, 'paritygate_comparisons_total{route="GET /b",outcome="skipped"}') === 1))
  // The comparison could not take 2 x 300 KB: the candidate was cut off at its headers, its body never read.
  strictEqual(await metric(queue, 'paritygate_candidate_errors_total{reason="overloaded"}'), 1)
  strictEqual(queue.app.engine?.overloaded, 0, 'nothing reached the comparison queue')
  ok(await eventually(() => queue.app.proxyState.mirror?.budget.used === 0))

  const roomy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100 } })
  await (await request(`${roomy.url}/c`)).body.text()
  ok(await eventually(async () => await metric(roomy, 'paritygate_comparisons_total{route="GET /c",outcome="match"}') === 1))
  ok(await eventually(() => roomy.app.proxyState.mirror?.budget.used === 0))
  // Both 300 KB capture buffers went to the worker and came back for the next captures.
  const budget = roomy.app.proxyState.mirror?.budget
  ok(await eventually(() => budget?.idleBytes === 2 * 384 * 1024), `idle ${budget?.idleBytes}`)
  const idle = budget?.idleBytes
  await (await request(`${roomy.url}/c`)).body.text()
  ok(await eventually(async () => await metric(roomy, 'paritygate_comparisons_total{route="GET /c",outcome="match"}') === 2), 'a recycled buffer holds only its new body')
  ok(await eventually(() => budget?.idleBytes === idle && budget?.used === 0), 'the second pair needed no new buffer')
})

test('comparison should take identical bytes as a match only when status and allow-listed headers agree too', async (t) => {
  const body = '{"id":1,"ok":true}'
  const primary = await createUpstream(t, (_req, res) => { res.writeHead(200, { 'content-type': 'application/json', 'x-trace': 'p' }).end(body) })
  const candidate = await createUpstream(t, (req, res) => {
    const status = req.url?.startsWith('/status') === true ? 201 : 200
    const type = req.url?.startsWith('/type') === true ? 'application/problem+json' : 'application/json'
    res.writeHead(status, { 'content-type': type, 'x-trace': 'c' }).end(body)
  })
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100 } })
  for (const path of ['/same/1', '/same/2', '/type/1', '/status/1']) await (await request(`${proxy.url}${path}`)).body.dump()
  ok(await eventually(async () => await metric(proxy, 'paritygate_comparisons_total{route="GET /status/:id",outcome="mismatch"}') === 1))
  strictEqual(await metric(proxy, 'paritygate_comparisons_total{route="GET /same/:id",outcome="match"}'), 2, 'x-trace is not in compare.headers')
  strictEqual(await metric(proxy, 'paritygate_comparisons_total{route="GET /type/:id",outcome="mismatch"}'), 1, 'content-type is')
})
