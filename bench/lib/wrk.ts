// Runs wrk (closed-loop throughput) and parses its --latency report.
import { runToEnd } from './children.ts'

export interface WrkResult {
  rps: number
  /** latency percentiles in ms from wrk's "Latency Distribution" */
  p50: number
  p99: number
  requests: number
  /** connect + read + write + timeout socket errors */
  errors: number
  timeouts: number
  non2xx: number
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

function toMs (value: string, unit: string): number {
  const factor = UNIT_MS[unit]
  if (factor === undefined) throw new Error(`unknown wrk time unit ${unit}`)
  return Number(value) * factor
}

/** Parses wrk 4.x output. Throws when the report is incomplete, so a broken run never becomes a number. */
export function parseWrk (text: string): WrkResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(text)
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s|m|h)\s*$/m.exec(text)
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$/m.exec(text)
  const total = /^\s+(\d+) requests in /m.exec(text)
  if (rps === null || p50 === null || p99 === null || total === null) {
    throw new Error(`cannot parse wrk output:\n${text}`)
  }
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text)
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text)
  const counts = sock === null ? [0, 0, 0, 0] : sock.slice(1).map(Number)
  return {
    rps: Number(rps[1]),
    p50: toMs(p50[1], p50[2]),
    p99: toMs(p99[1], p99[2]),
    requests: Number(total[1]),
    errors: counts.reduce((a, b) => a + b, 0),
    timeouts: counts[3],
    non2xx: non2xx === null ? 0 : Number(non2xx[1])
  }
}

export interface WrkOptions {
  url: string
  threads: number
  connections: number
  durationS: number
  /** core to pin wrk to */
  cpu: number
}

/** `wrk -tT -cC -dDs --latency URL`, killed if it overruns its duration by 20 s. */
export async function runWrk (opts: WrkOptions): Promise<WrkResult> {
  if (!opts.url.startsWith('http://127.0.0.1:')) throw new Error(`refusing non-loopback url ${opts.url}`)
  const args = [`-t${opts.threads}`, `-c${opts.connections}`, `-d${opts.durationS}s`, '--timeout', '5s', '--latency', opts.url]
  const out = await runToEnd({ name: 'wrk', cpu: opts.cpu, command: 'wrk', args }, opts.durationS * 1000 + 20_000)
  return parseWrk(out)
}
