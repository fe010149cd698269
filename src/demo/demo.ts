/* `paritygate demo`: a demo primary, the proxy in front of it, a traffic driver, and a printed report. */
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import { buildApp } from '../app.ts'
import { validateConfig } from '../config/index.ts'
import { createLogger } from '../logger.ts'
import { startDemoPrimary } from './primary.ts'

function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}

/** Runs the demo for `durationSeconds`, prints what happened, and stops everything. */
export async function runDemo (opts: { durationSeconds: number, concurrency?: number }): Promise<void> {
  const primary = await startDemoPrimary()
  const config = validateConfig({ primary: { url: primary.url }, listen: '127.0.0.1:0', admin: '127.0.0.1:0', routes: [{ name: 'get-order', match: 'GET /orders/:id' }] })
  const app = buildApp(config, { logger: createLogger('warn', config.redact.headers) })
  const addresses = await app.listen()
  console.log(`demo primary (v1)  ${primary.url}`)
  console.log(`paritygate proxy   ${addresses.proxy}`)
  console.log(`paritygate admin   ${addresses.admin}  (/healthz/ready, /metrics)`)
  console.log(`driving traffic for ${opts.durationSeconds} s ...`)

  const client = new Pool(addresses.proxy, { connections: opts.concurrency ?? 8 })
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
  await Promise.all(Array.from({ length: opts.concurrency ?? 8 }, worker))
  await client.close()

  latencies.sort((a, b) => a - b)
  const overhead = (await app.metrics.overhead.get()).values
  const sum = overhead.find((v) => v.metricName === 'paritygate_proxy_overhead_seconds_sum')?.value ?? 0
  const count = overhead.find((v) => v.metricName === 'paritygate_proxy_overhead_seconds_count')?.value ?? 0
  const perRoute = (await app.metrics.requests.get()).values
  console.log('')
  console.log(`requests: ${latencies.length} in ${opts.durationSeconds} s (${Math.round(latencies.length / opts.durationSeconds)} req/s over ${opts.concurrency ?? 8} connections)`)
  console.log(`statuses: ${[...statuses].map(([s, c]) => `${s}×${c}`).join('  ')}`)
  console.log(`client latency through the proxy: p50 ${percentile(latencies, 0.5).toFixed(2)} ms, p99 ${percentile(latencies, 0.99).toFixed(2)} ms`)
  console.log(`proxy overhead (mean, from paritygate_proxy_overhead_seconds): ${count > 0 ? (sum / count * 1e6).toFixed(1) : '-'} µs`)
  console.log('routes (paritygate_requests_total):')
  for (const v of perRoute) console.log(`  ${String(v.labels.method).padEnd(5)} ${String(v.labels.route).padEnd(22)} ${v.labels.status}  ${v.value}`)
  console.log('')
  console.log('Mirroring to a candidate, comparison and the gate verdict arrive in the next releases; see README.md.')
  await app.close()
  primary.server.closeAllConnections()
  primary.server.close()
}
