/* A candidate 5xx where the primary answered without one is an error of the gate's errors check (issue 12, item 5), over real mirrored traffic. */
import { ok, match, strictEqual } from 'node:assert/strict'
import { test } from 'node:test'
import { Pool, request } from 'undici'
import { startProxy, type StartedProxy } from '../helpers/proxy.ts'
import { createUpstream } from '../helpers/upstream.ts'
import { eventually, metric } from '../mirror/helpers.ts'

async function drive (proxy: StartedProxy, paths: string[]): Promise<void> {
  const pool = new Pool(proxy.url, { connections: 8 })
  let i = 0
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (i < paths.length) {
      const path = paths[i++]
      await (await pool.request({ method: 'GET', path })).body.text()
    }
  }))
  await pool.close()
  await eventually(() => (proxy.app.engine?.queued ?? 0) === 0 && proxy.app.proxyState.mirror?.state.inflight === 0, 10_000)
}

test('a candidate 500 where the primary answered 200 should count in the errors check, and a 500 on both sides should not', async (t) => {
  // /ok/N: the primary answers 200; the candidate 500 for N % 25 === 0 (4 %), else the same 200.
  // /down/N: both answer 500 (the primary's own failure is not the candidate's).
  const primary = await createUpstream(t, (req, res) => {
    const down = req.url?.startsWith('/down/') === true
    res.writeHead(down ? 500 : 200, { 'content-type': 'application/json' }).end('{"ok":true}')
  })
  const candidate = await createUpstream(t, (req, res) => {
    const [, kind, n] = (req.url ?? '').split('/')
    const fail = kind === 'down' || Number(n) % 25 === 0
    res.writeHead(fail ? 500 : 200, { 'content-type': 'application/json' }).end('{"ok":true}')
  })
  const proxy = await startProxy(t, {
    primary: { url: primary },
    candidate: { url: candidate, breaker: { failures: 100_000 } },
    mirror: { percent: 100 },
    routes: [{ name: 'ok', match: 'GET /ok/:n' }, { name: 'down', match: 'GET /down/:n' }],
    gate: { mismatchBudget: 0.1, latencySlackMs: 1000 }
  })
  await drive(proxy, [...Array.from({ length: 1000 }, (_, i) => `/ok/${i + 1}`), ...Array.from({ length: 100 }, (_, i) => `/down/${i}`)])

  const gate = await (await request(`${proxy.admin}/api/v1/gate?window=5m`)).body.json() as Record<string, any>
  const errors = gate.checks.errors
  strictEqual(errors.mirrored, 1100)
  strictEqual(errors.transport, 0)
  strictEqual(errors.serverErrors, 40, '1000 / 25 candidate 500s where the primary answered 200; none on /down')
  strictEqual(errors.errors, 40)
  strictEqual(errors.verdict, 'fail', errors.reason)
  match(errors.reason, /40 5xx where the primary was not/)
  // the comparison sees the same pairs as mismatches (the status differs)
  strictEqual(gate.checks.mismatch.mismatched, 40)
  strictEqual(gate.verdict, 'fail')

  const ok1 = await (await request(`${proxy.admin}/api/v1/gate?window=5m&route=down`)).body.json() as Record<string, any>
  strictEqual(ok1.checks.errors.serverErrors, 0)
  strictEqual(ok1.checks.mismatch.mismatched, 0, 'both 500 with the same body: a match')

  strictEqual(await metric(proxy, 'paritygate_candidate_server_errors_total{route="ok"}'), 40)
  strictEqual(await metric(proxy, 'paritygate_candidate_server_errors_total{route="down"}'), 0)
  const text = await (await request(`${proxy.admin}/metrics`)).body.text()
  ok(text.includes('paritygate_candidate_server_errors_total{route="down"} 0'), 'the series exists at 0 from a route\'s first comparison')
})
