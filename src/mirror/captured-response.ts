/* One side's captured answer, and the pair of them the mirror hands to the comparison. */
import { type RemoteBody } from './io-thread.ts'
import { POOLED_BELOW, RECYCLED_FROM, sizeClass, type CaptureBudget } from './capture-budget.ts'

/**
 * Whether an answer has no body by definition, whatever its Content-Length says: the answer to a
 * HEAD, and 1xx, 204 and 304 answers (RFC 9110 §9.3.2, §15.3.5, §15.4.5). No capture buffer is
 * sized from their Content-Length.
 */
export function bodiless (head: boolean, status: number): boolean {
  return head || status < 200 || status === 204 || status === 304
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
  remote: RemoteBody | null

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
  takeHeaders (status: number, raw: ReadonlyArray<Buffer | string>, head = false): void {
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
    // costs an ArrayBuffer allocation and a finaliser each: GC work on the live path.
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
  /** other noise baselines of the route were still out when this pair was ready */
  moreBaselines: boolean

  constructor (requestId: string, route: string, method: string, path: string, primary: CapturedResponse, candidate: CapturedResponse, secondary: CapturedResponse | null) {
    this.requestId = requestId
    this.route = route
    this.method = method
    this.path = path
    this.primary = primary
    this.candidate = candidate
    this.secondary = secondary
    this.moreBaselines = false
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
