// Live p99 at a fixed rate, mirroring 100 % against mirroring off, measured over the same moments (issue 16's fourth
// goal: within 1 ms). bench:mirror runs each target for 8 s in turn, and on this shared VM single 8 s runs of either
// target have a p99 of 20–30 ms now and then: the machine, not the target. Here one open-loop schedule (RATE req/s)
// goes to the two targets in turn, SLICE_MS each, for DURATION s a round: each target's latencies come from the same
// seconds as the other's. Both run alone on the proxy core, loaded in turn; the generator (this process, undici, an
// HDR histogram per target, bench/fixed-rate.ts) and the static nginx upstream on the other.
//
// Usage: PARITYGATE_CLI=<dist/cli.js> npm run bench:p99        (without it, this tree's dist/, built when stale)
// Env (defaults): CASE=reserialized (B's candidate: reserialized, mismatch5, identical) PARITYGATE_CLI_B=<B's build>
//   RATE=2000 DURATION=30 (s per round) ROUNDS=3 SLICE_MS=500 CONNECTIONS=50 WARMUP=2
// Prints per round each target's p50, p99, p99.9 and B − A, and the median; writes bench/.out/p99-<date>.json and .md.
import { installCleanup } from './lib/children.ts'
import { announce, ensureTools, envNumber, log, pinSelfToLoadCore, publish, runMain, startTargets, stopAll } from './lib/harness.ts'
import { CLI_OVERRIDE, ensureBuilt } from './lib/paritygate.ts'
import { median } from './lib/report.ts'
import { CASES, type MirrorCase } from './lib/bodies.ts'
import { CPU_LOAD, startStaticUpstream, type Running, type TargetSpec } from './lib/targets.ts'
import { runWrk } from './lib/wrk.ts'
import { runAlternating, type FixedRateResult } from './fixed-rate.ts'

const settings = {
  case: parseCase(process.env.CASE),
  rate: Math.max(1, envNumber('RATE', 2000)),
  durationS: Math.max(1, envNumber('DURATION', 30)),
  rounds: Math.max(1, envNumber('ROUNDS', 3)),
  sliceMs: Math.max(10, envNumber('SLICE_MS', 500)),
  connections: Math.max(1, envNumber('CONNECTIONS', 50)),
  warmupS: envNumber('WARMUP', 2)
}

function parseCase (value: string | undefined): MirrorCase {
  const c = value === undefined || value.trim() === '' ? 'reserialized' : value.trim()
  if (!(CASES as readonly string[]).includes(c)) throw new TypeError(`unknown CASE ${c}; known: ${CASES.join(', ')}`)
  return c as MirrorCase
}

interface P99Round { round: number, a: FixedRateResult, b: FixedRateResult, diffP99: number }

function markdown (rounds: P99Round[]): string {
  const row = (r: P99Round): string => `| ${r.round} | ${r.a.p50} / ${r.b.p50} | ${r.a.p99} / ${r.b.p99} | **${r.diffP99.toFixed(2)}** | ${r.a.p999} / ${r.b.p999} | ${r.a.lagP99} / ${r.b.lagP99} | ${r.a.errors + r.a.non2xx} / ${r.b.errors + r.b.non2xx} |`
  return [
    `A: mirroring off; B: mirroring 100 %, candidate ${settings.case}; ${settings.rate} req/s in turns of ${settings.sliceMs} ms, ${settings.durationS} s a round.`,
    '',
    '| round | p50 ms A / B | p99 ms A / B | p99 B − A ms | p99.9 ms A / B | generator lag p99 ms A / B | errors A / B |',
    '| ---: | --- | --- | ---: | --- | --- | --- |',
    ...rounds.map(row),
    `| **median** | | ${median(rounds.map((r) => r.a.p99)).toFixed(2)} / ${median(rounds.map((r) => r.b.p99)).toFixed(2)} | **${median(rounds.map((r) => r.diffP99)).toFixed(2)}** | | | |`
  ].join('\n')
}

async function main (): Promise<void> {
  installCleanup()
  ensureTools(true)
  pinSelfToLoadCore()
  await ensureBuilt(log)
  const { watchdog, loadBefore } = announce([{ name: 'A' }, { name: 'B' }], settings, settings.rounds * (settings.durationS + 3) + 2 * settings.warmupS + 30)
  const started: Running[] = []
  try {
    const { upstream, ports } = await startStaticUpstream('upstream')
    started.push(upstream)
    const cliB = process.env.PARITYGATE_CLI_B
    const specs: TargetSpec[] = [
      { name: 'A', kind: 'paritygate', default: false },
      { name: 'B', kind: 'paritygate', args: ['--candidate', '{candidate}', '--mirror-percent', '100'], candidate: { delayMs: 0, port: ports[settings.case] }, default: false, ...(cliB === undefined || cliB === '' ? {} : { cli: cliB }) }
    ]
    const [a, b] = await startTargets(specs, upstream, started)
    log(`A and B from ${CLI_OVERRIDE ?? 'dist/cli.js'}${cliB === undefined || cliB === '' ? '' : `, B from ${cliB}`}`)
    if (settings.warmupS > 0) {
      for (const t of [a, b]) await runWrk({ url: t.url, threads: 1, connections: settings.connections, durationS: settings.warmupS, cpu: CPU_LOAD })
    }
    const rounds: P99Round[] = []
    for (let r = 1; r <= settings.rounds; r++) {
      // who goes first alternates: the slot after a switch inherits the other's leftovers
      const order = r % 2 === 1 ? [a, b] : [b, a]
      const results = await runAlternating({ urls: order.map((t) => t.url), sliceMs: settings.sliceMs, rate: settings.rate, durationS: settings.durationS, connections: settings.connections, warmupS: 1, timeoutMs: 5000 })
      const [ra, rb] = order[0] === a ? results : [results[1], results[0]]
      const round = { round: r, a: ra, b: rb, diffP99: rb.p99 - ra.p99 }
      rounds.push(round)
      log(`round ${r}: p99 A ${ra.p99} ms, B ${rb.p99} ms: B − A ${round.diffP99.toFixed(2)} ms (p50 ${ra.p50} / ${rb.p50}; errors ${ra.errors + ra.non2xx} / ${rb.errors + rb.non2xx})`)
    }
    publish('p99', 'npm run bench:p99', settings, loadBefore, rounds, markdown(rounds))
  } finally {
    await stopAll(started, watchdog)
  }
}

runMain(main)
