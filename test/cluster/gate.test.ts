/* --workers 2: the group's gate counts candidate 5xx, answers 404 for unknown routes, and starts afresh on a new candidate version (issue 12, items 5, 6, 8). */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool, request } from 'undici'
import { listening, spawnCli } from '../helpers/cli.ts'
import { createUpstream } from '../helpers/upstream.ts'

async function drive (url: string, count: number, from: number): Promise<void> {
  const pool = new Pool(url, { connections: 8 })
  let i = 0
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (i < count) {
      const n = from + i++
      await (await pool.request({ method: 'GET', path: `/orders/${n}` })).body.text()
    }
  }))
  await pool.close()
}

async function gate (admin: string, query = ''): Promise<Record<string, any>> {
  return await (await request(`${admin}/api/v1/gate${query}`)).body.json() as Record<string, any>
}

/** Polls the group's gate until `check` holds (batches reach the primary every 100 ms), or 10 s. */
async function gateUntil (admin: string, check: (g: Record<string, any>) => boolean): Promise<Record<string, any>> {
  let g = await gate(admin)
  for (let i = 0; i < 100 && !check(g); i++) {
    await sleep(100)
    g = await gate(admin)
  }
  return g
}

test('a worker group should count candidate 5xx, 404 unknown routes, and reset on a new candidate version', async (t) => {
  let build = '1.0'
  const primary = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":1,"price":10}'))
  const candidate = await createUpstream(t, (req, res) => {
    const n = Number((req.url ?? '').split('/')[2])
    // 1.0: a 500 on every 10th; 2.0: always right
    const fail = build === '1.0' && n % 10 === 0
    res.writeHead(fail ? 500 : 200, { 'content-type': 'application/json', 'x-app-version': build }).end('{"id":1,"price":10}')
  })
  const dir = mkdtempSync(join(tmpdir(), 'paritygate-gate-cluster-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const config = join(dir, 'config.json')
  writeFileSync(config, JSON.stringify({
    primary: { url: primary },
    candidate: { url: candidate, versionHeader: 'X-App-Version', breaker: { failures: 100_000 } },
    mirror: { percent: 100, maxEventLoopLagMs: 60_000 },
    routes: [{ name: 'orders', match: 'GET /orders/:n' }, { name: 'quiet', match: 'GET /quiet' }]
  }))
  const child = spawnCli(['serve', '--config', config, '--workers', '2', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--log-level', 'info'])
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const { proxy, admin, output } = await listening(child)

  await drive(proxy, 200, 1)
  let g = await gateUntil(admin, (x) => x.checks.mismatch.compared + x.checks.mismatch.errored >= 200)
  strictEqual(g.candidateVersion, '1.0')
  strictEqual(g.checks.errors.serverErrors, 20, 'every 10th of 200 answered 500 where the primary answered 200')
  strictEqual(g.checks.mismatch.mismatched, 20)

  // unknown route: 404 from the group's primary, with the known routes
  const unknown = await request(`${admin}/api/v1/gate?route=nope`)
  strictEqual(unknown.statusCode, 404)
  const body = await unknown.body.json() as { code: string, routes: string[] }
  strictEqual(body.code, 'PARITYGATE_ERR_UNKNOWN_ROUTE')
  deepStrictEqual(body.routes, ['orders', 'quiet'])
  strictEqual((await request(`${admin}/api/v1/fields?route=nope`)).statusCode, 404)
  strictEqual((await gate(admin, '?route=quiet')).verdict, 'inconclusive')

  // a new build: fresh windows in the primary and fresh field counts in every worker
  build = '2.0'
  await drive(proxy, 100, 1000)
  g = await gateUntil(admin, (x) => x.candidateVersion === '2.0' && x.checks.mismatch.compared >= 100)
  strictEqual(g.candidateVersion, '2.0')
  strictEqual(g.checks.mismatch.compared, 100)
  strictEqual(g.checks.mismatch.mismatched, 0)
  strictEqual(g.checks.errors.serverErrors, 0)
  const fields = await (await request(`${admin}/api/v1/fields`)).body.json() as { fields: unknown[] }
  deepStrictEqual(fields.fields, [], 'the 500s of 1.0 are forgotten in every worker')
  ok(output().includes('candidate version changed: gate windows, field counts and samples start afresh'), output())

  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  strictEqual(code, 0, output())
})
