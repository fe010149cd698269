/* Capture buffers: size classes, the budget, and recycling of large buffers. */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { test } from 'node:test'
import { CaptureBudget, RECYCLED_FROM, sizeClass } from '../../src/mirror/capture-budget.ts'
import { CapturedResponse } from '../../src/mirror/captured-response.ts'

test('size classes should be the size below 64 KiB, then the next of 2^k and 1.5 × 2^k', () => {
  deepStrictEqual([1, 4096, RECYCLED_FROM - 1].map(sizeClass), [1, 4096, RECYCLED_FROM - 1])
  deepStrictEqual([RECYCLED_FROM, RECYCLED_FROM + 1, 96 * 1024 + 1, 5_000_000].map(sizeClass), [64 * 1024, 96 * 1024, 128 * 1024, 6 * 1024 * 1024])
})

test('a released large capture should give its buffer back for the next one, and never expose old bytes', () => {
  const budget = new CaptureBudget(10 * 1024 * 1024, 1024 * 1024)
  const first = new CapturedResponse(Infinity, budget)
  first.expect(100_000)
  ok(first.append(Buffer.alloc(100_000, 0x61)))
  strictEqual(budget.used, 128 * 1024, 'the budget counts the capacity held')
  const buffer = first.buf?.buffer
  first.release()
  strictEqual(budget.used, 0)
  strictEqual(budget.idleBytes, 128 * 1024)

  const second = new CapturedResponse(Infinity, budget)
  second.expect(110_000)
  ok(second.append(Buffer.from('{"b":1}')))
  strictEqual(second.buf?.buffer, buffer, 'the same memory, reused')
  strictEqual(budget.idleBytes, 0)
  strictEqual(second.body().toString(), '{"b":1}', 'only the new body is visible')
})

test('the budget should keep at most maxIdle bytes and ignore buffers it cannot reuse', () => {
  const budget = new CaptureBudget(10 * 1024 * 1024, 200 * 1024)
  budget.give(new ArrayBuffer(128 * 1024))
  budget.give(new ArrayBuffer(128 * 1024))
  strictEqual(budget.idleBytes, 128 * 1024, 'a second one would exceed maxIdle')
  budget.give(new ArrayBuffer(100_000))
  budget.give(new ArrayBuffer(0))
  strictEqual(budget.idleBytes, 128 * 1024, 'not a size class, or detached')
  const small = new CapturedResponse(Infinity, budget)
  small.expect(1000)
  small.release()
  strictEqual(budget.idleBytes, 128 * 1024, 'pooled small buffers are never recycled')
})
