/* Tests for the rolling latency histograms: percentiles, rolling windows, the route cap and reset. */
import { test } from 'node:test'
import { deepStrictEqual, ok, strictEqual, throws } from 'node:assert/strict'
import { HIGHEST_TRACKABLE_MICROS, LatencyHistograms } from '../../src/stats/latency.ts'

function clock (start = 1_700_000_000_000): { now: () => number, advance: (ms: number) => void } {
  let t = start
  return { now: () => t, advance: (ms) => { t += ms } }
}

const near = (actual: number, expected: number): void => {
  // HDR with 3 significant digits: within 0.1 %.
  ok(Math.abs(actual - expected) <= expected * 0.001 + 0.001, `${actual} is not within 0.1 % of ${expected}`)
}

test('LatencyHistograms should report percentiles in ms per route and target', () => {
  const { now } = clock()
  const latency = new LatencyHistograms({ now })
  for (let i = 1; i <= 1000; i++) latency.record('get-order', 'primary', i * 100) // 0.1 .. 100 ms
  for (let i = 1; i <= 1000; i++) latency.record('list-orders', 'candidate', 5000)
  const primary = latency.percentiles(60_000, 'get-order', 'primary')
  strictEqual(primary.count, 1000)
  near(primary.p50Ms, 50)
  near(primary.p95Ms, 95)
  near(primary.p99Ms, 99)
  deepStrictEqual(latency.percentiles(60_000, 'get-order', 'candidate'), { count: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0 })
  near(latency.percentiles(60_000, undefined, 'candidate').p95Ms, 5)
  strictEqual(latency.percentiles(60_000, null, 'primary').count, 1000)
  strictEqual(latency.percentiles(60_000, 'unknown', 'primary').count, 0)
  const values = latency.valuesAt(60_000, 'get-order', 'primary', [0, 93.6, 96.4, 100])
  strictEqual(values.count, 1000)
  near(values.valuesMs[0], 0.1)
  near(values.valuesMs[1], 93.6)
  near(values.valuesMs[2], 96.4)
  near(values.valuesMs[3], 100)
  deepStrictEqual(latency.routes(), ['get-order', 'list-orders'])
})

test('LatencyHistograms should merge buckets within the window and drop older ones', () => {
  const { now, advance } = clock(0)
  const latency = new LatencyHistograms({ now, bucketMs: 30_000, maxWindowMs: 600_000 })
  for (let i = 0; i < 100; i++) latency.record('r', 'candidate', 100_000) // 100 ms, old
  advance(30_000)
  for (let i = 0; i < 300; i++) latency.record('r', 'candidate', 1000) // 1 ms
  advance(30_000)
  for (let i = 0; i < 100; i++) latency.record('r', 'candidate', 2000) // 2 ms, open bucket
  strictEqual(latency.percentiles(90_000, 'r', 'candidate').count, 500)
  near(latency.percentiles(90_000, 'r', 'candidate').p99Ms, 100)
  strictEqual(latency.percentiles(60_000, 'r', 'candidate').count, 400)
  near(latency.percentiles(60_000, 'r', 'candidate').p95Ms, 2)
  strictEqual(latency.percentiles(30_000, 'r', 'candidate').count, 100)
  advance(60_000) // nothing new: the open bucket and its predecessor age out too
  strictEqual(latency.percentiles(60_000, 'r', 'candidate').count, 0)
  strictEqual(latency.percentiles(120_000, 'r', 'candidate').count, 400)
  advance(600_000)
  strictEqual(latency.percentiles(600_000, null, 'candidate').count, 0)
})

test('LatencyHistograms should recycle frozen buckets when the ring wraps', () => {
  const { now, advance } = clock(0)
  const latency = new LatencyHistograms({ now, bucketMs: 1000, maxWindowMs: 3000 })
  for (let lap = 0; lap < 10; lap++) {
    for (let i = 0; i < 200; i++) latency.record('r', 'primary', 1000 + lap * 1000 + i)
    advance(1000)
  }
  // Buckets of laps 7, 8, 9 are within the last 3 s (the open bucket, 10, is empty).
  const { count, p50Ms } = latency.percentiles(3000, 'r', 'primary')
  strictEqual(count, 400)
  ok(p50Ms >= 9 && p50Ms <= 10.3, `p50 ${p50Ms}`)
})

test('LatencyHistograms should clamp out-of-range values and ignore invalid ones', () => {
  const { now } = clock()
  const latency = new LatencyHistograms({ now })
  latency.record('r', 'primary', 10 * HIGHEST_TRACKABLE_MICROS)
  latency.record('r', 'primary', 0.4)
  latency.record('r', 'primary', -5)
  latency.record('r', 'primary', Number.NaN)
  const { count, p99Ms, p50Ms } = latency.percentiles(60_000, 'r', 'primary')
  strictEqual(count, 2)
  near(p99Ms, 60_000)
  strictEqual(p50Ms, 0)
  // @ts-expect-error an unknown target is refused at run time too
  throws(() => latency.record('r', 'secondary', 5), TypeError)
  deepStrictEqual(latency.routes(), ['r'])
  const beforeEpoch = new LatencyHistograms({ now: () => -1 })
  beforeEpoch.record('r', 'primary', 5)
  strictEqual(beforeEpoch.percentiles(60_000, 'r', 'primary').count, 0)
})

test('LatencyHistograms should record routes beyond the cap as other', () => {
  const { now } = clock()
  const latency = new LatencyHistograms({ now, maxRoutes: 2 })
  latency.record('a', 'primary', 1000)
  latency.record('b', 'primary', 1000)
  latency.record('c', 'primary', 3000)
  latency.record('d', 'candidate', 4000)
  latency.record('other', 'primary', 5000)
  deepStrictEqual(latency.routes(), ['a', 'b', 'other'])
  strictEqual(latency.percentiles(60_000, 'other', 'primary').count, 2)
  strictEqual(latency.percentiles(60_000, 'other', 'candidate').count, 1)
  strictEqual(latency.percentiles(60_000, 'c', 'primary').count, 0)
  strictEqual(latency.percentiles(60_000, null, 'primary').count, 4)
})

test('LatencyHistograms should reset to a fresh window and keep working', () => {
  const { now, advance } = clock()
  const latency = new LatencyHistograms({ now, maxRoutes: 1 })
  latency.record('a', 'primary', 1000)
  advance(30_000)
  latency.record('a', 'primary', 1000)
  latency.reset()
  strictEqual(latency.percentiles(3_600_000, null, 'primary').count, 0)
  strictEqual(latency.percentiles(3_600_000, 'a', 'primary').count, 0)
  deepStrictEqual(latency.routes(), [])
  latency.record('b', 'primary', 2000)
  deepStrictEqual(latency.routes(), ['b'])
  strictEqual(latency.percentiles(60_000, null, 'primary').count, 1)
  near(latency.percentiles(60_000, 'b', 'primary').p50Ms, 2)
})

test('LatencyHistograms should validate options and windows', () => {
  throws(() => new LatencyHistograms({ bucketMs: 0 }), TypeError)
  throws(() => new LatencyHistograms({ maxWindowMs: 1.5 }), TypeError)
  throws(() => new LatencyHistograms({ maxRoutes: -1 }), TypeError)
  const latency = new LatencyHistograms()
  strictEqual(latency.bucketMs, 30_000)
  strictEqual(latency.maxWindowMs, 3_600_000)
  strictEqual(latency.maxRoutes, 100)
  throws(() => latency.percentiles(0, null, 'primary'), RangeError)
  throws(() => latency.valuesAt(3_600_001, null, 'primary', [50]), RangeError)
  latency.record('a', 'candidate', 1500)
  strictEqual(latency.percentiles(30_000, 'a', 'candidate').count, 1, 'the default clock is Date.now')
})

test('LatencyHistograms should freeze a bucket that uses every cell without losing counts', () => {
  const { now, advance } = clock(0)
  const latency = new LatencyHistograms({ now, bucketMs: 1000, maxWindowMs: 10_000 })
  let recorded = 0
  for (let v = 1; v <= HIGHEST_TRACKABLE_MICROS; v = Math.max(v + 1, Math.round(v * 1.0004))) {
    latency.record('r', 'primary', v)
    recorded++
  }
  const open = latency.percentiles(2000, 'r', 'primary')
  strictEqual(open.count, recorded)
  advance(1000)
  latency.record('r', 'primary', 1) // rolls: the full bucket is frozen
  const merged = latency.percentiles(2000, 'r', 'primary')
  strictEqual(merged.count, recorded + 1)
  strictEqual(merged.p95Ms, open.p95Ms)
  strictEqual(merged.p99Ms, open.p99Ms)
  near(latency.valuesAt(2000, 'r', 'primary', [100]).valuesMs[0], 60_000)
  strictEqual(latency.valuesAt(2000, 'r', 'primary', (n) => [n > 0 ? 0 : 50]).valuesMs[0], 0.001)
})
