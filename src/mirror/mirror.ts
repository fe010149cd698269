/* Asynchronous mirroring to the candidate: decide, copy, dispatch alongside the primary, capture both answers, never touch the user's. */
import { type IncomingMessage } from 'node:http'
import { performance } from 'node:perf_hooks'
import { Readable } from 'node:stream'
import { type Dispatcher, type Pool } from 'undici'
import { type FrozenConfig } from '../config/index.ts'
import { completeWithoutBody } from '../connector.ts'
import { DeadlineList, WithDeadline } from '../deadlines.ts'
import { CircuitBreaker } from './breaker.ts'
import { LagMonitor } from './lag.ts'
import { candidateErrorReason, MirrorAbort } from './errors.ts'
import { cookieValue, randomPick, stickyPick } from './sampler.ts'
import { bodiless, CaptureBudget, candidatePool, CapturedResponse, MirrorPair, SHED_FROM, sizeClass, type CandidatePoolSettings, type CandidateErrorReason, type FetchDone, type FetchSpec, type MirrorDecision, type MirrorObserver, type RemoteHandle } from './types.ts'

/** What the mirror needs to know of a request's route (see proxy/routes.ts RouteMatch). */
export interface MirrorRoute {
  name: string
  mirrorPercent: number | null
  mirrorMethods: ReadonlySet<string> | null
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])
const DEADLINE = new MirrorAbort('timeout')
const TOO_LARGE = new MirrorAbort('too_large')
const OVER_BUDGET = new MirrorAbort('overloaded')
const SHUTDOWN = new MirrorAbort('shutdown')
const CLIENT_GONE = new MirrorAbort('client_aborted')
/** A status HTTP does not allow (outside 100–599): the answer is garbage, as a parse error is. */
const INVALID_STATUS = new MirrorAbort('parse')
/** A chunked upload went over mirror.maxBodyBytes: the mirror is called off (see MirrorJob.withdraw). */
const WITHDRAWN = new MirrorAbort('too_large')

/** What a disposed job points to instead of its captures and headers. */
const DISPOSED = new CapturedResponse(0)
const NO_HEADERS: string[] = []

/** Failures that say the candidate is unwell (they feed the breaker); the others are ours or the client's. */
const BREAKER_FAILURES = new Set<CandidateErrorReason>(['timeout', 'connect', 'reset', 'parse', 'other'])

/**
 * One mirrored request: the candidate exchange (an undici dispatch handler, callback API) and
 * the capture of both answers. Every field is assigned in the constructor.
 */
export class MirrorJob extends WithDeadline implements Dispatcher.DispatchHandler {
  controller: MirrorController
  route: string
  method: string
  path: string
  requestId: string
  headers: string[]
  body: Readable | null
  primary: CapturedResponse
  candidate: CapturedResponse
  secondary: SecondaryExchange | null
  primaryDone: boolean
  candidateDone: boolean
  startedAt: number
  abort: ((err?: Error) => void) | null
  abortReason: MirrorAbort | null
  captureLimit: number
  /** the route's last answer reached mirror.offloadFromBytes: the candidate's goes to the I/O thread */
  large: boolean
  /** the exchange the I/O thread runs, when offloaded */
  remote: RemoteHandle | null
  /** the breaker's half-open probe: an end that is neither success nor failure releases it */
  probe: boolean
  /** called off before the candidate answered (withdraw): no candidate exchange, no comparison */
  withdrawn: boolean
  /** what the candidate exchange's error said (for the breaker's log and the gate), when it failed */
  errorDetail: string | null

  constructor (controller: MirrorController, route: string, method: string, path: string, requestId: string, headers: string[], captureLimit: number) {
    super()
    this.controller = controller
    this.route = route
    this.method = method
    this.path = path
    this.requestId = requestId
    this.headers = headers
    this.body = null
    this.primary = new CapturedResponse(captureLimit, controller.budget)
    this.candidate = new CapturedResponse(captureLimit, controller.budget)
    this.secondary = null
    this.primaryDone = false
    this.candidateDone = false
    this.startedAt = 0
    this.abort = null
    this.abortReason = null
    this.captureLimit = captureLimit
    this.large = false
    this.remote = null
    this.probe = false
    this.withdrawn = false
    this.errorDetail = null
  }

  /**
   * Starts the candidate exchange with its deadline (connect, headers and a slow-drip body
   * included). Never throws: a dispatch that does ends the job as `other`, so that it is
   * counted and the breaker hears of it like of any other job.
   */
  dispatch (): void {
    this.startedAt = performance.now()
    if (this.candidateDone) return // called off before it was sent
    this.controller.deadlines.add(this, this.startedAt)
    try {
      if (!this.large || !this.offload()) {
        this.controller.pool.dispatch({ path: this.path, method: this.method as Dispatcher.HttpMethod, headers: this.headers, body: this.body }, this)
      }
    } catch {
      this.finishCandidate('other')
    }
    try {
      this.secondary?.dispatch()
    } catch {
      this.secondary?.finish('other')
    }
  }

  /**
   * Hands the candidate exchange to the I/O thread, with capture budget reserved for the largest
   * body it may take (candidate.maxResponseBytes, given back down to the body's size once it is
   * in): the answer's bytes, and the buffer they go into, never come to this thread. False when
   * the budget cannot take it or there is no such thread (compare.workers 0): the exchange then
   * runs here.
   */
  offload (): boolean {
    const c = this.controller
    const reserve = sizeClass(this.captureLimit)
    if (!c.budget.reserve(reserve)) return false
    try {
      this.remote = c.observer.fetch(this.route, c.fetchSpec(this.method, this.path, this.headers), (done) => this.fetched(done))
    } finally {
      if (this.remote === null) c.budget.release(reserve)
    }
    if (this.remote === null) return false
    this.candidate.reserved = reserve
    return true
  }

  /** The I/O thread's exchange ended (once per offload). */
  fetched (done: FetchDone): void {
    // Cut short here already (deadline, shutdown): the I/O thread dropped the body when told.
    if (this.candidateDone) return
    // Shed at its headers there (no room to compare): the primary's copy is not worth finishing.
    if (done.error === 'overloaded') this.primary.abandon()
    const c = this.candidate
    c.status = done.status
    c.headers = done.headers
    c.bytes = done.bytes
    if (done.error === null) {
      c.remote = this.remote
      const held = sizeClass(done.bytes)
      this.controller.budget.release(c.reserved - held)
      c.reserved = held
    }
    this.finishCandidate(done.error, done.durationMs)
  }

  /** All answers are in (primary, candidate and the noise baseline if any): hand the pair on, off the live path. */
  maybeDeliver (): void {
    if (this.primaryDone && this.candidateDone && (this.secondary === null || this.secondary.done)) this.controller.deliverLater(this)
  }

  /** candidate.timeoutMs passed before the candidate's answer was complete. */
  expire (): void {
    this.cancel(DEADLINE)
  }

  /**
   * Drops what the job holds once it is handed on. A job that lived through two young-generation
   * GCs (a slow candidate, or undici still holding it) sits dead in the old generation until the
   * next full GC, and everything young it points to survives every scavenge meanwhile: cutting
   * those references halved the bytes each scavenge copies under mirrored load.
   */
  dispose (): void {
    this.primary = DISPOSED
    this.candidate = DISPOSED
    this.secondary = null
    this.headers = NO_HEADERS
    this.body = null
    this.remote = null
  }

  /** The client's request will never reach the candidate whole (the client left, or the primary answered before its end): called off, not charged. */
  clientGone (): void {
    this.cancel(CLIENT_GONE)
  }

  /**
   * Cuts the candidate exchange short for `reason`. Not yet on a connection (connecting, queued,
   * or not dispatched yet), the job ends at once: undici's onConnect aborts it later, and
   * whatever undici says after that is ignored.
   */
  cancel (reason: MirrorAbort): void {
    if (this.candidateDone) return
    this.abortReason = reason
    if (this.remote !== null) {
      this.remote.cancel()
      this.finishCandidate(reason.reason)
    } else if (this.abort !== null) this.abort(reason)
    else {
      this.body?.destroy(reason)
      this.finishCandidate(reason.reason)
    }
  }

  /**
   * Calls the mirror off before the candidate answered (a chunked upload over mirror.maxBodyBytes):
   * it then counts as not mirrored (`body_too_large`), with no candidate exchange and no
   * comparison. False when the candidate has answered already: then it was mirrored.
   */
  withdraw (): boolean {
    if (this.candidateDone) return false
    this.withdrawn = true
    this.primary.abandon()
    this.cancel(WITHDRAWN)
    return true
  }

  // The candidate side, as undici calls it.
  onConnect (abort: (err?: Error) => void): void {
    this.abort = abort
    if (this.abortReason !== null) abort(this.abortReason)
  }

  onHeaders (status: number, raw: Buffer[]): boolean {
    if (status < 100 || status > 599) {
      this.cancel(INVALID_STATUS)
      return false
    }
    if (status < 200) return true
    const c = this.candidate
    c.takeHeaders(status, raw, this.method === 'HEAD')
    if (c.expected >= SHED_FROM && !this.controller.observer.room(2 * c.expected)) {
      // The comparison is full: a body it would shed is not worth receiving on the live thread,
      // nor the primary's worth copying.
      this.primary.abandon()
      this.cancel(OVER_BUDGET)
      return false
    }
    return true
  }

  onData (chunk: Buffer): boolean {
    const c = this.candidate
    if (c.append(chunk)) return true
    this.cancel(c.bytes + chunk.length > this.captureLimit ? TOO_LARGE : OVER_BUDGET)
    return false
  }

  onComplete (): void {
    this.finishCandidate(null)
  }

  onError (err: Error): void {
    if (this.abortReason === null && completeWithoutBody(err, this.candidate.status)) { this.finishCandidate(null); return }
    if (this.abortReason === null) this.errorDetail = err.message.slice(0, 200)
    this.finishCandidate(this.abortReason?.reason ?? candidateErrorReason(err))
  }

  finishCandidate (reason: CandidateErrorReason | null, durationMs = performance.now() - this.startedAt): void {
    if (this.candidateDone) return
    this.candidateDone = true
    this.deadlineList?.remove(this)
    const c = this.candidate
    c.durationMs = durationMs
    c.error = reason
    if (reason !== null) c.status = 0
    this.controller.finished(this, reason)
    this.maybeDeliver()
  }

  // The primary side, as the live path reports it, after each piece is on its way to the user.
  primaryHeaders (status: number, headers: string[], contentLength: number): void {
    this.primary.status = status
    this.primary.headers = headers
    // HEAD, 204 and 304 answers have no body, whatever Content-Length says.
    this.primary.expect(bodiless(this.method === 'HEAD', status) ? 0 : contentLength)
  }

  primaryData (chunk: Buffer): void {
    this.primary.append(chunk)
  }

  primaryEnd (durationMs: number, error: string | null): void {
    if (this.primaryDone) return
    this.primaryDone = true
    this.primary.durationMs = durationMs
    this.primary.error = error
    this.controller.noteSize(this.route, Math.max(this.primary.bytes, this.primary.expected))
    this.maybeDeliver()
  }
}

/**
 * A second call to the primary (or to noise.secondary) for a share of mirrored safe requests:
 * fields that differ between two answers of v1 are noise (Diffy's idea, without a second
 * deployment). Same deadline and size cap as the candidate; its failures are not the candidate's.
 */
class SecondaryExchange extends WithDeadline implements Dispatcher.DispatchHandler {
  job: MirrorJob
  pool: Dispatcher
  headers: string[]
  response: CapturedResponse
  done: boolean
  startedAt: number
  abort: ((err?: Error) => void) | null

  constructor (job: MirrorJob, pool: Dispatcher, headers: string[]) {
    super()
    this.job = job
    this.pool = pool
    this.headers = headers
    this.response = new CapturedResponse(job.captureLimit, job.controller.budget)
    this.done = false
    this.startedAt = 0
    this.abort = null
  }

  dispatch (): void {
    this.startedAt = performance.now()
    this.job.controller.deadlines.add(this, this.startedAt)
    this.pool.dispatch({ path: this.job.path, method: this.job.method as Dispatcher.HttpMethod, headers: this.headers }, this)
  }

  onConnect (abort: (err?: Error) => void): void {
    this.abort = abort
    if (this.done) abort(DEADLINE)
  }

  onHeaders (status: number, raw: Buffer[]): boolean {
    if (status < 200) return true
    this.response.takeHeaders(status, raw, this.job.method === 'HEAD')
    return true
  }

  onData (chunk: Buffer): boolean {
    if (this.response.append(chunk)) return true
    this.finish('too_large')
    this.abort?.(TOO_LARGE)
    return false
  }

  expire (): void {
    this.finish('timeout')
    this.abort?.(DEADLINE)
  }

  onComplete (): void { this.finish(null) }
  onError (err: Error): void { this.finish(completeWithoutBody(err, this.response.status) ? null : candidateErrorReason(err)) }

  finish (error: string | null): void {
    if (this.done) return
    this.done = true
    this.deadlineList?.remove(this)
    this.response.durationMs = performance.now() - this.startedAt
    this.response.error = error
    this.job.maybeDeliver()
  }
}

/**
 * Copies a request body for the mirror without ever pausing the live upload for it: the primary
 * gets a stream with the client's own backpressure; the mirror gets the same chunks up to
 * `maxBodyBytes`, beyond which it is skipped (`body_too_large`) and the copy released.
 */
function teeBody (req: IncomingMessage, job: MirrorJob, maxBodyBytes: number, countDecision: boolean): Readable {
  const primary = new Readable({ read () { req.resume() } })
  let mirror: Readable | null = new Readable({ read () {} })
  let size = 0
  // A chunked upload's decision waits for its end, its size limit or its abort: exactly one of them.
  let undecided = countDecision
  const decide = (decision: MirrorDecision): void => {
    if (!undecided) return
    undecided = false
    job.controller.observer.decision(job.route, decision)
  }
  job.body = mirror
  req.on('data', (chunk: Buffer) => {
    if (mirror !== null) {
      size += chunk.length
      if (size > maxBodyBytes) {
        mirror = null
        // Called off unless the candidate has answered already (then it was mirrored all the same).
        if (undecided && job.withdraw()) {
          undecided = false
          job.controller.bodyTooLarge(job.route)
        } else {
          job.cancel(TOO_LARGE)
          decide('mirrored')
        }
      } else {
        mirror.push(chunk)
      }
    }
    if (!primary.push(chunk)) req.pause()
  })
  req.on('end', () => {
    primary.push(null)
    if (mirror !== null) mirror.push(null)
    decide('mirrored')
  })
  req.on('close', () => {
    if (!req.complete) {
      primary.destroy(new Error('client aborted the upload'))
      job.cancel(CLIENT_GONE)
      // Sent to the candidate in part: mirrored, and its comparison is `skipped` (client_aborted).
      decide('mirrored')
    }
  })
  req.on('error', () => {})
  return primary
}

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
  readonly pool: Pool
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
  #noisePool: Pool | null
  #noisePercent: number
  /** noise baselines taken so far per route during its warm-up (routes are bounded by the config) */
  #warm: Map<string, number>
  #warmUp: number
  #enabledOverride: boolean | null
  #percentOverride: number | null
  #inflight: number
  #cap: number
  #jobs: Set<MirrorJob>
  #shuttingDown: boolean
  /** jobs with every answer in, handed on together from one setImmediate */
  #ready: MirrorJob[]
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
    this.pool = candidatePool(candidate.url as string, this.#poolSettings)
    this.breaker = new CircuitBreaker(candidate.breaker.failures, candidate.breaker.cooldownMs)
    this.lag = new LagMonitor(config.mirror.maxEventLoopLagMs)
    this.budget = budget ?? new CaptureBudget(config.mirror.maxCaptureBytes)
    this.lag.start()
    this.#noisePercent = config.noise.percent
    this.#warm = new Map()
    this.#warmUp = noiseWarmUp(config.noise.halfLife, config.noise.minObservations)
    this.#noisePool = config.noise.percent > 0 ? candidatePool(config.noise.secondary ?? config.primary.url, { ...this.#poolSettings, connections: 8 }) : null
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

  /** Hands a complete job on from setImmediate: after this turn's I/O, off the live path. */
  deliverLater (job: MirrorJob): void {
    if (this.#ready.push(job) === 1) setImmediate(this.#deliver)
  }

  #deliver = (): void => {
    const ready = this.#ready
    this.#ready = []
    for (const job of ready) {
      const pair = new MirrorPair(job.requestId, job.route, job.method, job.path, job.primary, job.candidate, job.secondary?.response ?? null)
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
    else if (BREAKER_FAILURES.has(reason) && !job.withdrawn) this.breaker.failure(Date.now(), failureDetail(job, reason))
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
    const noise = this.#noisePool
    await Promise.all([
      this.pool.close().catch(() => this.pool.destroy()),
      noise?.close().catch(() => noise.destroy())
    ])
  }
}
