/* One mirrored request: the candidate exchange and the capture of both answers. */
import { performance } from 'node:perf_hooks'
import { type Readable } from 'node:stream'
import { type Dispatcher } from 'undici'
import { completeWithoutBody } from '../connector.ts'
import { WithDeadline } from '../deadlines.ts'
import { candidateErrorReason, CLIENT_GONE, DEADLINE, INVALID_STATUS, type MirrorAbort, OVER_BUDGET, TOO_LARGE, WITHDRAWN } from './errors.ts'
import { SHED_FROM, sizeClass } from './capture-budget.ts'
import { bodiless, CapturedResponse } from './captured-response.ts'
import { type CandidateErrorReason, type FetchDone } from './types.ts'
import { type SecondaryExchange } from './secondary.ts'
import { type MirrorController } from './controller.ts'
import { type RemoteBody } from './io-thread.ts'

/** What a disposed job points to instead of its captures and headers. */
const DISPOSED = new CapturedResponse(0)
const NO_HEADERS: string[] = []

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
  remote: RemoteBody | null
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
        this.controller.pool.dispatch({ path: this.path, method: this.method, headers: this.headers, body: this.body }, this)
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
   * those references keeps scavenges short under mirrored load.
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

  onHeaders (status: number, raw: ReadonlyArray<Buffer | string>): boolean {
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
