/* `paritygate demo`: v1 and v2 demo services that differ in known ways, the proxy in front, a traffic driver, and a parity report. */
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import { buildApp } from '../app.ts'
import { validateConfig } from '../config/index.ts'
import { createLogger } from '../logger.ts'
import { DEMO_DIFFERENCES, startDemoService } from './services.ts'

function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}

const pct = (x: number) => `${(x * 100).toFixed(2)} %`

/** Runs the demo for `durationSeconds`, prints what happened and the verdict, and stops everything. */
export async function runDemo (opts: { durationSeconds: number, concurrency?: number }): Promise<void> {
  const concurrency = opts.concurrency ?? 8
  const v1 = await startDemoService(false)
  const v2 = await startDemoService(true)
  const config = validateConfig({
    primary: { url: v1.url },
    candidate: { url: v2.url },
    mirror: { percent: 100 },
    noise: { percent: 20 },
    gate: { window: '5m', minLatencySamples: 50 },
    listen: '127.0.0.1:0',
    admin: '127.0.0.1:0',
    routes: [{ name: 'get-order', match: 'GET /orders/:id', compare: { unordered: ['$.items'] } }]
  })
  const app = buildApp(config, { logger: createLogger('warn', config.redact.headers) })
  const addresses = await app.listen()
  console.log(`demo primary (v1)    ${v1.url}`)
  console.log(`demo candidate (v2)  ${v2.url}`)
  console.log(`paritygate proxy     ${addresses.proxy}   (users are served by v1 only)`)
  console.log(`paritygate admin     ${addresses.admin}   (/api/v1/gate, /api/v1/fields, /api/v1/mismatches, /metrics)`)
  console.log('known differences:')
  for (const d of DEMO_DIFFERENCES) console.log(`  ${d}`)
  console.log(`driving traffic for ${opts.durationSeconds} s, mirroring 100 % ...`)

  const client = new Pool(addresses.proxy, { connections: concurrency })
  const latencies: number[] = []
  const statuses = new Map<number, number>()
  const deadline = performance.now() + opts.durationSeconds * 1000
  let n = 0
  const worker = async () => {
    while (performance.now() < deadline) {
      const i = n++
      const kind = i % 10
      const t0 = performance.now()
      const res = await client.request(kind < 7
        ? { method: 'GET', path: `/orders/${1 + (i % 500)}` }
        : kind < 9 ? { method: 'GET', path: `/users/${1000 + (i % 50)}` } : { method: 'POST', path: '/orders', headers: { 'content-type': 'application/json' }, body: '{"sku":"sku-1","qty":2}' })
      await res.body.dump()
      latencies.push(performance.now() - t0)
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  await client.close()
  for (let i = 0; i < 100 && ((app.engine?.queued ?? 0) > 0 || (app.proxyState.mirror?.state.inflight ?? 0) > 0); i++) await new Promise((resolve) => setTimeout(resolve, 20))

  latencies.sort((a, b) => a - b)
  console.log('')
  console.log(`requests: ${latencies.length} in ${opts.durationSeconds} s over ${concurrency} connections; statuses ${[...statuses].map(([s, c]) => `${s}×${c}`).join(' ')}`)
  console.log(`client latency through the proxy: p50 ${percentile(latencies, 0.5).toFixed(2)} ms, p99 ${percentile(latencies, 0.99).toFixed(2)} ms`)
  console.log('')
  console.log('routes                 match  mismatch  noise  error  skipped  mismatch%   p95 v1 / v2 ms')
  for (const r of app.parity.routes()) {
    const c = r.counts
    console.log(`  ${r.route.padEnd(20)} ${String(c.match).padStart(5)} ${String(c.mismatch).padStart(9)} ${String(c.noise).padStart(6)} ${String(c.error).padStart(6)} ${String(c.skipped).padStart(8)}  ${pct(r.mismatchRatio).padStart(9)}   ${r.primary.p95Ms.toFixed(2)} / ${r.candidate.p95Ms.toFixed(2)}`)
  }
  const decisions = (await app.metrics.mirrorDecisions.get()).values.filter((v) => v.labels.decision !== 'mirrored')
  if (decisions.length > 0) console.log(`  not mirrored: ${decisions.map((v) => `${v.labels.route} ${v.labels.decision} ×${v.value}`).join(', ')}`)
  console.log('')
  console.log('top differing fields:')
  for (const f of (app.engine?.fieldReport(null) ?? []).slice(0, 6)) {
    console.log(`  ${f.route.padEnd(20)} ${f.path.padEnd(16)} ${String(f.count).padStart(5)} ×  ${pct(f.ratio).padStart(8)} of compared  ${f.noisy ? `noise (v1 differs from itself ${pct(f.noiseRate)})` : 'REAL DIFFERENCE'}`)
  }
  const gate = app.parity.gate()
  console.log('')
  console.log(`gate verdict over ${gate.window}: ${gate.verdict.toUpperCase()}`)
  for (const [name, check] of Object.entries(gate.checks)) console.log(`  ${name.padEnd(8)} ${check.verdict.padEnd(12)} ${check.reason}`)
  console.log('')
  console.log('Argo Rollouts asks GET /api/v1/gate ({$.verdict}); Flagger POSTs /api/v1/gate/flagger; see README.md.')
  await app.close()
  for (const s of [v1, v2]) {
    s.server.closeAllConnections()
    s.server.close()
  }
}
