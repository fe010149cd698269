/* Tests for the rolling outcome window: counting, rolling, the route cap and reset. */
import { test } from 'node:test'
import { deepStrictEqual, strictEqual, throws } from 'node:assert/strict'
import { COUNTERS, emptyCounts, OTHER_ROUTE, RollingWindow } from '../../src/stats/window.ts'

function clock (start = 1_700_000_000_000): { now: () => number, advance: (ms: number) => void } {
  let t = start
  return { now: () => t, advance: (ms) => { t += ms } }
}

test('RollingWindow should count every kind per route and overall', () => {
  const { now } = clock()
  const window = new RollingWindow({ now })
  for (const kind of COUNTERS) window.record('get-order', kind)
  window.record('get-order', 'mismatch')
  window.add('list-orders', 'match', 5)
  window.add('list-orders', 'match', 0)
  deepStrictEqual(window.snapshot(60_000, 'get-order'), {
    match: 1, mismatch: 2, noise: 1, error: 1, skipped: 1, dropped: 1, mirrored: 1, errors: 1, serverErrors: 1
  })
  strictEqual(window.snapshot(60_000).match, 6)
  strictEqual(window.snapshot(60_000, null).mismatch, 2)
  deepStrictEqual(window.snapshot(60_000, 'never-seen'), emptyCounts())
  deepStrictEqual(window.routes(), ['get-order', 'list-orders'])
})

test('RollingWindow should stop counting mismatches older than the window', () => {
  const { now, advance } = clock(0)
  const window = new RollingWindow({ now, bucketMs: 10_000, maxWindowMs: 3_600_000 })
  window.add('r', 'mismatch', 3)
  advance(60_000)
  window.add('r', 'match', 7)
  strictEqual(window.snapshot(300_000, 'r').mismatch, 3)
  strictEqual(window.snapshot(60_000, 'r').mismatch, 0, 'a 1 m window no longer holds the mismatches of 1 m ago')
  strictEqual(window.snapshot(60_000, 'r').match, 7)
  advance(250_000)
  strictEqual(window.snapshot(300_000, 'r').mismatch, 0)
  strictEqual(window.snapshot(300_000, 'r').match, 7)
  advance(3_600_000)
  deepStrictEqual(window.snapshot(3_600_000), emptyCounts())
})

test('RollingWindow should recycle ring slots and ignore events too old to keep', () => {
  const { now, advance } = clock(0)
  const window = new RollingWindow({ now, bucketMs: 1000, maxWindowMs: 5000 })
  window.record('r', 'match')
  advance(5000) // the same slot, one lap later
  window.record('r', 'mismatch')
  deepStrictEqual(window.snapshot(5000, 'r'), { ...emptyCounts(), mismatch: 1 })
  window.record('r', 'match', 0) // its slot now belongs to a newer bucket
  window.record('r', 'match', -1)
  window.record('r', 'match', Number.NaN)
  strictEqual(window.snapshot(5000).match, 0)
  window.record('r', 'match', 4500) // late but still inside the window
  strictEqual(window.snapshot(2000).match, 1)
  strictEqual(window.snapshot(1000).match, 0, 'the 1 s window is the current bucket only')
})

test('RollingWindow should count routes beyond the cap as other', () => {
  const { now } = clock()
  const window = new RollingWindow({ now, maxRoutes: 2 })
  window.record('a', 'match')
  window.record('b', 'match')
  window.record('c', 'mismatch')
  window.record('d', 'mismatch')
  window.record('a', 'match')
  deepStrictEqual(window.routes(), ['a', 'b', OTHER_ROUTE])
  strictEqual(window.snapshot(60_000, OTHER_ROUTE).mismatch, 2)
  strictEqual(window.snapshot(60_000, 'c').mismatch, 0)
  strictEqual(window.snapshot(60_000, 'a').match, 2)
  strictEqual(window.snapshot(60_000).mismatch, 2)
  strictEqual(window.snapshot(60_000).match, 3)
})

test('RollingWindow should reset to a fresh window', () => {
  const { now, advance } = clock()
  const window = new RollingWindow({ now, maxRoutes: 1 })
  window.record('a', 'mismatch')
  window.record('b', 'mismatch')
  window.reset()
  deepStrictEqual(window.snapshot(3_600_000), emptyCounts())
  deepStrictEqual(window.routes(), [])
  window.record('b', 'match')
  deepStrictEqual(window.routes(), ['b'], 'the route cap starts over')
  advance(10_000)
  window.record('b', 'match')
  strictEqual(window.snapshot(60_000, 'b').match, 2)
})

test('RollingWindow should validate options, counters and windows', () => {
  throws(() => new RollingWindow({ bucketMs: 0 }), TypeError)
  throws(() => new RollingWindow({ maxRoutes: 1.5 }), TypeError)
  throws(() => new RollingWindow({ maxWindowMs: -1 }), TypeError)
  const window = new RollingWindow()
  // @ts-expect-error an unknown counter is refused at run time too
  throws(() => window.record('a', 'bogus'), TypeError)
  // @ts-expect-error nor is a name inherited from Object.prototype
  throws(() => window.add('a', 'toString', 1), TypeError)
  throws(() => window.snapshot(0), RangeError)
  throws(() => window.snapshot(3_600_001), RangeError)
  throws(() => window.snapshot(Number.NaN, 'a'), RangeError)
  strictEqual(window.bucketMs, 10_000)
  strictEqual(window.maxWindowMs, 3_600_000)
  strictEqual(window.maxRoutes, 100)
  window.record('a', 'match')
  strictEqual(window.snapshot(10_000).match, 1, 'the default clock is Date.now')
})
