/*
 * The primary of a `--workers N` group (node:cluster): forks N proxy processes that share the
 * listener, keeps the group's gate windows (fed by the workers' batched counts), serves the one
 * admin port, and answers each admin query by asking every worker and merging their answers, so
 * that one scrape of /metrics and one gate answer cover the whole group.
 */
import cluster, { type Worker } from 'node:cluster'
import { AggregatorRegistry, Gauge, Registry } from 'prom-client'
import { buildAdmin, type AdminBackend, type FieldReport, type MismatchList, type NoiseReport, type SampleView } from '../admin/admin.ts'
import { VerdictNotifier } from '../admin/notify.ts'
import { EXAMPLES_PER_PATH } from '../compare/field-stats.ts'
import { ConfigErrors, parseHostPort, type FrozenConfig } from '../config/index.ts'
import { ParityGate } from '../gate/parity.ts'
import { type Logger } from '../logger.ts'
import { type MirrorState } from '../mirror/controller.ts'
import { listenError, notesFor, registerGateGauges, startupSummary } from '../process.ts'
import { ParityStats } from '../stats/parity.ts'
import { type PrimaryMessage, type QueryOp, type WorkerMessage } from './protocol.ts'

const QUERY_TIMEOUT_MS = 5000

interface Pending { results: unknown[], left: number, resolve: (r: unknown[]) => void, timer: NodeJS.Timeout }

/** Mirroring state of the group: the dial and switch are the same everywhere; in-flight counts add up. */
export function mergeMirrorStates (states: Array<MirrorState | null>): (MirrorState & { workers: number }) | null {
  const present = states.filter((s): s is MirrorState => s !== null)
  if (present.length === 0) return null
  const breakers = [...new Set(present.map((s) => s.breaker))]
  // the earliest outage of any worker's breaker
  const outages = present.flatMap((s) => s.unreachable ?? []).sort((a, b) => (a.since < b.since ? -1 : 1))
  return {
    enabled: present[0].enabled,
    percent: present[0].percent,
    inflight: present.reduce((n, s) => n + s.inflight, 0),
    breaker: breakers.length === 1 ? breakers[0] : breakers.join(','),
    lagMs: Math.max(...present.map((s) => s.lagMs)),
    workers: present.length,
    ...(outages.length > 0 ? { unreachable: outages[0] } : {})
  }
}

/** A field row of one worker (examples absent in answers of an earlier build). */
type WorkerField = Omit<FieldReport, 'examples'> & { examples?: FieldReport['examples'] }

/** Field counts of the group: counts add up, the ratio is recomputed over all comparisons; the first few distinct examples are kept. */
export function mergeFields (lists: WorkerField[][]): FieldReport[] {
  const byKey = new Map<string, WorkerField & { compared: number }>()
  for (const list of lists) {
    for (const f of list) {
      const key = `${f.route}\u0000${f.path}`
      const compared = f.ratio > 0 ? f.count / f.ratio : 0
      const prev = byKey.get(key)
      if (prev === undefined) {
        byKey.set(key, { ...f, kinds: { ...f.kinds }, ...(f.examples === undefined ? {} : { examples: [...f.examples] }), compared })
        continue
      }
      for (const e of f.examples ?? []) {
        prev.examples ??= []
        const text = JSON.stringify(e)
        if (prev.examples.length < EXAMPLES_PER_PATH && !prev.examples.some((x) => JSON.stringify(x) === text)) prev.examples.push(e)
      }
      prev.count += f.count
      prev.compared += compared
      for (const [kind, n] of Object.entries(f.kinds)) prev.kinds[kind] = (prev.kinds[kind] ?? 0) + n
      prev.noisy ||= f.noisy
      prev.noiseRate = Math.max(prev.noiseRate, f.noiseRate)
    }
  }
  return [...byKey.values()].map(({ compared, ...f }) => ({ ...f, ratio: compared > 0 ? f.count / compared : 0 }) as FieldReport)
    .sort((a, b) => b.count - a.count || (a.path < b.path ? -1 : 1))
}

/** Learned noise of the group: a path noisy in any worker is noisy. */
export function mergeNoise (lists: NoiseReport[][]): NoiseReport[] {
  const byKey = new Map<string, NoiseReport>()
  for (const list of lists) {
    for (const n of list) {
      const key = `${n.route}\u0000${n.path}`
      const prev = byKey.get(key)
      if (prev === undefined) byKey.set(key, { ...n })
      else { prev.rate = Math.max(prev.rate, n.rate); prev.noisy ||= n.noisy }
    }
  }
  return [...byKey.values()].sort((a, b) => b.rate - a.rate)
}

/** Mismatch signatures of the group: occurrences add up, samples are pooled. */
export function mergeMismatches (lists: MismatchList[], limit: number): MismatchList {
  const bySig = new Map<string, MismatchList['signatures'][number]>()
  let stored = 0
  let evicted = 0
  for (const list of lists) {
    stored += list.stored
    evicted += list.evicted
    for (const s of list.signatures) {
      const prev = bySig.get(s.signature)
      if (prev === undefined) bySig.set(s.signature, { ...s, samples: [...s.samples] })
      else {
        prev.seen += s.seen
        if (s.lastAt > prev.lastAt) prev.lastAt = s.lastAt
        prev.samples.push(...s.samples)
      }
    }
  }
  const signatures = [...bySig.values()].sort((a, b) => (a.lastAt < b.lastAt ? 1 : -1)).slice(0, limit)
  return { signatures, stored, evicted }
}

/** Options of {@link runPrimary}. */
export interface PrimaryOptions {
  workers: number
  log: Logger
  /** loads the config again (file, environment, flags) on SIGHUP */
  reload: () => FrozenConfig
  adminToken: string | null
}

/** The running group, for tests: the admin and proxy URLs and a stop function. */
export interface Group {
  proxy: string
  admin: string
  stop: () => Promise<void>
}

/**
 * Forks the workers, serves the admin port, and handles SIGTERM/SIGINT (drain the group, exit 0)
 * and SIGHUP (reload in every worker). Resolves once every worker is listening.
 */
export async function runPrimary (config: FrozenConfig, opts: PrimaryOptions): Promise<Group> {
  const log = opts.log
  let current = config
  const parity = new ParityStats(config.gate)
  const gate = new ParityGate(parity)
  const registry = new Registry()
  registerGateGauges(registry, gate)
  const aggregator = new AggregatorRegistry()
  const workersGauge = new Gauge({ name: 'paritygate_workers', help: 'Proxy processes listening in this group', registers: [registry] })
  const reloads = new Gauge({ name: 'paritygate_primary_config_reloads', help: 'SIGHUP reloads of the group by result, since start', labelNames: ['result'], registers: [registry] })
  const ready = new Set<number>()
  const pending = new Map<number, Pending>()
  let nextId = 0
  let stopping = false
  let proxyUrl = ''
  let onAllReady: (() => void) | null = null
  let onStartFailed: ((err: Error) => void) | null = null
  let started = false
  let notifier: VerdictNotifier | null = null

  const live = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead())

  const queryAll = (op: QueryOp, args: unknown = {}): Promise<unknown[]> => {
    const workers = live()
    if (workers.length === 0) return Promise.resolve([])
    return new Promise((resolve) => {
      const id = nextId++
      const timer = setTimeout(() => { pending.delete(id); resolve(entry.results) }, QUERY_TIMEOUT_MS)
      const entry: Pending = { results: [], left: workers.length, resolve, timer }
      pending.set(id, entry)
      const message: PrimaryMessage = { pg: 'query', id, op, args }
      for (const w of workers) w.send(message)
    })
  }

  const onMessage = (worker: Worker, msg: WorkerMessage) => {
    if (msg === null || typeof msg !== 'object' || !('pg' in msg)) return
    const failed = msg as unknown as { pg: string, code?: string, message?: string }
    if (failed.pg === 'failed') {
      // A worker could not start (a proxy listener that cannot bind): the group stops with its reason.
      onStartFailed?.(Object.assign(new Error(String(failed.message)), { code: failed.code }))
      return
    }
    if (msg.pg === 'stats') {
      // versions first: a new build's first counts land in its fresh windows, an earlier build's are dropped
      for (const version of msg.versions ?? []) parity.version(version)
      for (const [route, kind, n, version] of msg.counts) parity.add(route, kind, n, version === '' ? null : version)
      for (const [route, target, micros, version] of msg.times) parity.time(route, target, micros, version === '' ? null : version)
      for (const [route, decision, n] of msg.decisions ?? []) parity.addDecisions(route, decision, n)
    } else if (msg.pg === 'answer') {
      const entry = pending.get(msg.id)
      if (entry === undefined) return
      if (msg.error !== undefined) log.warn({ worker: worker.id, error: msg.error }, 'a worker could not answer')
      else entry.results.push(msg.result)
      if (--entry.left === 0) {
        clearTimeout(entry.timer)
        pending.delete(msg.id)
        entry.resolve(entry.results)
      }
    } else if (msg.pg === 'ready') {
      ready.add(worker.id)
      proxyUrl = msg.proxy
      workersGauge.set(ready.size)
      if (ready.size >= opts.workers && onAllReady !== null) onAllReady()
    }
  }

  const fork = () => {
    const worker = cluster.fork({ PARITYGATE_WORKER_OF: String(process.pid) })
    worker.on('message', (msg: WorkerMessage) => onMessage(worker, msg))
    worker.on('exit', (code, signal) => {
      ready.delete(worker.id)
      workersGauge.set(ready.size)
      if (stopping) return
      if (!started) {
        // A worker that cannot start (it said why: see 'failed') will not do better forked again.
        onStartFailed?.(new Error(`a worker exited before the group was listening (code ${String(code)}, signal ${String(signal)})`))
        return
      }
      log.error({ worker: worker.id, code, signal }, 'worker exited: starting a new one')
      setTimeout(fork, 1000).unref()
    })
  }

  // The group's judged candidate version: a new build resets the windows here (ParityStats) and
  // the field counts and samples in every worker.
  parity.onVersion((event) => {
    if (event.change === 'first') {
      log.info({ version: event.version }, 'candidate version seen: the gate judges it')
      return
    }
    log.info({ previous: event.previous, version: event.version }, 'candidate version changed: gate windows, field counts and samples start afresh')
    notifier?.versionChanged(event.previous, event.version).catch(() => {})
    queryAll('reset').catch(() => {})
  })

  const killAll = async (): Promise<void> => {
    stopping = true
    const workers = live()
    await Promise.all(workers.map((w) => new Promise<void>((resolve) => {
      if (w.isDead()) { resolve(); return }
      w.once('exit', () => resolve())
      w.kill('SIGKILL')
    })))
  }
  const allReady = new Promise<void>((resolve, reject) => { onAllReady = resolve; onStartFailed = reject })
  for (let i = 0; i < opts.workers; i++) fork()
  try {
    await allReady
  } catch (err) {
    await killAll()
    throw err
  }

  const backend: AdminBackend = {
    metrics: async () => ({ contentType: registry.contentType, text: `${await aggregator.clusterMetrics()}\n${await registry.metrics()}` }),
    isReady: () => !stopping && ready.size >= opts.workers,
    config: () => current,
    mirrorState: async () => mergeMirrorStates(await queryAll('mirrorState') as Array<MirrorState | null>),
    setMirror: async (change) => mergeMirrorStates(await queryAll('setMirror', change) as Array<MirrorState | null>),
    parity,
    gate,
    fields: async (route) => mergeFields(await queryAll('fields', { route }) as FieldReport[][]),
    noise: async (route) => mergeNoise(await queryAll('noise', { route }) as NoiseReport[][]),
    mismatches: async (route, limit) => mergeMismatches(await queryAll('mismatches', { route, limit }) as MismatchList[], limit),
    sample: async (id) => (await queryAll('sample', { id }) as Array<SampleView | null>).find((s) => s !== null) ?? undefined,
    reset: async () => {
      parity.reset()
      await queryAll('reset')
    },
    adminToken: opts.adminToken
  }
  const admin = buildAdmin(backend, log)
  const a = parseHostPort(config.admin)
  try {
    await admin.listen({ host: a.host, port: a.port })
  } catch (err) {
    // No group without its health endpoints: stop the workers, say which listener failed.
    await killAll()
    await admin.close().catch(() => {})
    throw listenError('admin', config.admin, err as NodeJS.ErrnoException)
  }
  started = true
  // The gate's reasons learn about the group's mirror (nothing mirrored, candidate unreachable) from the workers.
  let mirrorNow: MirrorState | null = null
  const pollMirror = (): void => { backend.mirrorState().then((m) => { mirrorNow = m }, () => {}) }
  pollMirror()
  const mirrorPoll = setInterval(pollMirror, 2000).unref()
  gate.setNotes(() => notesFor(current, mirrorNow))
  const adminUrl = `http://${a.host.includes(':') ? `[${a.host}]` : a.host}:${(admin.server.address() as { port: number }).port}`
  notifier = new VerdictNotifier(config.gate.notify, () => gate.evaluate(), log)
  notifier.start()
  const { summary, warnings } = startupSummary(config, { proxy: proxyUrl, admin: adminUrl }, opts.adminToken !== null)
  log.info({ ...summary, workers: opts.workers }, 'paritygate listening')
  for (const warning of warnings) log.warn(warning)

  const stop = async () => {
    if (stopping) return
    stopping = true
    clearInterval(mirrorPoll)
    notifier?.stop()
    const { delayMs, graceMs } = current.shutdown
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs))
    const workers = live()
    const exited = Promise.all(workers.map((w) => new Promise<void>((resolve) => {
      if (w.isDead()) { resolve(); return }
      w.once('exit', () => resolve())
    })))
    const drain: PrimaryMessage = { pg: 'drain' }
    for (const w of workers) w.send(drain)
    const timer = setTimeout(() => { for (const w of live()) w.kill('SIGKILL') }, graceMs + 5000)
    await exited
    clearTimeout(timer)
    await admin.close()
    log.info('stopped')
  }

  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal, workers: live().length }, 'draining the group before exit')
    stop().catch((err: Error) => { log.error({ err }, 'error while draining'); process.exitCode = 1 })
  }
  process.once('SIGTERM', onSignal)
  process.once('SIGINT', onSignal)
  process.on('SIGHUP', () => {
    if (stopping) return
    let next: FrozenConfig
    try {
      next = opts.reload()
    } catch (err) {
      reloads.inc({ result: 'failure' })
      log.error({ errors: err instanceof ConfigErrors ? err.errors : [(err as Error).message] }, 'config reload refused: the running config stays in force')
      return
    }
    current = next
    parity.update(next.gate)
    queryAll('reload').then((notes) => {
      reloads.inc({ result: 'success' })
      log.info({ workers: notes.length, notes: notes[0] }, 'config reloaded')
    }, () => {})
  })

  return { proxy: proxyUrl, admin: adminUrl, stop }
}
