/*
 * The mirror's I/O thread: receives the candidate's answers on routes whose answers are large
 * (mirror.offloadFromBytes), so that their bytes never pass through the event loop that serves
 * users, and hands each body straight to a comparison worker over a port of its own.
 */
import { completeWithoutBody } from '../connector.ts'
import { parentPort, workerData, type MessagePort } from 'node:worker_threads'
import { type Dispatcher, type Pool } from 'undici'
import { type AnalyzeTask } from '../compare/analyze.ts'
import { CaptureBudget, SHED_FROM } from './capture-budget.ts'
import { candidatePool } from './candidate-pool.ts'
import { CapturedResponse } from './captured-response.ts'
import { candidateErrorReason, MirrorAbort } from './errors.ts'
import { type CandidateErrorReason, type FetchDone, type FetchSpec } from './types.ts'
import { yieldToLivePath } from '../threads/priority.ts'

export type IoRequest =
  | { type: 'fetch', id: number, spec: FetchSpec }
  | { type: 'cancel', id: number }
  | { type: 'drop', id: number }
  | { type: 'forward', id: number, slot: number, taskId: number, task: AnalyzeTask, transfer: ArrayBuffer[] }
  | { type: 'port', slot: number, port: MessagePort }

/** What the I/O thread starts with. */
export interface IoSetup {
  /** the comparison queue's room in KiB, kept up to date by the main thread (WorkerPool.setRoom) */
  room: Int32Array
}

/** A body nobody asked for within this long (the pair was lost to a reload) is dropped. */
const HELD_FOR_MS = 60_000

const pools = new Map<string, Pool>()
const exchanges = new Map<number, Exchange>()
const held = new Map<number, { capture: CapturedResponse, body: Buffer, at: number }>()
const ports = new Map<number, MessagePort>()
/**
 * The I/O thread's own capture buffers, recycled as on the main thread (the comparison workers
 * give them back). Its cap is the main thread's: each exchange was reserved there already.
 */
const buffers = new CaptureBudget(Infinity)
const room = (workerData as IoSetup | null)?.room ?? null

/** Whether the comparison queue can take a pair of about `bytes` now (as ComparisonEngine.hasRoom says on the main thread). */
function hasRoom (bytes: number): boolean {
  return room === null || bytes <= Atomics.load(room, 0) * 1024
}

function poolFor (spec: FetchSpec): Pool {
  let pool = pools.get(spec.origin)
  if (pool === undefined) pools.set(spec.origin, pool = candidatePool(spec.origin, spec))
  return pool
}

/** The body in a buffer of its own, to be moved to a worker: small bodies live in a slice of Node's shared pool. */
function owned (capture: CapturedResponse): Buffer {
  if (capture.transferable() !== null) return capture.body()
  const copy = new Uint8Array(capture.bytes)
  copy.set(capture.body())
  return Buffer.from(copy.buffer, 0, copy.length)
}

/** One candidate exchange (undici's callback API), its body captured as on the main thread. */
class Exchange implements Dispatcher.DispatchHandler {
  id: number
  spec: FetchSpec
  startedAt: number
  abort: ((err?: Error) => void) | null
  reason: CandidateErrorReason | null
  capture: CapturedResponse
  done: boolean

  constructor (id: number, spec: FetchSpec) {
    this.id = id
    this.spec = spec
    this.startedAt = performance.now()
    this.abort = null
    this.reason = null
    this.capture = new CapturedResponse(spec.maxBytes, buffers)
    this.done = false
  }

  cancel (reason: CandidateErrorReason): void {
    if (this.done) return
    this.reason = reason
    this.abort?.(new MirrorAbort(reason))
  }

  onConnect (abort: (err?: Error) => void): void {
    this.abort = abort
    if (this.reason !== null) abort(new MirrorAbort(this.reason))
  }

  onHeaders (status: number, raw: Buffer[]): boolean {
    if (status < 100 || status > 599) { this.cancel('parse'); return false } // no HTTP status: garbage
    if (status < 200) return true
    const c = this.capture
    c.takeHeaders(status, raw, this.spec.method === 'HEAD')
    if (c.expected > this.spec.maxBytes) { this.cancel('too_large'); return false }
    // The comparison would skip the pair: its body is not worth receiving, even at idle priority.
    if (c.expected >= SHED_FROM && !hasRoom(2 * c.expected)) { this.cancel('overloaded'); return false }
    return true
  }

  onData (chunk: Buffer): boolean {
    // The budget here has no cap: only candidate.maxResponseBytes stops a capture.
    if (this.capture.append(chunk)) return true
    this.cancel('too_large')
    return false
  }

  onComplete (): void { this.#finish(null) }
  onError (err: Error): void { this.#finish(this.reason ?? (completeWithoutBody(err, this.capture.status) ? null : candidateErrorReason(err))) }

  #finish (error: CandidateErrorReason | null): void {
    if (this.done) return
    this.done = true
    exchanges.delete(this.id)
    const c = this.capture
    if (error === null) held.set(this.id, { capture: c, body: owned(c), at: performance.now() })
    else c.release()
    const msg: FetchDone = { type: 'done', id: this.id, status: error === null ? c.status : 0, headers: c.headers, bytes: c.bytes, error, durationMs: performance.now() - this.startedAt }
    parentPort?.postMessage(msg)
  }
}

function release (id: number): { capture: CapturedResponse, body: Buffer } | null {
  const h = held.get(id)
  if (h === undefined) return null
  held.delete(id)
  return h
}

/** Frees a held body (the pair will not be compared): its buffer serves a later answer. */
function drop (id: number): void {
  release(id)?.capture.release()
}

function onRequest (msg: IoRequest): void {
  switch (msg.type) {
    case 'fetch': {
      const ex = new Exchange(msg.id, msg.spec)
      exchanges.set(msg.id, ex)
      const { method, path, headers } = msg.spec
      poolFor(msg.spec).dispatch({ method: method as Dispatcher.HttpMethod, path, headers }, ex)
      break
    }
    case 'cancel':
      // The main thread has ended the job with its own reason (deadline or shutdown) already.
      exchanges.get(msg.id)?.cancel('timeout')
      drop(msg.id)
      break
    case 'drop':
      drop(msg.id)
      break
    case 'forward': {
      // The comparison task, with the primary's body moved here by the main thread: add the
      // candidate's body and move both on. A body gone meanwhile makes the pair `skipped`.
      const h = release(msg.id)
      const task = msg.task
      if (h !== null) task.candidate.body = h.body
      else task.candidate.error = 'overloaded'
      const transfer = h === null ? msg.transfer : [...msg.transfer, h.body.buffer as ArrayBuffer]
      ports.get(msg.slot)?.postMessage({ id: msg.taskId, task }, transfer)
      // The buffer went with the task (detached here): nothing is kept of it.
      h?.capture.release()
      break
    }
    case 'port':
      ports.get(msg.slot)?.close()
      ports.set(msg.slot, msg.port)
      // The worker gives the candidate's body buffer back this way once it has compared it.
      msg.port.on('message', (buffer: ArrayBuffer) => buffers.give(buffer))
      break
  }
}

yieldToLivePath()
parentPort?.on('message', onRequest)
parentPort?.postMessage({ type: 'ready' })
setInterval(() => {
  const now = performance.now()
  for (const [id, h] of held) if (now - h.at > HELD_FOR_MS) drop(id)
}, 10_000).unref()
