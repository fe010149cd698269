// Open-loop fixed-rate load generator: sends RATE req/s over N keep-alive undici connections and records
// per-request latency (µs, process.hrtime) in an HDR histogram, for sub-millisecond p50/p99 at a fixed rate.
//
// Usage: node --import tsx bench/fixed-rate.ts --url http://127.0.0.1:N/ [--rate 2000] [--duration 10]
//          [--connections 50] [--warmup 1] [--timeout 5000]
// Prints one JSON line (FixedRateResult). The bench pins it with `taskset -c 1`.
//
// Open loop: requests are sent on schedule whether or not earlier ones have answered, so a slow
// proxy queues work (inside the undici pool) instead of slowing the generator down, and that queueing
// is part of the measured latency. Latency runs from the call to pool.request() to the last body byte.
// Timers fire about once a millisecond, so at 2000 req/s requests leave in bursts of about two;
// `lag` reports how late each request left compared with its ideal schedule, as a health check.
import { parseArgs } from 'node:util'
import { build, type Histogram } from 'hdr-histogram-js'
import { Pool } from 'undici'

export interface FixedRateOptions {
  url: string
  /** requests per second; default 2000 */
  rate: number
  /** measured seconds; default 10 */
  durationS: number
  /** keep-alive connections in the pool; default 50 */
  connections: number
  /** seconds sent at the same rate before recording starts; default 1 */
  warmupS: number
  /** per-request headers/body timeout in ms; default 5000 */
  timeoutMs: number
}

export interface FixedRateResult {
  rate: number
  durationS: number
  sent: number
  recorded: number
  errors: number
  non2xx: number
  /** requests/s actually answered over the measured window */
  achievedRps: number
  /** latency percentiles, ms with 2 decimals */
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
  /** how late requests left versus the ideal schedule, ms */
  lagP99: number
  lagMax: number
  errorCodes: Record<string, number>
}

function histogram (): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 })
}

function ms (us: number): number {
  return Math.round(us / 10) / 100
}

export async function runFixedRate (opts: FixedRateOptions): Promise<FixedRateResult> {
  return (await runAlternating({ ...opts, urls: [opts.url], sliceMs: 0 }))[0]
}

/**
 * One open-loop schedule at `rate` shared by several targets in turn: the requests due in each
 * `sliceMs` go to one target, the next slice's to the next (sliceMs 0: all to the first). Each target
 * gets its own pool, latency histogram and result, over interleaved moments of the same run: on a
 * machine whose speed moves from second to second, the targets see the same moments.
 */
export async function runAlternating (opts: Omit<FixedRateOptions, 'url'> & { urls: string[], sliceMs: number }): Promise<FixedRateResult[]> {
  const targets = opts.urls.map((url) => {
    const target = new URL(url)
    if (target.hostname !== '127.0.0.1') throw new Error(`refusing non-loopback url ${url}`)
    const pool = new Pool(target.origin, {
      connections: opts.connections,
      pipelining: 1,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      keepAliveTimeout: 30_000
    })
    return { pool, path: target.pathname + target.search, latency: histogram(), lag: histogram(), errorCodes: {} as Record<string, number>, sent: 0, errors: 0, non2xx: 0, recorded: 0, firstRecordedAt: 0n, lastDoneAt: 0n }
  })
  const intervalNs = 1e9 / opts.rate
  const sliceNs = opts.sliceMs * 1e6
  const warmupCount = Math.round(opts.rate * opts.warmupS)
  const total = warmupCount + Math.round(opts.rate * opts.durationS)
  let sent = 0
  let inFlight = 0
  let drained: (() => void) | null = null

  function done (): void {
    inFlight--
    if (inFlight === 0 && sent === total && drained !== null) drained()
  }

  async function fire (index: number): Promise<void> {
    const t = targets[sliceNs > 0 ? Math.floor(index * intervalNs / sliceNs) % targets.length : 0]
    t.sent++
    const t0 = process.hrtime.bigint()
    const measured = index >= warmupCount
    if (measured && t.firstRecordedAt === 0n) t.firstRecordedAt = t0
    try {
      const res = await t.pool.request({ path: t.path, method: 'GET' })
      await res.body.arrayBuffer()
      const t1 = process.hrtime.bigint()
      if (res.statusCode < 200 || res.statusCode > 399) t.non2xx++
      if (measured) {
        t.latency.recordValue(Math.max(1, Number((t1 - t0) / 1000n)))
        t.recorded++
        t.lastDoneAt = t1
      }
    } catch (err) {
      t.errors++
      const code = (err as { code?: string }).code ?? (err as Error).name
      t.errorCodes[code] = (t.errorCodes[code] ?? 0) + 1
    } finally {
      done()
    }
  }

  const start = process.hrtime.bigint()
  await new Promise<void>((resolve) => {
    function tick (): void {
      const now = process.hrtime.bigint()
      const due = Math.min(total, Math.floor(Number(now - start) / intervalNs) + 1)
      while (sent < due) {
        const late = Number(now - start) - sent * intervalNs
        const t = targets[sliceNs > 0 ? Math.floor(sent * intervalNs / sliceNs) % targets.length : 0]
        if (sent >= warmupCount) t.lag.recordValue(Math.max(1, Math.round(late / 1000)))
        inFlight++
        fire(sent++).catch(() => {})
      }
      if (sent < total) setTimeout(tick, 1)
      else resolve()
    }
    tick()
  })
  // bounded drain: whatever has not answered after the timeout is counted as an error by undici
  if (inFlight > 0) {
    await new Promise<void>((resolve) => {
      drained = resolve
      setTimeout(resolve, opts.timeoutMs + 1000).unref()
    })
  }
  const results = targets.map((t): FixedRateResult => {
    const windowS = Number(t.lastDoneAt - t.firstRecordedAt) / 1e9
    return {
      rate: opts.rate,
      durationS: opts.durationS,
      sent: t.sent,
      recorded: t.recorded,
      errors: t.errors,
      non2xx: t.non2xx,
      // a target of several answers in its slices only: its rate while it had the load
      achievedRps: windowS > 0 ? Math.round(t.recorded * targets.length / windowS) : 0,
      p50: ms(t.latency.getValueAtPercentile(50)),
      p90: ms(t.latency.getValueAtPercentile(90)),
      p99: ms(t.latency.getValueAtPercentile(99)),
      p999: ms(t.latency.getValueAtPercentile(99.9)),
      max: ms(t.latency.maxValue),
      lagP99: ms(t.lag.getValueAtPercentile(99)),
      lagMax: ms(t.lag.maxValue),
      errorCodes: t.errorCodes
    }
  })
  for (const t of targets) {
    await t.pool.destroy()
    t.latency.destroy()
    t.lag.destroy()
  }
  return results
}

function num (value: string | undefined, fallback: number, name: string): number {
  const n = value === undefined ? fallback : Number(value)
  if (!Number.isFinite(n) || n < 0) throw new TypeError(`invalid --${name}: ${value}`)
  return n
}

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      warmup: { type: 'string' },
      timeout: { type: 'string' }
    }
  })
  if (values.url === undefined) throw new TypeError('--url is required')
  const result = await runFixedRate({
    url: values.url,
    rate: num(values.rate, 2000, 'rate'),
    durationS: num(values.duration, 10, 'duration'),
    connections: num(values.connections, 50, 'connections'),
    warmupS: num(values.warmup, 1, 'warmup'),
    timeoutMs: num(values.timeout, 5000, 'timeout')
  })
  process.stdout.write(JSON.stringify(result) + '\n')
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) await main()
