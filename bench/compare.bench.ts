// Comparison under load (issue 4): live p99 of 1 KiB requests while ~5 MB /big answers are mirrored and compared, vs mirroring off.
//
// Usage: npm run bench:compare    (node --import tsx bench/compare.bench.ts)
// Env (defaults): ROUNDS=3 FIXED_DURATION=10 (s per run) RATE=1000 (live req/s) CONNECTIONS=50 BIG_RATE=5 (/big per s)
//   BIG_BYTES=5000000 WARMUP=3 (s per target) MATCH_LOAD=1 (0: the off run leaves its candidate idle)
//   WORKER_CPU=N (diagnostic, unset by default): after the warm-up, moves the busiest non-main thread of
//   paritygate-compare-on (its comparison worker) to core N with `taskset -p`, to tell the worker's competition
//   for core 0 apart from the comparison's cost on the main thread.
//
// Layout as in bench/proxy.bench.ts: both paritygate instances on core 0; the upstreams (BIG=primary and
// BIG=candidate), bench/fixed-rate.ts and this process (the /big loop) on core 1. Both instances run with
// candidate.maxResponseBytes and compare.maxBodyBytes 8 MiB, compare.workers 1 and mirror.percent 0; the route
// `big` (GET /big) mirrors 100 % in paritygate-compare-on and 0 % in paritygate-compare-off. The comparison
// worker thread is pinned with the process, so it competes with the live path for core 0.
// Each run: bench/fixed-rate.ts sends RATE req/s to /items/1 (1 KiB) while this process sends BIG_RATE GET /big
// per second (open loop, at most 4 in flight) through the same proxy; in the off run this process also
// fetches the same /big stream from the candidate upstream directly (MATCH_LOAD), so that the load core
// (generator and upstreams) does the same work in both runs and only the proxy's work differs. /metrics is
// scraped just before and just after (prom-client resets its event-loop delay histogram on each scrape, so
// nodejs_eventloop_lag_p99_seconds covers the run), and again once the comparison queue is empty, for the
// comparison counters.
// Writes bench/.out/compare-bench-<date>.json and .md, and prints the tables and PASS/FAIL checks.
import { setTimeout as sleep } from 'node:timers/promises'
import { build } from 'hdr-histogram-js'
import { Pool } from 'undici'
import { execFileSync } from 'node:child_process'
import { installCleanup } from './lib/children.ts'
import { busiestThread, groupRssBytes } from './lib/cpu.ts'
import { ensureBuilt } from './lib/paritygate.ts'
import { envNumber, fixedRate, log, pinSelfToLoadCore, rotate, runMain, runMeta, announce, stopAll, withCpu, writeOut } from './lib/harness.ts'
import { byLabel, delta, scrape, total, type Sample } from './lib/metrics.ts'
import { median } from './lib/report.ts'
import { checkTarget, selectTargets, startTarget, startUpstream, type Running } from './lib/targets.ts'
import { type FixedRateResult } from './fixed-rate.ts'

const OFF = 'paritygate-compare-off'
const ON = 'paritygate-compare-on'
const LIVE_PATH = '/items/1'
const MIB = 1024 * 1024

const settings = {
  rounds: Math.max(1, envNumber('ROUNDS', 3)),
  fixedDurationS: Math.max(1, envNumber('FIXED_DURATION', 10)),
  rate: Math.max(1, envNumber('RATE', 1000)),
  connections: Math.max(1, envNumber('CONNECTIONS', 50)),
  bigRate: envNumber('BIG_RATE', 5),
  bigBytes: Math.max(1024, envNumber('BIG_BYTES', 5_000_000)),
  warmupS: envNumber('WARMUP', 3),
  /** the off run also fetches /big from its candidate directly, so both runs load the load core alike */
  matchLoad: process.env.MATCH_LOAD !== '0',
  workerCpu: process.env.WORKER_CPU === undefined || process.env.WORKER_CPU === '' ? null : envNumber('WORKER_CPU', 1)
}

interface BigResult {
  sent: number
  ok: number
  errors: number
  /** not sent because 4 were already in flight */
  skipped: number
  bytes: number
  p50: number
  p99: number
}

/** Open-loop GET /big at `rate` per second until `stop()`; at most `maxInflight` at once. */
function bigLoop (origin: string, rate: number, maxInflight = 4): { stop: () => Promise<BigResult> } {
  const pool = new Pool(origin, { connections: maxInflight, pipelining: 1, headersTimeout: 30_000, bodyTimeout: 30_000 })
  const hist = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 })
  const result: BigResult = { sent: 0, ok: 0, errors: 0, skipped: 0, bytes: 0, p50: 0, p99: 0 }
  const pending = new Set<Promise<void>>()
  async function one (): Promise<void> {
    const t0 = process.hrtime.bigint()
    try {
      const res = await pool.request({ path: '/big', method: 'GET' })
      let n = 0
      for await (const chunk of res.body) n += (chunk as Buffer).length
      result.bytes += n
      if (res.statusCode === 200) {
        result.ok++
        hist.recordValue(Math.max(1, Number((process.hrtime.bigint() - t0) / 1000n)))
      } else {
        result.errors++
      }
    } catch {
      result.errors++
    }
  }
  const timer = rate > 0
    ? setInterval(() => {
      if (pending.size >= maxInflight) { result.skipped++; return }
      result.sent++
      const p = one().finally(() => pending.delete(p))
      pending.add(p)
    }, 1000 / rate)
    : null
  return {
    async stop () {
      if (timer !== null) clearInterval(timer)
      await Promise.race([Promise.all(pending), sleep(30_000)])
      await pool.destroy()
      result.p50 = Math.round(hist.getValueAtPercentile(50) / 10) / 100
      result.p99 = Math.round(hist.getValueAtPercentile(99) / 10) / 100
      hist.destroy()
      return result
    }
  }
}

interface Run {
  fixed: FixedRateResult
  big: BigResult
  /** CPU seconds of the proxy over the run over wall time (1 = a whole core) */
  coreShare: number
  coreBusy: number[]
  /** from the scrape right after the run: event-loop delay over the run, ms (prom-client, 10 ms sampling) */
  lagP99Ms: number
  lagMaxMs: number
  rssPeakMiB: number
  /** increases over the run, settling included */
  comparisons: Record<string, number>
  /** comparisons that finished while the load ran (the rest were still queued) */
  comparedDuringRun: number
  decisions: Record<string, number>
  candidateErrors: Record<string, number>
  /** comparisons waiting right after the run, and how long it took to empty */
  queueAtEnd: number
  settleMs: number
}

interface CompareRound { round: number, order: string[], runs: Record<string, Run> }

interface Counters { comparisons: Record<string, number>, decisions: Record<string, number>, errors: Record<string, number> }

function counters (samples: Sample[]): Counters {
  return {
    comparisons: byLabel(samples, 'paritygate_comparisons_total', 'outcome', { route: 'big' }),
    decisions: byLabel(samples, 'paritygate_mirror_decisions_total', 'decision', { route: 'big' }),
    errors: byLabel(samples, 'paritygate_candidate_errors_total', 'reason')
  }
}

/** Waits (at most 180 s) until the comparison queue and the mirrors in flight are empty. */
async function settle (adminUrl: string): Promise<number> {
  const t0 = performance.now()
  const deadline = Date.now() + 180_000
  while (Date.now() < deadline) {
    const s = await scrape(adminUrl)
    if (total(s, 'paritygate_compare_queue') === 0 && total(s, 'paritygate_mirror_inflight') === 0) break
    await sleep(200)
  }
  return Math.round(performance.now() - t0)
}

async function runOnce (target: Running, durationS: number): Promise<Run> {
  const admin = target.adminUrl as string
  const pgid = target.pgid as number
  const before = counters(await scrape(admin)) // also resets the event-loop delay histogram
  let rssPeak = groupRssBytes(pgid)
  const rssTimer = setInterval(() => { rssPeak = Math.max(rssPeak, groupRssBytes(pgid)) }, 1000)
  const big = bigLoop(new URL(target.url).origin, settings.bigRate)
  // Matched load on the load core: with mirroring off nobody asks the candidate upstream for /big,
  // and its serving 25 MB/s in the mirroring-on run slowed the generator beside it (generator lag
  // p99 2.7 vs 3.3 ms). So the off run fetches the same /big stream from its candidate directly.
  const control = target.name === OFF && settings.matchLoad && target.candidateUrl !== undefined ? bigLoop(target.candidateUrl, settings.bigRate) : null
  let fixed: FixedRateResult
  let cpu
  try {
    [fixed, cpu] = await withCpu(target, () => fixedRate({
      url: new URL(LIVE_PATH, target.url).href, rate: settings.rate, durationS, connections: settings.connections
    }), (x) => x.sent)
  } finally {
    clearInterval(rssTimer)
  }
  const bigResult = await big.stop()
  await control?.stop()
  const right = await scrape(admin)
  const queueAtEnd = total(right, 'paritygate_compare_queue')
  const settleMs = await settle(admin)
  const after = counters(await scrape(admin))
  return {
    fixed,
    big: bigResult,
    coreShare: cpu.share,
    coreBusy: cpu.coreBusy,
    lagP99Ms: Math.round(total(right, 'nodejs_eventloop_lag_p99_seconds') * 1e5) / 100,
    lagMaxMs: Math.round(total(right, 'nodejs_eventloop_lag_max_seconds') * 1e5) / 100,
    rssPeakMiB: Math.round(Math.max(rssPeak, groupRssBytes(pgid)) / MIB),
    comparisons: delta(before.comparisons, after.comparisons),
    comparedDuringRun: Object.values(delta(before.comparisons, counters(right).comparisons)).reduce((a, b) => a + b, 0),
    decisions: delta(before.decisions, after.decisions),
    candidateErrors: delta(before.errors, after.errors),
    queueAtEnd,
    settleMs
  }
}

function fmt (value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits)
}

function counts (r: Record<string, number>): string {
  const entries = Object.entries(r).sort((a, b) => b[1] - a[1])
  return entries.length === 0 ? '–' : entries.map(([k, v]) => `${k} ${Math.round(v).toLocaleString('en-US')}`).join(', ')
}

function sumRecords (list: Array<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of list) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v
  return out
}

function runsOf (rounds: CompareRound[], name: string): Run[] {
  return rounds.map((r) => r.runs[name]).filter((x): x is Run => x !== undefined)
}

function ratiosPerRound (rounds: CompareRound[], read: (r: Run) => number): number[] {
  return rounds.filter((r) => r.runs[ON] !== undefined && r.runs[OFF] !== undefined && read(r.runs[OFF]) > 0)
    .map((r) => read(r.runs[ON]) / read(r.runs[OFF]))
}

function markdown (rounds: CompareRound[]): { text: string, checks: Array<{ label: string, value: string, goal: string, pass: boolean }> } {
  const live = [
    '| target | live p50 ms | live p99 ms (median) | p99 (min–max) | p99.9 ms | live errors | /big done (sum) | /big p50 / p99 ms | event-loop lag p99 ms (median; min–max) | lag max ms | proxy core share | RSS peak MiB |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
  ]
  for (const name of [OFF, ON]) {
    const runs = runsOf(rounds, name)
    if (runs.length === 0) continue
    const p99 = runs.map((x) => x.fixed.p99)
    const lag = runs.map((x) => x.lagP99Ms)
    live.push(`| ${name} | ${fmt(median(runs.map((x) => x.fixed.p50)))} | ${fmt(median(p99))} | ${fmt(Math.min(...p99))}–${fmt(Math.max(...p99))}` +
      ` | ${fmt(median(runs.map((x) => x.fixed.p999)))} | ${runs.reduce((a, x) => a + x.fixed.errors + x.fixed.non2xx, 0)}` +
      ` | ${runs.reduce((a, x) => a + x.big.ok, 0)} (errors ${runs.reduce((a, x) => a + x.big.errors, 0)}, skipped ${runs.reduce((a, x) => a + x.big.skipped, 0)})` +
      ` | ${fmt(median(runs.map((x) => x.big.p50)), 0)} / ${fmt(median(runs.map((x) => x.big.p99)), 0)}` +
      ` | ${fmt(median(lag), 1)} (${fmt(Math.min(...lag), 1)}–${fmt(Math.max(...lag), 1)}) | ${fmt(median(runs.map((x) => x.lagMaxMs)), 1)}` +
      ` | ${fmt(median(runs.map((x) => x.coreShare)))} | ${Math.max(...runs.map((x) => x.rssPeakMiB))} |`)
  }
  const mirror = [
    '| target | route big: mirror decisions | comparisons by outcome | compared while the load ran (sum) | candidate errors | compare queue at end (max) | settle ms (max) |',
    '| --- | --- | --- | ---: | --- | ---: | ---: |'
  ]
  for (const name of [OFF, ON]) {
    const runs = runsOf(rounds, name)
    if (runs.length === 0) continue
    mirror.push(`| ${name} | ${counts(sumRecords(runs.map((x) => x.decisions)))} | ${counts(sumRecords(runs.map((x) => x.comparisons)))}` +
      ` | ${runs.reduce((a, x) => a + x.comparedDuringRun, 0)} | ${counts(sumRecords(runs.map((x) => x.candidateErrors)))} | ${Math.max(...runs.map((x) => x.queueAtEnd))} | ${Math.max(...runs.map((x) => x.settleMs))} |`)
  }
  const on = runsOf(rounds, ON)
  const off = runsOf(rounds, OFF)
  const checks: Array<{ label: string, value: string, goal: string, pass: boolean }> = []
  if (on.length > 0 && off.length > 0) {
    const per = ratiosPerRound(rounds, (x) => x.fixed.p99)
    const value = median(on.map((x) => x.fixed.p99)) / median(off.map((x) => x.fixed.p99))
    checks.push({
      label: `${ON} / ${OFF}, live p99 at ${settings.rate} req/s`,
      value: `${fmt(value)} (rounds ${per.map((x) => fmt(x)).join(', ')})`,
      goal: '<= 1.10',
      pass: value <= 1.1
    })
    const p50 = median(on.map((x) => x.fixed.p50)) / median(off.map((x) => x.fixed.p50))
    checks.push({ label: `${ON} / ${OFF}, live p50 (information)`, value: fmt(p50), goal: '', pass: true })
    const mismatches = on.reduce((a, x) => a + (x.comparisons.mismatch ?? 0), 0)
    checks.push({ label: `${ON}: paritygate_comparisons_total{route="big",outcome="mismatch"} increase`, value: String(mismatches), goal: '> 0', pass: mismatches > 0 })
  }
  const checkTable = ['| check | value | goal | result |', '| --- | --- | --- | --- |',
    ...checks.map((c) => `| ${c.label} | ${c.value} | ${c.goal} | ${c.goal === '' ? '' : c.pass ? 'PASS' : 'FAIL'} |`)]
  return { text: [live.join('\n'), mirror.join('\n'), checkTable.join('\n')].join('\n\n'), checks }
}

async function main (): Promise<void> {
  installCleanup()
  const specs = selectTargets(process.env.TARGETS, [OFF, ON])
  await ensureBuilt(log)
  pinSelfToLoadCore()
  // the comparison backlog of the mirroring target may take a second per /big to drain
  const perRun = settings.fixedDurationS + 1 + 5 + (settings.fixedDurationS + 1) * settings.bigRate
  const runs = specs.length * (settings.warmupS * (1 + settings.bigRate) + 10 + settings.rounds * (perRun + 5))
  const { watchdog, loadBefore } = announce(specs, settings, runs, 180)

  const started: Running[] = []
  try {
    const upstream = await startUpstream('upstream', 0, { BIG: 'primary', BIG_BYTES: String(settings.bigBytes) })
    started.push(upstream)
    const running: Running[] = []
    for (const spec of specs) {
      const candidate = spec.candidate
      const withBytes = candidate !== undefined && candidate !== 'closed' ? { ...spec, candidate: { ...candidate, env: { ...candidate.env, BIG_BYTES: String(settings.bigBytes) } } } : spec
      const target = await startTarget(withBytes, upstream)
      started.push(target)
      await checkTarget(target)
      if (target.adminUrl === null) throw new Error(`${spec.name}: compare.bench.ts needs paritygate targets`)
      running.push(target)
      log(`${spec.name} ready at ${target.url} (admin ${target.adminUrl})`)
    }
    if (settings.warmupS > 0) {
      for (const target of running) {
        log(`warm-up ${target.name} (${settings.warmupS} s)`)
        await runOnce(target, settings.warmupS)
      }
    }

    const moved: Record<string, { tid: number, cpuS: number }> = {}
    if (settings.workerCpu !== null) {
      for (const target of running) {
        if (target.name !== ON || target.pgid === null) continue
        const thread = busiestThread(target.pgid)
        if (thread === null) throw new Error(`${target.name}: no thread besides the main one`)
        execFileSync('taskset', ['-p', '-c', String(settings.workerCpu), String(thread.tid)], { stdio: 'ignore' })
        moved[target.name] = thread
        log(`diagnostic: moved ${target.name}'s busiest non-main thread ${thread.tid} (${thread.cpuS} CPU s so far) to core ${settings.workerCpu}`)
      }
    }

    const rounds: CompareRound[] = []
    for (let r = 0; r < settings.rounds; r++) {
      const order = rotate(running, r)
      const round: CompareRound = { round: r + 1, order: order.map((t) => t.name), runs: {} }
      rounds.push(round)
      for (const target of order) {
        const run = await runOnce(target, settings.fixedDurationS)
        round.runs[target.name] = run
        log(`round ${r + 1} ${target.name}: live p50 ${run.fixed.p50} p99 ${run.fixed.p99} ms (gen lag p99 ${run.fixed.lagP99} ms,` +
          ` errors ${run.fixed.errors + run.fixed.non2xx}); /big ${run.big.ok} ok p50 ${run.big.p50} ms; lag p99 ${run.lagP99Ms} ms;` +
          ` share ${run.coreShare}; RSS ${run.rssPeakMiB} MiB; compared: ${counts(run.comparisons)}; decisions: ${counts(run.decisions)};` +
          ` queue at end ${run.queueAtEnd}, settled in ${run.settleMs} ms`)
        await sleep(500)
      }
    }

    const { text, checks } = markdown(rounds)
    const meta = runMeta('npm run bench:compare', settings, loadBefore)
    const file = writeOut('compare-bench', { meta, movedThreads: moved, rounds, checks }, text)
    process.stdout.write(`\n${text}\n\n`)
    for (const c of checks) if (c.goal !== '') process.stdout.write(`${c.pass ? 'PASS' : 'FAIL'} ${c.label}: ${c.value} (goal ${c.goal})\n`)
    log(`raw rounds written to ${file}`)
  } finally {
    await stopAll(started, watchdog)
  }
}

runMain(main)
