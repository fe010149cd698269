/* The first hour (issue 15): a user's first run with --primary and --candidate only gets a verdict that means something. */
import { deepStrictEqual, match, ok, strictEqual } from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool, request } from 'undici'
import { runCli, spawnCli } from '../helpers/cli.ts'
import { createUpstream } from '../helpers/upstream.ts'
import { eventually } from '../mirror/helpers.ts'

interface Started { lines: Array<Record<string, unknown>>, start: Record<string, unknown>, proxy: string, admin: string }

/** Starts `paritygate ARGS` and waits (10 s at most) for its start-up line. */
async function serve (t: TestContext, args: string[], env: Record<string, string> = {}): Promise<Started> {
  const child = spawnCli(['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', ...args], env)
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let out = ''
  child.stdout?.on('data', (d) => { out += d })
  const until = Date.now() + 10_000
  while (!out.includes('paritygate listening') && Date.now() < until && child.exitCode === null) await sleep(20)
  const lines: Array<Record<string, unknown>> = []
  const parse = () => { lines.length = 0; for (const l of out.split('\n')) if (l.startsWith('{')) lines.push(JSON.parse(l)) }
  parse()
  const start = lines.find((l) => l.msg === 'paritygate listening')
  ok(start !== undefined, `no start-up line in ${out}`)
  const started = { lines, start, proxy: start.proxy as string, admin: start.admin as string }
  child.stdout?.on('data', parse)
  return started
}

async function gate (admin: string): Promise<{ verdict: string, checks: Record<string, { reason: string, verdict: string, mismatched?: number, noise?: number }> }> {
  return await (await request(`${admin}/api/v1/gate`)).body.json() as never
}

test('a mistyped flag should get "did you mean", not the parser\'s advice about positional arguments (exit 2)', async () => {
  const r = await runCli(['--primry', 'http://127.0.0.1:1'])
  strictEqual(r.code, 2)
  match(r.stderr, /unknown flag --primry: did you mean --primary\?/)
  ok(!r.stderr.includes('positional'), r.stderr)
  const far = await runCli(['--zzzzzz'])
  strictEqual(far.code, 2)
  match(far.stderr, /unknown flag --zzzzzz\n/)
})

test('the start-up line should say everything that decides the verdict, and whether a token is set (never the token)', async (t) => {
  const primary = await createUpstream(t, (_req, res) => res.end('{}'))
  const candidate = await createUpstream(t, (_req, res) => res.end('{}'))
  const token = `tok-${randomUUID()}`
  const s = await serve(t, ['--primary', primary, '--candidate', candidate], { PARITYGATE_ADMIN_TOKEN: token })
  strictEqual(s.start.primary, primary)
  strictEqual(s.start.candidate, candidate)
  deepStrictEqual(s.start.mirror, { enabled: true, percent: 100, methods: ['GET', 'HEAD', 'OPTIONS'] })
  const noise = s.start.noise as Record<string, unknown>
  strictEqual(noise.percent, 5)
  strictEqual(noise.extraPrimaryLoad, '5 % of GET/HEAD/OPTIONS requests')
  deepStrictEqual(s.start.gate, { window: '5m', confidence: 0.95, mismatchBudget: 0.001, errorBudget: 0.005, latencyP95Ratio: 1.1, latencySlackMs: 5 })
  match(s.start.admin as string, /^http:\/\/127\.0\.0\.1:\d+$/)
  match(s.start.adminChanges as string, /token/)
  ok(!JSON.stringify(s.lines).includes(token))
  // Warnings follow the start-up line, possibly in a later chunk: give them time to arrive before saying there are none.
  await sleep(300)
  ok(!s.lines.some((l) => l.level === 'warn'), 'a candidate with the defaults mirrors: nothing to warn of')
})

test('a candidate with mirror.percent 0 should be warned of at start and named in the gate\'s reasons; so should the kill switch', async (t) => {
  const primary = await createUpstream(t, (_req, res) => res.end('{}'))
  const candidate = await createUpstream(t, (_req, res) => res.end('{}'))
  const s = await serve(t, ['--primary', primary, '--candidate', candidate, '--mirror-percent', '0'])
  // The warning is the line after the start-up line: it may come in a later chunk of stdout.
  ok(await eventually(() => s.lines.some((l) => l.level === 'warn' && l.msg === 'candidate set, mirror.percent is 0: nothing is mirrored')), JSON.stringify(s.lines))
  await (await request(`${s.proxy}/x`)).body.dump()
  let g = await gate(s.admin)
  for (const check of ['mismatch', 'errors', 'latency']) match(g.checks[check].reason, /^candidate set, mirror\.percent is 0: nothing is mirrored: /)

  // The kill switch, the way the README shows it: curl -X PUT -d '{"percent":50}' (a form content type), then -d '{"enabled":false}'.
  const put = (body: string, type?: string) => request(`${s.admin}/api/v1/mirror`, { method: 'PUT', body, headers: type === undefined ? {} : { 'content-type': type } })
  strictEqual((await put('{"percent":50}', 'application/x-www-form-urlencoded')).statusCode, 200)
  g = await gate(s.admin)
  ok(!g.checks.mismatch.reason.includes('nothing is mirrored'), g.checks.mismatch.reason)
  strictEqual((await put('{"enabled":false}')).statusCode, 200)
  g = await gate(s.admin)
  match(g.checks.errors.reason, /^mirroring is disabled at run time .*: nothing is mirrored: /)
})

test('the defaults should learn a trace id and a timestamp as noise on the first run, and --ignore should drop a field: the gate passes within 600 requests', async (t) => {
  // v1 answers a fresh traceId and generatedAt on every call; v2 differs from it only there, and in a build field the user ignores.
  let n = 0
  const answer = (res: ServerResponse, build: string) => {
    const body = JSON.stringify({ traceId: randomUUID(), generatedAt: new Date(Date.now() + (n++ % 7)).toISOString(), build, order: { id: 7, total: '12.50', items: [1, 2, 3] } })
    res.writeHead(200, { 'content-type': 'application/json' }).end(body)
  }
  const primary = await createUpstream(t, (_req, res) => answer(res, 'v1'))
  const candidate = await createUpstream(t, (_req, res) => answer(res, 'v2'))
  // Budgets a few hundred requests can decide; noise settings are the defaults under test.
  const dir = mkdtempSync(join(tmpdir(), 'paritygate-first-run-'))
  const file = join(dir, 'paritygate.yaml')
  writeFileSync(file, 'gate:\n  mismatchBudget: 0.01\n  errorBudget: 0.01\n  minLatencySamples: 50\n  latencySlackMs: 1000\n')
  const s = await serve(t, ['--config', file, '--primary', primary, '--candidate', candidate, '--ignore', '$.build'])
  const pool = new Pool(s.proxy, { connections: 4 })
  t.after(() => pool.close())
  let sent = 0
  let g = await gate(s.admin)
  while (sent < 600 && g.verdict !== 'pass') {
    await Promise.all(Array.from({ length: 50 }, async () => (await pool.request({ method: 'GET', path: '/orders/7' })).body.dump()))
    sent += 50
    if (sent >= 400) {
      await sleep(100)
      g = await gate(s.admin)
    }
  }
  for (let i = 0; i < 50 && g.verdict !== 'pass'; i++) { await sleep(100); g = await gate(s.admin) }
  strictEqual(g.verdict, 'pass', JSON.stringify(g.checks))
  strictEqual(g.checks.mismatch.mismatched, 0)
  ok((g.checks.mismatch.noise ?? 0) > 0)
  const noise = await (await request(`${s.admin}/api/v1/noise`)).body.json() as { paths: Array<{ path: string, noisy: boolean }> }
  deepStrictEqual(noise.paths.filter((p) => p.noisy).map((p) => p.path).sort(), ['$.generatedAt', '$.traceId'])
})

test('--ignore and --noise-percent should be validated like the config\'s keys (exit 2, every error)', async () => {
  const r = await runCli(['--primary', 'http://127.0.0.1:1', '--ignore', '$.ok', '--ignore', '$.x[', '--ignore', 'nodollar', '--noise-percent', '200'])
  strictEqual(r.code, 2)
  match(r.stderr, /compare\.ignore\[2\]: must be a JSON path starting with "\$".*\(from flag --ignore\)/)
  match(r.stderr, /noise\.percent: must be <= 100 \(from flag --noise-percent\)/)
  const paths = await runCli(['--primary', 'http://127.0.0.1:1', '--ignore', '$.ok', '--ignore', '$.x[', '--ignore', '$.y[z]'])
  strictEqual(paths.code, 2)
  match(paths.stderr, /compare\.ignore\[1\]: missing "\]" in "\$\.x\["/)
  match(paths.stderr, /compare\.ignore\[2\]: bad bracket segment \[z\]/)
})
