// Medians over rounds, proxy ratios and the markdown table for bench/RESULTS.md.
import { type RateResult } from './autocannon-rate.ts'
import { type WrkResult } from './wrk.ts'
import { type FixedRateResult } from '../fixed-rate.ts'

export interface Round {
  round: number
  /** target names in the order they ran this round (rotated each round) */
  order: string[]
  wrk: Record<string, WrkResult>
  fixedRate: Record<string, FixedRateResult>
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
  /** fixed-rate (bench/fixed-rate.ts) medians, ms */
  fixedP50: number | null
  fixedP99: number | null
  fixedP99Min: number | null
  fixedP99Max: number | null
  fixedErrors: number
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

function pick<T> (rounds: Round[], key: 'wrk' | 'fixedRate' | 'autocannon', target: string, f: (r: any) => T): T[] {
  const out: T[] = []
  for (const round of rounds) {
    const r = round[key][target]
    if (r !== undefined) out.push(f(r))
  }
  return out
}

function medianOrNull (values: number[]): number | null {
  return values.length === 0 ? null : median(values)
}

export function summarise (rounds: Round[], names: string[]): Summary[] {
  return names.map((target) => {
    const rps = pick(rounds, 'wrk', target, (r: WrkResult) => r.rps)
    const fixedP99 = pick(rounds, 'fixedRate', target, (r: FixedRateResult) => r.p99)
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)
    return {
      target,
      rps: median(rps),
      rpsMin: Math.min(...rps),
      rpsMax: Math.max(...rps),
      p50: median(pick(rounds, 'wrk', target, (r: WrkResult) => r.p50)),
      p99: median(pick(rounds, 'wrk', target, (r: WrkResult) => r.p99)),
      errors: sum(pick(rounds, 'wrk', target, (r: WrkResult) => r.errors)),
      non2xx: sum(pick(rounds, 'wrk', target, (r: WrkResult) => r.non2xx)),
      fixedP50: medianOrNull(pick(rounds, 'fixedRate', target, (r: FixedRateResult) => r.p50)),
      fixedP99: medianOrNull(fixedP99),
      fixedP99Min: fixedP99.length === 0 ? null : Math.min(...fixedP99),
      fixedP99Max: fixedP99.length === 0 ? null : Math.max(...fixedP99),
      fixedErrors: sum(pick(rounds, 'fixedRate', target, (r: FixedRateResult) => r.errors + r.non2xx)),
      acP50: medianOrNull(pick(rounds, 'autocannon', target, (r: RateResult) => r.p50)),
      acP99: medianOrNull(pick(rounds, 'autocannon', target, (r: RateResult) => r.p99))
    }
  })
}

function ratio (rounds: Round[], summaries: Summary[], label: string, a: string, b: string,
  metric: 'rps' | 'fixedP99', goal?: string): Ratio | null {
  const sa = summaries.find((s) => s.target === a)
  const sb = summaries.find((s) => s.target === b)
  if (sa === undefined || sb === undefined) return null
  const va = sa[metric]
  const vb = sb[metric]
  const per: number[] = []
  for (const round of rounds) {
    const ra = metric === 'rps' ? round.wrk[a]?.rps : round.fixedRate[a]?.p99
    const rb = metric === 'rps' ? round.wrk[b]?.rps : round.fixedRate[b]?.p99
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
export function ratios (rounds: Round[], summaries: Summary[], subjects: string[]): Ratio[] {
  const out: Array<Ratio | null> = []
  for (const s of subjects) {
    out.push(
      ratio(rounds, summaries, `${s} / fastify-http-proxy, req/s`, s, 'fastify-http-proxy', 'rps', '>= 1.3'),
      ratio(rounds, summaries, `${s} / direct, req/s`, s, 'direct', 'rps'),
      ratio(rounds, summaries, `${s} / nginx, req/s`, s, 'nginx', 'rps'),
      ratio(rounds, summaries, `${s} / nginx, p99 at fixed rate (lower is better)`, s, 'nginx', 'fixedP99')
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

export function markdownTable (summaries: Summary[], rate: number): string {
  const head = `| target | req/s (median) | req/s (min–max) | p50 ms | p99 ms | errors / non-2xx | p50 ms @${rate}/s | p99 ms @${rate}/s (min–max) | autocannon p50 / p99 ms @${rate}/s |`
  const lines = [head, '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |']
  for (const s of summaries) {
    const fixed = s.fixedP99 === null ? 'n/a' : `${f(s.fixedP99)} (${f(s.fixedP99Min)}–${f(s.fixedP99Max)})`
    const ac = s.acP50 === null ? 'n/a' : `${f(s.acP50, 0)} / ${f(s.acP99, 0)}`
    lines.push(`| ${s.target} | ${k(s.rps)} | ${k(s.rpsMin)}–${k(s.rpsMax)} | ${f(s.p50)} | ${f(s.p99)} | ${s.errors} / ${s.non2xx}` +
      ` | ${f(s.fixedP50)} | ${fixed} | ${ac} |`)
  }
  return lines.join('\n')
}

export function markdownRatios (list: Ratio[]): string {
  const lines = ['| ratio | median-based | per-round (min–max) | goal |', '| --- | ---: | ---: | --- |']
  for (const r of list) {
    lines.push(`| ${r.label} | ${f(r.value)} | ${f(r.roundMin)}–${f(r.roundMax)} | ${r.goal ?? ''} |`)
  }
  return lines.join('\n')
}
