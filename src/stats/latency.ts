/* Rolling latency histograms (HDR, µs) per route and target, merged over a window at query time. */
import * as hdr from 'hdr-histogram-js'

/** Which upstream a latency belongs to. */
export type Target = 'primary' | 'candidate'

/** Percentiles of one merged window, in ms (µs resolution, 3 significant digits). */
export interface LatencyPercentiles {
  count: number
  p50Ms: number
  p95Ms: number
  p99Ms: number
}

/** Values at arbitrary percentiles of one merged window. */
export interface LatencyValues {
  count: number
  /** One value in ms per requested percentile, in the same order. */
  valuesMs: number[]
}

export interface LatencyHistogramsOptions {
  /** Width of one time bucket in ms; coarser than the count window's to bound memory. @default 30_000 */
  bucketMs?: number
  /** Longest window that can be queried, in ms; sizes the ring. @default 3_600_000 (1 h) */
  maxWindowMs?: number
  /** Distinct route names kept; further routes are recorded as `other`. @default 100 */
  maxRoutes?: number
  /** Clock in ms since the epoch, injectable for tests. @default Date.now */
  now?: () => number
}

/** Highest latency kept, in µs (60 s); larger values are recorded as 60 s. */
export const HIGHEST_TRACKABLE_MICROS = 60_000_000
const OTHER_ROUTE = 'other'
const ALL_ROUTES = '\0*'

function buildHistogram (): hdr.JsHistogram {
  // House settings (1 µs to 60 s, 3 significant digits). 32-bit counts: the same layout for every histogram lets
  // add() copy arrays directly (about 60 µs) and no count can overflow within a bucket.
  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_TRACKABLE_MICROS,
    numberOfSignificantValueDigits: 3,
    bitBucketSize: 32,
    useWebAssembly: false
  })
  /* c8 ignore next */
  if (!(histogram instanceof hdr.JsHistogram)) throw new TypeError('hdr-histogram-js: expected a JS histogram')
  histogram.autoResize = false // values are clamped, so the layout (and memory) never changes
  return histogram
}

/**
 * A closed bucket: the non-zero cells of a histogram as (counts index, count) pairs. Merging
 * adds them straight into the counts array with `addToCountAtIndex` (public on `JsHistogram`),
 * which is valid because every histogram here has the same layout: same build settings and
 * `autoResize` off. Recycled in place: the array only grows, so a steady load allocates nothing.
 */
class FrozenBucket {
  epoch: number
  length: number
  total: number
  pairs: Uint32Array

  constructor () {
    this.epoch = -1
    this.length = 0
    this.total = 0
    this.pairs = new Uint32Array(0)
  }

  freeze (epoch: number, histogram: hdr.JsHistogram): void {
    this.epoch = epoch
    this.length = 0
    this.total = histogram.totalCount
    const last = Math.min(histogram.countsArrayIndex(histogram.maxValue), histogram.countsArrayLength - 1)
    for (let i = 0; i <= last; i++) {
      const count = histogram.getCountAtIndex(i)
      if (count === 0) continue
      if (this.length * 2 === this.pairs.length) this.#grow(histogram.countsArrayLength * 2)
      this.pairs[this.length * 2] = i
      this.pairs[this.length * 2 + 1] = count
      this.length++
    }
  }

  addTo (histogram: hdr.JsHistogram): void {
    if (this.length === 0) return
    const pairs = this.pairs
    for (let i = 0; i < this.length; i++) histogram.addToCountAtIndex(pairs[i * 2], pairs[i * 2 + 1])
    histogram.addToTotalCount(this.total)
    histogram.updateMinAndMax(histogram.valueFromIndex(pairs[0]))
    histogram.updateMinAndMax(histogram.valueFromIndex(pairs[(this.length - 1) * 2]))
  }

  #grow (most: number): void {
    const bigger = new Uint32Array(Math.min(most, Math.max(64, this.pairs.length * 2)))
    bigger.set(this.pairs)
    this.pairs = bigger
  }
}

/** The rolling record of one (route, target): the open bucket as a histogram, closed ones frozen. */
class Series {
  hotEpoch: number
  hot: hdr.JsHistogram
  frozen: FrozenBucket[]

  constructor (slots: number) {
    this.hotEpoch = -1
    this.hot = buildHistogram()
    this.frozen = Array.from({ length: slots }, () => new FrozenBucket())
  }

  record (epoch: number, micros: number): void {
    // A late sample (the clock stepped back) goes into the open bucket rather than a frozen one.
    if (epoch > this.hotEpoch) this.roll(epoch)
    this.hot.recordValue(micros)
  }

  roll (epoch: number): void {
    if (this.hotEpoch >= 0) this.frozen[this.hotEpoch % this.frozen.length].freeze(this.hotEpoch, this.hot)
    this.hot.reset()
    this.hotEpoch = epoch
  }

  addTo (histogram: hdr.JsHistogram, current: number, n: number): void {
    const oldest = current - n
    if (this.hotEpoch > oldest && this.hotEpoch <= current && this.hot.totalCount > 0) histogram.add(this.hot)
    for (const bucket of this.frozen) {
      if (bucket.epoch > oldest && bucket.epoch <= current) bucket.addTo(histogram)
    }
  }
}

function positiveInteger (name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new TypeError(`LatencyHistograms: ${name} must be a positive integer, got ${value}`)
  }
  return value
}

const toMs = (micros: number): number => micros / 1000

/**
 * Latency histograms per route and target over a sliding window.
 *
 * Why this layout: a full Int32 histogram per bucket is too large (70.7 KB whatever it holds) and
 * a packed one too slow to merge for a 1 h query (the measurements: bench/JOURNAL.md). So each
 * (route, target) keeps ONE open Int32 histogram for the current bucket (built once, `reset()`
 * and reused at every bucket boundary), and freezes each closed bucket into a `Uint32Array` of
 * (index, count) pairs, 8 bytes per distinct value (about 16.7 KB for 3,000 samples, at most
 * 139 KB), recycled in place when the ring wraps. A query adds the frozen pairs and the open
 * histogram into one scratch histogram owned by this object (no garbage per query). Every sample
 * is also recorded in an all-routes series, so an overall query merges one series, not every route.
 * Memory: 70.7 KB scratch + per (route, target) in use, and for all routes: 70.7 KB +
 * frozen buckets as above. With 10 routes at 100 rps each: 22 series x (70.7 KB + 120 x 16.7 KB)
 * ≈ 45 MB at most; lower `maxWindowMs` or `maxRoutes`, or raise `bucketMs`, to shrink it.
 * Windows cover whole buckets as in `RollingWindow`: the current bucket and the
 * `ceil(windowMs / bucketMs) - 1` before it.
 */
export class LatencyHistograms {
  readonly bucketMs: number
  readonly maxWindowMs: number
  readonly maxRoutes: number
  #now: () => number
  #slots: number
  #primary: Map<string, Series>
  #candidate: Map<string, Series>
  #routes: Set<string>
  #scratch: hdr.JsHistogram

  /**
   * @param options see {@link LatencyHistogramsOptions}
   * @throws {TypeError} when an option is not a positive integer
   */
  constructor (options: LatencyHistogramsOptions = {}) {
    this.bucketMs = positiveInteger('bucketMs', options.bucketMs ?? 30_000)
    this.maxWindowMs = positiveInteger('maxWindowMs', options.maxWindowMs ?? 3_600_000)
    this.maxRoutes = positiveInteger('maxRoutes', options.maxRoutes ?? 100)
    this.#now = options.now ?? Date.now
    this.#slots = Math.ceil(this.maxWindowMs / this.bucketMs)
    this.#primary = new Map()
    this.#candidate = new Map()
    this.#routes = new Set()
    this.#scratch = buildHistogram()
  }

  /**
   * Record one latency.
   * @param route bounded route name; beyond `maxRoutes` distinct names it is recorded as `other`
   * @param target `primary` or `candidate`
   * @param micros latency in µs; rounded, and clamped to [0, 60 s]. NaN and negatives are ignored.
   */
  record (route: string, target: Target, micros: number): void {
    if (!(micros >= 0)) return
    const value = Math.min(Math.round(micros), HIGHEST_TRACKABLE_MICROS)
    const epoch = Math.floor(this.#now() / this.bucketMs)
    if (!(epoch >= 0)) return
    const byRoute = this.#byTarget(target)
    if (byRoute === undefined) throw new TypeError(`LatencyHistograms: unknown target ${String(target)}`)
    this.#seriesIn(byRoute, this.#routeName(route)).record(epoch, value)
    this.#seriesIn(byRoute, ALL_ROUTES).record(epoch, value)
  }

  /**
   * p50, p95 and p99 of one target over the last `windowMs`, for one route or overall.
   * @param windowMs window length in ms, 0 < windowMs <= maxWindowMs
   * @param route route name; `null`/`undefined` means every route
   * @param target `primary` or `candidate`
   * @returns `{ count, p50Ms, p95Ms, p99Ms }`, all 0 when nothing was recorded
   * @throws {RangeError} when windowMs is out of range
   */
  percentiles (windowMs: number, route: string | null | undefined, target: Target): LatencyPercentiles {
    const histogram = this.#merge(windowMs, route, target)
    return {
      count: histogram.totalCount,
      p50Ms: toMs(histogram.getValueAtPercentile(50)),
      p95Ms: toMs(histogram.getValueAtPercentile(95)),
      p99Ms: toMs(histogram.getValueAtPercentile(99))
    }
  }

  /**
   * Values at any percentiles (0-100) of one target over the last `windowMs`, from one merge.
   * Used by the gate for p95 and its confidence bounds, which depend on the sample count.
   * @param windowMs window length in ms, 0 < windowMs <= maxWindowMs
   * @param route route name; `null`/`undefined` means every route
   * @param target `primary` or `candidate`
   * @param percentiles percentiles in [0, 100], or a function of the window's sample count giving them
   * @throws {RangeError} when windowMs is out of range
   */
  valuesAt (
    windowMs: number,
    route: string | null | undefined,
    target: Target,
    percentiles: readonly number[] | ((count: number) => readonly number[])
  ): LatencyValues {
    const histogram = this.#merge(windowMs, route, target)
    const count = histogram.totalCount
    const wanted = typeof percentiles === 'function' ? percentiles(count) : percentiles
    return { count, valuesMs: wanted.map((p) => toMs(histogram.getValueAtPercentile(p))) }
  }

  /**
   * p50, p95 and p99 of one target bucket by bucket over the last `windowMs`, oldest first, for
   * one route or overall: at most `maxPoints` points (a longer window merges neighbouring buckets).
   * @throws {RangeError} when windowMs is out of range
   */
  series (windowMs: number, route: string | null | undefined, target: Target, maxPoints = 360): { start: number, stepMs: number, count: number[], p50Ms: number[], p95Ms: number[], p99Ms: number[] } {
    if (!(windowMs > 0 && windowMs <= this.maxWindowMs)) {
      throw new RangeError(`LatencyHistograms: windowMs must be in (0, ${this.maxWindowMs}], got ${windowMs}`)
    }
    const n = Math.ceil(windowMs / this.bucketMs)
    const group = Math.ceil(n / maxPoints)
    const points = Math.ceil(n / group)
    const current = Math.floor(this.#now() / this.bucketMs)
    const first = current - points * group + 1
    const out = { start: first * this.bucketMs, stepMs: group * this.bucketMs, count: [] as number[], p50Ms: [] as number[], p95Ms: [] as number[], p99Ms: [] as number[] }
    const key = route == null ? ALL_ROUTES : route
    const series = key !== ALL_ROUTES && !this.#routes.has(key) ? undefined : this.#byTarget(target)?.get(key)
    const scratch = this.#scratch
    for (let p = 0; p < points; p++) {
      scratch.reset()
      series?.addTo(scratch, first + (p + 1) * group - 1, group)
      const count = scratch.totalCount
      out.count.push(count)
      out.p50Ms.push(count === 0 ? 0 : toMs(scratch.getValueAtPercentile(50)))
      out.p95Ms.push(count === 0 ? 0 : toMs(scratch.getValueAtPercentile(95)))
      out.p99Ms.push(count === 0 ? 0 : toMs(scratch.getValueAtPercentile(99)))
    }
    return out
  }

  /** Route names seen since the last reset (`other` included once used). */
  routes (): string[] {
    return [...this.#routes]
  }

  /** Forget every latency: start a fresh window. Histograms are kept and reused. */
  reset (): void {
    for (const byRoute of [this.#primary, this.#candidate]) {
      const all = byRoute.get(ALL_ROUTES)
      byRoute.clear()
      if (all === undefined) continue
      all.hot.reset()
      all.hotEpoch = -1
      for (const bucket of all.frozen) bucket.epoch = -1
      byRoute.set(ALL_ROUTES, all)
    }
    this.#routes.clear()
  }

  #merge (windowMs: number, route: string | null | undefined, target: Target): hdr.JsHistogram {
    if (!(windowMs > 0 && windowMs <= this.maxWindowMs)) {
      throw new RangeError(`LatencyHistograms: windowMs must be in (0, ${this.maxWindowMs}], got ${windowMs}`)
    }
    const scratch = this.#scratch
    scratch.reset()
    const key = route == null ? ALL_ROUTES : route
    if (key !== ALL_ROUTES && !this.#routes.has(key)) return scratch
    const series = this.#byTarget(target)?.get(key)
    if (series === undefined) return scratch
    series.addTo(scratch, Math.floor(this.#now() / this.bucketMs), Math.ceil(windowMs / this.bucketMs))
    return scratch
  }

  #routeName (route: string): string {
    if (this.#routes.has(route)) return route
    // The cap counts real routes only; `other` itself does not take a slot.
    const real = this.#routes.size - (this.#routes.has(OTHER_ROUTE) ? 1 : 0)
    const name = real >= this.maxRoutes ? OTHER_ROUTE : route
    this.#routes.add(name)
    return name
  }

  #byTarget (target: Target): Map<string, Series> | undefined {
    return target === 'primary' ? this.#primary : target === 'candidate' ? this.#candidate : undefined
  }

  #seriesIn (byRoute: Map<string, Series>, route: string): Series {
    let series = byRoute.get(route)
    if (series === undefined) {
      series = new Series(this.#slots)
      byRoute.set(route, series)
    }
    return series
  }
}
