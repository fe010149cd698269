/* `paritygate report`: a running instance's routes, fields and verdict, with the verdict as the exit status (0 pass, 1 fail, 3 inconclusive, 2 cannot say). */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { test } from 'node:test'
import { request } from 'undici'
import { adminBase, exitCodeOf, shortValue } from '../../src/report/report.ts'
import { eventually, metric } from '../mirror/helpers.ts'
import { runCli } from '../helpers/cli.ts'
import { startProxy } from '../helpers/proxy.ts'
import { createUpstream } from '../helpers/upstream.ts'

const TOKEN = 'tok-report-7'

async function instance (t: Parameters<typeof startProxy>[0], candidateBody: (n: number) => string, opts: { adminToken?: string, requests?: number } = {}) {
  let n = 0
  const primary = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"total":10,"name":"Ada"}'))
  const candidate = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(candidateBody(++n)))
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100 }, gate: { minLatencySamples: 10 }, routes: [{ name: 'orders', match: 'GET /orders/:id' }] }, opts)
  const count = opts.requests ?? 0
  for (let i = 0; i < count; i++) await (await request(`${proxy.url}/orders/${i}`)).body.dump()
  if (count > 0) ok(await eventually(async () => await metric(proxy, 'paritygate_comparisons_total{route="orders",outcome="match"}') + await metric(proxy, 'paritygate_comparisons_total{route="orders",outcome="mismatch"}') === count))
  return proxy
}

const hostPort = (url: string) => new URL(url).host

test('report should exit 1 on fail and print routes, p95s, top fields with example values, and the verdict with its reasons', async (t) => {
  const proxy = await instance(t, () => '{"total":11,"name":"Ada"}', { requests: 40 })
  const { code, stdout, stderr } = await runCli(['report', '--admin', hostPort(proxy.admin), '--window', '5m'])
  strictEqual(code, 1, stderr)
  ok(stdout.includes('verdict over 5m: FAIL'), stdout)
  ok(/orders\s+40\s+0\s+40\s/.test(stdout), stdout)
  ok(stdout.includes('$.total') && stdout.includes('REAL DIFFERENCE') && stdout.includes('e.g. 10 → 11'), stdout)
  ok(/mismatch\s+fail\s+mismatch ratio/.test(stdout), stdout)
  ok(stdout.includes('p95 v1 / v2 ms'), stdout)
})

test('report should exit 0 on pass, 3 on inconclusive with what it waits for, and give JSON with --json', async (t) => {
  const quiet = await instance(t, () => '{"total":10,"name":"Ada"}')
  const waiting = await runCli(['report', '--admin', hostPort(quiet.admin)])
  strictEqual(waiting.code, 3, waiting.stderr)
  ok(waiting.stdout.includes('INCONCLUSIVE') && waiting.stdout.includes('(no traffic in the window)'), waiting.stdout)

  const healthy = await instance(t, () => '{"total":10,"name":"Ada"}', { requests: 3000 })
  const pass = await runCli(['report', '--admin', hostPort(healthy.admin), '--route', 'orders', '--json'])
  const parsed = JSON.parse(pass.stdout) as { gate: { verdict: string }, route: string, routes: Array<{ route: string }> }
  strictEqual(pass.code, exitCodeOf(parsed.gate.verdict as 'pass'), pass.stdout)
  deepStrictEqual([parsed.route, parsed.routes.map((r) => r.route)], ['orders', ['orders']])
  if (parsed.gate.verdict === 'pass') strictEqual(pass.code, 0)
  deepStrictEqual([exitCodeOf('pass'), exitCodeOf('fail'), exitCodeOf('inconclusive')], [0, 1, 3])
})

test('report should use PARITYGATE_ADMIN_TOKEN for the fields, and say when they were refused', async (t) => {
  const proxy = await instance(t, () => '{"total":12,"name":"Ada"}', { adminToken: TOKEN, requests: 5 })
  const without = await runCli(['report', '--admin', hostPort(proxy.admin)])
  ok(without.stdout.includes('differing fields: not shown (401') && !without.stdout.includes('e.g.'), without.stdout)
  const withToken = await runCli(['report', '--admin', hostPort(proxy.admin)], { PARITYGATE_ADMIN_TOKEN: TOKEN })
  ok(withToken.stdout.includes('e.g. 10 → 12'), withToken.stdout)
})

test('report should exit 2 with a clear message on bad usage, an unknown route, or an admin it cannot reach', async (t) => {
  const proxy = await instance(t, () => '{"total":10}')
  const unknown = await runCli(['report', '--admin', hostPort(proxy.admin), '--route', 'nope'])
  strictEqual(unknown.code, 2)
  ok(unknown.stderr.includes('404') && unknown.stderr.includes('nope'), unknown.stderr)
  const badWindow = await runCli(['report', '--admin', hostPort(proxy.admin), '--window', 'soon'])
  deepStrictEqual([badWindow.code, badWindow.stderr.includes('--window')], [2, true])
  const badAdmin = await runCli(['report', '--admin', 'not-an-address'])
  deepStrictEqual([badAdmin.code, badAdmin.stderr.includes('--admin')], [2, true])
  const closed = await createUpstream(t, (_req, res) => res.end())
  const port = new URL(closed).port
  const unreachable = await runCli(['report', '--admin', `127.0.0.1:${Number(port) === 1 ? 2 : 1}`])
  strictEqual(unreachable.code, 2)
  ok(unreachable.stderr.includes('cannot reach the admin API'), unreachable.stderr)
  strictEqual(adminBase('0.0.0.0:9000'), 'http://127.0.0.1:9000')
  strictEqual(adminBase('[::1]:9000'), 'http://[::1]:9000')
  strictEqual(shortValue({ text: 'abc', truncated: true }), 'abc…')
  strictEqual(shortValue(null), '(none)')
})
