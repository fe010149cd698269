/* --workers: N proxy processes behind one listener, one admin port whose metrics and gate cover the whole group. */
import { deepStrictEqual, strictEqual } from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool, request } from 'undici'
import { mergeFields, mergeMirrorStates, mergeMismatches } from '../../src/cluster/primary.ts'
import { listening, spawnCli } from '../helpers/cli.ts'
import { createUpstream } from '../helpers/upstream.ts'

// Counts are compared exactly: on a loaded CI machine, shedding mirrors on event-loop lag (200 ms
// by default) would drop a different few in each run (as startProxy raises it for in-process tests).
const CONFIG = join(mkdtempSync(join(tmpdir(), 'paritygate-workers-')), 'config.json')
writeFileSync(CONFIG, JSON.stringify({ mirror: { maxEventLoopLagMs: 60_000 } }))

async function group (t: TestContext, workers: number, primary: string, candidate: string) {
  const child = spawnCli(['serve', '--config', CONFIG, '--primary', primary, '--candidate', candidate, '--mirror-percent', '100', '--workers', String(workers), '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--log-level', 'info'])
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  return { child, ...await listening(child) }
}

async function drive (url: string, count: number) {
  const pool = new Pool(url, { connections: 16 })
  let i = 0
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (i < count) {
      const n = i++
      await (await pool.request({ method: 'GET', path: `/orders/${n % 50}` })).body.text()
    }
  }))
  await pool.close()
}

/** /metrics once `count` comparisons are counted (or after 10 s, for the assertions to say what is missing). */
async function settled (admin: string, count: number): Promise<string> {
  let text = ''
  for (let i = 0; i < 100; i++) {
    text = await (await request(`${admin}/metrics`)).body.text()
    const compared = Object.values(series(text, 'paritygate_comparisons_total{')).reduce((a, b) => a + b, 0)
    // Each worker's counters are read at scrape time; under load one can lag the others: wait for both.
    const candidate = Object.values(series(text, 'paritygate_requests_total{target="candidate"')).reduce((a, b) => a + b, 0)
    if (compared >= count && candidate >= count) break
    await sleep(100)
  }
  return text
}

function series (text: string, prefix: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const l of text.split('\n')) if (l.startsWith(prefix)) { const at = l.lastIndexOf(' '); out[l.slice(0, at)] = Number(l.slice(at + 1)) }
  return out
}

test('--workers 2 should give the same counts and gate evidence as --workers 1 for the same traffic', async (t) => {
  let n = 0
  const primary = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":1,"price":10}'))
  const candidate = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(++n % 20 === 0 ? '{"id":1,"price":11}' : '{"id":1,"price":10}'))
  const results = []
  for (const workers of [1, 2]) {
    const g = await group(t, workers, primary, candidate)
    await drive(g.proxy, 2000)
    // Mirrors end after their primaries, and the workers' batches reach the primary every 100 ms:
    // wait (on a loaded machine, longer than a fixed pause) until all 2,000 are compared.
    const metrics = await settled(g.admin, 2000)
    await sleep(300) // and the gate windows' last batch
    const gate = await (await request(`${g.admin}/api/v1/gate?window=5m`)).body.json() as { checks: { mismatch: { compared: number, mismatched: number }, errors: { mirrored: number } } }
    const fields = await (await request(`${g.admin}/api/v1/fields`)).body.json() as { fields: Array<{ path: string, count: number }> }
    results.push({
      requests: series(metrics, 'paritygate_requests_total{'),
      comparisons: series(metrics, 'paritygate_comparisons_total{'),
      decisions: series(metrics, 'paritygate_mirror_decisions_total{'),
      gate: [gate.checks.mismatch.compared, gate.checks.mismatch.mismatched, gate.checks.errors.mirrored],
      fields: fields.fields.map((f) => [f.path, f.count]),
      workers: series(metrics, 'paritygate_workers')
    })
    if (workers === 2) {
      strictEqual(results[1].workers.paritygate_workers, 2)
      const off = await request(`${g.admin}/api/v1/mirror`, { method: 'PUT', body: '{"enabled":false}', headers: { 'content-type': 'application/json' } })
      const state = await off.body.json() as { mirror: { enabled: boolean, workers: number } }
      deepStrictEqual([state.mirror.enabled, state.mirror.workers], [false, 2], 'the kill switch reaches every worker')
    }
    g.child.kill('SIGTERM')
    const [code] = await once(g.child, 'exit')
    strictEqual(code, 0, g.output())
  }
  const [one, two] = results
  strictEqual(one.requests['paritygate_requests_total{target="primary",route="GET /orders/:id",method="GET",status="2xx"}'], 2000)
  deepStrictEqual(two.requests, one.requests)
  deepStrictEqual(two.comparisons, one.comparisons)
  deepStrictEqual(two.decisions, one.decisions)
  deepStrictEqual(two.gate, one.gate)
  deepStrictEqual(two.gate, [2000, 100, 2000])
  deepStrictEqual(two.fields, one.fields)
})

test('merging worker answers should add counts and pool samples', () => {
  deepStrictEqual(mergeMirrorStates([{ enabled: true, percent: 5, inflight: 2, breaker: 'closed', lagMs: 1 }, { enabled: true, percent: 5, inflight: 3, breaker: 'open', lagMs: 9 }, null]),
    { enabled: true, percent: 5, inflight: 5, breaker: 'closed,open', lagMs: 9, workers: 2 })
  strictEqual(mergeMirrorStates([null]), null)
  const f = (count: number, ratio: number) => ({ route: 'r', path: '$.a', count, ratio, kinds: { changed: count }, noisy: false, noiseRate: 0 })
  deepStrictEqual(mergeFields([[f(10, 0.5)], [f(30, 0.25)]]), [{ route: 'r', path: '$.a', count: 40, ratio: 40 / 140, kinds: { changed: 40 }, noisy: false, noiseRate: 0 }])
  const list = (seen: number, at: string) => ({ signatures: [{ signature: 's', route: 'r', seen, lastAt: at, samples: [{ id: at, requestId: 'x', at, path: '/' }] }], stored: 1, evicted: 2 })
  const merged = mergeMismatches([list(3, 'a'), list(4, 'b')], 10)
  deepStrictEqual([merged.signatures[0].seen, merged.signatures[0].lastAt, merged.signatures[0].samples.length, merged.stored, merged.evicted], [7, 'b', 2, 2, 4])
})
