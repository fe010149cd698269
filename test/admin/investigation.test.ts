/* What an investigation reads: differences with both values (redacted when stored), bodies as JSON, example values per field, and history for charts. */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { request } from 'undici'
import { EXAMPLES_PER_PATH, FieldStats } from '../../src/compare/field-stats.ts'
import { MAX_SERIES_POINTS, RollingWindow } from '../../src/stats/window.ts'
import { ParityStats } from '../../src/stats/parity.ts'
import { validateConfig } from '../../src/config/index.ts'
import { eventually } from '../mirror/helpers.ts'
import { listening, spawnCli } from '../helpers/cli.ts'
import { startProxy, type StartedProxy } from '../helpers/proxy.ts'
import { createUpstream } from '../helpers/upstream.ts'

const CARD = '4111 1111 1111 1111'

function json (res: ServerResponse, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  res.writeHead(200, { 'content-type': 'application/json', 'x-build': 'b-1' }).end(text)
}

async function firstSample (proxy: StartedProxy, route: string): Promise<Record<string, any>> {
  let id = ''
  ok(await eventually(async () => {
    const list = await (await request(`${proxy.admin}/api/v1/mismatches?route=${encodeURIComponent(route)}`)).body.json() as { signatures: Array<{ samples: Array<{ id: string }> }> }
    id = list.signatures[0]?.samples[0]?.id ?? ''
    return id !== ''
  }), `a sample of ${route}`)
  return await (await request(`${proxy.admin}/api/v1/mismatches/${id}`)).body.json() as Record<string, any>
}

function diffAt (sample: Record<string, any>, path: string): Record<string, any> {
  const d = (sample.diffs as Array<Record<string, any>>).find((x) => x.path === path)
  ok(d !== undefined, `${path} in ${JSON.stringify(sample.diffs)}`)
  return d
}

test('a difference should carry both values, redacted exactly as the bodies, and bodies should come back as JSON', async (t) => {
  const primary = await createUpstream(t, (_req, res) => json(res, `{"price":10,"big":12345678901234567890,"user":{"password":"pw-primary-1","name":"Ada"},"note":"paid with ${CARD}","items":[{"id":1,"memo":"m1-a"},{"id":2,"memo":"m2-a"}],"gone":true}`))
  const candidate = await createUpstream(t, (_req, res) => json(res, '{"price":11,"big":12345678901234567891,"user":{"password":"pw-candidate-2","name":"Ada"},"note":"paid with 5500 0000 0000 0004","items":[{"id":2,"memo":"m2-b"},{"id":1,"memo":"m1-b"}],"added":[1,2]}'))
  const proxy = await startProxy(t, {
    primary: { url: primary },
    candidate: { url: candidate },
    mirror: { percent: 100 },
    // $.items[0].memo is secret by configuration: in the candidate's body that is id 2's memo, which
    // the unordered pairing compares at the primary's index 1.
    redact: { fields: ['$.items[0].memo'] },
    routes: [{ name: 'order', match: 'GET /order', compare: { unordered: ['$.items'] } }]
  })
  await (await request(`${proxy.url}/order`)).body.text()
  const sample = await firstSample(proxy, 'order')
  const text = JSON.stringify(sample)
  for (const secret of ['pw-primary-1', 'pw-candidate-2', CARD, '5500 0000 0000 0004', 'm2-b']) ok(!text.includes(secret), `${secret} in ${text}`)

  deepStrictEqual(diffAt(sample, '$.price'), { path: '$.price', kind: 'changed', primary: { json: 10 }, candidate: { json: 11 } })
  // Beyond double precision a value is its exact text, not a rounded number that would look equal.
  deepStrictEqual(diffAt(sample, '$.big'), { path: '$.big', kind: 'changed', primary: { text: '12345678901234567890', truncated: false }, candidate: { text: '12345678901234567891', truncated: false } })
  const password = diffAt(sample, '$.user.password')
  ok(/^\[redacted:[0-9a-f]{8}\]$/.test(password.primary.json) && /^\[redacted:[0-9a-f]{8}\]$/.test(password.candidate.json), JSON.stringify(password))
  ok(sample.primary.body.includes(`"password":${JSON.stringify(password.primary.json)}`), 'the value is the placeholder the body shows')
  ok(password.primary.json !== password.candidate.json, 'different secrets, different placeholders')
  const note = diffAt(sample, '$.note')
  ok(/^paid with \[redacted:[0-9a-f]{8}\]$/.test(note.primary.json), note.primary.json)
  deepStrictEqual(diffAt(sample, '$.gone'), { path: '$.gone', kind: 'missing', primary: { json: true }, candidate: null })
  deepStrictEqual(diffAt(sample, '$.added'), { path: '$.added', kind: 'extra', primary: null, candidate: { json: [1, 2] } })
  // Unordered: id 2 (the primary's index 1) pairs with the candidate's index 0, whose memo the
  // configured path hides in the candidate's body: its value is hidden too, whatever index the
  // difference's path names (an index a configured path names counts for every element: never less
  // hidden than the body, sometimes more).
  const id2 = diffAt(sample, '$.items[1].memo')
  ok(sample.candidate.body.includes('"id":2,"memo":"[redacted:'), sample.candidate.body)
  ok(/^\[redacted:[0-9a-f]{8}\]$/.test(id2.candidate.json), `id 2's memo is redacted: ${JSON.stringify(id2)}`)

  strictEqual(sample.primary.bodyKind, 'text', 'a body with a number beyond double precision stays exact text')
  strictEqual(typeof sample.primary.body, 'string')
  strictEqual(sample.primary.status, 200)
  ok(typeof sample.primary.hash === 'string' && sample.primary.hash !== sample.candidate.hash, 'both hashes')
  strictEqual(sample.requestId.length > 0, true)
})

test('a JSON body should be JSON when whole, and a string flagged truncated when cut at maxBodyChars', async (t) => {
  const long = 'x'.repeat(400)
  const primary = await createUpstream(t, (req, res) => json(res, req.url === '/long' ? { v: 1, long } : { v: 1, name: 'Ada' }))
  const candidate = await createUpstream(t, (req, res) => json(res, req.url === '/long' ? { v: 2, long } : { v: 2, name: 'Ada' }))
  const proxy = await startProxy(t, {
    primary: { url: primary },
    candidate: { url: candidate },
    mirror: { percent: 100 },
    compare: { samples: { maxBodyChars: 200 } },
    routes: [{ name: 'short', match: 'GET /short' }, { name: 'long', match: 'GET /long' }]
  })
  await (await request(`${proxy.url}/short`)).body.text()
  await (await request(`${proxy.url}/long`)).body.text()
  const short = await firstSample(proxy, 'short')
  deepStrictEqual([short.primary.bodyKind, short.primary.body, short.primary.bodyTruncated], ['json', { name: 'Ada', v: 1 }, false])
  deepStrictEqual(short.candidate.body, { name: 'Ada', v: 2 })
  const cut = await firstSample(proxy, 'long')
  deepStrictEqual([cut.primary.bodyKind, typeof cut.primary.body, cut.primary.bodyTruncated, cut.primary.body.length], ['text', 'string', true, 200])
  ok(cut.primary.body.startsWith('{"long":"xxx'), cut.primary.body)
  // A long value at a differing path is cut too, and says so.
  const fields = await (await request(`${proxy.admin}/api/v1/fields?route=long`)).body.json() as { fields: Array<{ path: string, examples: unknown[] }> }
  deepStrictEqual(fields.fields.map((f) => [f.path, f.examples]), [['$.v', [{ path: '$.v', primary: { json: 1 }, candidate: { json: 2 } }]]])
})

test('fields should show a few distinct example pairs per path, redacted, bounded in bytes', async (t) => {
  let n = 0
  const primary = await createUpstream(t, (_req, res) => json(res, { seq: 0, token: 'tk-primary', same: 1 }))
  const candidate = await createUpstream(t, (_req, res) => json(res, { seq: ++n, token: `tk-candidate-${n}`, same: 1 }))
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100 }, routes: [{ name: 'seq', match: 'GET /seq' }] })
  for (let i = 0; i < 6; i++) await (await request(`${proxy.url}/seq`)).body.text()
  let fields: Array<{ path: string, count: number, examples: Array<{ path: string, primary: { json: unknown }, candidate: { json: unknown } }> }> = []
  ok(await eventually(async () => {
    fields = ((await (await request(`${proxy.admin}/api/v1/fields?route=seq`)).body.json()) as { fields: typeof fields }).fields
    return fields.find((f) => f.path === '$.seq')?.count === 6
  }))
  const seq = fields.find((f) => f.path === '$.seq')
  strictEqual(seq?.examples.length, EXAMPLES_PER_PATH)
  deepStrictEqual(seq?.examples.map((e) => e.candidate.json).sort(), [4, 5, 6], 'the latest distinct pairs')
  const token = fields.find((f) => f.path === '$.token')
  ok(token !== undefined && !JSON.stringify(token).includes('tk-'), JSON.stringify(token))

  // The bound: past maxExampleBytes no new example is kept, counts go on.
  const stats = new FieldStats(10, 10, 2000)
  const big = { text: JSON.stringify('v'.repeat(200)), truncated: false }
  for (let i = 0; i < 50; i++) stats.record('r', [{ path: `$.p${i}`, kind: 'changed' }], [{ primary: big, candidate: { text: String(i), truncated: false } }])
  ok(stats.exampleBytes <= 2000, `${stats.exampleBytes}`)
  strictEqual(stats.list('r').reduce((a, f) => a + f.count, 0), 10, 'counts kept (10 paths at most)')
  stats.reset()
  strictEqual(stats.exampleBytes, 0)
})

test('history should give per-bucket series over a window, bounded in points, 404 for an unknown route and 400 for a bad window', async (t) => {
  const primary = await createUpstream(t, (_req, res) => json(res, { v: 1 }))
  let n = 0
  const candidate = await createUpstream(t, (_req, res) => json(res, { v: ++n % 2 === 0 ? 2 : 1 }))
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100 }, routes: [{ name: 'h', match: 'GET /h' }, { name: 'other-route', match: 'POST /p' }] })
  for (let i = 0; i < 10; i++) await (await request(`${proxy.url}/h`)).body.text()
  for (let i = 0; i < 3; i++) await (await request(`${proxy.url}/p`, { method: 'POST', body: '{}' })).body.text()
  type History = { start: number, stepMs: number, counts: Record<string, number[]>, mismatchRatio: Array<number | null>, mismatchBudget: number, decisions: Record<string, number[]>, latency: { stepMs: number, primary: { count: number[], p95Ms: number[] }, candidate: { count: number[] } } }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
  let h: History | null = null
  ok(await eventually(async () => {
    h = await (await request(`${proxy.admin}/api/v1/history?window=5m&route=h`)).body.json() as History
    return sum(h.counts.match) + sum(h.counts.mismatch) === 10
  }), JSON.stringify(h))
  const r = h as unknown as History
  strictEqual(r.stepMs, 10_000)
  strictEqual(r.counts.match.length, 30, '5 m of 10 s buckets')
  deepStrictEqual([sum(r.counts.requests), sum(r.counts.mirrored), sum(r.counts.mismatch), sum(r.decisions.mirrored)], [10, 10, 5, 10])
  ok(r.mismatchRatio.includes(0.5) && r.mismatchRatio.includes(null), JSON.stringify(r.mismatchRatio))
  strictEqual(r.mismatchBudget, proxy.config.gate.mismatchBudget)
  deepStrictEqual([r.latency.stepMs, r.latency.primary.count.length, sum(r.latency.primary.count), sum(r.latency.candidate.count)], [30_000, 10, 10, 10])
  ok(r.latency.primary.p95Ms.some((x) => x > 0))

  const all = await (await request(`${proxy.admin}/api/v1/history?window=1h`)).body.json() as History
  strictEqual(all.counts.requests.length, MAX_SERIES_POINTS)
  deepStrictEqual([sum(all.counts.requests), sum(all.decisions.unsafe_method)], [13, 3], 'overall: every route, every decision')

  const unknown = await request(`${proxy.admin}/api/v1/history?route=nope`)
  deepStrictEqual([unknown.statusCode, (await unknown.body.json() as { code: string }).code], [404, 'PARITYGATE_ERR_UNKNOWN_ROUTE'])
  strictEqual((await request(`${proxy.admin}/api/v1/history?window=2h`)).statusCode, 400)
  strictEqual((await request(`${proxy.admin}/api/v1/history?window=soon`)).statusCode, 400)
})

test('history should stay within MAX_SERIES_POINTS however long the kept window, summing neighbouring buckets', () => {
  let now = 1_000_000_000_000
  const w = new RollingWindow({ now: () => now, maxWindowMs: 24 * 3_600_000 })
  for (let i = 0; i < 8640; i++) { w.record('r', 'match'); now += 10_000 }
  now -= 10_000
  const s = w.series(24 * 3_600_000, 'r')
  strictEqual(s.counts.match.length, MAX_SERIES_POINTS)
  strictEqual(s.stepMs, 240_000)
  strictEqual(s.counts.match.reduce((a, b) => a + b, 0), 8640)
  strictEqual(s.start + MAX_SERIES_POINTS * s.stepMs, (Math.floor(now / 10_000) + 1) * 10_000, 'the last point ends with the current bucket')
  const config = validateConfig({ primary: { url: 'http://127.0.0.1:1' }, gate: { maxWindow: '24h' } })
  const parity = new ParityStats(config.gate, () => now)
  const h = parity.history('24h')
  ok(h.counts.requests.length <= MAX_SERIES_POINTS && h.latency.primary.p50Ms.length <= MAX_SERIES_POINTS, `${h.counts.requests.length} ${h.latency.primary.p50Ms.length}`)
})

test('history of a --workers group should cover every worker: counts and mirror decisions merged at the primary', async (t) => {
  const primary = await createUpstream(t, (_req, res) => json(res, { v: 1 }))
  const candidate = await createUpstream(t, (_req, res) => json(res, { v: 1 }))
  const dir = mkdtempSync(join(tmpdir(), 'paritygate-history-'))
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ mirror: { maxEventLoopLagMs: 60_000 } }))
  const child = spawnCli(['serve', '--config', join(dir, 'config.json'), '--primary', primary, '--candidate', candidate, '--mirror-percent', '50', '--workers', '2', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--log-level', 'info'])
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const { proxy, admin } = await listening(child)
  // Fresh connections, so that the kernel spreads them over both workers.
  for (let i = 0; i < 200; i++) await (await request(`${proxy}/w/${i}`, { headers: { connection: 'close' } })).body.text()
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
  type History = { counts: Record<string, number[]>, decisions: Record<string, number[]> }
  let h: History | null = null
  ok(await eventually(async () => {
    h = await (await request(`${admin}/api/v1/history?window=5m`)).body.json() as History
    return sum(h.counts.requests) === 200 && sum(h.counts.match) === sum(h.decisions.mirrored)
  }, 10_000), JSON.stringify(h))
  const r = h as unknown as History
  strictEqual(sum(r.decisions.mirrored) + sum(r.decisions.sampled_out), 200)
  ok(sum(r.decisions.mirrored) > 0 && sum(r.decisions.sampled_out) > 0, 'both decisions at 50 %')
  const metrics = await (await request(`${admin}/metrics`)).body.text()
  const mirrored = metrics.split('\n').filter((l) => l.startsWith('paritygate_mirror_decisions_total{') && l.includes('decision="mirrored"')).reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)
  strictEqual(sum(r.decisions.mirrored), mirrored, 'the same count as the metrics of every worker')
  child.kill('SIGTERM')
  await once(child, 'exit')
})

test('a mirror decision the history does not know should be ignored, never thrown on the live path', () => {
  const config = validateConfig({ primary: { url: 'http://127.0.0.1:1' } })
  const parity = new ParityStats(config.gate)
  parity.decision('r', 'shadow')
  parity.decision('r', 'from-a-newer-build' as 'shadow')
  parity.addDecisions('r', 'toString', 3)
  const h = parity.history('1m', 'r')
  strictEqual(h.decisions.shadow.reduce((a, b) => a + b, 0), 1)
  strictEqual(h.counts.requests.reduce((a, b) => a + b, 0), 1)
})
