// Soak (issue 11, "Proof"): paritygate mirroring 100 % to a flapping candidate under steady load and slow clients, for
// a minute (or half an hour), checking that nothing grows: memory, file descriptors, connections to the primary, and
// that the counters add up.
//
// Usage: npm run bench:soak                 (node --import tsx bench/soak.ts; 130 s: three flap cycles and a bit)
//        SOAK_LONG=1 npm run bench:soak     (30 minutes; or SOAK_SECONDS=1800)
// Env (defaults): SOAK_SECONDS=130 SOAK_RATE=200 FLAP_SECONDS=10 SAMPLE_SECONDS (duration / 20, 2–10)
//   SLOW_UPLOADERS=4 SLOW_READERS=4 PIPELINERS=2 BIG_BYTES=4000000
//
// Everything runs on 127.0.0.1 and stops by itself (a watchdog kills it all at 1.5 × the duration + 4 min):
// - the primary: bench/upstream.ts with BIG=primary (1 KiB JSON everywhere, BIG_BYTES of JSON on GET /big);
// - the candidate: bench/lib/flapping.ts, every FLAP_SECONDS healthy → down (closed port) → slow (1.5 s, past the
//   candidate timeout of 1 s) → resetting mid-body → healthy…;
// - paritygate (dist/cli.js, built when stale) mirroring 100 % with `candidate.timeoutMs: 1000`, on core 0;
// - normal clients: SOAK_RATE req/s over an undici pool (GETs of 1 KiB, one in five a small POST), open loop;
// - slow clients, on raw sockets: uploaders dripping a 4 KiB body at 128 B/s, readers taking GET /big at 256 KiB/s,
//   and pipeliners writing three GET /big at once, reading nothing and closing a second later (issue 11, item 1).
// Every SAMPLE_SECONDS it records paritygate's VmRSS and open fds (/proc/PID), the ESTABLISHED connections to the
// primary and the candidate (/proc/net/tcp by port, and how many have bytes queued) and the /metrics counters. After
// the load it waits for the mirror and the pool to settle (at most 75 s: the primary advertises a 65 s keep-alive and
// undici keeps idle connections that long), then checks:
// - RSS does not grow: the peak RSS of the second half of the load within 15 % of the first half's (RSS is a plateau
//   with two levels as the comparison workers' heaps grow and are given back; a leak raises the peak);
// - fds and primary connections flat during the load (last third's max ≤ 1.25 × middle third's + slack) and back
//   near the baseline after it;
// - no 5xx and no failed request on the normal clients (the slow clients' outcomes are counted apart: a 408 or a
//   close there is the proxy's limits doing their job);
// - sum(paritygate_mirror_decisions_total) == sum(paritygate_requests_total{target="primary"}) and
//   decisions{mirrored} == sum(paritygate_comparisons_total) (compared + error + skipped).
// Prints a table and one JSON line (stdout), writes bench/.out/soak-<date>.json and .md; exit code 1 if a check fails.
import { readdirSync, readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { build } from 'hdr-histogram-js'
import { Pool } from 'undici'
import { installCleanup, readJsonLine, startChild, stopChild } from './lib/children.ts'
import { phaseAt, type Phase } from './lib/flapping.ts'
import { envNumber, log, pinSelfToLoadCore, runMain, runMeta, startWatchdog, writeOut } from './lib/harness.ts'
import { byLabel, scrape, total, type Sample } from './lib/metrics.ts'
import { ensureBuilt, ROOT, startParitygate } from './lib/paritygate.ts'
import { CPU_LOAD, CPU_PROXY, startUpstream, writeConfig } from './lib/targets.ts'

const LONG_S = 1800
const seconds = Math.max(10, envNumber('SOAK_SECONDS', process.env.SOAK_LONG === '1' ? LONG_S : 130))
const settings = {
  seconds,
  rate: Math.max(1, envNumber('SOAK_RATE', 200)),
  flapS: Math.max(1, envNumber('FLAP_SECONDS', 10)),
  sampleS: Math.max(1, envNumber('SAMPLE_SECONDS', Math.min(10, Math.max(2, Math.round(seconds / 20))))),
  slowUploaders: envNumber('SLOW_UPLOADERS', 4),
  slowReaders: envNumber('SLOW_READERS', 4),
  pipeliners: envNumber('PIPELINERS', 2),
  bigBytes: Math.max(1024, envNumber('BIG_BYTES', 4_000_000)),
  candidateTimeoutMs: 1000,
  slowMs: 1500
}
const MIB = 1024 * 1024
const UPLOAD_BYTES = 4096
const DRIP_BYTES = 64
const DRIP_MS = 500
const READ_BYTES_PER_S = 256 * 1024
const NORMAL_TIMEOUT_MS = 10_000
const MAX_NORMAL_INFLIGHT = 4000
const SETTLE_MS = 75_000

// ---------- what paritygate holds, from /proc ----------

function rssBytes (pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? 0 : Number(m[1]) * 1024
}

function openFds (pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

/**
 * ESTABLISHED TCP connections whose remote end is 127.0.0.1:`port` (IPv4 and IPv4-mapped IPv6), and how many of them
 * have bytes queued either way (an exchange stuck behind a client that does not read; an idle pooled one has none).
 */
function establishedTo (port: number): { n: number, queued: number } {
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  let n = 0
  let queued = 0
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string
    try { text = readFileSync(file, 'utf8') } catch { continue }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f.length > 4 && f[3] === '01' && f[2].endsWith(':' + hex)) {
        n++
        if (f[4] !== '00000000:00000000') queued++
      }
    }
  }
  return { n, queued }
}

// ---------- normal clients: an open-loop undici pool ----------

interface Window { sent: number, ok: number, s4xx: number, s5xx: number, errors: number, latencies: number[] }

function newWindow (): Window {
  return { sent: 0, ok: 0, s4xx: 0, s5xx: 0, errors: 0, latencies: [] }
}

class NormalLoad {
  pool: Pool
  window = newWindow()
  statuses: Record<string, number> = {}
  errorCodes: Record<string, number> = {}
  latency = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 })
  inflight = 0
  sent = 0
  dropped = 0
  #timer: NodeJS.Timeout | null = null
  #startedAt = 0
  #drained: (() => void) | null = null
  readonly body = Buffer.from(JSON.stringify({ sku: 'SKU-0000042', qty: 3, note: 'x'.repeat(200) }))

  constructor (readonly origin: string, readonly rate: number) {
    this.pool = new Pool(origin, { connections: 32, pipelining: 1, headersTimeout: NORMAL_TIMEOUT_MS, bodyTimeout: NORMAL_TIMEOUT_MS, keepAliveTimeout: 30_000 })
  }

  start (): void {
    this.#startedAt = performance.now()
    this.#timer = setInterval(() => {
      const due = Math.floor((performance.now() - this.#startedAt) / 1000 * this.rate)
      while (this.sent < due) this.one(this.sent++)
    }, 5)
  }

  one (n: number): void {
    if (this.inflight >= MAX_NORMAL_INFLIGHT) { this.dropped++; return }
    this.inflight++
    this.window.sent++
    const post = n % 5 === 4
    const t0 = performance.now()
    const done = (status: number, code: string | null): void => {
      const us = Math.round((performance.now() - t0) * 1000)
      this.latency.recordValue(Math.max(1, us))
      this.window.latencies.push(us / 1000)
      if (code !== null) {
        this.window.errors++
        this.errorCodes[code] = (this.errorCodes[code] ?? 0) + 1
      } else {
        this.statuses[status] = (this.statuses[status] ?? 0) + 1
        if (status >= 500) this.window.s5xx++
        else if (status >= 400) this.window.s4xx++
        else this.window.ok++
      }
      if (--this.inflight === 0) this.#drained?.()
    }
    this.pool.request(post
      ? { method: 'POST', path: `/api/orders?n=${n}`, headers: { 'content-type': 'application/json' }, body: this.body }
      : { method: 'GET', path: `/api/items/${n % 1000}` })
      .then(async (res) => { await res.body.dump(); done(res.statusCode, null) },
        (err: Error & { code?: string }) => done(0, err.code ?? err.name))
  }

  takeWindow (): Window {
    const w = this.window
    this.window = newWindow()
    return w
  }

  /** Stops sending and waits for what is in flight (at most `ms`). */
  async stop (ms: number): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer)
    if (this.inflight > 0) {
      await Promise.race([new Promise<void>((resolve) => { this.#drained = resolve }), sleep(ms)])
    }
    await this.pool.close().catch(() => {})
  }
}

// ---------- slow clients on raw sockets ----------

type Kind = 'uploader' | 'reader' | 'pipeliner'

/** Outcome counts of the slow clients, by kind: `200`, `408`, `closed` (no answer), `reset`, `client_closed`… */
const slowOutcomes: Record<Kind, Record<string, number>> = { uploader: {}, reader: {}, pipeliner: {} }
const slowSockets = new Set<Socket>()
/** Set when the load ends: the slow clients finish their round and stop. */
const soak = { stopping: false }

function count (kind: Kind, outcome: string): void {
  slowOutcomes[kind][outcome] = (slowOutcomes[kind][outcome] ?? 0) + 1
}

/** Resolves, once the socket closes, with the status of the first response on it (0: none) and the error code if any. */
function watch (socket: Socket, onData?: (chunk: Buffer, status: number) => void): Promise<{ status: number, code: string | null }> {
  return new Promise((resolve) => {
    let head = ''
    let status = 0
    let code: string | null = null
    socket.on('data', (chunk: Buffer) => {
      if (status === 0) {
        head += chunk.toString('latin1', 0, Math.min(chunk.length, 64))
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(head)
        if (m !== null) status = Number(m[1])
      }
      onData?.(chunk, status)
    })
    socket.on('error', (err: NodeJS.ErrnoException) => { code = err.code ?? 'error' })
    socket.on('close', () => { slowSockets.delete(socket); resolve({ status, code }) })
  })
}

function open (port: number): Socket {
  const socket = connect(port, '127.0.0.1')
  socket.setNoDelay(true)
  slowSockets.add(socket)
  return socket
}

/** `200` (complete), `soak_ended`, `408_cut` (a status, then the close before the end), `reset`, `closed` (no answer)… */
function outcomeOf (r: { status: number, code: string | null }, completed: boolean): string {
  if (r.status !== 0 && completed) return String(r.status)
  if (soak.stopping) return 'soak_ended'
  if (r.status !== 0) return `${r.status}_cut`
  return r.code === 'ECONNRESET' ? 'reset' : r.code !== null ? r.code : 'closed'
}

/** POST /upload with a 4 KiB Content-Length body dripped at 128 B/s; ends at the response (or the close). */
async function uploader (port: number): Promise<void> {
  while (!soak.stopping) {
    const socket = open(port)
    let sent = 0
    let answeredEarly = false
    const result = watch(socket, (_chunk, status) => {
      if (status !== 0) { answeredEarly = sent < UPLOAD_BYTES; socket.destroy() }
    })
    socket.write(`POST /upload HTTP/1.1\r\nHost: soak\r\nContent-Type: application/octet-stream\r\nContent-Length: ${UPLOAD_BYTES}\r\n\r\n`)
    const drip = setInterval(() => {
      if (socket.destroyed) { clearInterval(drip); return }
      socket.write(Buffer.alloc(DRIP_BYTES, 0x61))
      sent += DRIP_BYTES
      if (sent >= UPLOAD_BYTES) clearInterval(drip)
    }, DRIP_MS)
    const r = await result
    clearInterval(drip)
    count('uploader', r.status !== 0 && answeredEarly ? `${r.status}_before_body_end` : outcomeOf(r, true))
    await sleep(200)
  }
}

/** GET /big read at 256 KiB/s: pauses the socket after each chunk for as long as the rate says. */
async function reader (port: number): Promise<void> {
  while (!soak.stopping) {
    const socket = open(port)
    let bytes = 0
    let expected = Infinity
    const result = watch(socket, (chunk) => {
      bytes += chunk.length
      if (expected === Infinity) {
        const m = /\r\ncontent-length: (\d+)\r\n/i.exec(chunk.toString('latin1', 0, Math.min(chunk.length, 4096)))
        const end = chunk.indexOf('\r\n\r\n')
        if (m !== null && end >= 0) expected = Number(m[1]) + end + 4
      }
      if (bytes >= expected) { socket.destroy(); return }
      socket.pause()
      setTimeout(() => socket.resume(), Math.ceil(chunk.length / READ_BYTES_PER_S * 1000)).unref()
    })
    socket.write('GET /big HTTP/1.1\r\nHost: soak\r\n\r\n')
    const r = await result
    count('reader', outcomeOf(r, bytes >= expected))
    await sleep(200)
  }
}

/** Three pipelined GET /big, nothing read, closed after a second: the shape that leaked primary connections. */
async function pipeliner (port: number): Promise<void> {
  while (!soak.stopping) {
    const socket = open(port)
    socket.pause()
    const result = watch(socket)
    socket.write('GET /big HTTP/1.1\r\nHost: soak\r\n\r\n'.repeat(3))
    await sleep(1000)
    socket.destroy()
    await result
    count('pipeliner', 'client_closed')
    await sleep(1000)
  }
}

// ---------- samples, checks, report ----------

interface Point {
  t: number
  phase: Phase | 'baseline' | 'after'
  rssMiB: number
  fds: number
  primaryConns: number
  /** of which with bytes queued (see establishedTo) */
  primaryQueued: number
  candidateConns: number
  inflight: number
  normal: { sent: number, ok: number, s4xx: number, s5xx: number, errors: number, p99Ms: number } | null
}

interface Counts {
  primaryRequests: number
  decisions: Record<string, number>
  comparisons: Record<string, number>
  candidateErrors: Record<string, number>
  /** every other paritygate_*_total counter, summed (refusals, timeouts… as they come) */
  counters: Record<string, number>
}

function counts (samples: Sample[]): Counts {
  const counters: Record<string, number> = {}
  for (const s of samples) {
    if (s.name.startsWith('paritygate_') && s.name.endsWith('_total')) counters[s.name] = (counters[s.name] ?? 0) + s.value
  }
  return {
    primaryRequests: total(samples, 'paritygate_requests_total', { target: 'primary' }),
    decisions: byLabel(samples, 'paritygate_mirror_decisions_total', 'decision'),
    comparisons: byLabel(samples, 'paritygate_comparisons_total', 'outcome'),
    candidateErrors: byLabel(samples, 'paritygate_candidate_errors_total', 'reason'),
    counters
  }
}

function sum (r: Record<string, number>): number {
  return Object.values(r).reduce((a, b) => a + b, 0)
}

function p99 (values: number[]): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]
}

interface Check { name: string, value: string, goal: string, pass: boolean }

function thirds<T> (list: T[]): [T[], T[], T[]] {
  const n = list.length
  const a = Math.floor(n / 3)
  const b = Math.floor(2 * n / 3)
  return [list.slice(0, a), list.slice(a, b), list.slice(b)]
}

function checks (points: Point[], baseline: Point, after: Point, final: Counts, load: NormalLoad): Check[] {
  const during = points.filter((p) => p.normal !== null)
  const [, middle, last] = thirds(during)
  const out: Check[] = []
  // RSS here is a plateau with two levels, not a line: the comparison workers' heaps grow to parse a pair of
  // GET /big answers and V8 gives those pages back later, at a time of its own (seen: ~250 and ~520 MiB, switching
  // every minute or two for 30 minutes with no trend). Medians of cycles or thirds compare one level with the other;
  // what a leak does that a plateau does not is raise the peak: the second half's must stay within 15 % of the first's.
  const half = during.filter((p) => p.t <= settings.seconds / 2)
  const second = during.filter((p) => p.t > settings.seconds / 2)
  if (half.length >= 2 && second.length >= 2) {
    const peak = (list: Point[]): number => Math.max(...list.map((p) => p.rssMiB))
    const floor = (list: Point[]): number => Math.min(...list.map((p) => p.rssMiB))
    const ratio = peak(second) / peak(half)
    out.push({ name: 'RSS does not grow', value: `peak of the second half ${peak(second).toFixed(1)} MiB / of the first ${peak(half).toFixed(1)} MiB = ${ratio.toFixed(3)} (lowest ${floor(second).toFixed(1)} and ${floor(half).toFixed(1)} MiB)`, goal: '≤ 1.15', pass: ratio <= 1.15 })
  } else {
    out.push({ name: 'RSS does not grow', value: 'too few samples under load to compare halves', goal: '≤ 1.15', pass: false })
  }
  const maxOf = (list: Point[], key: 'fds' | 'primaryConns'): number => Math.max(0, ...list.map((p) => p[key]))
  for (const [key, label, slack, back] of [['fds', 'open fds', 16, 8], ['primaryConns', 'connections to the primary', 8, 2]] as const) {
    const mid = maxOf(middle, key)
    const end = maxOf(last, key)
    out.push({ name: `${label} flat under load`, value: `max last third ${end}, middle ${mid}`, goal: `≤ 1.25 × middle + ${slack}`, pass: end <= 1.25 * mid + slack })
    const queued = key === 'primaryConns' ? `, ${after.primaryQueued} with bytes queued` : ''
    out.push({ name: `${label} back to baseline`, value: `${after[key]} after${queued} (baseline ${baseline[key]})`, goal: `≤ baseline + ${back}`, pass: after[key] <= baseline[key] + back })
  }
  const s5xx = Object.entries(load.statuses).filter(([s]) => Number(s) >= 500).reduce((a, [, n]) => a + n, 0)
  const failed = sum(load.errorCodes)
  out.push({ name: 'normal clients: no 5xx', value: `${s5xx} of ${load.sent} (${JSON.stringify(load.statuses)})`, goal: '0', pass: s5xx === 0 })
  out.push({ name: 'normal clients: no failed request', value: `${failed} (${JSON.stringify(load.errorCodes)}), ${load.dropped} not sent (backlog)`, goal: '0', pass: failed === 0 && load.dropped === 0 })
  const decided = sum(final.decisions)
  out.push({ name: 'one decision per primary request', value: `decisions ${decided}, primary requests ${final.primaryRequests}`, goal: 'equal', pass: decided === final.primaryRequests })
  const mirrored = final.decisions.mirrored ?? 0
  const compared = sum(final.comparisons)
  out.push({ name: 'mirrored = compared + error + skipped', value: `mirrored ${mirrored}, comparisons ${compared} (${JSON.stringify(final.comparisons)})`, goal: 'equal', pass: mirrored === compared })
  return out
}

function markdown (points: Point[], list: Check[], final: Counts): string {
  const lines = [
    '| t s | candidate | RSS MiB | fds | conns to primary (with bytes queued) | conns to candidate | mirror in flight | normal sent | answered 2xx | 4xx | 5xx | failed | p99 ms |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
  ]
  for (const p of points) {
    const n = p.normal
    lines.push(`| ${p.t.toFixed(0)} | ${p.phase} | ${p.rssMiB.toFixed(1)} | ${p.fds} | ${p.primaryConns} (${p.primaryQueued}) | ${p.candidateConns} | ${p.inflight} | ` +
      (n === null ? '– | – | – | – | – | – |' : `${n.sent} | ${n.ok} | ${n.s4xx} | ${n.s5xx} | ${n.errors} | ${n.p99Ms.toFixed(1)} |`))
  }
  lines.push('', '| check | value | goal | result |', '| --- | --- | --- | --- |')
  for (const c of list) lines.push(`| ${c.name} | ${c.value} | ${c.goal} | ${c.pass ? 'PASS' : 'FAIL'} |`)
  lines.push('', '| slow clients | outcomes |', '| --- | --- |')
  for (const [kind, outcomes] of Object.entries(slowOutcomes)) lines.push(`| ${kind} | ${Object.entries(outcomes).map(([k, v]) => `${k} ${v}`).join(', ') || '–'} |`)
  lines.push('', `Mirror decisions: ${JSON.stringify(final.decisions)}; candidate errors: ${JSON.stringify(final.candidateErrors)}`)
  return lines.join('\n')
}

async function main (): Promise<void> {
  installCleanup()
  pinSelfToLoadCore()
  const watchdog = startWatchdog(Math.ceil(settings.seconds * 1.5 + 240))
  await ensureBuilt(log)
  log(`soak: ${JSON.stringify(settings)}`)
  const loadBefore = loadavg()

  const primary = await startUpstream('primary', 0, { BIG: 'primary', BIG_BYTES: String(settings.bigBytes) })
  const stops: Array<() => Promise<void>> = [primary.stop]
  let load: NormalLoad | null = null
  const clients: Array<Promise<void>> = []
  try {
    const candidate = startChild({
      name: 'flapping-candidate',
      cpu: CPU_LOAD,
      command: process.execPath,
      args: ['--import', 'tsx', join(ROOT, 'bench/lib/flapping.ts')],
      env: { ...process.env, PORT: '0', PHASE_MS: String(settings.flapS * 1000), SLOW_MS: String(settings.slowMs) }
    })
    stops.push(() => stopChild(candidate))
    const { port: candidatePort, startedAt: flapStart } = await readJsonLine<{ port: number, startedAt: number }>(candidate, 15_000)
    const config = await writeConfig('soak', { candidate: { timeoutMs: settings.candidateTimeoutMs }, mirror: { percent: 100 } })
    stops.push(config.remove)
    const primaryOrigin = primary.url.replace(/\/$/, '')
    const primaryPort = Number(new URL(primary.url).port)
    const pg = await startParitygate(primaryOrigin, ['--candidate', `http://127.0.0.1:${candidatePort}`, '--mirror-percent', '100', '--config', config.file], CPU_PROXY, 'paritygate')
    stops.push(() => stopChild(pg.child, 10_000))
    const pid = pg.child.process.pid as number
    const port = Number(new URL(pg.url).port)
    log(`paritygate pid ${pid} at ${pg.url}, primary :${primaryPort}, candidate :${candidatePort}`)

    const t0 = performance.now()
    const point = async (phase: Point['phase'], normal: Point['normal']): Promise<Point> => {
      if (pg.child.process.exitCode !== null || pg.child.process.signalCode !== null) {
        throw new Error(`paritygate exited during the soak (code ${pg.child.process.exitCode}, signal ${pg.child.process.signalCode})\n${pg.child.tail()}`)
      }
      return await sample(phase, normal)
    }
    const sample = async (phase: Point['phase'], normal: Point['normal']): Promise<Point> => ({
      t: (performance.now() - t0) / 1000,
      phase,
      rssMiB: rssBytes(pid) / MIB,
      fds: openFds(pid),
      primaryConns: establishedTo(primaryPort).n,
      primaryQueued: establishedTo(primaryPort).queued,
      candidateConns: establishedTo(candidatePort).n,
      inflight: total(await scrape(pg.adminUrl), 'paritygate_mirror_inflight'),
      normal
    })

    // Warm up: a few requests of each kind, then the baseline.
    const warm = new Pool(pg.url.replace(/\/$/, ''), { connections: 4 })
    for (let i = 0; i < 20; i++) await (await warm.request({ method: 'GET', path: i % 5 === 0 ? '/big' : `/api/items/${i}` })).body.dump()
    await warm.close()
    await sleep(1000)
    const baseline = await point('baseline', null)
    log(`baseline: ${JSON.stringify(baseline)}`)

    load = new NormalLoad(pg.url.replace(/\/$/, ''), settings.rate)
    load.start()
    for (let i = 0; i < settings.slowUploaders; i++) clients.push(uploader(port))
    for (let i = 0; i < settings.slowReaders; i++) clients.push(reader(port))
    for (let i = 0; i < settings.pipeliners; i++) clients.push(pipeliner(port))

    const points: Point[] = []
    const endAt = performance.now() + settings.seconds * 1000
    while (performance.now() < endAt) {
      await sleep(Math.min(settings.sampleS * 1000, endAt - performance.now()))
      const w = load.takeWindow()
      const p = await point(phaseAt(Date.now() - flapStart, settings.flapS * 1000), { sent: w.sent, ok: w.ok, s4xx: w.s4xx, s5xx: w.s5xx, errors: w.errors, p99Ms: p99(w.latencies) })
      points.push(p)
      log(`t=${p.t.toFixed(0)}s ${p.phase}: RSS ${p.rssMiB.toFixed(1)} MiB, fds ${p.fds}, primary conns ${p.primaryConns} (${p.primaryQueued} with bytes queued), candidate conns ${p.candidateConns}, ` +
        `normal ${w.sent} sent, 5xx ${w.s5xx}, failed ${w.errors}, p99 ${p.normal?.p99Ms.toFixed(1)} ms`)
    }

    // Stop the load, then let the mirror and the pools settle.
    soak.stopping = true
    for (const socket of slowSockets) socket.destroy()
    await load.stop(NORMAL_TIMEOUT_MS + 2000)
    await Promise.all(clients)
    let after = await point('after', null)
    // bench/upstream.ts says `Keep-Alive: timeout=65`, and undici keeps an idle connection that long: wait past it.
    const settleUntil = performance.now() + SETTLE_MS
    while (performance.now() < settleUntil && (after.inflight > 0 || after.primaryConns > baseline.primaryConns + 2 || after.fds > baseline.fds + 8)) {
      await sleep(1000)
      after = await point('after', null)
    }
    const final = counts(await scrape(pg.adminUrl))
    const list = checks(points, baseline, after, final, load)
    const all = [baseline, ...points, after]
    const md = markdown(all, list, final)
    const pass = list.every((c) => c.pass)
    const summary = {
      soak: pass ? 'PASS' : 'FAIL',
      ...runMeta(`SOAK_SECONDS=${settings.seconds} npm run bench:soak`, settings, loadBefore),
      normal: { sent: load.sent, statuses: load.statuses, errors: load.errorCodes, notSent: load.dropped, p50Ms: load.latency.getValueAtPercentile(50) / 1000, p99Ms: load.latency.getValueAtPercentile(99) / 1000, maxMs: load.latency.maxValue / 1000 },
      slow: slowOutcomes,
      final,
      checks: list,
      points: all
    }
    const file = writeOut('soak', summary, md)
    process.stdout.write(md + '\n\n')
    process.stdout.write(JSON.stringify({ soak: summary.soak, seconds: settings.seconds, rate: settings.rate, checks: Object.fromEntries(list.map((c) => [c.name, c.pass])), rssMiB: { baseline: baseline.rssMiB, after: after.rssMiB }, fds: { baseline: baseline.fds, after: after.fds }, primaryConns: { baseline: baseline.primaryConns, after: after.primaryConns }, normal: summary.normal, slow: slowOutcomes, decisions: final.decisions, primaryRequests: final.primaryRequests, comparisons: final.comparisons, out: file }) + '\n')
    if (!pass) process.exitCode = 1
    load.latency.destroy()
  } finally {
    // Also when something failed: no client may keep the process alive.
    soak.stopping = true
    for (const socket of slowSockets) socket.destroy()
    await load?.stop(1000)
    await Promise.all(clients)
    for (const stop of stops.reverse()) await stop().catch((err: Error) => log(`stopping: ${err.message}`))
    clearTimeout(watchdog)
  }
}

runMain(main)
