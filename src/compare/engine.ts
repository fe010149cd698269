/*
 * The comparison engine: takes each mirrored exchange after both answers are complete, compares
 * it off the live path (small bodies on the main thread after the response is out, large ones in
 * worker threads), learns noise from second primary answers, reclassifies mismatches on noisy
 * fields as `noise`, and keeps field counts, redacted samples and the optional NDJSON file.
 */
import { type FrozenConfig } from '../config/index.ts'
import { analyze, sameAnswer, type AnalyzeResult, type AnalyzeTask, type SideData } from './analyze.ts'
import { FieldStats, type FieldExample } from './field-stats.ts'
import { collapsePath, signature } from './signature.ts'
import { MismatchLog } from './mismatch-log.ts'
import { NoiseLearner } from './noise.ts'
import { Redactor, redactSettings, redactTarget } from './redact.ts'
import { scrubCards } from '../secrets.ts'
import { RuleSet, ruleConfigs } from './rule-set.ts'
import { Sample, SampleStore } from './samples.ts'
import { WorkerPool, type HeldBody } from './worker-pool.ts'

/** An outcome as the gate and the metrics count it. */
export type FinalOutcome = 'match' | 'mismatch' | 'noise' | 'error' | 'skipped'

/** One captured answer as the mirror delivers it. */
export interface CapturedSide {
  status: number
  headers: string[]
  bytes: number
  truncated: boolean
  durationMs: number
  error: string | null
  body: () => Buffer
  /** the body's own ArrayBuffer, when it can be moved to a worker without a copy */
  transferable?: () => ArrayBuffer | null
  /** the body is held by another thread (the mirror's I/O thread), not here */
  remote?: HeldBody | null
}

/** A mirrored exchange, both (or three, with a noise baseline) answers complete. */
export interface ExchangePair {
  requestId: string
  route: string
  method: string
  path: string
  primary: CapturedSide
  candidate: CapturedSide
  secondary: CapturedSide | null
  /** other noise baselines of the route were still out when this pair was ready (a mismatch may wait for them) */
  moreBaselines?: boolean
  /** gives the captured bytes back (called once the bodies are compared, or moved to a worker) */
  release?: () => void
  /** takes back the body buffers a comparison worker returns, for reuse */
  recycle?: (buffers: readonly ArrayBuffer[]) => void
}

/** What the engine reports for each exchange; app.ts wires it to metrics, the gate windows and logs. */
export type OutcomeHook = (pair: ExchangePair, outcome: FinalOutcome, result: AnalyzeResult) => void

/** Mismatches held while their route's noise is still being learned, at most (beyond: judged at once). */
const MAX_WAITING = 256

/** A mismatch held until its route's noise learner has seen enough v1 pairs (no bodies: the sample is rendered). */
interface Waiting {
  pair: ExchangePair
  result: AnalyzeResult
  /** paths that differed between this request's own two v1 answers */
  own: Set<string> | null
  due: number
}

/** The outcome of byte-identical answers; shared, never modified. */
const IDENTICAL: AnalyzeResult = Object.freeze({ outcome: 'match', reason: null, detail: null, diffs: Object.freeze([]) as unknown as AnalyzeResult['diffs'], truncated: false, primaryHash: null, candidateHash: null, noisePaths: null, sample: null })

/**
 * Both answers complete and byte-identical (analyze's own shortcut, sameAnswer): a match whatever
 * the rules say, found before any task is built.
 */
function identical (p: CapturedSide, c: CapturedSide, headers: readonly string[]): boolean {
  if (p.error !== null || c.error !== null || p.truncated || c.truncated || p.bytes !== c.bytes) return false
  return sameAnswer({ status: p.status, headers: p.headers, body: p.body() }, { status: c.status, headers: c.headers, body: c.body() }, headers)
}

function side (c: CapturedSide): SideData {
  return { status: c.status, headers: c.headers, body: c.truncated || c.error !== null ? new Uint8Array(0) : c.body(), truncated: c.truncated, error: c.error, durationMs: c.durationMs }
}

/** The comparison workers of a config (none with compare.workers 0); the mirror's I/O thread attaches to them when it starts. */
function workerPool (config: FrozenConfig, rules: ReturnType<typeof ruleConfigs>): WorkerPool | null {
  if (config.compare.workers === 0) return null
  return new WorkerPool(config.compare.workers, { rules, redact: redactSettings(config.redact) })
}

/** The path without query values (`?token=abc` may be a secret), card numbers or token-like segments (see redactTarget). */
export function redactQuery (path: string): string {
  return redactTarget(path)
}

/** Compares mirrored exchanges and keeps what an investigation needs, all bounded. */
export class ComparisonEngine {
  readonly noise: NoiseLearner
  readonly fields: FieldStats
  readonly samples: SampleStore
  /** exchanges dropped because the comparison queue was full (counted as `skipped`, reason `overloaded`) */
  overloaded: number
  /** exchanges compared in a worker thread, since start */
  workerTasks: number
  #rules: RuleSet
  #redactor: Redactor
  #pool: WorkerPool | null
  #workerMinBytes: number
  #maxQueue: number
  #maxQueueBytes: number
  #maxBodyChars: number
  #queued: number
  #queuedBytes: number
  #log: MismatchLog | null
  #hook: OutcomeHook
  #wantHashes: () => boolean
  #waiting: Waiting[]
  #waitTimer: NodeJS.Timeout | null
  #waitMs: number

  /**
   * @param hook called with each outcome
   * @param wantHashes whether to compute canonical hashes even for byte-identical answers (debug breadcrumbs) @default never
   * @param waitMs how long a mismatch waits for its route's noise to be learned @default candidate.timeoutMs
   */
  constructor (config: FrozenConfig, hook: OutcomeHook, wantHashes: () => boolean = () => false, waitMs = config.candidate.timeoutMs) {
    const c = config.compare
    const configs = ruleConfigs(config)
    this.noise = new NoiseLearner({ halfLife: config.noise.halfLife, threshold: config.noise.threshold, minObservations: config.noise.minObservations })
    this.fields = new FieldStats()
    this.samples = new SampleStore({ perSignature: c.samples.perSignature, maxEntries: c.samples.maxEntries, maxBytes: c.samples.maxBytes })
    this.overloaded = 0
    this.workerTasks = 0
    this.#rules = new RuleSet(configs)
    this.#redactor = Redactor.from(redactSettings(config.redact))
    this.#pool = workerPool(config, configs)
    this.#workerMinBytes = c.workerMinBytes
    this.#maxQueue = c.maxQueue
    this.#maxQueueBytes = c.maxQueueBytes
    this.#maxBodyChars = c.samples.maxBodyChars
    this.#queued = 0
    this.#queuedBytes = 0
    this.#log = c.mismatchLog.path === null ? null : new MismatchLog(c.mismatchLog.path, c.mismatchLog.maxBytes, c.mismatchLog.maxFiles)
    this.#hook = hook
    this.#wantHashes = wantHashes
    this.#waiting = []
    this.#waitTimer = null
    this.#waitMs = waitMs
    this.#publishRoom()
  }

  /** Mismatches held until their route's noise is learned. */
  get waiting (): number { return this.#waiting.length }

  /** Exchanges waiting for or in comparison. */
  get queued (): number { return this.#queued }

  /**
   * Whether an exchange of about `bytes` (both bodies) would be taken now rather than shed as
   * `overloaded`: the mirror asks when the candidate announces a large body, so that a body the
   * comparison would throw away is never received.
   */
  hasRoom (bytes: number): boolean {
    if (this.#pool === null || bytes < this.#workerMinBytes) return this.#queued < this.#maxQueue
    return bytes <= this.#room()
  }

  /** Bytes of bodies the workers' queue can still take (0 when it is full in exchanges). */
  #room (): number {
    return this.#queued >= this.#maxQueue ? 0 : this.#maxQueueBytes - this.#queuedBytes
  }

  /** Tells the I/O thread what the queue can take now, so that it sheds at their headers the bodies it would skip. */
  #publishRoom (): void {
    this.#pool?.setRoom(this.#room())
  }

  /** Whether candidate bodies can be held by another thread now (the mirror's I/O thread runs beside the workers). */
  get ioReady (): boolean { return this.#pool?.relayReady ?? false }

  /**
   * The comparison workers now (null with compare.workers 0): the mirror's I/O thread attaches to
   * them. A reload replaces them, and a body held for the old ones cannot be compared.
   */
  get workers (): WorkerPool | null { return this.#pool }

  /**
   * Compares one exchange; returns at once. Bodies of `workerMinBytes` or more go to a worker
   * thread; with the queue full (in exchanges, or in bytes for the workers), the exchange is
   * `skipped` (reason `overloaded`), never held.
   */
  submit (pair: ExchangePair): void {
    const size = pair.primary.bytes + pair.candidate.bytes + (pair.secondary?.bytes ?? 0)
    // A failed or cut-off side is classified without parsing anything: never worth a worker.
    const comparable = pair.primary.error === null && pair.candidate.error === null && !pair.primary.truncated && !pair.candidate.truncated
    const remote = pair.candidate.remote ?? null
    const inWorker = this.#pool !== null && comparable && (size >= this.#workerMinBytes || remote !== null)
    // A body held by the I/O thread of workers replaced since (a reload) is gone: the pair cannot be compared.
    const lost = remote !== null && remote.pool !== this.#pool
    if (lost || this.#queued >= this.#maxQueue || (inWorker && size > this.#room())) {
      remote?.drop()
      pair.release?.()
      this.overloaded++
      this.#hook(pair, 'skipped', { outcome: 'skipped', reason: 'overloaded', detail: null, diffs: [], truncated: false, primaryHash: null, candidateHash: null, noisePaths: null, sample: null })
      return
    }
    if (!inWorker) remote?.drop()
    if (!inWorker && pair.secondary === null && identical(pair.primary, pair.candidate, this.#rules.get(pair.route).headers) && !this.#wantHashes()) {
      // The healthy candidate's common case: no task, no copies, no parse.
      pair.release?.()
      this.fields.record(pair.route, IDENTICAL.diffs)
      this.#hook(pair, 'match', IDENTICAL)
      return
    }
    const task: AnalyzeTask = {
      route: pair.route,
      primary: side(pair.primary),
      candidate: side(pair.candidate),
      secondary: pair.secondary === null ? null : side(pair.secondary),
      render: inWorker,
      maxBodyChars: this.#maxBodyChars,
      hashes: this.#wantHashes(),
      method: pair.method
    }
    this.#queued++
    if (inWorker) {
      this.workerTasks++
      const pool = this.#pool as WorkerPool
      // Move the bodies (no copy on this thread), then give their bytes back: they are the worker's now.
      const transfer: ArrayBuffer[] = []
      for (const s of [pair.primary, pair.candidate, pair.secondary]) {
        const buffer = s?.transferable?.() ?? null
        if (buffer !== null && !transfer.includes(buffer)) transfer.push(buffer)
      }
      this.#queuedBytes += size
      this.#publishRoom()
      const answer = remote === null ? pool.run(task, transfer) : pool.runRemote(remote, task, transfer)
      answer.then(({ result, buffers }) => {
        this.#queuedBytes -= size
        pair.recycle?.(buffers)
        this.#finish(pair, task, result)
      }, () => {})
      pair.release?.()
    } else {
      const r = analyze(task, this.#rules, this.#redactor)
      this.#finish(pair, task, r)
      pair.release?.()
    }
  }

  #finish (pair: ExchangePair, task: AnalyzeTask, r: AnalyzeResult): void {
    this.#queued--
    this.#publishRoom()
    if (r.noisePaths !== null) this.noise.observe(pair.route, r.noisePaths)
    // The route's evidence is in: judged now, or no other baseline was out when this pair was ready
    // (a few concurrent requests, fewer baselines than the learner needs): its held mismatches go on.
    if (this.#waiting.length > 0 && (pair.moreBaselines !== true || this.noise.judged(pair.route))) this.#release((w) => w.pair.route === pair.route)
    if (r.outcome === 'mismatch' || r.outcome === 'match') this.fields.record(pair.route, r.diffs, r.values ?? null)
    if (r.outcome !== 'mismatch') {
      this.#hook(pair, r.outcome, r)
      return
    }
    // Paths that differed between this very request's two primary answers are noise whatever the
    // learner knows yet (direct evidence).
    const own = r.noisePaths !== null && r.noisePaths.length > 0 ? new Set(r.noisePaths.map(collapsePath)) : null
    if (this.#mustWait(pair, r, own)) {
      // The route's noise is not learned yet and its first baselines, sent with other requests,
      // are still out: a fresh id or stamp (or one that v1's own two answers happened to agree
      // on) would be called a regression. Held until the route is judged (candidate.timeoutMs at
      // most: the baselines' deadline), bodies let go (the sample is rendered now).
      const result = r.sample === null ? { ...r, sample: analyze({ ...task, render: true }, this.#rules, this.#redactor).sample } : r
      this.#waiting.push({ pair, result, own, due: Date.now() + this.#waitMs })
      this.#waitTimer ??= setTimeout(this.#expire, this.#waitMs).unref()
      return
    }
    this.#judge(pair, r, own, task)
  }

  /** Whether a mismatch must wait: baselines of its route still out, the route not yet judged, a difference its own baseline does not explain, room left. */
  #mustWait (pair: ExchangePair, r: AnalyzeResult, own: Set<string> | null): boolean {
    return pair.moreBaselines === true && !this.noise.judged(pair.route) && this.#waiting.length < MAX_WAITING &&
      r.diffs.some((d) => !(own?.has(collapsePath(d.path)) ?? false))
  }

  /**
   * Noisy paths do not make a regression, nor a signature of their own: those learned, and those
   * of the request's own two v1 answers. Counts the outcome, keeps a sample of a real mismatch.
   */
  #judge (pair: ExchangePair, r: AnalyzeResult, own: Set<string> | null, task?: AnalyzeTask): void {
    const real = r.diffs.filter((d) => !this.noise.isNoisy(pair.route, d.path) && !(own?.has(collapsePath(d.path)) ?? false))
    if (real.length > 0) this.#keep(pair, r, real.map((d) => d.path), task)
    this.#hook(pair, real.length === 0 ? 'noise' : 'mismatch', r)
  }

  /** Judges the held mismatches that `which` selects, on what the learner knows now. */
  #release (which: (w: Waiting) => boolean): void {
    const now: Waiting[] = []
    const later: Waiting[] = []
    for (const w of this.#waiting) (which(w) ? now : later).push(w)
    this.#waiting = later
    if (later.length === 0 && this.#waitTimer !== null) {
      clearTimeout(this.#waitTimer)
      this.#waitTimer = null
    }
    for (const w of now) this.#judge(w.pair, w.result, w.own)
  }

  /** A route whose baselines never came (failed, or no safe request since) is judged on what is known after waitMs. */
  #expire = (): void => {
    this.#waitTimer = null
    const now = Date.now()
    this.#release((w) => w.due <= now)
    if (this.#waiting.length > 0) this.#waitTimer = setTimeout(this.#expire, Math.max(1, this.#waiting[0].due - now)).unref()
  }

  #keep (pair: ExchangePair, r: AnalyzeResult, realPaths: string[], task?: AnalyzeTask): void {
    const sig = signature(pair.route, realPaths)
    if (!this.samples.offer(sig, pair.route) && this.#log === null) return
    let rendered = r.sample
    if (rendered === null && task !== undefined) rendered = analyze({ ...task, render: true }, this.#rules, this.#redactor).sample
    if (rendered === null) return
    const sample = new Sample(sig, pair.route, pair.method, redactQuery(pair.path), scrubCards(pair.requestId), 'mismatch',
      r.diffs.map((d, k) => ({ path: scrubCards(d.path), kind: d.kind, ...r.values?.[k] })), rendered.primary, rendered.candidate,
      { primary: r.primaryHash, candidate: r.candidateHash })
    this.samples.add(sample)
    this.#log?.write(sample)
  }

  /** Differing fields of a route (or all), with their noise rates. */
  fieldReport (route: string | null): Array<{ route: string, path: string, count: number, ratio: number, kinds: Record<string, number>, noisy: boolean, noiseRate: number, examples: FieldExample[] }> {
    return this.fields.list(route).map((f) => ({ ...f, noisy: this.noise.isNoisy(f.route, f.path), noiseRate: this.noise.rate(f.route, f.path) }))
  }

  /** Learned noisy paths of a route (or every route). */
  noiseReport (route: string | null): Array<{ route: string, path: string, rate: number, noisy: boolean }> {
    const routes = route === null ? this.noise.routes() : [route]
    return routes.flatMap((r) => this.noise.list(r).map((n) => ({ route: r, ...n })))
  }

  /**
   * Applies new rules, redaction and noise settings from a reloaded config; learned noise,
   * field counts and samples are kept. The worker threads are replaced.
   */
  reconfigure (config: FrozenConfig): void {
    const configs = ruleConfigs(config)
    this.#rules = new RuleSet(configs)
    this.#redactor = Redactor.from(redactSettings(config.redact))
    const old = this.#pool
    this.#pool = workerPool(config, configs)
    old?.close().catch(() => {})
    this.#workerMinBytes = config.compare.workerMinBytes
    this.#maxQueue = config.compare.maxQueue
    this.#maxQueueBytes = config.compare.maxQueueBytes
    this.#maxBodyChars = config.compare.samples.maxBodyChars
    this.#publishRoom()
  }

  /**
   * Forget samples and field counts (a new candidate version); learned noise is v1's and stays.
   * Held mismatches are judged first: they belong to what is being forgotten.
   */
  reset (): void {
    this.#release(() => true)
    this.samples.reset()
    this.fields.reset()
  }

  async close (): Promise<void> {
    this.#release(() => true)
    await this.#pool?.close()
    await this.#log?.close()
  }
}
