/* `paritygate demo`: v1 and v2 demo services that differ in known ways, the proxy in front, a traffic driver, and a parity report. */
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import { buildApp } from '../app.ts'
import { validateConfig } from '../config/index.ts'
import { createLogger } from '../logger.ts'
import { fetchReport, formatReport } from '../report/report.ts'
import { DEMO_DIFFERENCES, startDemoService } from './services.ts'

function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}

/**
 * Runs the demo for `durationSeconds` (0: until SIGINT or SIGTERM, traffic paced for a person
 * watching the page), then prints what happened and the report of `paritygate report`, and stops
 * everything.
 */
export async function runDemo (opts: { durationSeconds: number, concurrency?: number, signal?: AbortSignal, log?: (line: string) => void }): Promise<void> {
  const print = opts.log ?? ((line: string) => console.log(line))
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
    // $.generatedAt: v1 answering twice within a millisecond often stamps the same instant, so the noise learner
    // alone would call v2's stamp a millisecond later a real difference; a timestamp rule with a tolerance says what it is.
    routes: [{ name: 'get-order', match: 'GET /orders/:id', compare: { unordered: ['$.items'], timestamps: ['$.generatedAt'], timestampToleranceMs: 1000 } }]
  })
  const app = buildApp(config, { logger: createLogger('warn', config.redact.headers) })
  const addresses = await app.listen()
  const untilStopped = opts.durationSeconds === 0
  print(`demo primary (v1)    ${v1.url}`)
  print(`demo candidate (v2)  ${v2.url}`)
  print(`paritygate proxy     ${addresses.proxy}   (users are served by v1 only)`)
  print(`paritygate admin     ${addresses.admin}   (/api/v1/gate, /api/v1/fields, /api/v1/mismatches, /metrics)`)
  print(`the page             ${addresses.admin}/   (open it in a browser: verdict, routes, charts, fields, samples)`)
  print('known differences:')
  for (const d of DEMO_DIFFERENCES) print(`  ${d}`)
  print(untilStopped ? 'driving traffic until Ctrl-C, mirroring 100 % ...' : `driving traffic for ${opts.durationSeconds} s, mirroring 100 % ...`)

  const stop = new AbortController()
  const onSignal = () => stop.abort()
  if (untilStopped) {
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
  }
  opts.signal?.addEventListener('abort', onSignal, { once: true })
  const timer = untilStopped ? null : setTimeout(onSignal, opts.durationSeconds * 1000)
  const client = new Pool(addresses.proxy, { connections: concurrency })
  const latencies: number[] = []
  const statuses = new Map<number, number>()
  const started = performance.now()
  let n = 0
  const worker = async () => {
    while (!stop.signal.aborted) {
      const i = n++
      const kind = i % 10
      const t0 = performance.now()
      const res = await client.request(kind < 7
        ? { method: 'GET', path: `/orders/${1 + (i % 500)}` }
        : kind < 9 ? { method: 'GET', path: `/users/${1000 + (i % 50)}` } : { method: 'POST', path: '/orders', headers: { 'content-type': 'application/json' }, body: '{"sku":"sku-1","qty":2}' })
      await res.body.dump()
      if (latencies.length < 1_000_000) latencies.push(performance.now() - t0)
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
      // Until Ctrl-C: about 25 requests a second per connection, for a person watching the page.
      if (untilStopped && !stop.signal.aborted) await new Promise((resolve) => setTimeout(resolve, 40))
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  if (timer !== null) clearTimeout(timer)
  process.off('SIGINT', onSignal)
  process.off('SIGTERM', onSignal)
  const seconds = (performance.now() - started) / 1000
  await client.close()
  for (let i = 0; i < 100 && ((app.engine?.queued ?? 0) > 0 || (app.proxyState.mirror?.state.inflight ?? 0) > 0); i++) await new Promise((resolve) => setTimeout(resolve, 20))

  latencies.sort((a, b) => a - b)
  print('')
  print(`requests: ${n} in ${seconds.toFixed(1)} s over ${concurrency} connections; statuses ${[...statuses].map(([s, c]) => `${s}×${c}`).join(' ')}`)
  print(`client latency through the proxy: p50 ${percentile(latencies, 0.5).toFixed(2)} ms, p99 ${percentile(latencies, 0.99).toFixed(2)} ms`)
  print('')
  // The same report as `paritygate report --admin ...` against a running instance.
  print(formatReport(await fetchReport(addresses.admin, {})))
  print('')
  print('Argo Rollouts asks GET /api/v1/gate ({$.verdict}); Flagger POSTs /api/v1/gate/flagger; see README.md.')
  await app.close()
  for (const s of [v1, v2]) {
    s.server.closeAllConnections()
    s.server.close()
  }
}
