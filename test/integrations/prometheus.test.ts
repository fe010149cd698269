/*
 * Against a real Prometheus (Debian's package, installed by scripts/install-prometheus.sh): the
 * shipped rules and the Prometheus AnalysisTemplate compute the same mismatch ratio as
 * paritygate's own gate, and zero traffic leaves the template inconclusive.
 */
import { ok, strictEqual } from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool, request } from 'undici'
import { startProxy, type StartedProxy } from '../helpers/proxy.ts'
import { createUpstream } from '../helpers/upstream.ts'
import { assess, CONFIG, documentOf, resolveMetric } from './helpers.ts'

const PROMETHEUS = '/usr/bin/prometheus'
const PROMTOOL = '/usr/bin/promtool'
const RULES = CONFIG + 'prometheus/rules.yml'
const TRAFFIC_MS = 20_000

/** Close enough for two windows that cannot share their exact edges. */
function agrees (a: number, b: number): boolean {
  return Math.abs(a - b) < 0.01 || Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)) < 0.2
}

async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  await once(server, 'close')
  return port
}

interface Sample { metric: Record<string, string>, value: [number, string] }

/** An instant query through Prometheus' HTTP API; the vector as Argo's Prometheus provider hands it to conditions. */
async function query (base: string, promql: string): Promise<{ samples: Sample[], result: number[] }> {
  const res = await request(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`)
  const body = await res.body.json() as { status: string, error?: string, data: { resultType: string, result: Sample[] } }
  strictEqual(body.status, 'success', `${promql}: ${body.error}`)
  strictEqual(body.data.resultType, 'vector', promql)
  return { samples: body.data.result, result: body.data.result.map((s) => Number(s.value[1])) }
}

async function scalar (base: string, promql: string): Promise<number> {
  const { result } = await query(base, promql)
  strictEqual(result.length, 1, `${promql}: ${JSON.stringify(result)}`)
  return result[0]
}

async function until (what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check().catch(() => false)) return
    await sleep(200)
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** Sum of a metric's samples in paritygate's own exposition. */
async function exported (proxy: StartedProxy, name: string): Promise<number> {
  const text = await (await request(`${proxy.admin}/metrics`)).body.text()
  let sum = 0
  for (const line of text.split('\n')) if (line.startsWith(name + '{') || line.startsWith(name + ' ')) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  return sum
}

test('promtool should accept config/prometheus/rules.yml', { skip: !existsSync(PROMTOOL) && `${PROMTOOL} missing (scripts/install-prometheus.sh installs it)` }, () => {
  const run = spawnSync(PROMTOOL, ['check', 'rules', RULES], { encoding: 'utf8' })
  strictEqual(run.status, 0, run.stdout + run.stderr)
  ok(/SUCCESS: \d+ rules found/.test(run.stdout), run.stdout)
})

test('Prometheus should compute the mismatch ratio the gate reports, and zero traffic should stay inconclusive', { timeout: 90_000 }, async (t) => {
  ok(existsSync(PROMETHEUS), `${PROMETHEUS} is missing: run scripts/install-prometheus.sh (as root; it installs Debian's prometheus package, which CI does in .ci/run)`)

  // The candidate matches on /orders/:id except for resetting every 50th connection's answer
  // (candidate errors), and answers a different result list on every 20th /search (5 % mismatches),
  // every other one of them (every 40th) with status 500 where the primary answered 200: a
  // candidate error too (2.5 % of /search), as the gate's errors check and the templates count it.
  const body = (q: string, last: number) => JSON.stringify({ q, results: [1, 2, last], total: 3 })
  const order = (id: string) => JSON.stringify({ id, price: 10, currency: 'EUR' })
  const primary = await createUpstream(t, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    res.writeHead(200, { 'content-type': 'application/json' }).end(url.pathname === '/search' ? body(url.searchParams.get('q') ?? '', 3) : order(url.pathname.slice(8)))
  })
  let searches = 0
  let orders = 0
  const candidate = await createUpstream(t, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname === '/search') {
      const s = ++searches
      res.writeHead(s % 40 === 0 ? 500 : 200, { 'content-type': 'application/json' }).end(body(url.searchParams.get('q') ?? '', s % 20 === 0 ? 4 : 3))
    } else if (++orders % 50 === 0) {
      req.socket.destroy()
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end(order(url.pathname.slice(8)))
    }
  })
  const routes = [{ name: 'get-order', match: 'GET /orders/:id' }, { name: 'search', match: 'GET /search' }]
  const busy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100 }, routes })
  const idle = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100 }, routes })

  const dir = mkdtempSync(join(tmpdir(), 'paritygate-prometheus-'))
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const target = (p: StartedProxy) => new URL(p.admin).host
  writeFileSync(join(dir, 'prometheus.yml'), [
    'global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }',
    `rule_files: [${JSON.stringify(RULES)}]`,
    'scrape_configs:',
    `  - { job_name: paritygate, static_configs: [{ targets: [${JSON.stringify(target(busy))}] }] }`,
    `  - { job_name: paritygate-idle, static_configs: [{ targets: [${JSON.stringify(target(idle))}] }] }`,
    ''
  ].join('\n'))
  let log = ''
  const prometheus: ChildProcess = spawn(PROMETHEUS, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--storage.tsdb.retention.time=1h',
    '--log.level=warn'
  ], { stdio: ['ignore', 'ignore', 'pipe'] })
  prometheus.stderr?.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-4000) })
  t.after(async () => {
    if (prometheus.exitCode === null && prometheus.signalCode === null) {
      const exited = once(prometheus, 'exit')
      prometheus.kill('SIGTERM')
      const timer = setTimeout(() => prometheus.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  })
  await until(`Prometheus ready on ${base} (log: ${log})`, async () => (await request(`${base}/-/ready`)).statusCode === 200, 15_000)
  await until('both targets up', async () => (await query(base, 'up == 1')).result.length === 2, 10_000)

  // Mixed traffic, paced (~250 requests/s) so that it spans many scrapes.
  const started = Date.now()
  const pool = new Pool(busy.url, { connections: 8 })
  let sent = 0
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (Date.now() - started < TRAFFIC_MS) {
      const i = sent++
      const path = i % 2 === 0 ? `/orders/${i}` : `/search?q=item${i}`
      await (await pool.request({ method: 'GET', path })).body.text()
      await sleep(30)
    }
  }))
  await pool.close()
  // every mirror compared, then scraped with its final value, then the rules evaluated once more
  await until('mirrors compared', async () => await exported(busy, 'paritygate_mirror_inflight') === 0 && await exported(busy, 'paritygate_compare_queue') === 0, 10_000)
  const total = await exported(busy, 'paritygate_comparisons_total')
  await until('the last counts scraped', async () => await scalar(base, 'sum(paritygate_comparisons_total{job="paritygate"})') === total, 10_000)
  await sleep(2000)

  const gate = await (await request(`${busy.admin}/api/v1/gate?window=5m`)).body.json() as { verdict: string, checks: { mismatch: { ratio: number, compared: number }, errors: { ratio: number, mirrored: number, serverErrors: number, transport: number } } }
  const gateSearch = await (await request(`${busy.admin}/api/v1/gate?window=5m&route=search`)).body.json() as { checks: { mismatch: { ratio: number } } }
  ok(gate.checks.mismatch.compared > 2000, `compared ${gate.checks.mismatch.compared} after ${sent} requests`)
  ok(gate.checks.mismatch.ratio > 0.015 && gate.checks.mismatch.ratio < 0.035, `gate mismatch ratio ${gate.checks.mismatch.ratio}`)
  // 1 % resets (half of the traffic, every 50th) and 1.25 % 500s (half, every 40th)
  ok(gate.checks.errors.serverErrors > 0 && gate.checks.errors.transport > 0, JSON.stringify(gate.checks.errors))
  ok(gate.checks.errors.ratio > 0.017 && gate.checks.errors.ratio < 0.03, `gate error ratio ${gate.checks.errors.ratio}`)
  strictEqual(await scalar(base, 'sum(paritygate_candidate_server_errors_total{job="paritygate"})'), gate.checks.errors.serverErrors, 'the counter Prometheus sees is the gate\'s count')

  // (a) the recording rule
  const recorded = await scalar(base, 'paritygate:mismatch_ratio:rate5m')
  // (b) the AnalysisTemplate's query with its default args, and its verdict on that value
  const template = documentOf('argo/analysis-template-prometheus.yaml', 'AnalysisTemplate')
  const mismatchMetric = resolveMetric(template, 'mismatch-ratio')
  const fromTemplate = await query(base, mismatchMetric.provider.prometheus.query)
  strictEqual(fromTemplate.result.length, 1)
  const perRoute = await scalar(base, resolveMetric(template, 'mismatch-ratio', { route: 'search' }).provider.prometheus.query)
  const errorMetric = resolveMetric(template, 'candidate-error-ratio')
  const errorRatio = await scalar(base, errorMetric.provider.prometheus.query)
  const recordedErrors = await scalar(base, 'paritygate:candidate_error_ratio:rate5m')
  t.diagnostic(`${sent} requests, ${gate.checks.mismatch.compared} compared; mismatch ratio: gate ${gate.checks.mismatch.ratio.toFixed(5)}, rule ${recorded.toFixed(5)}, template ${fromTemplate.result[0].toFixed(5)}; route search: gate ${gateSearch.checks.mismatch.ratio.toFixed(5)}, template ${perRoute.toFixed(5)}; candidate errors: gate ${gate.checks.errors.ratio.toFixed(5)}, rule ${recordedErrors.toFixed(5)}, template ${errorRatio.toFixed(5)}`)
  ok(agrees(recorded, gate.checks.mismatch.ratio), `rule ${recorded} vs gate ${gate.checks.mismatch.ratio}`)
  ok(agrees(fromTemplate.result[0], gate.checks.mismatch.ratio), `template ${fromTemplate.result[0]} vs gate ${gate.checks.mismatch.ratio}`)
  ok(agrees(perRoute, gateSearch.checks.mismatch.ratio), `route search: template ${perRoute} vs gate ${gateSearch.checks.mismatch.ratio}`)
  ok(agrees(errorRatio, gate.checks.errors.ratio), `candidate errors: template ${errorRatio} vs gate ${gate.checks.errors.ratio}`)
  ok(agrees(recordedErrors, errorRatio), `candidate errors: rule ${recordedErrors} vs template ${errorRatio}`)
  strictEqual(gate.verdict, 'fail')
  strictEqual(assess(mismatchMetric, fromTemplate.result), 'Failed', 'a 2.5 % mismatch ratio is over the 0.1 % budget')
  strictEqual(assess(errorMetric, [errorRatio]), 'Failed', 'a 2.25 % error ratio is over the 0.5 % budget')

  // The rules evaluate without error, and the budget alerts are pending (their `for` has not run out).
  const rules = await (await request(`${base}/api/v1/rules`)).body.json() as { data: { groups: Array<{ rules: Array<{ name: string, health: string, lastError?: string, state?: string }> }> } }
  const all = rules.data.groups.flatMap((g) => g.rules)
  ok(all.length >= 10, `rules loaded: ${all.length}`)
  for (const rule of all) strictEqual(rule.health, 'ok', `${rule.name}: ${rule.lastError}`)
  const state = Object.fromEntries(all.filter((r) => r.state !== undefined).map((r) => [r.name, r.state]))
  strictEqual(state.ParitygateMismatchBudgetBurn, 'pending')
  strictEqual(state.ParitygateCandidateErrors, 'pending')
  strictEqual(state.ParitygateGateFail, 'pending')

  // Zero traffic: a target that never had any, a route without requests, and a window after the
  // traffic stopped. The template's query is empty in each case, and empty is neither success nor failure.
  strictEqual(await scalar(base, 'up{job="paritygate-idle"}'), 1, 'the idle paritygate is scraped')
  for (const args of [{ job: 'paritygate-idle' }, { route: 'GET /never' }] as Array<Record<string, string>>) {
    for (const name of ['mismatch-ratio', 'candidate-error-ratio']) {
      const metric = resolveMetric(template, name, args)
      const { result } = await query(base, metric.provider.prometheus.query)
      strictEqual(result.length, 0, `${name} ${JSON.stringify(args)}: ${JSON.stringify(result)}`)
      strictEqual(assess(metric, result), 'Inconclusive', `${name} ${JSON.stringify(args)}`)
    }
  }
  const stoppedFor = Date.now() - started - TRAFFIC_MS
  if (stoppedFor < 5000) await sleep(5000 - stoppedFor)
  const stale = resolveMetric(template, 'mismatch-ratio', { window: '3s' })
  const unguarded = await query(base, 'sum(rate(paritygate_comparisons_total{outcome="mismatch"}[3s])) / sum(rate(paritygate_comparisons_total{outcome=~"match|mismatch|noise"}[3s]))')
  ok(unguarded.result.length === 1 && Number.isNaN(unguarded.result[0]), `without the guard, 0/0: ${JSON.stringify(unguarded.samples)}`)
  strictEqual(assess(stale, unguarded.result), 'Inconclusive', 'NaN compares false both ways')
  const guarded = await query(base, stale.provider.prometheus.query)
  strictEqual(guarded.result.length, 0, JSON.stringify(guarded.samples))
  strictEqual(assess(stale, guarded.result), 'Inconclusive')
})
