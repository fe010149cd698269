/*
 * Every metric name in the dashboard's PromQL (and in the rules and templates) is one that a live
 * paritygate exports after mirrored traffic, or a recording rule of config/prometheus/rules.yml.
 */
import { deepStrictEqual, ok } from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool, request } from 'undici'
import { startProxy } from '../helpers/proxy.ts'
import { createUpstream } from '../helpers/upstream.ts'
import { CONFIG, documentOf, exposedNames, loadDocuments, metricNames, resolveMetric } from './helpers.ts'

/** Recording rule names of the shipped rules file. */
function recordingRules (): Set<string> {
  const [rules] = loadDocuments('prometheus/rules.yml')
  return new Set(rules.groups.flatMap((g: { rules: Array<{ record?: string }> }) => g.rules.map((r) => r.record)).filter((r: unknown) => typeof r === 'string'))
}

/** Every PromQL expression of the dashboard: panel targets and variable queries, keyed by where they are. */
function dashboardQueries (): Array<[string, string]> {
  const dash = JSON.parse(readFileSync(CONFIG + 'grafana/paritygate.json', 'utf8'))
  const out: Array<[string, string]> = []
  for (const panel of dash.panels) for (const target of panel.targets) out.push([`panel "${panel.title}" ${target.refId}`, target.expr])
  for (const v of dash.templating.list) {
    if (v.type !== 'query') continue
    out.push([`variable ${v.name}`, typeof v.query === 'string' ? v.query : v.query.query])
  }
  return out
}

test('the PromQL name extractor should find metric names and nothing else', () => {
  deepStrictEqual(metricNames('histogram_quantile(0.95, sum by (le, target) (rate(a_bucket{route=~"$route", x="y{z}"}[$__rate_interval]))) / on() group_left b:c:d offset 5m > 1e-3 and bool inf'), ['a_bucket', 'b:c:d'])
  deepStrictEqual(metricNames('(sum(rate(m_total{outcome="mismatch"}[5m])) or vector(0)) / sum without (instance) (rate(m_total[1h:1m]))'), ['m_total'])
  deepStrictEqual(metricNames('label_values(paritygate_comparisons_total, route)'), ['paritygate_comparisons_total'])
})

test('every metric the dashboard, rules and templates query should be exported by a live paritygate or recorded by a rule', async (t) => {
  let n = 0
  const primary = await createUpstream(t, (req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url, v: 1 })))
  const candidate = await createUpstream(t, (req, res) => {
    n++
    if (n % 25 === 0) {
      req.socket.destroy()
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url, v: n % 10 === 0 ? 2 : 1 }))
  })
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 50 } })
  const pool = new Pool(proxy.url, { connections: 4 })
  for (let i = 0; i < 200; i++) await (await pool.request({ method: i % 20 === 0 ? 'POST' : 'GET', path: `/items/${i}`, body: i % 20 === 0 ? '{}' : undefined })).body.text()
  await pool.close()
  await sleep(300)
  const text = await (await request(`${proxy.admin}/metrics`)).body.text()
  const exported = exposedNames(text)
  for (const name of ['paritygate_comparisons_total', 'paritygate_requests_total', 'paritygate_request_duration_seconds_bucket', 'paritygate_mirror_decisions_total', 'paritygate_gate_verdict']) {
    ok(exported.has(name), `live /metrics should have ${name}`)
  }
  const known = new Set([...exported, ...recordingRules()])

  const queries = dashboardQueries()
  ok(queries.length >= 8, `dashboard queries: ${queries.length}`)
  const [rules] = loadDocuments('prometheus/rules.yml')
  for (const group of rules.groups) for (const rule of group.rules) queries.push([`rule ${rule.record ?? rule.alert}`, rule.expr])
  const argo = documentOf('argo/analysis-template-prometheus.yaml', 'AnalysisTemplate')
  for (const metric of argo.spec.metrics) queries.push([`Argo metric ${metric.name}`, resolveMetric(argo, metric.name).provider.prometheus.query])
  for (const file of ['flagger/metric-template.yaml', 'flagger/metric-template-errors.yaml']) {
    const flagger = documentOf(file, 'MetricTemplate')
    queries.push([`Flagger MetricTemplate ${file}`, flagger.spec.query.replace(/\{\{ interval \}\}/g, '5m').replace(/\{\{ namespace \}\}/g, 'orders')])
  }

  const unknown: string[] = []
  let seen = 0
  for (const [where, expr] of queries) {
    const names = metricNames(expr)
    ok(names.length > 0, `${where}: no metric found in ${expr}`)
    seen += names.length
    for (const name of names) if (!known.has(name)) unknown.push(`${where}: ${name}`)
  }
  deepStrictEqual(unknown, [], 'names that paritygate does not export')
  t.diagnostic(`${queries.length} queries, ${seen} metric references, all known`)
})
