/* Shapes shared by the mirror: decisions, captured responses, and the observer that app.ts wires to metrics. */
import { Pool } from 'undici'
import { upstreamConnector } from '../connector.ts'

/** Why a request was or was not mirrored; the `decision` label of paritygate_mirror_decisions_total. */
export type MirrorDecision = 'mirrored' | 'sampled_out' | 'unsafe_method' | 'body_too_large' | 'overloaded' | 'circuit_open' | 'disabled' | 'shutdown' | 'shadow'

/** Why a candidate exchange failed; the `reason` label of paritygate_candidate_errors_total. */
export type CandidateErrorReason = 'timeout' | 'connect' | 'reset' | 'parse' | 'too_large' | 'overloaded' | 'shutdown' | 'client_aborted' | 'other'

/**
 * Whether an answer has no body by definition, whatever its Content-Length says: the answer to a
 * HEAD, and 1xx, 204 and 304 answers (RFC 9110 §9.3.2, §15.3.5, §15.4.5). No capture buffer is
 * sized from their Content-Length.
 */
export function bodiless (head: boolean, status: number): boolean {
  return head || status < 200 || status === 204 || status === 304
}

/** Below this size a capture buffer comes from Node's shared allocation pool (Buffer.poolSize / 2). */
const POOLED_BELOW = Buffer.poolSize >>> 1
/** From this size on, capture buffers come in size classes and are recycled (CaptureBudget.take). */
export const RECYCLED_FROM = 64 * 1024
const MIB = 1024 * 1024

/** The capacity a capture of `size` bytes gets: `size` below RECYCLED_FROM, else the next of 2^k and 1.5 × 2^k. */
export function sizeClass (size: number): number {
  if (size < RECYCLED_FROM) return size
  let c = RECYCLED_FROM
  for (;;) {
    if (c >= size) return c
    if (c * 1.5 >= size) return c * 1.5
    c *= 2
  }
}

/**
 * Bytes held by captures in flight and waiting for comparison, under one cap for the process:
 * whatever candidates do, and however far comparison falls behind, captures cannot hold more.
 *
 * It also recycles the large capture buffers. Each mirrored 5 MB answer used to be a new 5 MB
 * ArrayBuffer for the primary's copy and another for the candidate's; V8 meets that much new
 * external memory with full GCs on the live path's thread (39 in 11 s instead of 6 in the
 * comparison benchmark). Buffers from RECYCLED_FROM up come in size classes, are moved to a
 * comparison worker and back with its answer, and wait here, up to `maxIdle` bytes, for the next
 * capture. (SharedArrayBuffers instead, shared rather than moved, measured worse: a capture then
 * holds its bytes until the worker is done, so later captures hit the budget and are cut off.)
 */
export class CaptureBudget {
  readonly max: number
  used: number
  /** idle recycled buffers kept at most, in bytes */
  readonly maxIdle: number
  idleBytes: number
  readonly #idle: Map<number, ArrayBuffer[]>

  /** @param maxIdle @default half of `max`, at most 32 MiB */
  constructor (max: number, maxIdle: number = Math.min(32 * MIB, Math.floor(max / 2))) {
    this.max = max
    this.used = 0
    this.maxIdle = maxIdle
    this.idleBytes = 0
    this.#idle = new Map()
  }

  reserve (n: number): boolean {
    if (this.used + n > this.max) return false
    this.used += n
    return true
  }

  release (n: number): void {
    this.used = Math.max(0, this.used - n)
  }

  /** A buffer of sizeClass(size) bytes (size ≥ RECYCLED_FROM), recycled when one is idle. Not reserved here. */
  take (size: number): Buffer {
    const cls = sizeClass(size)
    const idle = this.#idle.get(cls)?.pop()
    if (idle === undefined) return Buffer.allocUnsafeSlow(cls)
    this.idleBytes -= cls
    return Buffer.from(idle)
  }

  /** Keeps a capture buffer nobody reads any more for a later take(); ignores what it cannot reuse. */
  give (ab: ArrayBuffer): void {
    const n = ab.byteLength
    if (n < RECYCLED_FROM || sizeClass(n) !== n || this.idleBytes + n > this.maxIdle) return // detached (0), foreign, or enough kept
    let list = this.#idle.get(n)
    if (list === undefined) this.#idle.set(n, list = [])
    list.push(ab)
    this.idleBytes += n
  }
}

/**
 * One side's answer as captured for comparison: status, headers, and the body copied chunk by
 * chunk into one buffer of its own (grown by doubling, or sized from Content-Length). Copying as
 * the chunks arrive spreads the cost over the response instead of one concatenation at the end,
 * and a buffer of its own can be transferred to a comparison worker without another copy.
 */
export class CapturedResponse {
  status: number
  /** name, value, name, value… (names as received; compare lowercases) */
  headers: string[]
  bytes: number
  /** the body went over the capture cap or the budget: it is not kept, and cannot be compared */
  truncated: boolean
  durationMs: number
  /** null when the exchange completed; otherwise why it did not */
  error: string | null
  limit: number
  budget: CaptureBudget | null
  buf: Buffer | null
  reserved: number
  /** the announced Content-Length, or -1 */
  expected: number
  /** the body is not here but in the mirror's I/O thread, which hands it to the comparison itself */
  remote: RemoteHandle | null

  constructor (limit = Infinity, budget: CaptureBudget | null = null) {
    this.status = 0
    this.headers = []
    this.bytes = 0
    this.truncated = false
    this.durationMs = 0
    this.error = null
    this.limit = limit
    this.budget = budget
    this.buf = null
    this.reserved = 0
    this.expected = -1
    this.remote = null
  }

  /**
   * Status and raw headers of an upstream answer (names lowercased, values as received); the body
   * buffer is sized from Content-Length, unless the answer has no body by definition (`head`: the
   * request was a HEAD; or a 204 or 304: see bodiless()). The same on the main thread and in the
   * I/O thread.
   */
  takeHeaders (status: number, raw: Buffer[], head = false): void {
    this.status = status
    let length = -1
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i].toString('latin1').toLowerCase()
      const value = raw[i + 1].toString('latin1')
      this.headers.push(name, value)
      if (name === 'content-length') length = Number(value)
    }
    if (bodiless(head, status)) this.expect(0)
    else if (length !== -1) this.expect(length)
  }

  /** Sizes the buffer for a body of `n` bytes (from Content-Length) before it arrives. */
  expect (n: number): void {
    this.expected = n
    if (n > 0 && n <= this.limit && this.buf === null && !this.truncated) this.#grow(n)
  }

  /** Copies a chunk in; false once the body is over the limit or the budget (then nothing is kept). */
  append (chunk: Buffer): boolean {
    if (this.truncated) return false
    const need = this.bytes + chunk.length
    if (need > this.limit || (need > (this.buf?.length ?? 0) && !this.#grow(Math.min(this.limit, Math.max(need, 2 * (this.buf?.length ?? 512)))))) {
      this.abandon()
      return false
    }
    ;(this.buf as Buffer).set(chunk, this.bytes)
    this.bytes = need
    return true
  }

  #grow (size: number): boolean {
    const capacity = sizeClass(size)
    const extra = capacity - (this.buf?.length ?? 0)
    if (this.budget !== null && !this.budget.reserve(extra)) return false
    this.reserved += extra
    // Small bodies (the common case) come from Node's shared pool: a buffer of its own per capture
    // costs an ArrayBuffer allocation and a finaliser each, which showed as GC in the live p99.
    // Large ones get their own (recycled through the budget), so that they can be moved to a worker.
    const next = size < POOLED_BELOW
      ? Buffer.allocUnsafe(size)
      : size >= RECYCLED_FROM && this.budget !== null ? this.budget.take(size) : Buffer.allocUnsafeSlow(capacity)
    if (this.buf !== null) {
      this.buf.copy(next, 0, 0, this.bytes)
      this.#recycle()
    }
    this.buf = next
    return true
  }

  /** Hands a large buffer of its own back to the budget for reuse (never a slice of Node's pool). */
  #recycle (): void {
    const buf = this.buf
    if (buf !== null && buf.length >= RECYCLED_FROM && buf.byteOffset === 0 && buf.buffer.byteLength === buf.length) this.budget?.give(buf.buffer as ArrayBuffer)
  }

  /** Stops capturing: nothing more is kept, and the bytes go back to the budget. */
  abandon (): void {
    this.truncated = true
    this.release()
  }

  /** The body (a view, no copy). */
  body (): Buffer {
    return this.buf === null ? Buffer.alloc(0) : this.buf.subarray(0, this.bytes)
  }

  /** The buffer the body lives in, owned by this capture alone: safe to transfer to a worker. */
  transferable (): ArrayBuffer | null {
    const buf = this.buf
    if (buf === null || this.bytes === 0 || buf.byteOffset !== 0 || buf.buffer.byteLength !== buf.length) return null
    return buf.buffer as ArrayBuffer
  }

  /**
   * Gives the bytes back to the budget and drops the buffer, which the budget may hand to a later
   * capture: call it only once nothing reads body() any more (or the buffer went to a worker).
   */
  release (): void {
    if (this.reserved > 0) this.budget?.release(this.reserved)
    this.reserved = 0
    this.#recycle()
    this.buf = null
  }

  /** The first value of a header (name lowercased), or undefined. */
  header (name: string): string | undefined {
    for (let i = 0; i < this.headers.length; i += 2) if (this.headers[i].toLowerCase() === name) return this.headers[i + 1]
    return undefined
  }
}

/** A primary answer and a candidate answer to the same request, handed on once both are complete. */
export class MirrorPair {
  requestId: string
  route: string
  method: string
  path: string
  primary: CapturedResponse
  candidate: CapturedResponse
  /** a second answer of the primary (or of noise.secondary) to learn noise from, or null */
  secondary: CapturedResponse | null

  constructor (requestId: string, route: string, method: string, path: string, primary: CapturedResponse, candidate: CapturedResponse, secondary: CapturedResponse | null) {
    this.requestId = requestId
    this.route = route
    this.method = method
    this.path = path
    this.primary = primary
    this.candidate = candidate
    this.secondary = secondary
  }

  /** Returns the captured bytes to the budget: after comparison, or once handed to a worker. */
  release (): void {
    this.primary.release()
    this.candidate.release()
    this.secondary?.release()
  }

  /** Takes back the buffers a comparison worker returns (they were this pair's, moved there). */
  recycle (buffers: readonly ArrayBuffer[]): void {
    const budget = this.primary.budget
    if (budget !== null) for (const b of buffers) budget.give(b)
  }
}

/** How paritygate connects to the candidate, on the main thread and in the I/O thread alike. */
export interface CandidatePoolSettings {
  connections: number
  connectTimeoutMs: number
  maxHeaderSize: number
}

/**
 * The candidate's connection pool. undici's headers and body timeouts are off: the job's own
 * deadline covers both (see src/deadlines.ts). A candidate's misbehaviour is counted by the job;
 * the pool's own events must not throw.
 */
export function candidatePool (origin: string, s: CandidatePoolSettings): Pool {
  const pool = new Pool(origin, {
    connections: s.connections,
    pipelining: 1,
    headersTimeout: 0,
    bodyTimeout: 0,
    connect: upstreamConnector(s.connectTimeoutMs),
    maxHeaderSize: s.maxHeaderSize,
    keepAliveTimeout: 4_000
  })
  pool.on('connectionError', () => {})
  return pool
}

/**
 * Candidate bodies announced this large or larger are shed at their headers when the comparison
 * queue has no room for the pair (on the live path's thread and in the I/O thread alike).
 */
export const SHED_FROM = 64 * 1024

/** A candidate exchange run by the mirror's I/O thread (compare/io-worker.ts) rather than on the live path's thread. */
export interface FetchSpec extends CandidatePoolSettings {
  origin: string
  method: string
  path: string
  headers: string[]
  /** candidate.maxResponseBytes: a longer body is cut off as `too_large` */
  maxBytes: number
}

/** How an offloaded exchange ended; its body, if any, stays in the I/O thread until compared or dropped. */
export interface FetchDone {
  type: 'done'
  id: number
  status: number
  /** lowercased name, value, … */
  headers: string[]
  bytes: number
  error: CandidateErrorReason | null
  durationMs: number
}

/** The mirror's handle on an offloaded exchange and the body the I/O thread holds for it. */
export interface RemoteHandle {
  /** cuts the exchange short, or drops the body already received */
  cancel: () => void
  /** the pair will not be compared: frees the body */
  drop: () => void
}

/**
 * What the mirror reports, implemented by app.ts (metrics now, comparison later). A typed
 * observer rather than diagnostics_channel: the same one-way dependency (mirror/ imports no
 * stats), without an event object allocated per request.
 */
export interface MirrorObserver {
  decision: (route: string, decision: MirrorDecision) => void
  /** one finished candidate exchange: status 0 with a reason when it failed */
  candidate: (route: string, method: string, status: number, seconds: number, reason: CandidateErrorReason | null) => void
  inflight: (count: number) => void
  /** both answers complete; called from setImmediate, off the live path */
  pair: (pair: MirrorPair) => void
  /** whether the comparison would take a pair of about `bytes` now (asked when the candidate announces a large body) */
  room: (bytes: number) => boolean
  /**
   * Runs a candidate exchange in the I/O thread; `onDone` is called once, when it ends. Null
   * when there is no such thread (compare.workers 0).
   */
  fetch: (route: string, spec: FetchSpec, onDone: (done: FetchDone) => void) => RemoteHandle | null
}
