/* The noise baseline: a second answer of v1 to the same request. */
import { performance } from 'node:perf_hooks'
import { type Dispatcher } from 'undici'
import { completeWithoutBody } from '../connector.ts'
import { WithDeadline } from '../deadlines.ts'
import { candidateErrorReason, DEADLINE, TOO_LARGE } from './errors.ts'
import { CapturedResponse } from './captured-response.ts'
import { type MirrorJob } from './mirror-job.ts'
import { type CandidateDispatcher } from './candidate-client.ts'

/**
 * A second call to the primary (or to noise.secondary) for a share of mirrored safe requests:
 * fields that differ between two answers of v1 are noise (Diffy's idea, without a second
 * deployment). Same deadline and size cap as the candidate; its failures are not the candidate's.
 */
export class SecondaryExchange extends WithDeadline implements Dispatcher.DispatchHandler {
  job: MirrorJob
  pool: CandidateDispatcher
  headers: string[]
  response: CapturedResponse
  done: boolean
  startedAt: number
  abort: ((err?: Error) => void) | null

  constructor (job: MirrorJob, pool: CandidateDispatcher, headers: string[]) {
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
    this.pool.dispatch({ path: this.job.path, method: this.job.method, headers: this.headers }, this)
  }

  onConnect (abort: (err?: Error) => void): void {
    this.abort = abort
    if (this.done) abort(DEADLINE)
  }

  onHeaders (status: number, raw: ReadonlyArray<Buffer | string>): boolean {
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
