// --workers benchmark (issue 5): throughput of `--workers 2` against `--workers 1` in one run, rounds
// interleaved, and the time the gate takes to answer under mixed, mirrored load.
//
// Usage: npm run bench:workers   (ROUNDS=3 DURATION=8 CONNECTIONS=64)
// Nothing is pinned: two workers need both cores, which wrk and the upstreams also use, so on
// this 2-core machine the load generator cannot leave a core free (see the reading it prints).
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { installCleanup, readJsonLine, startChild, stopChild, type Child } from './lib/children.ts'
import { groupCpuSeconds } from './lib/cpu.ts'
import { freePort, waitForStatus } from './lib/net.ts'
import { ensureBuilt, NODE_FLAGS, ROOT } from './lib/paritygate.ts'
import { median } from './lib/report.ts'
import { runWrk } from './lib/wrk.ts'

const ROUNDS = Number(process.env.ROUNDS ?? 3)
const DURATION = Number(process.env.DURATION ?? 8)
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 64)

async function upstream (name: string): Promise<{ child: Child, url: string }> {
  const child = startChild({ name, cpu: null, command: process.execPath, args: ['--import', 'tsx', join(ROOT, 'bench/upstream.ts')], env: { ...process.env, PORT: '0' } })
  const { port } = await readJsonLine<{ port: number }>(child, 15_000)
  return { child, url: `http://127.0.0.1:${port}` }
}

async function paritygate (workers: number, primary: string, candidate: string | null): Promise<{ child: Child, url: string, admin: string }> {
  const port = await freePort()
  const admin = await freePort()
  const args = [...NODE_FLAGS, join(ROOT, 'dist/cli.js'), 'serve', '--primary', primary, '--listen', `127.0.0.1:${port}`, '--admin', `127.0.0.1:${admin}`, '--log-level', 'warn', '--workers', String(workers)]
  if (candidate !== null) args.push('--candidate', candidate, '--mirror-percent', '100')
  const child = startChild({ name: `paritygate-w${workers}`, cpu: null, command: process.execPath, args })
  await waitForStatus(`http://127.0.0.1:${admin}/healthz/ready`, 30_000, () => child.process.exitCode === null)
  return { child, url: `http://127.0.0.1:${port}/`, admin: `http://127.0.0.1:${admin}` }
}

/** Asks the gate every 50 ms while `busy()` holds; returns the answer times in ms. */
async function pollGate (admin: string, busy: () => boolean): Promise<number[]> {
  const times: number[] = []
  while (busy()) {
    const t0 = performance.now()
    const res = await request(`${admin}/api/v1/gate?window=5m`)
    await res.body.json()
    times.push(performance.now() - t0)
    await sleep(50)
  }
  return times.sort((a, b) => a - b)
}

const q = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]

async function main (): Promise<void> {
  installCleanup()
  await ensureBuilt((line) => console.error(line))
  const primary = await upstream('primary')
  const candidate = await upstream('candidate')
  const rows: Array<{ round: number, workers: number, rps: number, p99: number, cpuUsPerReq: number }> = []
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [1, 2] : [2, 1]
      for (const workers of order) {
        const pg = await paritygate(workers, primary.url, null)
        await runWrk({ url: pg.url, threads: 1, connections: CONNECTIONS, durationS: 2, cpu: 1 }).catch(() => null)
        const cpu0 = groupCpuSeconds(pg.child.process.pid as number)
        const r = await runWrk({ url: pg.url, threads: 1, connections: CONNECTIONS, durationS: DURATION, cpu: 1 })
        const cpu = groupCpuSeconds(pg.child.process.pid as number) - cpu0
        rows.push({ round, workers, rps: r.rps, p99: r.p99, cpuUsPerReq: cpu * 1e6 / r.requests })
        console.error(`round ${round} workers ${workers}: ${Math.round(r.rps)} req/s, p99 ${r.p99} ms, ${Math.round(cpu * 1e6 / r.requests)} CPU µs/req`)
        await stopChild(pg.child)
      }
    }
    const gateTimes: Record<number, number[]> = {}
    for (const workers of [1, 2]) {
      const pg = await paritygate(workers, primary.url, candidate.url)
      let busy = true
      const polling = pollGate(pg.admin, () => busy)
      await runWrk({ url: pg.url, threads: 1, connections: 32, durationS: DURATION, cpu: 1 })
      busy = false
      gateTimes[workers] = await polling
      await stopChild(pg.child)
    }

    const med = (w: number, k: 'rps' | 'p99' | 'cpuUsPerReq') => median(rows.filter((r) => r.workers === w).map((r) => r[k]))
    const perRound = [...new Set(rows.map((r) => r.round))].map((round) => {
      const a = rows.find((r) => r.round === round && r.workers === 1)?.rps ?? NaN
      const b = rows.find((r) => r.round === round && r.workers === 2)?.rps ?? NaN
      return b / a
    })
    console.log('\n| workers | req/s (median) | p99 ms | CPU µs/req |\n| --- | ---: | ---: | ---: |')
    for (const w of [1, 2]) console.log(`| ${w} | ${Math.round(med(w, 'rps'))} | ${med(w, 'p99').toFixed(2)} | ${med(w, 'cpuUsPerReq').toFixed(1)} |`)
    console.log(`\nworkers 2 / workers 1 throughput: ${(med(2, 'rps') / med(1, 'rps')).toFixed(2)} (per round: ${perRound.map((x) => x.toFixed(2)).join(', ')})`)
    console.log('\n| gate answers under mirrored load | n | p50 ms | p99 ms | max ms | under 10 ms |\n| --- | ---: | ---: | ---: | ---: | --- |')
    for (const w of [1, 2]) {
      const t = gateTimes[w]
      console.log(`| --workers ${w} | ${t.length} | ${q(t, 0.5).toFixed(2)} | ${q(t, 0.99).toFixed(2)} | ${t[t.length - 1].toFixed(2)} | ${q(t, 0.99) < 10 ? 'PASS' : 'FAIL'} (p99) |`)
    }
    console.log(JSON.stringify({ rows, gateTimes: Object.fromEntries(Object.entries(gateTimes).map(([k, v]) => [k, { n: v.length, p50: q(v, 0.5), p99: q(v, 0.99), max: v[v.length - 1] }])) }))
  } finally {
    await stopChild(primary.child)
    await stopChild(candidate.child)
  }
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message)
  process.exitCode = 1
})
