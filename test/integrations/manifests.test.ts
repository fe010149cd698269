/* The shipped Argo, Flagger, Kubernetes, Prometheus, Grafana and NGINX files: they parse, hold what they promise, and embed valid paritygate configs. */
import { deepStrictEqual, match, notDeepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { parse } from 'yaml'
import { parseHostPort, validateConfig, type FrozenConfig } from '../../src/config/index.ts'
import { configErrors } from '../../src/config-check.ts'
import { request } from 'undici'
import { startProxy } from '../helpers/proxy.ts'
import { createUpstream } from '../helpers/upstream.ts'
import { assess, CONFIG, documentOf, loadDocuments, resolveMetric } from './helpers.ts'
import { schemaErrors } from './schemas.ts'

const YAML_DIRS = ['argo', 'flagger', 'k8s', 'prometheus', 'prometheus-operator']

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
  deepStrictEqual(configErrors(config), [])
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
  ok(files.length >= 11, files.join(', '))
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
  strictEqual(metric.provider.web.url, 'http://{{args.paritygate-admin}}/api/v1/gate?window={{args.window}}&route={{args.route}}')
  strictEqual(metric.provider.web.jsonPath, '{$.verdict}')
  strictEqual(metric.successCondition, 'result == "pass"')
  strictEqual(metric.failureCondition, 'result == "fail"')
  strictEqual(metric.failureLimit, 0)
  ok(metric.count > 1 && typeof metric.interval === 'string', 'measures more than once')
  ok(metric.inconclusiveLimit >= 1 && metric.inconclusiveLimit < metric.count / 2, 'a majority of measurements must pass')
  const resolved = resolveMetric(template, metric.name)
  // an empty route is every route (the admin API reads route= as none)
  match(resolved.provider.web.url, /^http:\/\/paritygate-admin\.[\w-]+\.svc:9000\/api\/v1\/gate\?window=5m&route=$/)
  strictEqual(resolved.initialDelay, '1m')
  strictEqual(resolveMetric(template, metric.name, { route: 'get-order' }).provider.web.url.split('?')[1], 'window=5m&route=get-order')
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

test('the Flagger Canary should ask the gate before the analysis and before promotion, and its MetricTemplates guard zero traffic', () => {
  const canary = documentOf('flagger/canary.yaml', 'Canary')
  strictEqual(canary.apiVersion, 'flagger.app/v1beta1')
  const hooks = canary.spec.analysis.webhooks.filter((w: { url: string }) => w.url.includes('/api/v1/gate'))
  // pre-rollout: with the canary up and no users, and a failed check (towards a rollback) on a non-pass;
  // confirm-promotion: holds the promotion on a non-pass
  deepStrictEqual(hooks.map((w: { type: string }) => w.type), ['pre-rollout', 'confirm-promotion'])
  // confirm-rollout runs before the canary is scaled up (nothing to judge); rollout hooks and
  // confirm-traffic-increase do not run at zero traffic in blue/green
  for (const hook of hooks) {
    match(hook.url, /^http:\/\/orders-paritygate-admin\.orders\.svc:9000\/api\/v1\/gate\/flagger$/)
    match(hook.metadata.window, /^\d+[smh]$/)
  }
  // pre-rollout answers 403 while the gate is inconclusive, or still holds evidence from before the
  // canary was up: the failed checks allowed must outlast two windows
  const seconds = (d: string) => Number(d.slice(0, -1)) * { s: 1, m: 60, h: 3600 }[d.at(-1) as 's' | 'm' | 'h']
  ok(canary.spec.analysis.threshold * seconds(canary.spec.analysis.interval) >= 2 * seconds(hooks[0].metadata.window), 'threshold x interval >= 2 windows')
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

/** Every document of every YAML file under config/ with its file name. */
function allDocuments (): Array<{ file: string, doc: Record<string, any> }> {
  return yamlFiles().filter((f) => !f.startsWith('prometheus/')).flatMap((file) => loadDocuments(file).map((doc) => ({ file, doc })))
}

/** Pod specs that run the paritygate image, with the containers that run it. */
function paritygatePods (): Array<{ where: string, template: Record<string, any>, pod: Record<string, any>, containers: Array<Record<string, any>> }> {
  return allDocuments().filter(({ doc }) => doc.spec?.template?.spec !== undefined).map(({ file, doc }) => {
    const pod = doc.spec.template.spec
    const containers = [...(pod.initContainers ?? []), ...pod.containers].filter((c: { image: string }) => c.image.startsWith('paritygate:'))
    return { where: `${file} ${doc.kind} ${doc.metadata.name}`, template: doc.spec.template, pod, containers }
  }).filter((p) => p.containers.length > 0)
}

function seconds (duration: string): number {
  const m = /^(\d+)([smh])$/.exec(duration)
  ok(m !== null, `duration ${duration}`)
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h']
}

/** The container and port a Service's targetPort reaches in a pod spec, or undefined. */
function targetOf (pod: Record<string, any>, targetPort: string | number): { container: string, port: number } | undefined {
  for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
    const port = (c.ports ?? []).find((p: { name?: string, containerPort: number }) => p.name === targetPort || p.containerPort === targetPort)
    if (port !== undefined) return { container: c.name, port: port.containerPort }
  }
  return undefined
}

test('every Kubernetes document under config/ should be valid for its kind: the real CRD schemas, core kinds by hand', () => {
  const docs = allDocuments()
  ok(docs.length >= 30, String(docs.length))
  const kinds = new Set(docs.map(({ doc }) => `${doc.apiVersion} ${doc.kind}`))
  for (const kind of ['argoproj.io/v1alpha1 Rollout', 'argoproj.io/v1alpha1 AnalysisTemplate', 'flagger.app/v1beta1 Canary', 'flagger.app/v1beta1 MetricTemplate', 'monitoring.coreos.com/v1 PodMonitor', 'monitoring.coreos.com/v1 PrometheusRule', 'apps/v1 Deployment', 'v1 Service', 'v1 ConfigMap']) {
    ok(kinds.has(kind), `a ${kind} is shipped`)
  }
  const errors = docs.flatMap(({ file, doc }) => schemaErrors(doc).map((e) => `${file} ${doc.kind} ${doc.metadata?.name}: ${e}`))
  deepStrictEqual(errors, [])
  // the AnalysisTemplates also apply as ClusterAnalysisTemplates (kind changed, clusterScope: true in references)
  for (const { file, doc } of docs.filter(({ doc }) => doc.kind === 'AnalysisTemplate')) {
    deepStrictEqual(schemaErrors(doc, { apiVersion: 'argoproj.io/v1alpha1', kind: 'ClusterAnalysisTemplate' }), [], file)
  }
})

test('the schema check should reject what the API server would: unknown fields, wrong types, enums, label values', () => {
  const rollout = documentOf('argo/rollout-canary.yaml', 'Rollout')
  rollout.spec.strategy.canary.steps[1].setCanaryScale = { replica: 1 }
  rollout.spec.template.spec.initContainers[0].securityContext.runAsUser = '1000'
  rollout.metadata.labels.tier = true
  deepStrictEqual(schemaErrors(rollout), [
    '/spec/strategy/canary/steps/1/setCanaryScale must NOT have additional properties: replica',
    '/spec/template/spec/initContainers/0/securityContext/runAsUser must be integer',
    '/metadata/labels/tier must be string'
  ])
  const canary = documentOf('flagger/canary.yaml', 'Canary')
  canary.spec.analysis.webhooks[0].type = 'pre-rollouts'
  ok(schemaErrors(canary).some((e) => e.startsWith('/spec/analysis/webhooks/0/type must be equal to one of the allowed values')))
  const deployment = documentOf('k8s/standalone-gate.yaml', 'Deployment')
  deployment.spec.template.spec.containers[0].livenessProbe.httpGet.paht = '/healthz/live'
  deepStrictEqual(schemaErrors(deployment), ['/spec/template/spec/containers/0/livenessProbe/httpGet must NOT have additional properties: paht'])
  const monitor = documentOf('prometheus-operator/podmonitor.yaml', 'PodMonitor')
  monitor.spec.podMetricsEndpoints[0].interval = '15 s'
  strictEqual(schemaErrors(monitor).length, 1)
  deepStrictEqual(schemaErrors({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } }), ['no schema for v1 Secret (test/integrations/schemas/)'])
})

test('every pod running the paritygate image should run as its numeric non-root user, which the kubelet can verify', () => {
  // the kubelet refuses runAsNonRoot with a named image user ("image has non-numeric user (node),
  // cannot verify user is non-root"): runAsUser, or else the image's USER, must be a number other than 0
  const dockerUser = readFileSync(join(CONFIG, '..', 'Dockerfile'), 'utf8').split('\n').filter((l) => l.startsWith('USER ')).at(-1)?.slice(5) ?? ''
  const [imageUid, imageGid] = dockerUser.split(':')
  const pods = paritygatePods()
  ok(pods.length >= 5, pods.map((p) => p.where).join(', '))
  for (const { where, pod, containers } of pods) {
    for (const c of containers) {
      const context = { ...pod.securityContext, ...c.securityContext }
      strictEqual(context.runAsNonRoot, true, `${where} ${c.name}: runAsNonRoot`)
      const uid = context.runAsUser ?? (/^\d+$/.test(imageUid) ? Number(imageUid) : imageUid)
      ok(Number.isInteger(uid) && uid !== 0, `${where} ${c.name}: runs as ${uid}, which the kubelet cannot verify as non-root`)
      strictEqual(context.runAsUser, Number(imageUid), `${where} ${c.name}: runAsUser is the image's uid`)
      strictEqual(context.runAsGroup, Number(imageGid), `${where} ${c.name}: runAsGroup is the image's gid`)
      strictEqual(context.allowPrivilegeEscalation, false, `${where} ${c.name}`)
      strictEqual(context.readOnlyRootFilesystem, true, `${where} ${c.name}`)
      for (const p of c.ports) ok(p.name.length <= 15, `${where}: port name ${p.name} is longer than 15`)
    }
  }
})

/** The checks every sidecar example shares: probes, config, grace, the sidecar's form and the pod's labels. */
function checkSidecarPod (file: string, template: Record<string, any>, configMap: string): { config: FrozenConfig, sidecar: Record<string, any>, app: Record<string, any> } {
  const config = embeddedConfig(file, configMap)
  const pod = template.spec
  const sidecar = pod.initContainers.find((c: { name: string }) => c.name === 'paritygate')
  strictEqual(sidecar.restartPolicy, 'Always', 'a native sidecar')
  checkProbes(sidecar, config)
  ok(pod.volumes.some((v: { configMap?: { name: string } }) => v.configMap?.name === configMap))
  const app = pod.containers[0]
  strictEqual(config.primary.url, `http://127.0.0.1:${containerPort(app, 'app')}`)
  deepStrictEqual(config.mirror.methods, ['GET', 'HEAD', 'OPTIONS'])
  ok(config.mirror.percent > 0 && config.mirror.percent < 100, 'a share of live traffic')
  const needed = preStopSeconds(app) + preStopSeconds(sidecar) + (config.shutdown.delayMs + config.shutdown.graceMs) / 1000
  ok(pod.terminationGracePeriodSeconds > needed, `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} <= ${needed}`)
  strictEqual(template.metadata.labels['paritygate/scrape'], 'true')
  return { config, sidecar, app }
}

/** The Service `name` of a file, and where its first port lands in `pod`. */
function serviceTarget (file: string, name: string, pod: Record<string, any>): { service: Record<string, any>, container: string, port: number } {
  const svc = service(file, name)
  const target = targetOf(pod, svc.spec.ports[0].targetPort)
  ok(target !== undefined, `${file}: Service ${name} reaches no container port`)
  return { service: svc, ...target }
}

test('the Argo blue-green Rollout should judge the preview on mirrored traffic before promotion, with no v2-to-v2 mirroring', () => {
  const file = 'argo/rollout-bluegreen.yaml'
  const rollout = documentOf(file, 'Rollout')
  const blueGreen = rollout.spec.strategy.blueGreen
  const pod = rollout.spec.template.spec
  const { config } = checkSidecarPod(file, rollout.spec.template, 'orders-paritygate')
  // users reach the active pods through the sidecar; the candidate is the preview pods' application, never their sidecar
  const active = serviceTarget(file, blueGreen.activeService, pod)
  deepStrictEqual([active.container, active.port], ['paritygate', parseHostPort(config.listen).port])
  const preview = serviceTarget(file, blueGreen.previewService, pod)
  deepStrictEqual([preview.container, preview.port], ['orders', 8080])
  strictEqual(config.candidate.url, `http://${blueGreen.previewService}:${preview.service.spec.ports[0].port}`)
  // the gate asked is the active pods' only
  const admin = serviceTarget(file, 'orders-paritygate-admin', pod)
  deepStrictEqual([admin.container, admin.port], ['paritygate', parseHostPort(config.admin).port])
  deepStrictEqual(admin.service.spec.selector, { ...rollout.spec.selector.matchLabels, ...blueGreen.activeMetadata.labels })
  notDeepStrictEqual(blueGreen.activeMetadata.labels, blueGreen.previewMetadata.labels)
  // the verdict before promotion, every measured window after the preview pods were up
  const analysis = blueGreen.prePromotionAnalysis
  deepStrictEqual(analysis.templates.map((t: { templateName: string }) => t.templateName), ['paritygate-web'])
  const args = Object.fromEntries(analysis.args.map((a: { name: string, value: string }) => [a.name, a.value]))
  strictEqual(args['paritygate-admin'], `orders-paritygate-admin.orders.svc:${admin.service.spec.ports[0].port}`)
  const metric = resolveMetric(documentOf('argo/analysis-template-web.yaml', 'AnalysisTemplate'), 'paritygate-verdict', args)
  ok(seconds(metric.initialDelay) >= seconds(args.window), `initialDelay ${metric.initialDelay} < window ${args.window}`)
  strictEqual(metric.provider.web.url, 'http://orders-paritygate-admin.orders.svc:9000/api/v1/gate?window=5m&route=')
  ok(blueGreen.autoPromotionEnabled !== false || blueGreen.autoPromotionSeconds === undefined)
})

test('the Argo canary Rollout should scale v2 with no traffic, ask the gate, and only then shift weight', () => {
  const file = 'argo/rollout-canary.yaml'
  const rollout = documentOf(file, 'Rollout')
  const canary = rollout.spec.strategy.canary
  const pod = rollout.spec.template.spec
  const { config } = checkSidecarPod(file, rollout.spec.template, 'orders-paritygate')
  ok(canary.trafficRouting?.nginx?.stableIngress !== undefined, 'setCanaryScale needs a traffic router')
  const steps = canary.steps as Array<Record<string, any>>
  const gate = steps.findIndex((s) => s.analysis?.templates.some((t: { templateName: string }) => t.templateName === 'paritygate-web'))
  const firstWeight = steps.findIndex((s) => (s.setWeight ?? 0) > 0)
  ok(gate >= 0 && firstWeight > gate, 'weight moves only after the gate')
  const before = steps.slice(0, gate)
  deepStrictEqual(before[0], { setWeight: 0 })
  ok(before.some((s) => s.setCanaryScale?.replicas > 0 && s.setCanaryScale.matchTrafficWeight !== true), 'canary pods without traffic weight')
  ok(steps.slice(gate, firstWeight).some((s) => s.setCanaryScale?.matchTrafficWeight === true), 'the canary scale follows the weight again before users reach it')
  // stable pods serve users through the sidecar; the canary Service (the candidate, and the canary
  // Ingress's backend) is the canary pods' application: their sidecar never mirrors v2 to itself
  const stable = serviceTarget(file, canary.stableService, pod)
  deepStrictEqual([stable.container, stable.port], ['paritygate', parseHostPort(config.listen).port])
  const candidate = serviceTarget(file, canary.canaryService, pod)
  deepStrictEqual([candidate.container, candidate.port], ['orders', 8080])
  strictEqual(config.candidate.url, `http://${canary.canaryService}:${candidate.service.spec.ports[0].port}`)
  const ingress = documentOf(file, 'Ingress')
  strictEqual(ingress.metadata.name, canary.trafficRouting.nginx.stableIngress)
  const backend = ingress.spec.rules[0].http.paths[0].backend.service
  strictEqual(backend.name, canary.stableService)
  // Argo's canary Ingress keeps this port and swaps the Service: both Services must offer it
  strictEqual(backend.port.number, stable.service.spec.ports[0].port)
  strictEqual(backend.port.number, candidate.service.spec.ports[0].port)
  const admin = serviceTarget(file, 'orders-paritygate-admin', pod)
  deepStrictEqual([admin.container, admin.port], ['paritygate', parseHostPort(config.admin).port])
  deepStrictEqual(admin.service.spec.selector, { ...rollout.spec.selector.matchLabels, ...canary.stableMetadata.labels })
  const args = Object.fromEntries(steps[gate].analysis.args.map((a: { name: string, value: string }) => [a.name, a.value]))
  strictEqual(args['paritygate-admin'], `orders-paritygate-admin.orders.svc:${admin.service.spec.ports[0].port}`)
  const metric = resolveMetric(documentOf('argo/analysis-template-web.yaml', 'AnalysisTemplate'), 'paritygate-verdict', args)
  ok(seconds(metric.initialDelay) >= seconds(args.window), `initialDelay ${metric.initialDelay} < window ${args.window}`)
})

test('the Flagger set-up should mirror from the primary pods only, to the canary\'s application, with no VirtualService', () => {
  const file = 'flagger/canary.yaml'
  const canary = documentOf(file, 'Canary')
  const deployment = documentOf(file, 'Deployment')
  strictEqual(canary.spec.targetRef.name, deployment.metadata.name)
  // no VirtualService of ours next to Flagger's, and no traffic shifting: paritygate mirrors
  strictEqual(canary.spec.provider, 'kubernetes')
  ok(canary.spec.analysis.iterations > 0 && canary.spec.analysis.stepWeight === undefined)
  ok(!yamlFiles().filter((f) => f.startsWith('flagger/')).some((f) => loadDocuments(f).some((d) => d.kind === 'VirtualService')))
  deepStrictEqual(Object.keys(deployment.spec.selector.matchLabels), ['app'], 'the single app label Flagger expects')
  const app = deployment.spec.selector.matchLabels.app
  const pod = deployment.spec.template.spec
  const { config } = checkSidecarPod(file, deployment.spec.template, 'orders-paritygate')
  strictEqual(documentOf(file, 'ConfigMap').metadata.annotations['flagger.app/config-tracking'], 'disabled')
  // Flagger's canary Service targets the application's port: the canary pods' sidecar gets nothing to mirror
  deepStrictEqual(targetOf(pod, canary.spec.service.targetPort), { container: 'orders', port: 8080 })
  strictEqual(config.candidate.url, `http://${canary.spec.service.name}-canary:${canary.spec.service.port}`)
  // users and the webhooks reach the primary pods (Flagger labels them <app>-primary) through the sidecar
  const front = serviceTarget(file, 'orders', pod)
  deepStrictEqual(front.service.spec.selector, { app: `${app}-primary` })
  deepStrictEqual([front.container, front.port], ['paritygate', parseHostPort(config.listen).port])
  const admin = serviceTarget(file, 'orders-paritygate-admin', pod)
  deepStrictEqual(admin.service.spec.selector, { app: `${app}-primary` })
  deepStrictEqual([admin.container, admin.port], ['paritygate', parseHostPort(config.admin).port])
  for (const hook of canary.spec.analysis.webhooks) strictEqual(new URL(hook.url).host, `orders-paritygate-admin.orders.svc:${admin.service.spec.ports[0].port}`)
})

test('the PodMonitor should select every paritygate pod the examples run and scrape its admin port', () => {
  const monitor = documentOf('prometheus-operator/podmonitor.yaml', 'PodMonitor')
  const [endpoint] = monitor.spec.podMetricsEndpoints
  strictEqual(endpoint.path, '/metrics')
  const pods = paritygatePods()
  for (const { where, template, containers } of pods) {
    for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels)) strictEqual(template.metadata.labels[key], value, `${where}: not selected`)
    for (const c of containers) strictEqual(containerPort(c, endpoint.port), 9000, `${where} ${c.name}: no port ${endpoint.port}`)
  }
})

test('the PrometheusRule should hold exactly the groups of config/prometheus/rules.yml', () => {
  const [rules] = loadDocuments('prometheus/rules.yml')
  const rule = documentOf('prometheus-operator/prometheusrule.yaml', 'PrometheusRule')
  deepStrictEqual(rule.spec.groups, rules.groups, 'edit config/prometheus/rules.yml, then copy its groups into config/prometheus-operator/prometheusrule.yaml')
})

test('the alerts should point at admin endpoints and a dashboard that exist', async (t) => {
  const [rules] = loadDocuments('prometheus/rules.yml')
  const annotations = rules.groups.flatMap((g: { rules: Array<{ annotations?: Record<string, string> }> }) => g.rules.flatMap((r) => Object.values(r.annotations ?? {}))).join('\n')
  ok(!/admin page/i.test(annotations), 'no page to point at')
  const paths = [...new Set(annotations.match(/\/api\/v1\/[\w/]+/g) ?? [])]
  ok(paths.length >= 3, paths.join(' '))
  const proxy = await startProxy(t, { primary: { url: await createUpstream(t, (_req, res) => res.end('{}')) } })
  for (const path of paths) {
    const res = await request(proxy.admin + path)
    await res.body.dump()
    ok(res.statusCode !== 404, `${path}: ${res.statusCode}`)
  }
  const uid = JSON.parse(readFileSync(CONFIG + 'grafana/paritygate.json', 'utf8')).uid
  for (const m of annotations.matchAll(/\/d\/([\w-]+)/g)) strictEqual(m[1], uid)
})
