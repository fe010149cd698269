/* Tests for the z quantile, the Wilson score interval and the quantile interval. */
import { test } from 'node:test'
import { ok, strictEqual, throws } from 'node:assert/strict'
import fc from 'fast-check'
import { normalQuantile, zForConfidence } from '../../src/gate/normal.ts'
import { quantileInterval } from '../../src/gate/quantile.ts'
import { wilson } from '../../src/gate/wilson.ts'

const close = (actual: number, expected: number, tolerance: number): void => {
  ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`)
}

test('zForConfidence should give the two-sided z quantiles', () => {
  close(zForConfidence(0.95), 1.959964, 1e-6)
  close(zForConfidence(), 1.959964, 1e-6)
  close(zForConfidence(0.99), 2.575829, 1e-6)
  close(zForConfidence(0.9), 1.644854, 1e-6)
  close(zForConfidence(0.999999), 4.891638, 1e-5)
})

test('normalQuantile should cover the centre and both tails symmetrically', () => {
  strictEqual(normalQuantile(0.5), 0)
  close(normalQuantile(0.01), -2.326348, 1e-6)
  close(normalQuantile(0.99), 2.326348, 1e-6)
  close(normalQuantile(1e-9), -5.997807, 1e-5)
  for (const p of [0.001, 0.02, 0.3, 0.45]) close(normalQuantile(p), -normalQuantile(1 - p), 1e-9)
})

test('normalQuantile and zForConfidence should reject probabilities outside (0, 1)', () => {
  for (const p of [0, 1, -0.1, 1.5, Number.NaN]) throws(() => normalQuantile(p), RangeError)
  for (const c of [0, 1, 2, Number.NaN]) throws(() => zForConfidence(c), RangeError)
})

test('wilson should give [0, 1] for n = 0', () => {
  const { lower, upper } = wilson(0, 0, 0.95)
  strictEqual(lower, 0)
  strictEqual(upper, 1)
})

test('wilson should match known intervals', () => {
  // 4 in 20,000: the example in docs/gate.md (lower 0.00008, upper 0.0005).
  const design = wilson(4, 20_000)
  close(design.lower, 0.0000778, 1e-7)
  close(design.upper, 0.000514, 1e-6)
  const half = wilson(50, 100, 0.95)
  close(half.lower, 0.403832, 1e-6)
  close(half.upper, 0.596168, 1e-6)
  const none = wilson(0, 50)
  strictEqual(none.lower, 0)
  close(none.upper, 0.071348, 1e-6)
  const all = wilson(10, 10)
  strictEqual(all.upper, 1)
  close(all.lower, 0.722467, 1e-6)
})

test('wilson should reject inconsistent counts', () => {
  throws(() => wilson(-1, 10), RangeError)
  throws(() => wilson(11, 10), RangeError)
  throws(() => wilson(1.5, 10), RangeError)
  throws(() => wilson(0, -1), RangeError)
  throws(() => wilson(0, Number.NaN), RangeError)
  throws(() => wilson(1, 10, 1), RangeError)
})

test('wilson property: lower <= ratio <= upper, inside [0, 1]', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 10_000_000 }),
    fc.double({ min: 0, max: 1, noNaN: true }),
    fc.constantFrom(0.8, 0.9, 0.95, 0.99, 0.999),
    (n, share, confidence) => {
      const successes = Math.round(share * n)
      const { lower, upper } = wilson(successes, n, confidence)
      const ratio = successes / n
      return lower >= 0 && lower <= ratio && ratio <= upper && upper <= 1
    }
  ), { numRuns: 1000 })
})

test('wilson property: the interval shrinks as n grows at the same ratio', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 100_000 }),
    fc.double({ min: 0, max: 1, noNaN: true }),
    fc.integer({ min: 2, max: 100 }),
    (n, share, factor) => {
      const successes = Math.round(share * n)
      const small = wilson(successes, n)
      const large = wilson(successes * factor, n * factor)
      return large.upper - large.lower < small.upper - small.lower
    }
  ), { numRuns: 1000 })
})

test('quantileInterval should bracket the quantile with order statistics', () => {
  const { lower, upper } = quantileInterval(1000, 0.95, 0.95)
  // 950 ± 1.96 * sqrt(47.5) = 950 ± 13.5 → ranks 936 and 964.
  close(lower, 93.6, 1e-9)
  close(upper, 96.4, 1e-9)
  const tiny = quantileInterval(1, 0.95)
  strictEqual(tiny.lower, 0)
  strictEqual(tiny.upper, 100)
  const empty = quantileInterval(0, 0.95)
  strictEqual(empty.lower, 0)
  strictEqual(empty.upper, 100)
  throws(() => quantileInterval(10, 1), RangeError)
  throws(() => quantileInterval(10, 0.5, 0), RangeError)
})

test('quantileInterval property: lower <= 100 q <= upper and it narrows with n', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 1_000_000 }),
    fc.double({ min: 0.01, max: 0.99, noNaN: true }),
    (n, q) => {
      const { lower, upper } = quantileInterval(n, q)
      const wide = quantileInterval(n * 100, q)
      return lower >= 0 && lower <= 100 * q + 1e-9 && upper >= 100 * q - 1e-9 && upper <= 100 &&
        wide.upper - wide.lower <= upper - lower
    }
  ), { numRuns: 500 })
})
