// Proxy overhead benchmark: paritygate vs direct, @fastify/http-proxy and nginx, with wrk and a fixed-rate run.
//
// Usage: npm run bench    (node --import tsx bench/proxy.bench.ts)
// Env (defaults): ROUNDS=3 DURATION=10 (s per wrk run) CONNECTIONS=50 THREADS=1 (wrk -t) WARMUP=3 (s per target)
//   RATE=2000 (req/s) FIXED_DURATION=8 (s per fixed-rate run, 0 skips them) TARGETS=direct,paritygate,fastify-http-proxy,nginx
//
// Pinning on the 2-core machine: every proxy runs alone on core 0 (`taskset -c 0`); the upstream, wrk,
// bench/fixed-rate.ts and this process (autocannon) share core 1. `direct` therefore measures the
// upstream sharing its core with the load generator: the ceiling this layout allows, not the machine's.
// Rounds are interleaved (each round runs every target, in a rotated order) and the table shows medians.
// Writes the raw rounds to bench/.out/proxy-bench-<date>.json and prints a markdown table for bench/RESULTS.md.
import { setTimeout as sleep } from 'node:timers/promises'
import { runAutocannonRate } from './lib/autocannon-rate.ts'
import { installCleanup } from './lib/children.ts'
import { ensureTools, envNumber, fixedRate as runFixedRate, log, pinSelfToLoadCore, rotate, runMain, runMeta, startTargets, announce, stopAll, withCpu, writeOut } from './lib/harness.ts'
import { ensureBuilt } from './lib/paritygate.ts'
import { markdownFixedRate, markdownRatios, markdownThroughput, ratios, summarise, type Round } from './lib/report.ts'
import { CPU_LOAD, selectTargets, startUpstream, type Running } from './lib/targets.ts'
import { runWrk } from './lib/wrk.ts'
import { type FixedRateResult } from './fixed-rate.ts'

const settings = {
  rounds: Math.max(1, envNumber('ROUNDS', 3)),
  durationS: Math.max(1, envNumber('DURATION', 10)),
  connections: Math.max(1, envNumber('CONNECTIONS', 50)),
  threads: Math.max(1, envNumber('THREADS', 1)),
  warmupS: envNumber('WARMUP', 3),
  rate: Math.max(1, envNumber('RATE', 2000)),
  fixedDurationS: envNumber('FIXED_DURATION', 8)
}

async function fixedRate (url: string): Promise<FixedRateResult> {
  return await runFixedRate({ url, rate: settings.rate, durationS: settings.fixedDurationS, connections: settings.connections })
}

async function main (): Promise<void> {
  installCleanup()
  const specs = selectTargets(process.env.TARGETS)
  ensureTools(specs.some((s) => s.kind === 'nginx'))
  if (specs.some((s) => s.kind === 'paritygate')) await ensureBuilt(log)
  // this process runs autocannon: keep it (and all its threads) on the load generators' core
  pinSelfToLoadCore()

  const runs = specs.length * (settings.warmupS + settings.rounds * (settings.durationS + 2 * (settings.fixedDurationS + 1) + 3))
  const { watchdog, loadBefore } = announce(specs, settings, runs)

  const started: Running[] = []
  try {
    const upstream = await startUpstream('upstream', 0)
    started.push(upstream)
    const running = await startTargets(specs, upstream, started)

    const wrkOptions = { threads: settings.threads, connections: settings.connections, cpu: CPU_LOAD }
    if (settings.warmupS > 0) {
      for (const target of running) {
        log(`warm-up ${target.name} (${settings.warmupS} s)`)
        await runWrk({ ...wrkOptions, url: target.url, durationS: settings.warmupS })
      }
    }

    const rounds: Round[] = []
    for (let r = 0; r < settings.rounds; r++) {
      const order = rotate(running, r)
      const round: Round = { round: r + 1, order: order.map((t) => t.name), wrk: {}, cpu: {}, fixedRate: {}, fixedCpu: {}, autocannon: {} }
      rounds.push(round)
      for (const target of order) {
        const [res, cpu] = await withCpu(target, () => runWrk({ ...wrkOptions, url: target.url, durationS: settings.durationS }), (w) => w.requests)
        round.wrk[target.name] = res
        round.cpu[target.name] = cpu
        log(`round ${r + 1} wrk ${target.name}: ${Math.round(res.rps)} req/s p50 ${res.p50.toFixed(2)} ms p99 ${res.p99.toFixed(2)} ms` +
          ` errors ${res.errors} non2xx ${res.non2xx}; ${cpu.usPerReq} CPU µs/req, core share ${cpu.share}, cores busy ${cpu.coreBusy.join('/')}`)
        await sleep(500)
      }
      if (settings.fixedDurationS === 0) continue
      for (const target of order) {
        const [fixed, fixedCpu] = await withCpu(target, () => fixedRate(target.url), (x) => x.sent)
        round.fixedRate[target.name] = fixed
        round.fixedCpu[target.name] = fixedCpu
        await sleep(300)
        const ac = await runAutocannonRate({ url: target.url, rate: settings.rate, durationS: settings.fixedDurationS, connections: settings.connections })
        round.autocannon[target.name] = ac
        log(`round ${r + 1} @${settings.rate}/s ${target.name}: p50 ${fixed.p50} p99 ${fixed.p99} ms (lag p99 ${fixed.lagP99} ms,` +
          ` errors ${fixed.errors + fixed.non2xx}, ${fixedCpu.usPerReq} CPU µs/req); autocannon p50 ${ac.p50} p99 ${ac.p99} ms`)
        await sleep(300)
      }
    }

    const names = running.map((t) => t.name)
    const summaries = summarise(rounds, names)
    const subjects = specs.filter((s) => s.kind === 'paritygate').map((s) => s.name)
    const ratioList = ratios(rounds, summaries, subjects, settings.rate)
    const meta = runMeta('npm run bench', settings, loadBefore)
    const table = `${markdownThroughput(summaries)}\n\n${markdownFixedRate(summaries, settings.rate)}`
    const ratioTable = markdownRatios(ratioList)
    const file = writeOut('proxy-bench', { meta, rounds, summaries, ratios: ratioList }, `${table}\n\n${ratioTable}`)

    process.stdout.write(`\n${table}\n\n${ratioTable}\n\n`)
    // one machine-readable line per target, as in the house style's single-process bench
    process.stdout.write(JSON.stringify(Object.fromEntries(summaries.map((s) =>
      [s.target, { rps: Math.round(s.rps), p99: s.p99, errors: s.errors, non2xx: s.non2xx, p99AtRate: s.fixedP99 }]))) + '\n')
    log(`raw rounds written to ${file}`)
  } finally {
    await stopAll(started, watchdog)
  }
}

runMain(main)
