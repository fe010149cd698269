/* Asynchronous mirroring to the candidate: decide, copy, dispatch alongside the primary, capture both answers, never touch the user's. */
import { type IncomingMessage } from 'node:http'
import { type Readable } from 'node:stream'
import { type FrozenConfig } from '../config/index.ts'
import { DeadlineList } from '../deadlines.ts'
import { CircuitBreaker } from './breaker.ts'
import { LagMonitor } from './lag.ts'
import { SHUTDOWN } from './errors.ts'
import { cookieValue, randomPick, stickyPick } from './sampler.ts'
import { CaptureBudget } from './capture-budget.ts'
import { MirrorPair } from './captured-response.ts'
import { candidateDispatcher } from './candidate-pool.ts'
import { type CandidateDispatcher } from './candidate-client.ts'
import { type CandidateErrorReason, type CandidatePoolSettings, type FetchSpec, type MirrorDecision, type MirrorObserver, type MirrorRoute } from './types.ts'
import { MirrorJob } from './mirror-job.ts'
import { SecondaryExchange } from './secondary.ts'
import { teeBody } from './tee-body.ts'

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])

/** Failures that say the candidate is unwell (they feed the breaker); the others are ours or the client's. */
const BREAKER_FAILURES = new Set<CandidateErrorReason>(['timeout', 'connect', 'reset', 'parse', 'other'])

/** Everything about mirroring that can change at run time (PUT /api/v1/mirror) or on reload. */
export interface MirrorState {
  enabled: boolean
  percent: number
  inflight: number
  breaker: string
  lagMs: number
  /** while the breaker is open or half-open: since when and why the candidate is unreachable */
  unreachable?: { since: string, reason: string }
}

/**
 * Noise baselines a route gets before noise.percent takes over: enough observations for the noise
 * learner to judge (its decayed count reaching noise.minObservations), plus one; 100 at most.
 */
export function noiseWarmUp (halfLife: number, minObservations: number): number {
  const decay = Math.pow(0.5, 1 / halfLife)
  let total = 0
  for (let k = 1; k <= 100; k++) {
    total = total * decay + 1
    if (total >= minObservations) return Math.min(100, k + 1)
  }
  return 100
}

/** What a failure of the candidate said, for the breaker: the error's message, or what the reason label means. */
function failureDetail (job: MirrorJob, reason: CandidateErrorReason): string {
  if (job.errorDetail !== null) return job.errorDetail
  if (reason === 'timeout') return `no complete answer within candidate.timeoutMs ${job.controller.timeoutMs} ms`
  return `candidate exchange failed (${reason})`
}

/**
 * Decides which requests to mirror, dispatches them to the candidate on a pool of their own,
 * and keeps every cap: in-flight mirrors, deadline, response size, breaker, event-loop lag.
 */
export class MirrorController {
  readonly pool: CandidateDispatcher
  readonly observer: MirrorObserver
  readonly timeoutMs: number
  /** one deadline (candidate.timeoutMs) for each whole candidate and noise-baseline exchange */
  readonly deadlines: DeadlineList
  readonly breaker: CircuitBreaker
  readonly lag: LagMonitor
  /** bytes of captured bodies held in flight and waiting for comparison */
  readonly budget: CaptureBudget
  #config: FrozenConfig['mirror']
  #candidate: FrozenConfig['candidate']
  #methods: ReadonlySet<string>
  #drop: ReadonlySet<string>
  #set: ReadonlyArray<[string, string]>
  #noisePool: CandidateDispatcher | null
  #noisePercent: number
  /** noise baselines taken so far per route during its warm-up (routes are bounded by the config) */
  #warm: Map<string, number>
  #warmUp: number
  /** noise baselines sent and not yet handed on, per route */
  #baselinesOut: Map<string, number>
  #enabledOverride: boolean | null
  #percentOverride: number | null
  #inflight: number
  #cap: number
  #jobs: Set<MirrorJob>
  #shuttingDown: boolean
  /** jobs with every answer in, handed on together from one setImmediate */
  #ready: MirrorJob[]
  /** jobs begun this turn, their candidate requests sent together from one setImmediate */
  #outbox: MirrorJob[]
  #offloadFrom: number
  /** routes whose last answer reached #offloadFrom (routes are bounded by the config) */
  #large: Set<string>
  #poolSettings: CandidatePoolSettings

  constructor (config: FrozenConfig, observer: MirrorObserver, runtime: { enabled: boolean | null, percent: number | null } = { enabled: null, percent: null }, budget?: CaptureBudget) {
    const candidate = config.candidate
    this.#config = config.mirror
    this.#candidate = candidate
    this.observer = observer
    this.timeoutMs = candidate.timeoutMs
    this.deadlines = new DeadlineList(candidate.timeoutMs)
    this.#poolSettings = { connections: candidate.connections, connectTimeoutMs: Math.min(candidate.timeoutMs, 10_000), maxHeaderSize: config.proxy.maxHeaderBytes + 4096 }
    this.pool = candidateDispatcher(candidate.url as string, this.#poolSettings)
    this.breaker = new CircuitBreaker(candidate.breaker.failures, candidate.breaker.cooldownMs)
    this.lag = new LagMonitor(config.mirror.maxEventLoopLagMs)
    this.budget = budget ?? new CaptureBudget(config.mirror.maxCaptureBytes)
    this.lag.start()
    this.#noisePercent = config.noise.percent
    this.#warm = new Map()
    this.#baselinesOut = new Map()
    this.#warmUp = noiseWarmUp(config.noise.halfLife, config.noise.minObservations)
    this.#noisePool = config.noise.percent > 0 ? candidateDispatcher(config.noise.secondary ?? config.primary.url, { ...this.#poolSettings, connections: 8 }) : null
    this.#methods = new Set(config.mirror.methods)
    this.#drop = new Set(candidate.dropHeaders.map((h) => h.toLowerCase()))
    this.#set = Object.entries(candidate.setHeaders).map(([k, v]) => [k.toLowerCase(), v])
    this.#enabledOverride = runtime.enabled
    this.#percentOverride = runtime.percent
    this.#inflight = 0
    // Never more in flight than connections: a mirror queued for a connection only waits to expire,
    // and a queue of them expiring together is a burst of work on the live path's thread.
    this.#cap = Math.min(candidate.maxInflight, candidate.connections)
    this.#jobs = new Set()
    this.#shuttingDown = false
    this.#ready = []
    this.#outbox = []
    this.#offloadFrom = config.mirror.offloadFromBytes
    this.#large = new Set()
  }

  /** Learns a route's answer size (from the primary): routes with large answers are offloaded. */
  noteSize (route: string, bytes: number): void {
    if (bytes >= this.#offloadFrom && this.#offloadFrom > 0) this.#large.add(route)
    else if (this.#large.size > 0) this.#large.delete(route)
  }

  /** What the I/O thread needs for one candidate exchange. */
  fetchSpec (method: string, path: string, headers: string[]): FetchSpec {
    return { ...this.#poolSettings, origin: this.#candidate.url as string, method, path, headers, maxBytes: this.#candidate.maxResponseBytes }
  }

  /**
   * Sends a begun job's candidate request from setImmediate, after this turn's I/O: every primary
   * request and every answer to a client of the turn is written first, and the turn's candidate
   * requests go out together (about a tenth less CPU per mirrored exchange, bench/JOURNAL.md, than
   * one candidate write after each primary write). A job cancelled meanwhile is not sent.
   */
  sendLater (job: MirrorJob): void {
    if (this.#outbox.push(job) === 1) setImmediate(this.#send)
  }

  #send = (): void => {
    const jobs = this.#outbox
    this.#outbox = []
    for (const job of jobs) job.dispatch()
  }

  /** Hands a complete job on from setImmediate: after this turn's I/O, off the live path. */
  deliverLater (job: MirrorJob): void {
    if (this.#ready.push(job) === 1) setImmediate(this.#deliver)
  }

  #deliver = (): void => {
    const ready = this.#ready
    this.#ready = []
    for (const job of ready) {
      const pair = new MirrorPair(job.requestId, job.route, job.method, job.path, job.primary, job.candidate, job.secondary?.response ?? null)
      const out = (this.#baselinesOut.get(job.route) ?? 0) - (job.secondary === null ? 0 : 1)
      if (out > 0) this.#baselinesOut.set(job.route, out)
      else this.#baselinesOut.delete(job.route)
      // Evidence on its way: the comparison may wait for it before calling a difference a regression.
      pair.moreBaselines = out > 0
      if (job.withdrawn) pair.release() // not mirrored after all: nothing to compare
      else this.observer.pair(pair)
      job.dispose()
    }
  }

  /** The run-time overrides, carried across a reload. */
  get runtime (): { enabled: boolean | null, percent: number | null } {
    return { enabled: this.#enabledOverride, percent: this.#percentOverride }
  }

  get state (): MirrorState {
    const state: MirrorState = {
      enabled: this.#enabledOverride ?? this.#config.enabled,
      percent: this.#percentOverride ?? this.#config.percent,
      inflight: this.#inflight,
      breaker: this.breaker.state,
      lagMs: Math.round(this.lag.lagMs)
    }
    const outage = this.breaker.outage
    if (outage !== null) state.unreachable = { since: new Date(outage.since).toISOString(), reason: outage.reason ?? 'unknown' }
    return state
  }

  /** The kill switch and the dial: takes effect for the next request. */
  setRuntime (change: { enabled?: boolean, percent?: number }): void {
    if (change.enabled !== undefined) this.#enabledOverride = change.enabled
    if (change.percent !== undefined) this.#percentOverride = change.percent
  }

  /**
   * Decides whether this request is mirrored (and counts the decision). When it is, returns the
   * job, with `primaryBody` set to the stream the primary must read instead of `req`.
   * Nothing here waits or throws: the live path goes on whatever the answer.
   */
  begin (req: IncomingMessage, route: MirrorRoute, forwarded: string[], requestId: string, hasBody: boolean): { job: MirrorJob, primaryBody: Readable | null } | null {
    const decision = this.#decide(req, route, hasBody)
    if (decision !== null) {
      this.observer.decision(route.name, decision)
      return null
    }
    const job = new MirrorJob(this, route.name, req.method as string, req.url as string, requestId, this.#headers(forwarded), this.#candidate.maxResponseBytes)
    if (this.#noisePool !== null && !hasBody && SAFE.has(job.method) && (this.#warming(route.name) || randomPick(this.#noisePercent))) {
      job.secondary = new SecondaryExchange(job, this.#noisePool, [...forwarded, this.#config.shadowHeader, '1'])
      this.#baselinesOut.set(route.name, (this.#baselinesOut.get(route.name) ?? 0) + 1)
    }
    job.probe = this.breaker.probing
    // Bodiless requests on a route whose answers are large: the candidate's answer is received by
    // the I/O thread. Never HEAD: its answer has no body, and offloading reserves budget for one.
    if (!hasBody && job.method !== 'HEAD') job.large = this.#large.has(route.name)
    let primaryBody: Readable | null = null
    const chunked = hasBody && req.headers['content-length'] === undefined
    if (hasBody) primaryBody = teeBody(req, job, this.#config.maxBodyBytes, chunked)
    if (!chunked) this.observer.decision(route.name, 'mirrored')
    this.#inflight++
    this.#jobs.add(job)
    this.observer.inflight(this.#inflight)
    return { job, primaryBody }
  }

  /**
   * Whether this safe request is one of its route's first ones, which all get a noise baseline:
   * at noise.percent alone, a route's first baselines come late, and every comparison before
   * them is a mismatch on its fresh ids and timestamps.
   */
  #warming (route: string): boolean {
    const n = this.#warm.get(route) ?? 0
    if (n >= this.#warmUp) return false
    this.#warm.set(route, n + 1)
    return true
  }

  #decide (req: IncomingMessage, route: MirrorRoute, hasBody: boolean): MirrorDecision | null {
    if (!(this.#enabledOverride ?? this.#config.enabled)) return 'disabled'
    // Already a mirror (another paritygate's, or our own through a Service that leads back here): never mirror it again.
    if (req.headers[this.#shadowHeader] !== undefined) return 'shadow'
    const method = req.method as string
    if (!(route.mirrorMethods ?? this.#methods).has(method)) return 'unsafe_method'
    const percent = route.mirrorPercent ?? this.#percentOverride ?? this.#config.percent
    const key = this.#stickyKey(req)
    if (!(key === null ? randomPick(percent) : stickyPick(key, percent))) return 'sampled_out'
    if (hasBody) {
      const cl = req.headers['content-length']
      if (cl !== undefined && Number(cl) > this.#config.maxBodyBytes) return 'body_too_large'
    }
    if (this.#shuttingDown) return 'shutdown'
    if (this.#inflight >= this.#cap || this.lag.lagging) return 'overloaded'
    if (!this.breaker.allow()) return 'circuit_open'
    return null
  }

  /** mirror.shadowHeader, lowercased as Node's req.headers has it */
  get #shadowHeader (): string {
    return this.#config.shadowHeader.toLowerCase()
  }

  #stickyKey (req: IncomingMessage): string | null {
    const header = this.#config.stickyHeader
    if (header !== null) {
      const v = req.headers[header.toLowerCase()]
      if (typeof v === 'string' && v !== '') return v
    }
    const cookie = this.#config.stickyCookie
    if (cookie !== null) return cookieValue(req.headers.cookie, cookie)
    return null
  }

  /** The primary's forwarded headers, less dropped ones, with replacements, Host rewrite and the shadow marker. */
  #headers (forwarded: string[]): string[] {
    const out: string[] = []
    const hostRewrite = this.#candidate.host
    for (let i = 0; i < forwarded.length; i += 2) {
      const lower = forwarded[i].toLowerCase()
      if (this.#drop.has(lower) || (hostRewrite !== null && lower === 'host')) continue
      let replaced = false
      for (const [name] of this.#set) if (name === lower) replaced = true
      if (!replaced) out.push(forwarded[i], forwarded[i + 1])
    }
    for (const [name, value] of this.#set) out.push(name, value)
    if (hostRewrite !== null) out.push('host', hostRewrite)
    out.push(this.#config.shadowHeader, '1')
    return out
  }

  /** A chunked upload went over mirror.maxBodyBytes mid-stream: its mirror was withdrawn. */
  bodyTooLarge (route: string): void {
    this.observer.decision(route, 'body_too_large')
  }

  /**
   * Called by a job, exactly once, when its candidate exchange ends, successfully or not: the
   * breaker hears of every job it let through (success, failure, or a probe's release), and every
   * mirrored job is counted as one candidate exchange (a withdrawn one is not mirrored).
   */
  finished (job: MirrorJob, reason: CandidateErrorReason | null): void {
    this.#inflight--
    this.#jobs.delete(job)
    this.observer.inflight(this.#inflight)
    if (reason === null) this.breaker.success()
    else if (BREAKER_FAILURES.has(reason) && !job.withdrawn) this.breaker.failure(this.breaker.clock(), failureDetail(job, reason))
    else if (job.probe) this.breaker.release() // ours or the client's doing: says nothing of the candidate
    if (job.withdrawn) return
    this.observer.candidate(job.route, job.method, job.candidate.status, job.candidate.durationMs / 1000, reason)
  }

  /** SIGTERM: mirror nothing new and drop the mirrors in flight (each counted with reason `shutdown`). */
  shutdown (): void {
    this.#shuttingDown = true
    for (const job of [...this.#jobs]) job.cancel(SHUTDOWN)
  }

  /** Closes the candidate pool: gracefully (in-flight mirrors finish) unless `force`. */
  async close (force = false): Promise<void> {
    this.lag.stop()
    if (force) this.shutdown()
    this.#send() // begun this turn: sent before the pool closes (or passed over, cancelled)
    const noise = this.#noisePool
    await Promise.all([
      this.pool.close().catch(() => this.pool.destroy()),
      noise?.close().catch(() => noise.destroy())
    ])
  }
}
