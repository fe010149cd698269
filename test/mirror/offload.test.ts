/* Large-answer routes: the candidate's answer is received by the mirror's I/O thread and goes from there to a comparison worker. */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { type ServerResponse } from 'node:http'
import { test } from 'node:test'
import { request } from 'undici'
import { sizeClass } from '../../src/mirror/capture-budget.ts'
import { startProxy } from '../helpers/proxy.ts'
import { createUpstream } from '../helpers/upstream.ts'
import { eventually, metric, metricOrZero } from './helpers.ts'

/** About 330 KB of JSON, over the default mirror.offloadFromBytes (256 KiB). */
function bigBody (name: string): string {
  return JSON.stringify({ name, rows: Array.from({ length: 12_000 }, (_, i) => ({ id: i, v: `value-${i}` })) })
}

function answer (big: string) {
  return (req: { url?: string }, res: ServerResponse) => {
    const body = req.url === '/big' ? big : '{"a":1}'
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
  }
}

test('mirror should receive the candidate answers of a large-answer route in the I/O thread and still compare them field by field', async (t) => {
  const v1 = bigBody('v1')
  const primary = await createUpstream(t, answer(v1))
  const candidate = await createUpstream(t, answer(bigBody('v2')))
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100 } })
  for (let i = 0; i < 4; i++) {
    strictEqual(await (await request(`${proxy.url}/big`)).body.text(), v1, 'users get the primary answer')
    strictEqual(await (await request(`${proxy.url}/small`)).body.text(), '{"a":1}')
    if (i === 1) ok(await eventually(() => proxy.app.engine?.ioReady === true, 10_000), 'the second large answer started the I/O thread')
  }
  ok(await eventually(async () => await metric(proxy, 'paritygate_comparisons_total{route="GET /big",outcome="mismatch"}') === 4, 10_000))
  ok(await eventually(async () => await metric(proxy, 'paritygate_comparisons_total{route="GET /small",outcome="match"}') === 4))
  // The first answer teaches the route's size, the second starts the I/O thread (and stays here); the
  // last two go through it. Small routes never do.
  strictEqual(await metric(proxy, 'paritygate_mirror_offloaded_total{route="GET /big"}'), 2)
  strictEqual(await metricOrZero(proxy, 'paritygate_mirror_offloaded_total{route="GET /small"}'), 0)
  strictEqual(await metric(proxy, 'paritygate_requests_total{target="candidate",route="GET /big",method="GET",status="2xx"}'), 4, 'offloaded exchanges are counted like the others')
  const fields = await (await request(`${proxy.admin}/api/v1/fields?route=${encodeURIComponent('GET /big')}`)).body.json() as { fields: Array<{ path: string, count: number }> }
  deepStrictEqual(fields.fields.map((f) => [f.path, f.count]), [['$.name', 4]])
  const list = await (await request(`${proxy.admin}/api/v1/mismatches?route=${encodeURIComponent('GET /big')}`)).body.json() as { signatures: Array<{ samples: Array<{ id: string }> }> }
  const samples = list.signatures[0].samples
  const last = await (await request(`${proxy.admin}/api/v1/mismatches/${samples[samples.length - 1].id}`)).body.json() as { candidate: { body: string } }
  ok(last.candidate.body.startsWith('{"name":"v2"'), 'the sample shows the body the I/O thread received')
  const budget = proxy.app.proxyState.mirror?.budget
  ok(await eventually(() => budget?.used === 0), `every reserved byte was given back (used ${budget?.used})`)
  strictEqual(await metric(proxy, 'paritygate_mirror_inflight'), 0)
  // Each offloaded pair takes an idle buffer for the primary's answer and gets only that one back:
  // the candidate's goes back to the I/O thread, never to this one.
  const idle = budget?.idleBytes
  ok(idle !== undefined && idle >= sizeClass(Buffer.byteLength(v1)))
  for (let n = 5; n <= 6; n++) {
    await (await request(`${proxy.url}/big`)).body.text()
    ok(await eventually(async () => await metric(proxy, 'paritygate_comparisons_total{route="GET /big",outcome="mismatch"}') === n, 10_000))
    ok(await eventually(() => budget?.used === 0))
    strictEqual(budget?.idleBytes, idle, `pair ${n}`)
  }
  strictEqual(await metric(proxy, 'paritygate_mirror_offloaded_total{route="GET /big"}'), 4)
})

test('mirror should keep candidate exchanges on the live thread with mirror.offloadFromBytes 0 or without comparison workers', async (t) => {
  const primary = await createUpstream(t, answer(bigBody('v1')))
  const candidate = await createUpstream(t, answer(bigBody('v1')))
  for (const settings of [{ mirror: { percent: 100, offloadFromBytes: 0 } }, { mirror: { percent: 100 }, compare: { workers: 0 } }]) {
    const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, ...settings })
    for (let i = 0; i < 3; i++) await (await request(`${proxy.url}/big`)).body.text()
    ok(await eventually(async () => await metric(proxy, 'paritygate_comparisons_total{route="GET /big",outcome="match"}') === 3, 10_000), JSON.stringify(settings))
    strictEqual(await metricOrZero(proxy, 'paritygate_mirror_offloaded_total{route="GET /big"}'), 0)
    ok(await eventually(() => proxy.app.proxyState.mirror?.budget.used === 0))
  }
})

test('mirror should skip a pair whose offloaded body was lost to a reload of the comparison workers', async (t) => {
  const v1 = bigBody('v1')
  let hold: (() => void) | null = null
  const primary = await createUpstream(t, (req, res) => {
    const send = () => answer(v1)(req, res)
    // The third answer waits until the test has reloaded.
    if (req.headers['x-hold'] === '1') hold = send
    else send()
  })
  const candidate = await createUpstream(t, answer(bigBody('v2')))
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100 } })
  for (let i = 0; i < 2; i++) await (await request(`${proxy.url}/big`)).body.text()
  ok(await eventually(() => proxy.app.engine?.ioReady === true, 10_000), 'the second large answer started the I/O thread')
  ok(await eventually(async () => await metric(proxy, 'paritygate_comparisons_total{route="GET /big",outcome="mismatch"}') === 2, 10_000))
  const third = request(`${proxy.url}/big`, { headers: { 'x-hold': '1' } })
  // The candidate's third answer is in the I/O thread; the primary's is not in yet.
  ok(await eventually(async () => await metric(proxy, 'paritygate_requests_total{target="candidate",route="GET /big",method="GET",status="2xx"}') === 3 && hold !== null, 10_000))
  // New comparison rules: the workers, and their I/O thread with what it holds, are replaced.
  deepStrictEqual(proxy.app.reload({ ...proxy.config, compare: { ...proxy.config.compare, maxDiffs: 50 } }), [])
  ;(hold as unknown as () => void)()
  strictEqual(await (await third).body.text(), v1)
  ok(await eventually(async () => await metric(proxy, 'paritygate_comparisons_total{route="GET /big",outcome="skipped"}') === 1, 10_000))
  strictEqual(await metricOrZero(proxy, 'paritygate_comparisons_total{route="GET /big",outcome="error"}'), 0, 'a lost body is not the candidate failing')
  ok(await eventually(() => proxy.app.proxyState.mirror?.budget.used === 0))
})

test('mirror should shed an offloaded candidate answer at its headers when the comparison queue has no room for the pair', async (t) => {
  const v1 = bigBody('v1')
  const primary = await createUpstream(t, answer(v1))
  const candidate = await createUpstream(t, answer(bigBody('v2')))
  // 2 x 330 KB never fits a queue of 100 KB: every pair is skipped, and no candidate body is worth receiving.
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100 }, compare: { maxQueueBytes: 100_000 } })
  for (let i = 0; i < 4; i++) {
    strictEqual(await (await request(`${proxy.url}/big`)).body.text(), v1, 'users get the primary answer')
    if (i === 1) ok(await eventually(() => proxy.app.engine?.ioReady === true, 10_000), 'the second large answer started the I/O thread')
  }
  ok(await eventually(async () => await metric(proxy, 'paritygate_comparisons_total{route="GET /big",outcome="skipped"}') === 4, 10_000))
  strictEqual(await metric(proxy, 'paritygate_mirror_offloaded_total{route="GET /big"}'), 2)
  // Cut off at the headers, on either thread: no body received, so none reached the queue to be shed there.
  strictEqual(await metric(proxy, 'paritygate_candidate_errors_total{reason="overloaded"}'), 4)
  strictEqual(proxy.app.engine?.overloaded, 0, 'nothing reached the comparison queue')
  ok(await eventually(() => proxy.app.proxyState.mirror?.budget.used === 0), 'every reserved byte was given back')
  strictEqual(await metric(proxy, 'paritygate_mirror_inflight'), 0)
})

test('mirror should compare an offloaded candidate answer with an empty body, not skip it', async (t) => {
  const v1 = bigBody('v1')
  const primary = await createUpstream(t, answer(v1))
  const candidate = await createUpstream(t, (_req, res) => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': '0' }).end() })
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100 } })
  for (let i = 0; i < 4; i++) {
    strictEqual(await (await request(`${proxy.url}/big`)).body.text(), v1)
    if (i === 1) ok(await eventually(() => proxy.app.engine?.ioReady === true, 10_000), 'the second large answer started the I/O thread')
  }
  ok(await eventually(async () => await metric(proxy, 'paritygate_comparisons_total{route="GET /big",outcome="mismatch"}') === 4, 10_000))
  strictEqual(await metric(proxy, 'paritygate_mirror_offloaded_total{route="GET /big"}'), 2)
  strictEqual(await metricOrZero(proxy, 'paritygate_comparisons_total{route="GET /big",outcome="skipped"}'), 0)
})
