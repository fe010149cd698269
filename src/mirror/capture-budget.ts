/* The one cap on captured bytes for the process, and the size classes its recycled buffers come in. */

/** Below this size a capture buffer comes from Node's shared allocation pool (Buffer.poolSize / 2). */
export const POOLED_BELOW = Buffer.poolSize >>> 1
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
 * It also recycles the large capture buffers: V8 meets much new external memory with full GCs on
 * the live path's thread. Buffers from RECYCLED_FROM up come in size classes, are moved (not
 * shared: a shared one holds its bytes until the worker is done) to a comparison worker and back
 * with its answer, and wait here, up to `maxIdle` bytes, for the next capture.
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
 * Candidate bodies announced this large or larger are shed at their headers when the comparison
 * queue has no room for the pair (on the live path's thread and in the I/O thread alike).
 */
export const SHED_FROM = 64 * 1024
