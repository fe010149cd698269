// Medians over rounds, proxy ratios and the markdown tables for bench/RESULTS.md.
import { type RateResult } from './autocannon-rate.ts'
import { type CpuUsage } from './cpu.ts'
import { type WrkResult } from './wrk.ts'
import { type FixedRateResult } from '../fixed-rate.ts'

export interface RunCpu extends CpuUsage {
  /** CPU µs the target's processes spent per request */
  usPerReq: number
}

export interface Round {
  round: number
  /** target names in the order they ran this round (rotated each round) */
  order: string[]
  wrk: Record<string, WrkResult>
  /** CPU of each target during its wrk run */
  cpu: Record<string, RunCpu>
  fixedRate: Record<string, FixedRateResult>
  /** CPU of each target during its fixed-rate run */
  fixedCpu: Record<string, RunCpu>
  autocannon: Record<string, RateResult>
}

export interface Summary {
  target: string
  rps: number
  rpsMin: number
  rpsMax: number
  p50: number
  p99: number
  errors: number
  non2xx: number
  /** CPU µs per request under wrk, and the share of a core the target got */
  cpuUsPerReq: number | null
  coreShare: number | null
  /** fixed-rate (bench/fixed-rate.ts) medians, ms, and CPU µs per request at that rate */
  fixedP50: number | null
  fixedP99: number | null
  fixedP99Min: number | null
  fixedP99Max: number | null
  fixedErrors: number
  fixedCpuUsPerReq: number | null
  /** autocannon overallRate medians, whole ms */
  acP50: number | null
  acP99: number | null
}

export interface Ratio {
  label: string
  /** ratio of the medians */
  value: number | null
  /** per-round ratios (both sides measured in the same round), min and max */
  roundMin: number | null
  roundMax: number | null
  goal?: string
}

export function median (values: number[]): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

type Section = 'wrk' | 'cpu' | 'fixedRate' | 'fixedCpu' | 'autocannon'

function values (rounds: Round[], section: Section, target: string, field: string): number[] {
  const out: number[] = []
  for (const round of rounds) {
    const r = round[section][target] as unknown as Record<string, number> | undefined
    if (r !== undefined && typeof r[field] === 'number') out.push(r[field])
  }
  return out
}

function medianOrNull (xs: number[]): number | null {
  return xs.length === 0 ? null : median(xs)
}

function sum (xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0)
}

export function summarise (rounds: Round[], names: string[]): Summary[] {
  return names.map((target) => {
    const rps = values(rounds, 'wrk', target, 'rps')
    const fixedP99 = values(rounds, 'fixedRate', target, 'p99')
    return {
      target,
      rps: median(rps),
      rpsMin: Math.min(...rps),
      rpsMax: Math.max(...rps),
      p50: median(values(rounds, 'wrk', target, 'p50')),
      p99: median(values(rounds, 'wrk', target, 'p99')),
      errors: sum(values(rounds, 'wrk', target, 'errors')),
      non2xx: sum(values(rounds, 'wrk', target, 'non2xx')),
      cpuUsPerReq: medianOrNull(values(rounds, 'cpu', target, 'usPerReq')),
      coreShare: medianOrNull(values(rounds, 'cpu', target, 'share')),
      fixedP50: medianOrNull(values(rounds, 'fixedRate', target, 'p50')),
      fixedP99: medianOrNull(fixedP99),
      fixedP99Min: fixedP99.length === 0 ? null : Math.min(...fixedP99),
      fixedP99Max: fixedP99.length === 0 ? null : Math.max(...fixedP99),
      fixedErrors: sum(values(rounds, 'fixedRate', target, 'errors')) + sum(values(rounds, 'fixedRate', target, 'non2xx')),
      fixedCpuUsPerReq: medianOrNull(values(rounds, 'fixedCpu', target, 'usPerReq')),
      acP50: medianOrNull(values(rounds, 'autocannon', target, 'p50')),
      acP99: medianOrNull(values(rounds, 'autocannon', target, 'p99'))
    }
  })
}

interface Metric {
  /** value in a summary */
  summary: (s: Summary) => number | null
  /** the same value in one round */
  round: (r: Round, target: string) => number | undefined
}

const METRICS = {
  rps: { summary: (s) => s.rps, round: (r, t) => r.wrk[t]?.rps },
  fixedP99: { summary: (s) => s.fixedP99, round: (r, t) => r.fixedRate[t]?.p99 },
  cpu: { summary: (s) => s.cpuUsPerReq, round: (r, t) => r.cpu[t]?.usPerReq },
  fixedCpu: { summary: (s) => s.fixedCpuUsPerReq, round: (r, t) => r.fixedCpu[t]?.usPerReq }
} satisfies Record<string, Metric>

/** `a / b` on one metric, from the medians and round by round. */
function ratio (rounds: Round[], summaries: Summary[], label: string, a: string, b: string, metric: Metric, goal?: string): Ratio | null {
  const sa = summaries.find((s) => s.target === a)
  const sb = summaries.find((s) => s.target === b)
  if (sa === undefined || sb === undefined) return null
  const va = metric.summary(sa)
  const vb = metric.summary(sb)
  const per: number[] = []
  for (const round of rounds) {
    const ra = metric.round(round, a)
    const rb = metric.round(round, b)
    if (ra !== undefined && rb !== undefined && rb > 0) per.push(ra / rb)
  }
  return {
    label,
    value: va === null || vb === null || vb === 0 ? null : va / vb,
    roundMin: per.length === 0 ? null : Math.min(...per),
    roundMax: per.length === 0 ? null : Math.max(...per),
    goal
  }
}

/** Ratios for every paritygate-kind target against the references. */
export function ratios (rounds: Round[], summaries: Summary[], subjects: string[], rate: number): Ratio[] {
  const out: Array<Ratio | null> = []
  for (const s of subjects) {
    out.push(
      ratio(rounds, summaries, `${s} / fastify-http-proxy, req/s (wrk)`, s, 'fastify-http-proxy', METRICS.rps, '>= 1.3'),
      ratio(rounds, summaries, `fastify-http-proxy / ${s}, CPU µs per request (wrk; > 1 = ${s} cheaper)`, 'fastify-http-proxy', s, METRICS.cpu, '>= 1.3'),
      ratio(rounds, summaries, `fastify-http-proxy / ${s}, CPU µs per request at ${rate}/s`, 'fastify-http-proxy', s, METRICS.fixedCpu),
      ratio(rounds, summaries, `${s} / direct, req/s (wrk)`, s, 'direct', METRICS.rps),
      ratio(rounds, summaries, `${s} / nginx, req/s (wrk)`, s, 'nginx', METRICS.rps),
      ratio(rounds, summaries, `nginx / ${s}, CPU µs per request (wrk; < 1 = nginx cheaper)`, 'nginx', s, METRICS.cpu),
      ratio(rounds, summaries, `${s} / nginx, p99 at ${rate}/s (fixed-rate.ts; < 1 = ${s} better)`, s, 'nginx', METRICS.fixedP99)
    )
  }
  return out.filter((r): r is Ratio => r !== null)
}

function f (value: number | null, digits = 2): string {
  return value === null || Number.isNaN(value) ? 'n/a' : value.toFixed(digits)
}

function k (value: number): string {
  return Math.round(value).toLocaleString('en-US')
}

/** Closed-loop (wrk) table. */
export function markdownThroughput (summaries: Summary[]): string {
  const lines = [
    '| target | req/s (median) | req/s (min–max) | p50 ms | p99 ms | errors / non-2xx | CPU µs/req | core share |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
  ]
  for (const s of summaries) {
    lines.push(`| ${s.target} | ${k(s.rps)} | ${k(s.rpsMin)}–${k(s.rpsMax)} | ${f(s.p50)} | ${f(s.p99)} | ${s.errors} / ${s.non2xx}` +
      ` | ${f(s.cpuUsPerReq, 1)} | ${f(s.coreShare)} |`)
  }
  return lines.join('\n')
}

/** Fixed-rate table. */
export function markdownFixedRate (summaries: Summary[], rate: number): string {
  const lines = [
    `| target @ ${rate} req/s | p50 ms | p99 ms (median) | p99 ms (min–max) | errors | CPU µs/req | autocannon p50 / p99 ms |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |'
  ]
  for (const s of summaries) {
    if (s.fixedP99 === null) continue
    lines.push(`| ${s.target} | ${f(s.fixedP50)} | ${f(s.fixedP99)} | ${f(s.fixedP99Min)}–${f(s.fixedP99Max)} | ${s.fixedErrors}` +
      ` | ${f(s.fixedCpuUsPerReq, 1)} | ${f(s.acP50, 0)} / ${f(s.acP99, 0)} |`)
  }
  return lines.join('\n')
}

export function markdownRatios (list: Ratio[]): string {
  const lines = ['| ratio | from medians | per round (min–max) | goal |', '| --- | ---: | ---: | --- |']
  for (const r of list) {
    lines.push(`| ${r.label} | ${f(r.value)} | ${f(r.roundMin)}–${f(r.roundMax)} | ${r.goal ?? ''} |`)
  }
  return lines.join('\n')
}
