// Two paritygate builds under the same load at the same moment (issue 16): a side-by-side measure that the VM's noise
// does not move. Run one after the other, as bench:mirror's PARITYGATE_CLI_B does, two identical builds spread 0.7 to
// 1.25 between rounds on this shared machine: its speed changes from one second to the next. Here both builds run at
// once, pinned to the same proxy core, each under its own wrk with the same connections: whatever the machine does, it
// does to both. The core is shared between their two busy threads, so each one's req/s is what its CPU cost per request
// buys with half a core, and B/A is the ratio of their efficiencies. Absolute req/s are about half of bench:mirror's.
//
// Usage: PARITYGATE_CLI=<A's dist/cli.js> PARITYGATE_CLI_B=<B's dist/cli.js> npm run bench:duel
// Env (defaults): CASE=reserialized (the candidate: reserialized, mismatch5, identical, or off for mirroring off)
//   ROUNDS=7 DURATION=6 (s per round) CONNECTIONS=50 (per build) WARMUP=3
// Same layout as bench/mirror.bench.ts: both builds on core 0; the static nginx upstream, both wrk and this process
// on core 1. Per round: req/s of each, CPU µs of each per request (its process group's /proc utime + stime, from
// before the round to after its mirrors settled), B/A and B − A; medians over the rounds.
// Writes bench/.out/duel-<date>.json and .md.
import { setTimeout as sleep } from 'node:timers/promises'
import { installCleanup } from './lib/children.ts'
import { sampleCpu } from './lib/cpu.ts'
import { announce, ensureTools, envNumber, log, pinSelfToLoadCore, publish, runMain, startTargets, stopAll } from './lib/harness.ts'
import { scrape, total } from './lib/metrics.ts'
import { median } from './lib/report.ts'
import { CASES, type MirrorCase } from './lib/bodies.ts'
import { CPU_LOAD, startStaticUpstream, type Running, type TargetSpec } from './lib/targets.ts'
import { runWrk, type WrkResult } from './lib/wrk.ts'

const settings = {
  case: parseCase(process.env.CASE),
  rounds: Math.max(1, envNumber('ROUNDS', 7)),
  durationS: Math.max(1, envNumber('DURATION', 6)),
  connections: Math.max(1, envNumber('CONNECTIONS', 50)),
  warmupS: envNumber('WARMUP', 3)
}

function parseCase (value: string | undefined): MirrorCase | 'off' {
  const c = value === undefined || value.trim() === '' ? 'reserialized' : value.trim()
  if (c !== 'off' && !(CASES as readonly string[]).includes(c)) throw new TypeError(`unknown CASE ${c}; known: off, ${CASES.join(', ')}`)
  return c as MirrorCase | 'off'
}

function cliOf (name: string): string {
  const cli = process.env[name]
  if (cli === undefined || cli === '') throw new TypeError(`${name} must name a build's dist/cli.js: the duel runs two builds`)
  return cli
}

interface Side { rps: number, requests: number, errors: number, cpuUsPerReq: number, mirrored: number }
interface DuelRound { round: number, a: Side, b: Side, ratio: number, cpuDiffUs: number }

const mirrored = async (t: Running): Promise<number> =>
  t.adminUrl === null ? 0 : total(await scrape(t.adminUrl), 'paritygate_mirror_decisions_total', { decision: 'mirrored' })

/** Waits (up to 10 s) until neither build has a mirror in flight. */
async function settle (targets: Running[]): Promise<void> {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    let inflight = 0
    for (const t of targets) if (t.adminUrl !== null) inflight += total(await scrape(t.adminUrl), 'paritygate_mirror_inflight')
    if (inflight === 0) return
    await sleep(200)
  }
}

/** Both builds under wrk at once (`bFirst`: B's wrk is started first); each one's CPU is charged to its own requests. */
async function duel (targets: [Running, Running], durationS: number, bFirst: boolean): Promise<[Side, Side]> {
  const before = await Promise.all(targets.map(async (t) => ({ cpu: sampleCpu(t.pgid).groupS, mirrored: await mirrored(t) })))
  const load = (t: Running): Promise<WrkResult> => runWrk({ url: t.url, threads: 1, connections: settings.connections, durationS, cpu: CPU_LOAD })
  const results: WrkResult[] = bFirst ? (await Promise.all([load(targets[1]), load(targets[0])])).reverse() : await Promise.all(targets.map(load))
  await settle(targets)
  const sides = await Promise.all(targets.map(async (t, i): Promise<Side> => {
    const cpuS = sampleCpu(t.pgid).groupS - before[i].cpu
    const w = results[i]
    return {
      rps: w.rps,
      requests: w.requests,
      errors: w.errors + w.non2xx,
      cpuUsPerReq: w.requests > 0 ? Math.round(cpuS * 1e7 / w.requests) / 10 : 0,
      mirrored: (await mirrored(t)) - before[i].mirrored
    }
  }))
  return [sides[0], sides[1]]
}

const fmt = (x: number, digits = 2): string => x.toFixed(digits)

function markdown (rounds: DuelRound[]): string {
  const lines = [
    `Case: ${settings.case}; A = ${cliOf('PARITYGATE_CLI')}, B = ${cliOf('PARITYGATE_CLI_B')}; both on one core at once, ${settings.connections} connections each.`,
    '',
    '| round | A req/s | B req/s | B / A | A CPU µs/req | B CPU µs/req | B − A µs | mirrored A / B | errors A / B |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
    ...rounds.map((r) => `| ${r.round} | ${Math.round(r.a.rps)} | ${Math.round(r.b.rps)} | ${fmt(r.ratio)} | ${r.a.cpuUsPerReq} | ${r.b.cpuUsPerReq} | ${fmt(r.cpuDiffUs, 1)} | ${r.a.mirrored} / ${r.b.mirrored} | ${r.a.errors} / ${r.b.errors} |`),
    `| **median** | ${Math.round(median(rounds.map((r) => r.a.rps)))} | ${Math.round(median(rounds.map((r) => r.b.rps)))} | **${fmt(median(rounds.map((r) => r.ratio)))}** | ${fmt(median(rounds.map((r) => r.a.cpuUsPerReq)), 1)} | ${fmt(median(rounds.map((r) => r.b.cpuUsPerReq)), 1)} | **${fmt(median(rounds.map((r) => r.cpuDiffUs)), 1)}** | | |`
  ]
  return lines.join('\n')
}

async function main (): Promise<void> {
  installCleanup()
  ensureTools(true)
  pinSelfToLoadCore()
  const args = settings.case === 'off' ? [] : ['--candidate', '{candidate}', '--mirror-percent', '100']
  const { watchdog, loadBefore } = announce([{ name: 'A' }, { name: 'B' }], settings, settings.warmupS + settings.rounds * (settings.durationS + 3) + 30)
  const started: Running[] = []
  try {
    const { upstream, ports } = await startStaticUpstream('upstream')
    started.push(upstream)
    const candidate = settings.case === 'off' ? undefined : { delayMs: 0, port: ports[settings.case] }
    const specs: TargetSpec[] = ['A', 'B'].map((name) => ({ name, kind: 'paritygate', args, candidate, cli: cliOf(name === 'A' ? 'PARITYGATE_CLI' : 'PARITYGATE_CLI_B'), default: false }))
    const [a, b] = await startTargets(specs, upstream, started)
    if (settings.warmupS > 0) {
      log(`warm-up, both at once (${settings.warmupS} s)`)
      await duel([a, b], settings.warmupS, false)
    }
    const rounds: DuelRound[] = []
    for (let r = 1; r <= settings.rounds; r++) {
      const [sa, sb] = await duel([a, b], settings.durationS, r % 2 === 0) // who starts first, in turn
      const round = { round: r, a: sa, b: sb, ratio: sa.rps > 0 ? sb.rps / sa.rps : 0, cpuDiffUs: sb.cpuUsPerReq - sa.cpuUsPerReq }
      rounds.push(round)
      log(`round ${r}: A ${Math.round(sa.rps)} req/s ${sa.cpuUsPerReq} µs/req, B ${Math.round(sb.rps)} req/s ${sb.cpuUsPerReq} µs/req: B/A ${fmt(round.ratio)}, B − A ${fmt(round.cpuDiffUs, 1)} µs` +
        (sa.errors + sb.errors > 0 ? `; errors ${sa.errors} / ${sb.errors}` : ''))
      await sleep(300)
    }
    publish('duel', 'npm run bench:duel', settings, loadBefore, rounds, markdown(rounds))
  } finally {
    await stopAll(started, watchdog)
  }
}

runMain(main)
