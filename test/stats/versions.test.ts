/* candidate.versionHeader: a new candidate build starts fresh gate windows, field counts and samples, logged and notified (issue 12, item 8). */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { test } from 'node:test'
import { Pool, request } from 'undici'
import { ParityGate } from '../../src/gate/parity.ts'
import { ParityStats } from '../../src/stats/parity.ts'
import { VersionTracker, versionOf } from '../../src/stats/version.ts'
import { startProxy, type StartedProxy } from '../helpers/proxy.ts'
import { createRecordingUpstream, createUpstream } from '../helpers/upstream.ts'
import { eventually } from '../mirror/helpers.ts'

async function drive (proxy: StartedProxy, count: number): Promise<void> {
  const pool = new Pool(proxy.url, { connections: 4 })
  let i = 0
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (i < count) {
      i++
      await (await pool.request({ method: 'GET', path: `/orders/${i}` })).body.text()
    }
  }))
  await pool.close()
  await eventually(() => (proxy.app.engine?.queued ?? 0) === 0 && proxy.app.proxyState.mirror?.state.inflight === 0, 10_000)
}

async function get (proxy: StartedProxy, path: string): Promise<Record<string, any>> {
  const res = await request(proxy.admin + path)
  strictEqual(res.statusCode, 200, path)
  return await res.body.json() as Record<string, any>
}

test('a new candidate version should start fresh windows, field counts and samples, and be logged, notified and shown', async (t) => {
  const primary = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":1,"price":10}'))
  // build: the version the candidate answers with (null: no header); price: what it answers
  let build: string | null = '1.0'
  let price = 11
  const candidate = await createUpstream(t, (_req, res) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (build !== null) headers['X-App-Version'] = build
    res.writeHead(200, headers).end(`{"id":1,"price":${price}}`)
  })
  const hooks = await createRecordingUpstream(t, (_r, res) => res.end('ok'))
  const proxy = await startProxy(t, {
    primary: { url: primary },
    candidate: { url: candidate, versionHeader: 'x-app-version' },
    mirror: { percent: 100 },
    gate: { notify: { webhooks: [hooks.url + '/hook'], intervalMs: 60_000 } }
  })

  // v1.0 differs on every answer
  await drive(proxy, 40)
  let gate = await get(proxy, '/api/v1/gate')
  strictEqual(gate.candidateVersion, '1.0')
  strictEqual(gate.checks.mismatch.mismatched, 40)
  ok((await get(proxy, '/api/v1/fields')).fields.length > 0)
  ok((await get(proxy, '/api/v1/mismatches')).signatures.length > 0)

  // v2.0 is fixed: none of v1.0's evidence may count for it
  build = '2.0'
  price = 10
  await drive(proxy, 30)
  gate = await get(proxy, '/api/v1/gate')
  strictEqual(gate.candidateVersion, '2.0')
  strictEqual(gate.checks.mismatch.compared, 30)
  strictEqual(gate.checks.mismatch.mismatched, 0)
  // mirrored is counted when the candidate answers, before the version is read: the few in flight
  // at the change (4 connections) went with the old windows
  ok(gate.checks.errors.mirrored >= 30 - 4 && gate.checks.errors.mirrored <= 30, String(gate.checks.errors.mirrored))
  strictEqual(gate.checks.latency.candidateSamples, 30)
  deepStrictEqual((await get(proxy, '/api/v1/fields')).fields, [])
  deepStrictEqual((await get(proxy, '/api/v1/mismatches')).signatures, [])
  const changed = proxy.logs.find((l) => l.msg === 'candidate version changed: gate windows, field counts and samples start afresh')
  ok(changed !== undefined, proxy.logText())
  strictEqual(changed.level, 'info')
  strictEqual(changed.previous, '1.0')
  strictEqual(changed.version, '2.0')
  ok(await eventually(() => hooks.received.length > 0))
  const note = JSON.parse(hooks.received[0].body.toString())
  strictEqual(note.event, 'candidate_version')
  strictEqual(note.previous, '1.0')
  strictEqual(note.version, '2.0')
  ok(String(note.text).includes('1.0 → *2.0*'))

  // a straggler of 1.0 (a replica not yet replaced) is not evidence for 2.0, nor a change back
  build = '1.0'
  price = 11
  await drive(proxy, 10)
  gate = await get(proxy, '/api/v1/gate')
  strictEqual(gate.candidateVersion, '2.0')
  strictEqual(gate.checks.mismatch.compared, 30)
  strictEqual(gate.checks.mismatch.mismatched, 0)
  deepStrictEqual((await get(proxy, '/api/v1/mismatches')).signatures, [], 'not compared at all')

  // an answer without the header (a proxy's own error page, say) counts for the judged version
  build = null
  price = 10
  await drive(proxy, 5)
  gate = await get(proxy, '/api/v1/gate')
  strictEqual(gate.candidateVersion, '2.0')
  strictEqual(gate.checks.mismatch.compared, 35)
  strictEqual(proxy.logs.filter((l) => l.msg === 'candidate version changed: gate windows, field counts and samples start afresh').length, 1)
})

test('without candidate.versionHeader nothing is reset and no version is shown', async (t) => {
  const upstream = await createUpstream(t, (_req, res) => res.writeHead(200, { 'x-app-version': String(Math.random()) }).end('{}'))
  const proxy = await startProxy(t, { primary: { url: upstream }, candidate: { url: upstream }, mirror: { percent: 100 } })
  await drive(proxy, 20)
  const gate = await get(proxy, '/api/v1/gate')
  strictEqual(gate.candidateVersion, null)
  strictEqual(gate.checks.mismatch.compared, 20)
})

test('versionOf should read a header from a captured list, case-insensitively, first one wins', () => {
  strictEqual(versionOf(['Content-Type', 'a', 'X-App-Version', ' 2.1 ', 'x-app-version', '3'], 'x-app-version'), '2.1')
  strictEqual(versionOf(['x-app-version', ''], 'x-app-version'), null)
  strictEqual(versionOf(['x-app-version'], 'x-app-version'), null)
  strictEqual(versionOf([], 'x-app-version'), null)
  strictEqual(versionOf(['x-app-version', 'v'.repeat(500)], 'x-app-version')?.length, 128)
})

test('VersionTracker should judge new builds at once, ignore stragglers, and take a rollback after the judged build went quiet', () => {
  const v = new VersionTracker(30_000)
  strictEqual(v.observe(null, 0), 'same')
  strictEqual(v.current, null)
  strictEqual(v.observe('1', 0), 'first')
  strictEqual(v.observe('1', 1), 'same')
  strictEqual(v.observe('2', 2), 'changed')
  strictEqual(v.observe('1', 3), 'stale', 'an earlier build still answering')
  strictEqual(v.isStale('1'), true)
  strictEqual(v.isStale(null), false)
  strictEqual(v.isStale('2'), false)
  strictEqual(v.observe('2', 10_000), 'same')
  strictEqual(v.observe('1', 39_999), 'stale')
  strictEqual(v.observe('1', 40_000), 'changed', '2 not seen for 30 s: a rollback to 1')
  strictEqual(v.current, '1')
  strictEqual(v.observe('3', 40_001), 'changed')
})

test('ParityStats should drop counts of another version and keep route names across a version change', () => {
  let now = 1_700_000_000_000
  const parity = new ParityStats({ window: '5m', maxWindow: '1h', maxRoutes: 10, confidence: 0.95, mismatchBudget: 0.001, errorBudget: 0.005, latencyP95Ratio: 1.1, latencySlackMs: 5, minLatencySamples: 100, notify: { webhooks: [], intervalMs: 10_000, retries: 0, timeoutMs: 1000, pageUrl: null } } as never, () => now)
  const events: unknown[] = []
  parity.onVersion((e) => events.push(e))
  parity.version('a')
  parity.count('r1', 'mismatch', 'a')
  parity.count('r1', 'mirrored')
  now += 1000
  parity.version('b')
  parity.count('r1', 'mismatch', 'a') // compared late: another build's evidence
  parity.count('r2', 'match', 'b')
  parity.add('r2', 'match', 4, 'b')
  parity.add('r2', 'match', 7, 'a')
  parity.time('r2', 'candidate', 1000, 'a')
  parity.time('r2', 'candidate', 1000, 'b')
  const counts = parity.window.snapshot(60_000)
  strictEqual(counts.mismatch, 0)
  strictEqual(counts.match, 5)
  strictEqual(counts.mirrored, 0)
  const gate = new ParityGate(parity)
  strictEqual(gate.evaluate().checks.latency.candidateSamples, 1)
  strictEqual(gate.evaluate().candidateVersion, 'b')
  deepStrictEqual(events, [{ change: 'first', previous: null, version: 'a' }, { change: 'changed', previous: 'a', version: 'b' }])
  deepStrictEqual(parity.knownRoutes(['conf']), ['conf', 'r1', 'r2'])
  strictEqual(parity.isKnownRoute('r1'), true)
  strictEqual(parity.isKnownRoute('r3'), false)
})
