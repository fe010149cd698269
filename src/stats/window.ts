/* Rolling window of comparison outcomes and mirror counts per route: a ring of time buckets, O(1) to record. */

/** Outcomes of one comparison (docs/gate.md). */
export const OUTCOMES = ['match', 'mismatch', 'noise', 'error', 'skipped'] as const
export type Outcome = typeof OUTCOMES[number]

/**
 * Everything the window counts: the comparison outcomes, plus
 * `dropped` (a mirror that was wanted but not sent: overloaded, circuit_open, body_too_large, ...),
 * `mirrored` (a request sent to the candidate), `errors` (a candidate request that failed,
 * timed out or was cut off) and `serverErrors` (a candidate answer 5xx where the primary's was
 * not). The gate's error check is `(errors + serverErrors) / mirrored`.
 */
export const COUNTERS = [...OUTCOMES, 'dropped', 'mirrored', 'errors', 'serverErrors'] as const
export type Counter = typeof COUNTERS[number]

/** Counts summed over a window, one field per {@link Counter}. */
export type WindowCounts = Record<Counter, number>

/** Route name that collects every route beyond `maxRoutes`. */
export const OTHER_ROUTE = 'other'

export interface RollingWindowOptions<C extends string = Counter> {
  /** Width of one time bucket in ms; a window is a whole number of buckets. @default 10_000 */
  bucketMs?: number
  /** Longest window that can be queried, in ms; sizes the ring. @default 3_600_000 (1 h) */
  maxWindowMs?: number
  /** Distinct route names kept; further routes are counted as `other`. @default 100 */
  maxRoutes?: number
  /** Clock in ms since the epoch, injectable for tests. @default Date.now */
  now?: () => number
  /** What is counted (the mirror decisions keep a window of their own). @default COUNTERS */
  counters?: readonly C[]
}

/** Most points of a {@link RollingWindow.series} (longer windows sum neighbouring buckets into one point). */
export const MAX_SERIES_POINTS = 360

/** Counts per time bucket, oldest first: `start` is the first point's start (ms since the epoch), each point covers `stepMs`. */
export interface WindowSeries {
  start: number
  stepMs: number
  counts: Record<string, number[]>
}
const TOTAL_ROW = 0
const OTHER_ROW = 1
const FIRST_ROUTE_ROW = 2

/** A fresh all-zero {@link WindowCounts}. */
export function emptyCounts (): WindowCounts {
  return { match: 0, mismatch: 0, noise: 0, error: 0, skipped: 0, dropped: 0, mirrored: 0, errors: 0, serverErrors: 0 }
}

function positiveInteger (name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new TypeError(`RollingWindow: ${name} must be a positive integer, got ${value}`)
  }
  return value
}

/**
 * Counts per route and overall over a sliding time window.
 *
 * Time is cut into buckets of `bucketMs`; bucket `k` holds events with `floor(t / bucketMs) === k`,
 * stored in ring slot `k % slots`. A slot is recycled (zeroed and relabelled) when a later bucket
 * claims it, so there is no timer and recording is O(1). A query for `windowMs` sums the current
 * bucket and the `ceil(windowMs / bucketMs) - 1` before it: it never counts an event older than
 * `windowMs` (when `windowMs` is a multiple of `bucketMs`) and may leave out up to one bucket of
 * the oldest events.
 *
 * Memory: one `Float64Array` of `(maxRoutes + 2) * 9` numbers per touched slot, allocated on
 * first use (about 7.3 KB with the defaults, at most 360 slots: about 2.6 MB).
 */
export class RollingWindow<C extends string = Counter> {
  readonly bucketMs: number
  readonly maxWindowMs: number
  readonly maxRoutes: number
  readonly counters: readonly C[]
  #now: () => number
  #slots: number
  #fields: number
  #index: ReadonlyMap<string, number>
  #epochs: Float64Array
  #buckets: Array<Float64Array | null>
  #routeRows: Map<string, number>
  #otherUsed: boolean

  /**
   * @param options see {@link RollingWindowOptions}
   * @throws {TypeError} when an option is not a positive integer
   */
  constructor (options: RollingWindowOptions<C> = {}) {
    this.bucketMs = positiveInteger('bucketMs', options.bucketMs ?? 10_000)
    this.maxWindowMs = positiveInteger('maxWindowMs', options.maxWindowMs ?? 3_600_000)
    this.maxRoutes = positiveInteger('maxRoutes', options.maxRoutes ?? 100)
    this.counters = options.counters ?? (COUNTERS as readonly string[] as readonly C[])
    this.#fields = this.counters.length
    this.#index = new Map(this.counters.map((name, i) => [name, i]))
    this.#now = options.now ?? Date.now
    this.#slots = Math.ceil(this.maxWindowMs / this.bucketMs)
    this.#epochs = new Float64Array(this.#slots).fill(-1)
    this.#buckets = new Array<Float64Array | null>(this.#slots).fill(null)
    this.#routeRows = new Map()
    this.#otherUsed = false
  }

  /**
   * Count one event for a route (and overall).
   * @param route bounded route name; beyond `maxRoutes` distinct names it is counted as `other`
   * @param kind which counter to increment
   * @param now event time in ms since the epoch
   * @default now the clock given to the constructor
   */
  record (route: string, kind: C, now: number = this.#now()): void {
    this.add(route, kind, 1, now)
  }

  /**
   * Count `count` events of one kind for a route (and overall). Events older than the ring
   * (or than a newer bucket already holding their slot) are ignored.
   * @param route bounded route name
   * @param kind which counter to increase
   * @param count how many events (a non-negative number; 0 is a no-op)
   * @param now event time in ms since the epoch
   * @default now the clock given to the constructor
   */
  add (route: string, kind: C, count: number, now: number = this.#now()): void {
    const field = this.#index.get(kind)
    if (field === undefined) throw new TypeError(`RollingWindow: unknown counter ${String(kind)}`)
    if (!(count > 0)) return
    const bucket = this.#bucketFor(Math.floor(now / this.bucketMs))
    if (bucket === null) return
    const row = this.#rowFor(route)
    bucket[TOTAL_ROW * this.#fields + field] += count
    bucket[row * this.#fields + field] += count
  }

  /**
   * Sum the counts of the last `windowMs` for one route, or overall.
   * @param windowMs window length in ms, 0 < windowMs <= maxWindowMs
   * @param route route name; `null`/`undefined` means every route. A route never seen gives zeros.
   * @default route undefined (overall)
   * @throws {RangeError} when windowMs is out of range
   */
  snapshot (windowMs: number, route?: string | null): Record<C, number> {
    const n = this.#windowBuckets(windowMs)
    const counts = Object.fromEntries(this.counters.map((c) => [c, 0])) as Record<C, number>
    const row = this.#row(route)
    if (row < 0) return counts
    const current = Math.floor(this.#now() / this.bucketMs)
    for (let i = 0; i < this.#slots; i++) {
      const epoch = this.#epochs[i]
      const bucket = this.#buckets[i]
      if (bucket === null || epoch > current || epoch <= current - n) continue
      const base = row * this.#fields
      for (let f = 0; f < this.#fields; f++) counts[this.counters[f]] += bucket[base + f]
    }
    return counts
  }

  /**
   * The counts of the last `windowMs` bucket by bucket, oldest first, for one route or overall:
   * at most {@link MAX_SERIES_POINTS} points (a longer window sums neighbouring buckets).
   * @throws {RangeError} when windowMs is out of range
   */
  series (windowMs: number, route?: string | null): WindowSeries {
    const n = this.#windowBuckets(windowMs)
    const group = Math.ceil(n / MAX_SERIES_POINTS)
    const points = Math.ceil(n / group)
    const current = Math.floor(this.#now() / this.bucketMs)
    const first = current - points * group + 1
    const counts: Record<string, number[]> = {}
    for (const c of this.counters) counts[c] = new Array<number>(points).fill(0)
    const row = this.#row(route)
    if (row >= 0) {
      for (let i = 0; i < this.#slots; i++) {
        const epoch = this.#epochs[i]
        const bucket = this.#buckets[i]
        if (bucket === null || epoch > current || epoch < first) continue
        const p = Math.floor((epoch - first) / group)
        const base = row * this.#fields
        for (let f = 0; f < this.#fields; f++) counts[this.counters[f]][p] += bucket[base + f]
      }
    }
    return { start: first * this.bucketMs, stepMs: group * this.bucketMs, counts }
  }

  /** The row of a route (the total row for none), -1 for a route never seen. */
  #row (route: string | null | undefined): number {
    return route == null ? TOTAL_ROW : this.#routeRows.get(route) ?? (route === OTHER_ROUTE ? OTHER_ROW : -1)
  }

  /** Route names seen since the last reset, in first-seen order (`other` included once used). */
  routes (): string[] {
    const names = [...this.#routeRows.keys()]
    if (this.#otherUsed) names.push(OTHER_ROUTE)
    return names
  }

  /** Forget every count and route name: start a fresh window (for a new candidate version). */
  reset (): void {
    this.#epochs.fill(-1)
    for (const bucket of this.#buckets) bucket?.fill(0)
    this.#routeRows.clear()
    this.#otherUsed = false
  }

  #windowBuckets (windowMs: number): number {
    if (!(windowMs > 0 && windowMs <= this.maxWindowMs)) {
      throw new RangeError(`RollingWindow: windowMs must be in (0, ${this.maxWindowMs}], got ${windowMs}`)
    }
    return Math.ceil(windowMs / this.bucketMs)
  }

  #bucketFor (epoch: number): Float64Array | null {
    if (!(epoch >= 0)) return null // NaN or before 1970: not a usable time
    const slot = epoch % this.#slots
    const held = this.#epochs[slot]
    if (held > epoch) return null // a newer bucket owns the slot: this event is too old to keep
    let bucket = this.#buckets[slot]
    if (bucket === null) {
      bucket = new Float64Array((this.maxRoutes + FIRST_ROUTE_ROW) * this.#fields)
      this.#buckets[slot] = bucket
    } else if (held !== epoch) {
      bucket.fill(0)
    }
    this.#epochs[slot] = epoch
    return bucket
  }

  #rowFor (route: string): number {
    const known = this.#routeRows.get(route)
    if (known !== undefined) return known
    if (this.#routeRows.size >= this.maxRoutes || route === OTHER_ROUTE) {
      this.#otherUsed = true
      return OTHER_ROW
    }
    const row = this.#routeRows.size + FIRST_ROUTE_ROW
    this.#routeRows.set(route, row)
    return row
  }
}
