/*
 * The mirror's I/O thread: receives the candidate's answers on routes whose answers are large
 * (mirror.offloadFromBytes), so that their bytes never pass through the event loop that serves
 * users, and hands each body straight to a comparison worker over a port of its own.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads'
import { type Dispatcher, type Pool } from 'undici'
import { candidateErrorReason, MirrorAbort } from '../mirror/errors.ts'
import { candidatePool, readHeaders, RECYCLED_FROM, SHED_FROM, sizeClass, type CandidateErrorReason, type FetchDone, type FetchSpec } from '../mirror/types.ts'
import { type AnalyzeTask } from './analyze.ts'
import { yieldToLivePath } from './priority.ts'

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
const held = new Map<number, { body: Buffer, at: number }>()
const ports = new Map<number, MessagePort>()
/** Body buffers the comparison workers gave back, for the next answers: a few, never more. */
const idle: ArrayBuffer[] = []
const MAX_IDLE = 2
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

/** One candidate exchange (undici's callback API), its body copied into one buffer of its own. */
class Exchange implements Dispatcher.DispatchHandler {
  id: number
  spec: FetchSpec
  startedAt: number
  abort: ((err?: Error) => void) | null
  reason: CandidateErrorReason | null
  status: number
  headers: string[]
  buf: Buffer | null
  bytes: number
  done: boolean

  constructor (id: number, spec: FetchSpec) {
    this.id = id
    this.spec = spec
    this.startedAt = performance.now()
    this.abort = null
    this.reason = null
    this.status = 0
    this.headers = []
    this.buf = null
    this.bytes = 0
    this.done = false
  }

  cancel (reason: CandidateErrorReason): void {
    if (this.done) return
    this.reason = reason
    this.abort?.(new MirrorAbort(reason))
  }

  /** Room for `need` bytes (≤ maxBytes, for which the main thread reserved capture budget): an idle buffer when one is large enough, else one of the next size class. */
  #grow (need: number): void {
    const have = this.buf?.length ?? 0
    const capacity = sizeClass(Math.max(need, Math.min(this.spec.maxBytes, 2 * have)))
    const i = idle.findIndex((ab) => ab.byteLength >= capacity)
    const next = i === -1 ? Buffer.allocUnsafeSlow(capacity) : Buffer.from(idle.splice(i, 1)[0])
    if (this.buf !== null) {
      this.buf.copy(next, 0, 0, this.bytes)
      keep(this.buf.buffer as ArrayBuffer)
    }
    this.buf = next
  }

  onConnect (abort: (err?: Error) => void): void {
    this.abort = abort
    if (this.reason !== null) abort(new MirrorAbort(this.reason))
  }

  onHeaders (status: number, raw: Buffer[]): boolean {
    if (status < 200) return true
    this.status = status
    const length = readHeaders(raw, this.headers)
    if (length > this.spec.maxBytes) { this.cancel('too_large'); return false }
    // The comparison would skip the pair: its body is not worth receiving, even at idle priority.
    if (length >= SHED_FROM && !hasRoom(2 * length)) { this.cancel('overloaded'); return false }
    if (length > 0) this.#grow(length)
    return true
  }

  onData (chunk: Buffer): boolean {
    const need = this.bytes + chunk.length
    if (need > this.spec.maxBytes) { this.cancel('too_large'); return false }
    if (need > (this.buf?.length ?? 0)) this.#grow(need)
    ;(this.buf as Buffer).set(chunk, this.bytes)
    this.bytes = need
    return true
  }

  onComplete (): void { this.#finish(null) }
  onError (err: Error): void { this.#finish(this.reason ?? candidateErrorReason(err)) }

  #finish (error: CandidateErrorReason | null): void {
    if (this.done) return
    this.done = true
    exchanges.delete(this.id)
    if (this.buf !== null) {
      if (error === null) held.set(this.id, { body: this.buf.subarray(0, this.bytes), at: performance.now() })
      else keep(this.buf.buffer as ArrayBuffer)
    }
    const msg: FetchDone = { type: 'done', id: this.id, status: error === null ? this.status : 0, headers: this.headers, bytes: this.bytes, error, durationMs: performance.now() - this.startedAt }
    parentPort?.postMessage(msg)
  }
}

/** Keeps a large body buffer nobody reads any more for a later answer, if there is room among the idle ones. */
function keep (buffer: ArrayBuffer): void {
  if (idle.length < MAX_IDLE && buffer.byteLength >= RECYCLED_FROM) idle.push(buffer)
}

function release (id: number): Buffer | null {
  const h = held.get(id)
  if (h === undefined) return null
  held.delete(id)
  return h.body
}

/** Frees a held body (the pair will not be compared): its buffer serves a later answer. */
function drop (id: number): void {
  const body = release(id)
  if (body !== null) keep(body.buffer as ArrayBuffer)
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
      const body = release(msg.id)
      const task = msg.task
      if (body !== null) task.candidate.body = body
      else task.candidate.error = 'overloaded'
      const transfer = body === null ? msg.transfer : [...msg.transfer, body.buffer as ArrayBuffer]
      ports.get(msg.slot)?.postMessage({ id: msg.taskId, task }, transfer)
      break
    }
    case 'port':
      ports.get(msg.slot)?.close()
      ports.set(msg.slot, msg.port)
      // The worker gives the candidate's body buffer back this way once it has compared it.
      msg.port.on('message', (buffer: ArrayBuffer) => keep(buffer))
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
