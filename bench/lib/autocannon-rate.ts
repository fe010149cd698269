// autocannon at a fixed overall rate (whole-millisecond latencies), as a cross-check for bench/fixed-rate.ts.
import autocannon from 'autocannon'

export interface RateOptions {
  url: string
  rate: number
  durationS: number
  connections: number
}

export interface RateResult {
  rps: number
  /** ms, whole-millisecond resolution (autocannon rounds) */
  p50: number
  p99: number
  errors: number
  timeouts: number
  non2xx: number
}

/** Runs autocannon with `overallRate`, stopped by a watchdog if it overruns its duration by 15 s. */
export async function runAutocannonRate (opts: RateOptions): Promise<RateResult> {
  if (!opts.url.startsWith('http://127.0.0.1:')) throw new Error(`refusing non-loopback url ${opts.url}`)
  let watchdog: NodeJS.Timeout | undefined
  try {
    const result = await new Promise<autocannon.Result>((resolve, reject) => {
      const instance = autocannon({
        url: opts.url,
        connections: opts.connections,
        duration: opts.durationS,
        overallRate: opts.rate,
        timeout: 5
      }, (err, res) => { if (err !== null && err !== undefined) reject(err); else resolve(res) })
      watchdog = setTimeout(() => instance.stop(), opts.durationS * 1000 + 15_000)
    })
    return {
      rps: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: result.errors,
      timeouts: result.timeouts,
      non2xx: result.non2xx
    }
  } finally {
    clearTimeout(watchdog)
  }
}
