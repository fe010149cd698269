/* The shared deadline list: order, touch, removal, and items expiring once, on real timers. */
import { deepStrictEqual, ok, strictEqual, throws } from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { performance } from 'node:perf_hooks'
import { DeadlineList, type Expiring } from '../src/deadlines.ts'

/** Polls `check` until it holds or 5 s pass (timers run late on a loaded machine). */
async function eventually (check: () => boolean): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if (check()) return true
    await sleep(10)
  }
  return check()
}

class Item implements Expiring {
  deadlineAt = 0
  deadlinePrev: Expiring | null = null
  deadlineNext: Expiring | null = null
  deadlineList: DeadlineList | null = null
  constructor (readonly name: string, readonly expired: string[]) {}
  expire (): void { this.expired.push(this.name) }
}

test('deadline list should expire items in order, once each, and never a removed one', async () => {
  const expired: string[] = []
  const list = new DeadlineList(40)
  const [a, b, c] = ['a', 'b', 'c'].map((n) => new Item(n, expired))
  list.add(a)
  list.add(b)
  list.add(c)
  strictEqual(list.size, 3)
  list.remove(b)
  list.remove(b)
  strictEqual(list.size, 2)
  ok(await eventually(() => expired.length === 2))
  await sleep(60)
  deepStrictEqual(expired, ['a', 'c'])
  strictEqual(list.size, 0)
  strictEqual(a.deadlineList, null)
})

test('deadline list should push a touched item back, and move an item between lists', async () => {
  const expired: string[] = []
  const short = new DeadlineList(60)
  const long = new DeadlineList(10_000)
  const idle = new Item('idle', expired)
  const busy = new Item('busy', expired)
  const moved = new Item('moved', expired)
  const t0 = performance.now()
  short.add(busy, t0)
  short.add(idle, t0)
  short.add(moved, t0)
  long.add(moved, t0)
  strictEqual(short.size, 2, 'adding to another list takes the item out of the first')
  strictEqual(moved.deadlineList, long)
  short.touch(busy, t0 + 30)
  strictEqual(busy.deadlineAt, t0 + 90, 'a touch restarts the deadline from then')
  strictEqual(idle.deadlineAt, t0 + 60)
  short.touch(busy, t0 + 40) // now the tail: touched in place
  strictEqual(busy.deadlineAt, t0 + 100)
  ok(await eventually(() => expired.length === 2))
  deepStrictEqual(expired, ['idle', 'busy'], 'in deadline order: the touched one last')
  long.touch(idle) // not in the list: no-op
  strictEqual(idle.deadlineList, null)
  long.clear()
  strictEqual(long.size, 0)
  ok(!expired.includes('moved'))
})

test('deadline list should let an expiring item add itself again, and refuse a length that is not positive', async () => {
  const seen: number[] = []
  const list = new DeadlineList(20)
  const item: Expiring = {
    deadlineAt: 0,
    deadlinePrev: null,
    deadlineNext: null,
    deadlineList: null,
    expire () {
      seen.push(seen.length)
      if (seen.length < 3) list.add(item)
    }
  }
  list.add(item)
  ok(await eventually(() => seen.length === 3))
  await sleep(60)
  deepStrictEqual(seen, [0, 1, 2], 'and no more once it stops adding itself')
  throws(() => new DeadlineList(0), /positive/)
})
