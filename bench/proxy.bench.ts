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
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { runAutocannonRate } from './lib/autocannon-rate.ts'
import { installCleanup, killAll, runToEnd } from './lib/children.ts'
import { cpuUsage, sampleCpu } from './lib/cpu.ts'
import { ensureBuilt, ROOT } from './lib/paritygate.ts'
import { markdownFixedRate, markdownRatios, markdownThroughput, ratios, summarise, type Round, type RunCpu } from './lib/report.ts'
import { CPU_LOAD, checkTarget, selectTargets, startTarget, startUpstream, type Running } from './lib/targets.ts'
import { runWrk } from './lib/wrk.ts'
import { type FixedRateResult } from './fixed-rate.ts'

function envNumber (name: string, fallback: number): number {
  const raw = process.env[name]
  const value = raw === undefined || raw === '' ? fallback : Number(raw)
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a non-negative number, got ${raw}`)
  return value
}

const settings = {
  rounds: Math.max(1, envNumber('ROUNDS', 3)),
  durationS: Math.max(1, envNumber('DURATION', 10)),
  connections: Math.max(1, envNumber('CONNECTIONS', 50)),
  threads: Math.max(1, envNumber('THREADS', 1)),
  warmupS: envNumber('WARMUP', 3),
  rate: Math.max(1, envNumber('RATE', 2000)),
  fixedDurationS: envNumber('FIXED_DURATION', 8)
}

function log (line: string): void {
  process.stderr.write(`bench: ${line}\n`)
}

function has (command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
}

/** wrk, nginx and taskset come from Debian's packages through bench/install.sh. */
function ensureTools (needNginx: boolean): void {
  const missing = ['wrk', 'taskset', ...(needNginx ? ['nginx'] : [])].filter((c) => !has(c))
  if (missing.length === 0) return
  if (process.getuid?.() !== 0) {
    throw new Error(`missing ${missing.join(', ')}: run \`sudo bash bench/install.sh\` first`)
  }
  log(`missing ${missing.join(', ')}: running bench/install.sh`)
  const res = spawnSync('bash', [join(ROOT, 'bench/install.sh')], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 300_000 })
  if (res.status !== 0) throw new Error('bench/install.sh failed; see its message above')
}

function version (command: string, args: string[]): string {
  const res = spawnSync(command, args, { encoding: 'utf8', timeout: 5000 })
  return `${res.stdout ?? ''}${res.stderr ?? ''}`.split('\n')[0].trim()
}

/** Runs `fn` and charges the CPU the target's processes used meanwhile to `requests(result)`. */
async function withCpu<T> (target: Running, fn: () => Promise<T>, requests: (r: T) => number): Promise<[T, RunCpu]> {
  const before = sampleCpu(target.pgid)
  const result = await fn()
  const usage = cpuUsage(before, sampleCpu(target.pgid), target.pgid)
  const n = requests(result)
  return [result, { ...usage, usPerReq: n > 0 ? Math.round((usage.cpuS * 1e6 / n) * 10) / 10 : 0 }]
}

function rotate<T> (list: T[], by: number): T[] {
  const n = by % list.length
  return [...list.slice(n), ...list.slice(0, n)]
}

async function fixedRate (url: string): Promise<FixedRateResult> {
  const args = ['--import', 'tsx', join(ROOT, 'bench/fixed-rate.ts'), '--url', url, '--rate', String(settings.rate),
    '--duration', String(settings.fixedDurationS), '--connections', String(settings.connections), '--warmup', '1']
  const out = await runToEnd({ name: 'fixed-rate', cpu: CPU_LOAD, command: process.execPath, args },
    (settings.fixedDurationS + 1) * 1000 + 30_000)
  const line = out.trim().split('\n').at(-1) ?? ''
  return JSON.parse(line) as FixedRateResult
}

async function main (): Promise<void> {
  installCleanup()
  const specs = selectTargets(process.env.TARGETS)
  ensureTools(specs.some((s) => s.kind === 'nginx'))
  if (specs.some((s) => s.kind === 'paritygate')) await ensureBuilt(log)
  // this process runs autocannon: keep it (and all its threads) on the load generators' core
  execFileSync('taskset', ['-a', '-p', '-c', String(CPU_LOAD), String(process.pid)], { stdio: 'ignore' })

  const runs = specs.length * (settings.warmupS + settings.rounds * (settings.durationS + 2 * (settings.fixedDurationS + 1) + 3))
  const limitS = Math.ceil(runs * 1.5 + 120)
  log(`${specs.map((s) => s.name).join(', ')}; ${JSON.stringify(settings)}; about ${Math.round(runs / 60)} min, hard limit ${limitS} s`)
  const watchdog = setTimeout(() => {
    log(`hard time limit of ${limitS} s reached: killing everything`)
    killAll()
    process.kill(process.pid, 'SIGTERM')
  }, limitS * 1000)
  watchdog.unref()

  const started: Running[] = []
  const loadBefore = loadavg()
  try {
    const upstream = await startUpstream('upstream', 0)
    started.push(upstream)
    const running: Running[] = []
    for (const spec of specs) {
      const target = await startTarget(spec, upstream)
      started.push(target)
      await checkTarget(target)
      running.push(target)
      log(`${spec.name} ready at ${target.url}`)
    }

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
    const date = new Date()
    const meta = {
      date: date.toISOString(),
      command: 'npm run bench',
      settings,
      node: process.version,
      cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'} (shared, noisy)`,
      loadavgBefore: loadBefore,
      loadavgAfter: loadavg(),
      wrk: version('wrk', ['--version']),
      nginx: version('nginx', ['-v']),
      commit: version('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']),
      // dist/ is built from the working tree, which other people may be editing
      srcUncommittedFiles: spawnSync('git', ['-C', ROOT, 'status', '--porcelain', 'src'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).length,
      pinning: 'proxies taskset -c 0; upstream, wrk, fixed-rate.ts and autocannon taskset -c 1'
    }
    const outDir = join(ROOT, 'bench/.out')
    mkdirSync(outDir, { recursive: true })
    const stamp = date.toISOString().replace(/[:.]/g, '-')
    const table = `${markdownThroughput(summaries)}\n\n${markdownFixedRate(summaries, settings.rate)}`
    const ratioTable = markdownRatios(ratioList)
    const file = join(outDir, `proxy-bench-${stamp}.json`)
    writeFileSync(file, JSON.stringify({ meta, rounds, summaries, ratios: ratioList }, null, 2) + '\n')
    writeFileSync(join(outDir, `proxy-bench-${stamp}.md`), `${table}\n\n${ratioTable}\n`)

    process.stdout.write(`\n${table}\n\n${ratioTable}\n\n`)
    // one machine-readable line per target, as in the house style's single-process bench
    process.stdout.write(JSON.stringify(Object.fromEntries(summaries.map((s) =>
      [s.target, { rps: Math.round(s.rps), p99: s.p99, errors: s.errors, non2xx: s.non2xx, p99AtRate: s.fixedP99 }]))) + '\n')
    log(`raw rounds written to ${file}`)
  } finally {
    for (const target of started.reverse()) {
      await target.stop().catch((err: Error) => log(`stopping ${target.name}: ${err.message}`))
    }
    clearTimeout(watchdog)
  }
}

main().catch((err: Error) => {
  log(err.stack ?? err.message)
  killAll()
  process.exitCode = 1
})
