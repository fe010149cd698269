// Mirror benchmark (issues 3 and 16): paritygate mirroring 100 % to a healthy candidate that answers the same data
// re-serialized (so the comparison runs in full), to one with 5 % real mismatches and to one that answers the
// primary's exact bytes (the byte-identical shortcut), against mirroring off, nginx `mirror` 100 % and nginx
// `proxy_pass`; optionally a slow and a dead candidate (issue 3).
//
// Usage: npm run bench:mirror    (node --import tsx bench/mirror.bench.ts)
// Env (defaults): ROUNDS=3 DURATION=8 (s per wrk run) CONNECTIONS=50 THREADS=1 WARMUP=3 RATE=2000 FIXED_DURATION=8
//   (FIXED_DURATION=0 skips the fixed-rate runs)
//   CASES=reserialized,mismatch5,identical   the candidates of the targets paritygate-mirror-<case> (bench/lib/bodies.ts)
//   TARGETS=paritygate,paritygate-mirror-<each case>,nginx-mirror-100,nginx   replaces the whole list; also knows
//     bench/lib/targets.ts's targets, e.g. paritygate-mirror-slow, paritygate-mirror-down, nginx-mirror-slow
//   PARITYGATE_NODE_FLAGS   node flags of the paritygate children (bench/lib/paritygate.ts), e.g. for --cpu-prof
//   PARITYGATE_CLI_B=/path/to/dist/cli.js   runs each paritygate target twice per round, the second (`<name>@b`) with
//     that build: two builds side by side, e.g. PARITYGATE_CLI=<main's build> PARITYGATE_CLI_B=<a branch's build>
//
// Same layout and method as bench/proxy.bench.ts: proxies alone on core 0; the upstream (one nginx worker serving the
// primary's body and every candidate's from files, bench/lib/nginx.ts staticConf), the slow candidate's upstream,
// wrk, bench/fixed-rate.ts and this process on core 1; interleaved rounds, medians. No autocannon here.
// For each run it also charges paritygate's CPU time (every process of its group, all threads: /proc utime + stime)
// from the /metrics scrape before the run to the one after settling to the exchanges mirrored meanwhile
// (paritygate_mirror_decisions_total{decision="mirrored"}), and counts the comparisons' outcomes.
// After each run it waits until the target has nothing left in flight to its candidate (paritygate: the
// paritygate_mirror_inflight gauge; nginx with a slow candidate: the candidate's delay), so that one target's
// mirror backlog never runs during another's measurement. It records the proxy's resident memory (VmRSS of
// its process group, sampled each second, peak and end of run) and, for paritygate, the mirror decisions and
// candidate errors scraped from the admin /metrics before and after each run.
// Writes bench/.out/mirror-bench-<date>.json and .md, and prints the tables and PASS/FAIL checks.
import { setTimeout as sleep } from 'node:timers/promises'
import { installCleanup } from './lib/children.ts'
import { groupRssBytes } from './lib/cpu.ts'
import { ensureTools, envNumber, fixedRate, log, pinSelfToLoadCore, rotate, runMain, runMeta, startTargets, announce, stopAll, withCpu, writeOut } from './lib/harness.ts'
import { byLabel, delta, scrape, total, type Sample } from './lib/metrics.ts'
import { ensureBuilt } from './lib/paritygate.ts'
import { markdownThroughput, median, summarise, type Round, type Summary } from './lib/report.ts'
import { CASES, type MirrorCase } from './lib/bodies.ts'
import { sampleCpu } from './lib/cpu.ts'
import { candidateDelayMs, CPU_LOAD, selectTargets, startStaticUpstream, type Running, type TargetSpec } from './lib/targets.ts'
import { runWrk } from './lib/wrk.ts'

const BASELINE = 'paritygate'
const NGINX_MIRROR = 'nginx-mirror-100'
const HONEST = 'paritygate-mirror-reserialized'
const MIB = 1024 * 1024
const RSS_LIMIT = 256 * MIB

const settings = {
  rounds: Math.max(1, envNumber('ROUNDS', 3)),
  durationS: Math.max(1, envNumber('DURATION', 8)),
  connections: Math.max(1, envNumber('CONNECTIONS', 50)),
  threads: Math.max(1, envNumber('THREADS', 1)),
  warmupS: envNumber('WARMUP', 3),
  rate: Math.max(1, envNumber('RATE', 2000)),
  fixedDurationS: envNumber('FIXED_DURATION', 8),
  cases: parseCases(process.env.CASES)
}

function parseCases (list: string | undefined): MirrorCase[] {
  if (list === undefined || list.trim() === '') return [...CASES]
  return list.split(',').map((c) => c.trim()).filter(Boolean).map((c) => {
    if (!(CASES as readonly string[]).includes(c)) throw new TypeError(`unknown case ${c}; known: ${CASES.join(', ')}`)
    return c as MirrorCase
  })
}

/** The targets whose candidate is a port of the static upstream; the nginx mirror gets the re-serialized answers. */
function caseTargets (ports: Record<MirrorCase, number>): TargetSpec[] {
  return [
    ...CASES.map((c): TargetSpec => ({ name: `paritygate-mirror-${c}`, kind: 'paritygate', args: ['--candidate', '{candidate}', '--mirror-percent', '100'], candidate: { delayMs: 0, port: ports[c] }, default: false })),
    { name: NGINX_MIRROR, kind: 'nginx', candidate: { delayMs: 0, port: ports.reserialized }, default: false }
  ]
}

/** TARGETS, or the baseline, every case of CASES, the nginx mirror and nginx; names from caseTargets first. */
function pickTargets (dynamic: TargetSpec[]): TargetSpec[] {
  const fallback = [BASELINE, ...settings.cases.map((c) => `paritygate-mirror-${c}`), NGINX_MIRROR, 'nginx']
  const list = process.env.TARGETS === undefined || process.env.TARGETS.trim() === '' ? fallback : process.env.TARGETS.split(',').map((n) => n.trim()).filter(Boolean)
  const specs = list.map((name) => dynamic.find((t) => t.name === name) ?? selectTargets(name)[0])
  const b = process.env.PARITYGATE_CLI_B
  if (b === undefined || b === '') return specs
  // A second build side by side: every paritygate target again, as `<name>@b`, in the same interleaved rounds.
  return specs.flatMap((t) => t.kind === 'paritygate' ? [t, { ...t, name: `${t.name}@b`, cli: b }] : [t])
}

type Phase = 'wrk' | 'fixed'

/** What one run of one target did besides answering: memory, and for paritygate its mirror counters. */
interface RunExtra {
  rssPeak: number
  rssEnd: number
  /** paritygate only: increases over the run (settling included) */
  decisions: Record<string, number> | null
  candidateErrors: Record<string, number> | null
  /** paritygate_mirror_inflight right after the run, before settling */
  inflightAtEnd: number | null
  settleMs: number
  /** CPU seconds of the target's processes from the scrape before the run to the one after settling */
  cpuS: number
  /** paritygate only: exchanges mirrored and comparison outcomes over the same interval */
  mirrored: number | null
  outcomes: Record<string, number> | null
}

interface MirrorRound extends Round {
  extra: Record<Phase, Record<string, RunExtra>>
}

interface Counters { decisions: Record<string, number>, errors: Record<string, number>, outcomes: Record<string, number>, primaryRequests: number }

function counters (samples: Sample[]): Counters {
  return {
    decisions: byLabel(samples, 'paritygate_mirror_decisions_total', 'decision'),
    errors: byLabel(samples, 'paritygate_candidate_errors_total', 'reason'),
    outcomes: byLabel(samples, 'paritygate_comparisons_total', 'outcome'),
    // cumulative requests to the primary (noise baselines included): per request figures of a profile
    primaryRequests: total(samples, 'paritygate_requests_total', { target: 'primary' })
  }
}

/** Samples the group's RSS every second while `fn` runs; returns fn's result with the peak and the final RSS. */
async function withRss<T> (target: Running, fn: () => Promise<T>): Promise<[T, number, number]> {
  const pgid = target.pgid as number
  let peak = groupRssBytes(pgid)
  const timer = setInterval(() => { peak = Math.max(peak, groupRssBytes(pgid)) }, 1000)
  try {
    const result = await fn()
    const end = groupRssBytes(pgid)
    return [result, Math.max(peak, end), end]
  } finally {
    clearInterval(timer)
  }
}

/** Waits until nothing is left in flight to the target's candidate; returns how long that took (ms). */
async function settle (target: Running): Promise<number> {
  const t0 = performance.now()
  const delayMs = candidateDelayMs(target.spec?.candidate)
  if (target.adminUrl !== null) {
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      if (total(await scrape(target.adminUrl), 'paritygate_mirror_inflight') === 0) break
      await sleep(200)
    }
  } else if (delayMs > 0) {
    await sleep(delayMs + 1000)
  }
  return Math.round(performance.now() - t0)
}

/** Runs one measurement with RSS sampling, /metrics before and after, and settling. */
async function measure<T> (target: Running, fn: () => Promise<T>): Promise<[T, RunExtra]> {
  const before = target.adminUrl === null ? null : counters(await scrape(target.adminUrl))
  const cpuBefore = sampleCpu(target.pgid)
  const [result, rssPeak, rssEnd] = await withRss(target, fn)
  const inflightAtEnd = target.adminUrl === null ? null : total(await scrape(target.adminUrl), 'paritygate_mirror_inflight')
  const settleMs = await settle(target)
  const after = target.adminUrl === null ? null : counters(await scrape(target.adminUrl))
  const cpuS = sampleCpu(target.pgid).groupS - cpuBefore.groupS
  return [result, {
    cpuS,
    mirrored: before === null || after === null ? null : (after.decisions.mirrored ?? 0) - (before.decisions.mirrored ?? 0),
    outcomes: before === null || after === null ? null : delta(before.outcomes, after.outcomes),
    rssPeak,
    rssEnd,
    decisions: before === null || after === null ? null : delta(before.decisions, after.decisions),
    candidateErrors: before === null || after === null ? null : delta(before.errors, after.errors),
    inflightAtEnd,
    settleMs
  }]
}

function sumRecords (list: Array<Record<string, number> | null>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of list) for (const [k, v] of Object.entries(r ?? {})) out[k] = (out[k] ?? 0) + v
  return out
}

function fmt (value: number | null, digits = 2): string {
  return value === null || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits)
}

function counts (r: Record<string, number>): string {
  const entries = Object.entries(r).sort((a, b) => b[1] - a[1])
  return entries.length === 0 ? '–' : entries.map(([k, v]) => `${k} ${Math.round(v).toLocaleString('en-US')}`).join(', ')
}

/** Per-round `a / b` for a metric read from each round. */
function perRound (rounds: MirrorRound[], a: string, b: string, read: (r: MirrorRound, t: string) => number | undefined): number[] {
  const out: number[] = []
  for (const r of rounds) {
    const va = read(r, a)
    const vb = read(r, b)
    if (va !== undefined && vb !== undefined && vb > 0) out.push(va / vb)
  }
  return out
}

interface Check {
  label: string
  value: number | null
  rounds: number[]
  goal: string
  pass: boolean | null
  unit?: string
}

function markdownFixed (summaries: Summary[], rounds: MirrorRound[]): string {
  const lines = [
    `| target @ ${settings.rate} req/s | p50 ms | p99 ms (median) | p99 ms (min–max) | p99 / ${BASELINE} (median of rounds; min–max) | p99.9 ms | errors | CPU µs/req | core share | generator lag p99 ms | RSS peak MiB |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
  ]
  for (const s of summaries) {
    const runs = rounds.map((r) => r.fixedRate[s.target]).filter((x) => x !== undefined)
    const rss = Math.max(...rounds.flatMap((r) => [r.extra.wrk[s.target]?.rssPeak ?? 0, r.extra.fixed[s.target]?.rssPeak ?? 0]))
    const share = median(rounds.map((r) => r.fixedCpu[s.target]?.share).filter((x): x is number => x !== undefined))
    const lag = median(runs.map((x) => x.lagP99))
    if (runs.every((x) => x.recorded === 0)) {
      lines.push(`| ${s.target} | – | – | – | every request failed | – | ${s.fixedErrors} | ${fmt(s.fixedCpuUsPerReq, 1)} | ${fmt(share)} | ${fmt(lag)} | ${fmt(rss / MIB, 0)} |`)
      continue
    }
    const ratiosP99 = perRound(rounds, s.target, BASELINE, (r, t) => r.fixedRate[t]?.p99)
    const p999 = median(runs.map((x) => x.p999))
    const ratioCell = s.target === BASELINE ? '1 (baseline)' : `${fmt(median(ratiosP99))} (${fmt(Math.min(...ratiosP99))}–${fmt(Math.max(...ratiosP99))})`
    lines.push(`| ${s.target} | ${fmt(s.fixedP50)} | ${fmt(s.fixedP99)} | ${fmt(s.fixedP99Min)}–${fmt(s.fixedP99Max)} | ${ratioCell}` +
      ` | ${fmt(p999)} | ${s.fixedErrors} | ${fmt(s.fixedCpuUsPerReq, 1)} | ${fmt(share)} | ${fmt(lag)} | ${fmt(rss / MIB, 0)} |`)
  }
  return lines.join('\n')
}

/** One number per round from `read`, skipping rounds without it. */
function eachRound (rounds: MirrorRound[], read: (r: MirrorRound) => number | null | undefined): number[] {
  return rounds.map(read).filter((x): x is number => typeof x === 'number' && Number.isFinite(x))
}

/** `median (min–max)` of per-round values. */
function spread (xs: number[], digits = 0): string {
  if (xs.length === 0) return 'n/a'
  const f = (x: number): string => digits === 0 ? Math.round(x).toLocaleString('en-US') : x.toFixed(digits)
  return xs.length === 1 ? f(xs[0]) : `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`
}

/** CPU µs per request of `t` in round `r` (wrk run, CPU from the scrape before to settling). */
function usPerReq (r: MirrorRound, t: string): number | null {
  const x = r.extra.wrk[t]
  const n = r.wrk[t]?.requests ?? 0
  return x === undefined || n === 0 ? null : x.cpuS * 1e6 / n
}

/**
 * Issue 16's table: per target under wrk, req/s and its ratios to mirroring off and nginx's mirror (per round, same
 * round), CPU per request, CPU per mirrored exchange (all of paritygate's CPU over the exchanges mirrored), what a
 * mirrored exchange adds over mirroring off (the round's CPU minus the baseline's CPU per request times the requests,
 * over the exchanges mirrored), the share mirrored, the comparisons' outcomes and the RSS peak.
 */
function markdownCases (names: string[], rounds: MirrorRound[]): string {
  const lines = [
    `| target (wrk, ${settings.connections} connections) | req/s | / ${BASELINE} (mirroring off) | / ${NGINX_MIRROR} | CPU µs/req | CPU µs per mirrored exchange | added CPU µs per mirrored exchange | mirrored / requests | comparisons (sum over rounds) | RSS peak MiB |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |'
  ]
  for (const name of names) {
    const runs = rounds.map((r) => r.extra.wrk[name]).filter((x): x is RunExtra => x !== undefined)
    if (runs.length === 0) continue
    const rps = eachRound(rounds, (r) => r.wrk[name]?.rps)
    const vsOff = name === BASELINE ? '1' : spread(perRound(rounds, name, BASELINE, (r, t) => r.wrk[t]?.rps), 2)
    const vsNginx = name === NGINX_MIRROR ? '1' : spread(perRound(rounds, name, NGINX_MIRROR, (r, t) => r.wrk[t]?.rps), 2)
    const cpu = eachRound(rounds, (r) => usPerReq(r, name))
    const pg = runs[0].mirrored !== null
    // per mirrored exchange only where most requests were mirrored (not for a shedding slow or a dead candidate)
    const mostly = (r: MirrorRound): RunExtra | null => {
      const x = r.extra.wrk[name]
      const n = r.wrk[name]?.requests ?? 0
      return x !== undefined && x.mirrored !== null && n > 0 && x.mirrored >= n / 2 ? x : null
    }
    const perMirrored = eachRound(rounds, (r) => { const x = mostly(r); return x === null ? null : x.cpuS * 1e6 / (x.mirrored as number) })
    const added = eachRound(rounds, (r) => {
      const x = mostly(r)
      const off = usPerReq(r, BASELINE)
      const n = r.wrk[name]?.requests
      return x !== null && off !== null && n !== undefined ? (x.cpuS * 1e6 - off * n) / (x.mirrored as number) : null
    })
    const share = eachRound(rounds, (r) => { const x = r.extra.wrk[name]; const n = r.wrk[name]?.requests; return x?.mirrored != null && n ? x.mirrored / n : null })
    const rss = Math.max(...runs.map((x) => x.rssPeak))
    lines.push(`| ${name} | ${spread(rps)} | ${vsOff} | ${vsNginx} | ${spread(cpu, 1)} | ${pg && perMirrored.length > 0 ? spread(perMirrored, 1) : '–'}` +
      ` | ${pg && added.length > 0 ? spread(added, 1) : '–'} | ${pg && share.length > 0 ? spread(share, 2) : '–'}` +
      ` | ${pg ? counts(sumRecords(runs.map((x) => x.outcomes))) : 'n/a'} | ${fmt(rss / MIB, 0)} |`)
  }
  return lines.join('\n')
}

function markdownMirror (names: string[], rounds: MirrorRound[]): string {
  const lines = [
    '| target | phase | mirror decisions (sum over rounds) | candidate errors | in flight at end (max) | RSS MiB end / peak (max) |',
    '| --- | --- | --- | --- | ---: | ---: |'
  ]
  for (const name of names) {
    for (const phase of ['wrk', 'fixed'] as const) {
      const runs = rounds.map((r) => r.extra[phase][name]).filter((x): x is RunExtra => x !== undefined)
      if (runs.length === 0) continue
      const pg = runs[0].decisions !== null
      const inflight = pg ? Math.max(...runs.map((x) => x.inflightAtEnd ?? 0)) : null
      lines.push(`| ${name} | ${phase === 'wrk' ? 'wrk' : `${settings.rate}/s`} | ${pg ? counts(sumRecords(runs.map((x) => x.decisions))) : 'n/a (nginx)'}` +
        ` | ${pg ? counts(sumRecords(runs.map((x) => x.candidateErrors))) : 'n/a'} | ${inflight ?? 'n/a'}` +
        ` | ${fmt(Math.max(...runs.map((x) => x.rssEnd)) / MIB, 0)} / ${fmt(Math.max(...runs.map((x) => x.rssPeak)) / MIB, 0)} |`)
    }
  }
  return lines.join('\n')
}

function checks (summaries: Summary[], rounds: MirrorRound[]): Check[] {
  const by = (name: string) => summaries.find((s) => s.target === name)
  const base = by(BASELINE)
  const out: Check[] = []
  if (base === undefined) return out
  for (const name of ['paritygate-mirror-slow', 'paritygate-mirror-down']) {
    const s = by(name)
    if (s === undefined) continue
    const per = perRound(rounds, name, BASELINE, (r, t) => r.fixedRate[t]?.p99)
    // the ratio of medians; the per-round ratios show the spread
    const value = s.fixedP99 !== null && base.fixedP99 !== null ? s.fixedP99 / base.fixedP99 : null
    out.push({ label: `${name} / ${BASELINE}, live p99 at ${settings.rate} req/s`, value, rounds: per, goal: '<= 1.05', pass: value === null ? null : value <= 1.05 })
    const rss = Math.max(...rounds.flatMap((r) => [r.extra.wrk[name]?.rssPeak ?? 0, r.extra.fixed[name]?.rssPeak ?? 0]))
    out.push({ label: `${name}, peak RSS (MiB) over all runs`, value: rss / MIB, rounds: [], goal: '< 256', pass: rss < RSS_LIMIT })
  }
  // issue 16's goals, for the candidate that re-serializes (the comparison runs in full)
  const honest = by(HONEST)
  if (honest !== undefined) {
    const per = perRound(rounds, honest.target, BASELINE, (r, t) => r.wrk[t]?.rps)
    const value = honest.rps / base.rps
    out.push({ label: `${honest.target} / ${BASELINE}, req/s (wrk)`, value, rounds: per, goal: '>= 0.6', pass: value >= 0.6 })
    const nginx = by(NGINX_MIRROR)
    if (nginx !== undefined) {
      const perN = perRound(rounds, honest.target, nginx.target, (r, t) => r.wrk[t]?.rps)
      const v = honest.rps / nginx.rps
      out.push({ label: `${honest.target} / ${NGINX_MIRROR}, req/s (wrk)`, value: v, rounds: perN, goal: '>= 1', pass: v >= 1 })
    }
    if (honest.fixedP99 !== null && base.fixedP99 !== null) {
      const diffs = rounds.map((r) => (r.fixedRate[honest.target]?.p99 ?? NaN) - (r.fixedRate[BASELINE]?.p99 ?? NaN)).filter(Number.isFinite)
      const v = honest.fixedP99 - base.fixedP99
      out.push({ label: `${honest.target} − ${BASELINE}, live p99 at ${settings.rate} req/s (ms; per round: differences)`, value: v, rounds: diffs, goal: '<= 1', pass: v <= 1 })
    }
    const rss = Math.max(...rounds.map((r) => r.extra.wrk[honest.target]?.rssPeak ?? 0))
    out.push({ label: `${honest.target}, peak RSS (MiB) under wrk`, value: rss / MIB, rounds: [], goal: '<= 256', pass: rss <= RSS_LIMIT })
  }
  const proxyPass = by('nginx')
  if (proxyPass !== undefined) {
    const per = perRound(rounds, BASELINE, 'nginx', (r, t) => r.wrk[t]?.rps)
    const v = base.rps / proxyPass.rps
    out.push({ label: `${BASELINE} (mirroring off) / nginx proxy_pass, req/s (wrk)`, value: v, rounds: per, goal: '>= 0.45', pass: v >= 0.45 })
  }
  return out
}

/** Whether `value` meets a goal such as '<= 1.05', '< 256', '>= 0.6'. */
function meets (value: number, goal: string): boolean {
  const [op, raw] = goal.split(' ')
  const limit = Number(raw)
  return op === '<=' ? value <= limit : op === '<' ? value < limit : op === '>=' ? value >= limit : value > limit
}

function markdownChecks (list: Check[]): string {
  const lines = ['| check | from medians | median of per-round ratios | per round | goal | result |', '| --- | ---: | ---: | ---: | --- | --- |']
  for (const c of list) {
    const perMedian = c.rounds.length === 0 ? null : median(c.rounds)
    const verdict = c.pass === null ? 'n/a' : c.pass ? 'PASS' : 'FAIL'
    // the per-round ratios pair each target with the baseline of the same round; say so when they disagree
    const second = perMedian === null || c.pass === null || meets(perMedian, c.goal) === c.pass ? '' : ` (per-round median: ${c.pass ? 'FAIL' : 'PASS'})`
    lines.push(`| ${c.label} | ${fmt(c.value)} | ${fmt(perMedian)} | ${c.rounds.map((x) => fmt(x)).join(', ')} | ${c.goal} | ${verdict}${second} |`)
  }
  return lines.join('\n')
}

async function main (): Promise<void> {
  installCleanup()
  // the names only: the static upstream's ports are not known yet
  const planned = pickTargets(caseTargets({ identical: 0, reserialized: 0, mismatch5: 0 }))
  ensureTools(true)
  if (planned.some((s) => s.kind === 'paritygate')) await ensureBuilt(log)
  pinSelfToLoadCore()

  const fixedS = settings.fixedDurationS > 0 ? settings.fixedDurationS + 4 : 0
  const slow = planned.filter((s) => candidateDelayMs(s.candidate) > 0).length
  const runs = planned.length * (settings.warmupS + 1 + settings.rounds * (settings.durationS + fixedS + 4)) +
    slow * settings.rounds * 2 * 8
  const { watchdog, loadBefore } = announce(planned, settings, runs)

  const started: Running[] = []
  try {
    const { upstream, ports } = await startStaticUpstream('upstream')
    started.push(upstream)
    const specs = pickTargets(caseTargets(ports))
    const running = await startTargets(specs, upstream, started)

    const wrkOptions = { threads: settings.threads, connections: settings.connections, cpu: CPU_LOAD }
    if (settings.warmupS > 0) {
      for (const target of running) {
        log(`warm-up ${target.name} (${settings.warmupS} s)`)
        await runWrk({ ...wrkOptions, url: target.url, durationS: settings.warmupS })
        await settle(target)
      }
    }

    const rounds: MirrorRound[] = []
    for (let r = 0; r < settings.rounds; r++) {
      const order = rotate(running, r)
      const round: MirrorRound = {
        round: r + 1,
        order: order.map((t) => t.name),
        wrk: {},
        cpu: {},
        fixedRate: {},
        fixedCpu: {},
        autocannon: {},
        extra: { wrk: {}, fixed: {} }
      }
      rounds.push(round)
      for (const target of order) {
        const [[res, cpu], extra] = await measure(target, () =>
          withCpu(target, () => runWrk({ ...wrkOptions, url: target.url, durationS: settings.durationS }), (w) => w.requests))
        round.wrk[target.name] = res
        round.cpu[target.name] = cpu
        round.extra.wrk[target.name] = extra
        log(`round ${r + 1} wrk ${target.name}: ${Math.round(res.rps)} req/s p50 ${res.p50.toFixed(2)} ms p99 ${res.p99.toFixed(2)} ms` +
          ` errors ${res.errors} non2xx ${res.non2xx}; ${cpu.usPerReq} CPU µs/req, core share ${cpu.share};` +
          ` RSS ${Math.round(extra.rssPeak / MIB)} MiB${extra.decisions === null ? '' : `; ${counts(extra.decisions)}; errors: ${counts(extra.candidateErrors ?? {})}`}` +
          (extra.settleMs > 500 ? `; settled in ${extra.settleMs} ms` : ''))
        await sleep(500)
      }
      for (const target of settings.fixedDurationS > 0 ? order : []) {
        const [[fixed, fixedCpu], extra] = await measure(target, () =>
          withCpu(target, () => fixedRate({ url: target.url, rate: settings.rate, durationS: settings.fixedDurationS, connections: settings.connections }), (x) => x.sent))
        round.fixedRate[target.name] = fixed
        round.fixedCpu[target.name] = fixedCpu
        round.extra.fixed[target.name] = extra
        log(`round ${r + 1} @${settings.rate}/s ${target.name}: p50 ${fixed.p50} p99 ${fixed.p99} ms (lag p99 ${fixed.lagP99} ms,` +
          ` errors ${fixed.errors + fixed.non2xx}, ${fixedCpu.usPerReq} CPU µs/req); RSS ${Math.round(extra.rssPeak / MIB)} MiB` +
          `${extra.decisions === null ? '' : `; ${counts(extra.decisions)}; errors: ${counts(extra.candidateErrors ?? {})}`}`)
        await sleep(300)
      }
    }

    const names = running.map((t) => t.name)
    const summaries = summarise(rounds, names)
    const checkList = checks(summaries, rounds)
    // cumulative since start, warm-up included
    const finalCounters: Record<string, Counters> = {}
    for (const target of running) {
      if (target.adminUrl !== null) finalCounters[target.name] = counters(await scrape(target.adminUrl))
    }
    const markdown = [
      markdownCases(names, rounds),
      markdownThroughput(summaries),
      ...settings.fixedDurationS > 0 ? [markdownFixed(summaries, rounds)] : [],
      markdownMirror(names, rounds),
      markdownChecks(checkList)
    ].join('\n\n')
    const meta = runMeta('npm run bench:mirror', settings, loadBefore)
    const file = writeOut('mirror-bench', { meta, rounds, summaries, checks: checkList, finalCounters }, markdown)
    process.stdout.write(`\n${markdown}\n\n`)
    for (const c of checkList) {
      process.stdout.write(`${c.pass === null ? 'N/A ' : c.pass ? 'PASS' : 'FAIL'} ${c.label}: ${fmt(c.value)} (goal ${c.goal}` +
        `${c.rounds.length === 0 ? '' : `; rounds ${c.rounds.map((x) => fmt(x)).join(', ')}`})\n`)
    }
    log(`raw rounds written to ${file}`)
  } finally {
    await stopAll(started, watchdog)
  }
}

runMain(main)
