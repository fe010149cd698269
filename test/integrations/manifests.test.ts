/* The shipped Argo, Flagger, Kubernetes, Prometheus, Grafana and NGINX files: they parse, hold what they promise, and embed valid paritygate configs. */
import { deepStrictEqual, match, ok, strictEqual } from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { parse } from 'yaml'
import { checkRules } from '../../src/compare/rule-set.ts'
import { parseHostPort, validateConfig, type FrozenConfig } from '../../src/config/index.ts'
import { checkGateSettings } from '../../src/gate/parity.ts'
import { assess, CONFIG, documentOf, loadDocuments, resolveMetric } from './helpers.ts'

const YAML_DIRS = ['argo', 'flagger', 'k8s', 'prometheus']

function yamlFiles (): string[] {
  return YAML_DIRS.flatMap((dir) => readdirSync(CONFIG + dir).filter((f) => /\.ya?ml$/.test(f)).map((f) => `${dir}/${f}`))
}

/** The paritygate config embedded in a ConfigMap, validated as `paritygate check-config` does. */
function embeddedConfig (file: string, name: string): FrozenConfig {
  const map = loadDocuments(file).find((d) => d.kind === 'ConfigMap' && d.metadata.name === name)
  ok(map !== undefined, `${file}: no ConfigMap ${name}`)
  const text = map.data['paritygate.yaml']
  strictEqual(typeof text, 'string', `${file}: ConfigMap ${name} has no paritygate.yaml`)
  const config = validateConfig(parse(text))
  deepStrictEqual([...checkRules(config), ...checkGateSettings(config.gate)], [])
  return config
}

function containerPort (container: Record<string, any>, port: string | number): number {
  if (typeof port === 'number') return port
  const found = container.ports.find((p: { name: string }) => p.name === port)
  ok(found !== undefined, `no port named ${port}`)
  return found.containerPort
}

function preStopSeconds (container: Record<string, any>): number {
  const hook = container.lifecycle?.preStop
  if (hook?.sleep !== undefined) return Number(hook.sleep.seconds)
  const command: string[] = hook?.exec?.command ?? []
  strictEqual(command[0], 'sleep', 'preStop should sleep')
  return Number(command[1])
}

function checkProbes (container: Record<string, any>, config: FrozenConfig): void {
  const admin = parseHostPort(config.admin).port
  strictEqual(containerPort(container, container.livenessProbe.httpGet.port), admin)
  strictEqual(container.livenessProbe.httpGet.path, '/healthz/live')
  strictEqual(containerPort(container, container.readinessProbe.httpGet.port), admin)
  strictEqual(container.readinessProbe.httpGet.path, '/healthz/ready')
  strictEqual(containerPort(container, 'proxy'), parseHostPort(config.listen).port)
  deepStrictEqual(container.args, ['serve', '--config', '/etc/paritygate/paritygate.yaml'])
  const mount = container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/etc/paritygate')
  ok(mount !== undefined, 'the config should be mounted at /etc/paritygate')
}

function service (file: string, name: string): Record<string, any> {
  const found = loadDocuments(file).find((d) => d.kind === 'Service' && d.metadata.name === name)
  ok(found !== undefined, `${file}: no Service ${name}`)
  return found
}

test('every YAML file under config/argo, flagger, k8s and prometheus should parse, each document with its kind', () => {
  const files = yamlFiles()
  ok(files.length >= 7, files.join(', '))
  for (const file of files) {
    const docs = loadDocuments(file)
    ok(docs.length >= 1, file)
    for (const doc of docs) {
      if (file.startsWith('prometheus/')) ok(Array.isArray(doc.groups), `${file}: rule groups`)
      else ok(typeof doc.apiVersion === 'string' && typeof doc.kind === 'string' && typeof doc.metadata?.name === 'string', `${file}: apiVersion, kind and metadata.name`)
    }
  }
})

test('the web AnalysisTemplate should read the verdict from the gate and leave inconclusive to pause', () => {
  const template = documentOf('argo/analysis-template-web.yaml', 'AnalysisTemplate')
  strictEqual(template.apiVersion, 'argoproj.io/v1alpha1')
  const metric = template.spec.metrics[0]
  strictEqual(metric.provider.web.url, 'http://{{args.paritygate-admin}}/api/v1/gate?window={{args.window}}')
  strictEqual(metric.provider.web.jsonPath, '{$.verdict}')
  strictEqual(metric.successCondition, 'result == "pass"')
  strictEqual(metric.failureCondition, 'result == "fail"')
  strictEqual(metric.failureLimit, 0)
  ok(metric.count > 1 && typeof metric.interval === 'string', 'measures more than once')
  ok(metric.inconclusiveLimit >= 1 && metric.inconclusiveLimit < metric.count / 2, 'a majority of measurements must pass')
  const resolved = resolveMetric(template, metric.name)
  match(resolved.provider.web.url, /^http:\/\/paritygate-admin\.[\w-]+\.svc:9000\/api\/v1\/gate\?window=5m$/)
  strictEqual(assess(metric, 'pass'), 'Successful')
  strictEqual(assess(metric, 'fail'), 'Failed')
  strictEqual(assess(metric, 'inconclusive'), 'Inconclusive')
})

test('the Prometheus AnalysisTemplate should classify an empty or NaN result as inconclusive, never a pass', () => {
  const template = documentOf('argo/analysis-template-prometheus.yaml', 'AnalysisTemplate')
  deepStrictEqual(template.spec.metrics.map((m: { name: string }) => m.name), ['mismatch-ratio', 'candidate-error-ratio'])
  const mismatch = resolveMetric(template, 'mismatch-ratio')
  match(mismatch.provider.prometheus.query, /sum\(rate\(paritygate_comparisons_total\{[^}]*outcome="mismatch"\}\[5m\]\)\)/)
  match(mismatch.provider.prometheus.query, /outcome=~"match\|mismatch\|noise"/)
  match(mismatch.provider.prometheus.query, /and on\(\)\s+sum\(increase\(/)
  const errors = resolveMetric(template, 'candidate-error-ratio')
  match(errors.provider.prometheus.query, /paritygate_requests_total\{[^}]*target="candidate", status="error"\}/)
  // a candidate 5xx where the primary was not 5xx is an error too, as in the gate's errors check
  match(errors.provider.prometheus.query, /\+\s+\(\s+sum\(rate\(paritygate_candidate_server_errors_total\{job=~"\.\+", route=~"\.\+"\}\[5m\]\)\)\s+or vector\(0\)\s+\)/)
  for (const [metric, budget] of [[mismatch, 0.001], [errors, 0.005]] as const) {
    strictEqual(assess(metric, []), 'Inconclusive')
    strictEqual(assess(metric, [Number.NaN]), 'Inconclusive')
    strictEqual(assess(metric, [0]), 'Successful')
    strictEqual(assess(metric, [budget]), 'Successful')
    strictEqual(assess(metric, [budget * 1.5]), 'Failed')
  }
})

test('the Flagger Canary should confirm promotion with the gate, and its MetricTemplate guard zero traffic', () => {
  const canary = documentOf('flagger/canary.yaml', 'Canary')
  strictEqual(canary.apiVersion, 'flagger.app/v1beta1')
  const hook = canary.spec.analysis.webhooks.find((w: { url: string }) => w.url.endsWith('/api/v1/gate/flagger'))
  ok(hook !== undefined, 'a webhook to the gate')
  strictEqual(hook.type, 'confirm-promotion')
  match(hook.url, /^http:\/\/paritygate-admin(\.[\w-]+)*:9000\/api\/v1\/gate\/flagger$/)
  match(hook.metadata.window, /^\d+[smh]$/)
  ok(!canary.spec.analysis.webhooks.some((w: { type: string, url: string }) => w.url.includes('/api/v1/gate') && ['rollout', 'pre-rollout'].includes(w.type)), 'rollout hooks would count inconclusive as failure')
  const template = documentOf('flagger/metric-template.yaml', 'MetricTemplate')
  strictEqual(template.apiVersion, 'flagger.app/v1beta1')
  strictEqual(template.spec.provider.type, 'prometheus')
  match(template.spec.query, /paritygate_comparisons_total\{.*outcome="mismatch"\}\[\{\{ interval \}\}\]/)
  match(template.spec.query, /and on\(\)\s+sum\(increase\(/)
  const ref = canary.spec.analysis.metrics.find((m: { templateRef?: { name: string } }) => m.templateRef?.name === template.metadata.name)
  ok(ref !== undefined, 'the Canary uses the MetricTemplate')
  strictEqual(ref.thresholdRange.max, 0.001)
  const errors = documentOf('flagger/metric-template-errors.yaml', 'MetricTemplate')
  match(errors.spec.query, /paritygate_requests_total\{namespace="\{\{ namespace \}\}", target="candidate", status="error"\}/)
  match(errors.spec.query, /sum\(rate\(paritygate_candidate_server_errors_total\{namespace="\{\{ namespace \}\}"\}\[\{\{ interval \}\}\]\)\)\s+or vector\(0\)/)
  match(errors.spec.query, /and on\(\)\s+sum\(increase\(paritygate_requests_total\{namespace="\{\{ namespace \}\}", target="candidate"\}\[\{\{ interval \}\}\]\)\) >= 1000/)
  const errorsRef = canary.spec.analysis.metrics.find((m: { templateRef?: { name: string } }) => m.templateRef?.name === errors.metadata.name)
  ok(errorsRef !== undefined, 'the Canary uses the error-ratio MetricTemplate')
  strictEqual(errorsRef.thresholdRange.max, 0.005)
})

test('the reset AnalysisTemplate should POST /api/v1/reset with the admin token from a Secret, in the CRD\'s shape', () => {
  const template = documentOf('argo/analysis-template-reset.yaml', 'AnalysisTemplate')
  strictEqual(template.apiVersion, 'argoproj.io/v1alpha1')
  // args: the token only through valueFrom.secretKeyRef (the CRD's web headers take key/value only)
  const token = template.spec.args.find((a: { name: string }) => a.name === 'admin-token')
  deepStrictEqual(Object.keys(token).sort(), ['name', 'valueFrom'])
  deepStrictEqual(Object.keys(token.valueFrom), ['secretKeyRef'])
  strictEqual(typeof token.valueFrom.secretKeyRef.name, 'string')
  strictEqual(typeof token.valueFrom.secretKeyRef.key, 'string')
  strictEqual(template.spec.metrics.length, 1)
  const [metric] = template.spec.metrics
  strictEqual(metric.count, 1)
  strictEqual(metric.successCondition, 'result == true')
  const web = metric.provider.web
  deepStrictEqual(Object.keys(web).sort(), ['body', 'headers', 'jsonPath', 'method', 'timeoutSeconds', 'url'])
  strictEqual(web.method, 'POST')
  strictEqual(web.url, 'http://{{args.paritygate-admin}}/api/v1/reset')
  strictEqual(typeof web.body, 'string')
  strictEqual(web.jsonPath, '{$.reset}')
  for (const h of web.headers) deepStrictEqual(Object.keys(h).sort(), ['key', 'value'])
  deepStrictEqual(web.headers.map((h: { key: string }) => h.key), ['Authorization', 'Content-Type'])
  strictEqual(web.headers[0].value, 'Bearer {{args.admin-token}}')
  match(resolveMetric(template, metric.name, { 'admin-token': 's3cret' }).provider.web.headers[0].value, /^Bearer s3cret$/)
  strictEqual(assess(metric, true), 'Successful')
  strictEqual(assess(metric, false), 'Failed')
})

test('the Prometheus rules should record the four series and alert on budget burn and a failing gate', () => {
  const [rules] = loadDocuments('prometheus/rules.yml')
  const all = rules.groups.flatMap((g: { rules: unknown[] }) => g.rules) as Array<Record<string, any>>
  const recorded = Object.fromEntries(all.filter((r) => r.record !== undefined).map((r) => [r.record, r.expr]))
  for (const name of ['paritygate:mismatch_ratio:rate5m', 'paritygate:candidate_error_ratio:rate5m', 'paritygate:primary_p95_seconds:rate5m', 'paritygate:candidate_p95_seconds:rate5m']) {
    ok(name in recorded, name)
  }
  match(recorded['paritygate:candidate_error_ratio:rate5m'], /sum\(rate\(paritygate_candidate_server_errors_total\[5m\]\)\)\s+or vector\(0\)/)
  match(recorded['paritygate:primary_p95_seconds:rate5m'], /histogram_quantile\(0\.95, sum by \(le\) \(rate\(paritygate_request_duration_seconds_bucket\{target="primary"\}\[5m\]\)\)\)/)
  match(recorded['paritygate:candidate_p95_seconds:rate5m'], /target="candidate"/)
  const alerts = Object.fromEntries(all.filter((r) => r.alert !== undefined).map((r) => [r.alert, r]))
  match(alerts.ParitygateMismatchBudgetBurn.expr, /paritygate:mismatch_ratio:rate5m > 0\.001/)
  strictEqual(alerts.ParitygateMismatchBudgetBurn.for, '5m')
  match(alerts.ParitygateCandidateErrors.expr, /paritygate:candidate_error_ratio:rate5m > 0\.005/)
  match(alerts.ParitygateCandidateSlow.expr, /paritygate:candidate_p95_seconds:rate5m > 1\.1 \* paritygate:primary_p95_seconds:rate5m/)
  strictEqual(alerts.ParitygateCandidateSlow.for, '10m')
  strictEqual(alerts.ParitygateGateFail.expr, 'paritygate_gate_verdict{check="overall"} == -1')
})

test('the sidecar Deployment should run paritygate as a native sidecar with probes, a valid config and enough grace', () => {
  const file = 'k8s/sidecar.yaml'
  const config = embeddedConfig(file, 'orders-paritygate')
  strictEqual(config.primary.url, 'http://127.0.0.1:8080')
  strictEqual(config.candidate.url, 'http://orders-v2:8080')
  ok(config.mirror.percent > 0)
  const deployment = documentOf(file, 'Deployment')
  const pod = deployment.spec.template.spec
  const sidecar = pod.initContainers.find((c: { name: string }) => c.name === 'paritygate')
  strictEqual(sidecar.restartPolicy, 'Always')
  checkProbes(sidecar, config)
  ok(pod.volumes.some((v: { configMap?: { name: string } }) => v.configMap?.name === 'orders-paritygate'))
  const app = pod.containers[0]
  strictEqual(containerPort(app, 'app'), 8080)
  // the main container stops first, then the sidecar: the whole sequence shares the grace period
  const needed = preStopSeconds(app) + preStopSeconds(sidecar) + (config.shutdown.delayMs + config.shutdown.graceMs) / 1000
  ok(pod.terminationGracePeriodSeconds > needed, `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} <= ${needed}`)
  strictEqual(deployment.spec.template.metadata.annotations['prometheus.io/port'], String(parseHostPort(config.admin).port))
  const live = service(file, 'orders')
  strictEqual(containerPort(sidecar, live.spec.ports[0].targetPort), 8000)
  deepStrictEqual(live.spec.selector, deployment.spec.selector.matchLabels)
  strictEqual(containerPort(sidecar, service(file, 'orders-paritygate-admin').spec.ports[0].targetPort), 9000)
})

test('the standalone gate should call v1 and v2 itself, mirror all it gets, and expose its admin port', () => {
  const file = 'k8s/standalone-gate.yaml'
  const config = embeddedConfig(file, 'paritygate')
  strictEqual(config.primary.url, 'http://orders-v1:8080')
  strictEqual(config.candidate.url, 'http://orders-v2:8080')
  strictEqual(config.mirror.percent, 100)
  deepStrictEqual(config.mirror.methods, ['GET', 'HEAD', 'OPTIONS'])
  const deployment = documentOf(file, 'Deployment')
  strictEqual(deployment.spec.replicas, 1)
  const pod = deployment.spec.template.spec
  const container = pod.containers[0]
  checkProbes(container, config)
  ok(pod.terminationGracePeriodSeconds > preStopSeconds(container) + (config.shutdown.delayMs + config.shutdown.graceMs) / 1000)
  strictEqual(containerPort(container, service(file, 'paritygate').spec.ports[0].targetPort), 8000)
  const admin = service(file, 'paritygate-admin').spec.ports[0]
  strictEqual(admin.port, 9000)
  strictEqual(containerPort(container, admin.targetPort), 9000)
})

test('the Istio VirtualService should mirror only safe methods to the paritygate Service', () => {
  const vs = documentOf('k8s/istio-mirror.yaml', 'VirtualService')
  match(vs.apiVersion, /^networking\.istio\.io\//)
  const [mirrored, rest] = vs.spec.http
  deepStrictEqual(mirrored.match.map((m: { method: { exact: string } }) => m.method.exact).sort(), ['GET', 'HEAD', 'OPTIONS'])
  deepStrictEqual(mirrored.mirror, { host: 'paritygate', port: { number: 8000 } })
  ok(mirrored.mirrorPercentage.value > 0 && mirrored.mirrorPercentage.value <= 100)
  strictEqual(rest.match, undefined)
  strictEqual(rest.mirror, undefined)
  deepStrictEqual(rest.route, mirrored.route)
})

test('the NGINX snippet should mirror safe methods to paritygate (and pass nginx -t when nginx is installed)', (t) => {
  const conf = readFileSync(CONFIG + 'k8s/nginx-mirror.conf', 'utf8')
  match(conf, /^\s*mirror \/_paritygate_mirror;/m)
  match(conf, /upstream paritygate \{\s*server paritygate:8000;/)
  match(conf, /location = \/_paritygate_mirror \{\s*internal;/)
  match(conf, /proxy_pass http:\/\/paritygate\$request_uri;/)
  match(conf, /if \(\$request_method !~ \^\(GET\|HEAD\|OPTIONS\)\$\) \{\s*return 204;/)
  const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p))
  if (nginx === undefined) {
    t.diagnostic('nginx not installed: syntax check skipped')
    return
  }
  const dir = mkdtempSync(join(tmpdir(), 'paritygate-nginx-'))
  try {
    // names resolve at load time: point them at loopback for the check
    writeFileSync(join(dir, 'mirror.conf'), conf.replace('orders-v1:8080', '127.0.0.1:9').replace('paritygate:8000', '127.0.0.1:9').replace('listen 80;', 'listen 127.0.0.1:9;'))
    writeFileSync(join(dir, 'nginx.conf'), `pid ${dir}/nginx.pid;\nerror_log stderr;\nevents {}\nhttp {\n  access_log off;\n  client_body_temp_path ${dir};\n  include ${dir}/mirror.conf;\n}\n`)
    const run = spawnSync(nginx, ['-t', '-q', '-p', dir, '-c', join(dir, 'nginx.conf')], { encoding: 'utf8' })
    strictEqual(run.status, 0, run.stderr)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the Grafana dashboard should be a dashboard model with the six panels, a datasource and a route variable', () => {
  const dash = JSON.parse(readFileSync(CONFIG + 'grafana/paritygate.json', 'utf8'))
  ok(dash.schemaVersion >= 36 && dash.schemaVersion <= 41, String(dash.schemaVersion))
  strictEqual(dash.uid, 'paritygate')
  const vars = Object.fromEntries(dash.templating.list.map((v: { name: string }) => [v.name, v]))
  strictEqual(vars.datasource.type, 'datasource')
  strictEqual(vars.datasource.query, 'prometheus')
  strictEqual(vars.route.type, 'query')
  strictEqual(vars.route.includeAll, true)
  const panels = dash.panels as Array<Record<string, any>>
  const ids = new Set(panels.map((p) => p.id))
  strictEqual(ids.size, panels.length, 'panel ids are unique')
  const byTitle = Object.fromEntries(panels.map((p) => [p.title, p]))
  for (const title of ['Gate verdict', 'Mismatch ratio against budget', 'Comparison outcomes', 'p95 latency: primary vs candidate', 'Mirror decisions', 'Proxy overhead']) {
    ok(title in byTitle, title)
  }
  for (const p of panels) {
    deepStrictEqual(p.datasource, { type: 'prometheus', uid: '$' + '{datasource}' })
    ok(p.gridPos.w > 0 && p.gridPos.h > 0, p.title)
    ok(p.targets.length > 0, p.title)
    for (const target of p.targets) ok(typeof target.expr === 'string' && target.expr !== '', p.title)
  }
  strictEqual(byTitle['Gate verdict'].type, 'stat')
  match(byTitle['Gate verdict'].targets[0].expr, /paritygate_gate_verdict/)
  const budget = byTitle['Mismatch ratio against budget'].fieldConfig.defaults
  strictEqual(budget.custom.thresholdsStyle.mode, 'line')
  ok(budget.thresholds.steps.some((s: { value: number | null }) => s.value === 0.001))
  strictEqual(byTitle['Comparison outcomes'].fieldConfig.defaults.custom.stacking.mode, 'normal')
  const overhead = byTitle['Proxy overhead'].targets.map((x: { expr: string }) => x.expr).join('\n')
  match(overhead, /histogram_quantile\(0\.5, sum by \(le\) \(rate\(paritygate_proxy_overhead_seconds_bucket/)
  match(overhead, /histogram_quantile\(0\.99, /)
})
