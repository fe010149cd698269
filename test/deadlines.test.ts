/* The shared deadline list: order, touch, removal, and items expiring once, on real timers. */
import { deepStrictEqual, ok, strictEqual, throws } from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { DeadlineList, type Expiring } from '../src/deadlines.ts'

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
  await sleep(120)
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
  short.add(busy)
  short.add(idle)
  short.add(moved)
  long.add(moved)
  strictEqual(short.size, 2, 'adding to another list takes the item out of the first')
  strictEqual(moved.deadlineList, long)
  for (let i = 0; i < 5; i++) {
    await sleep(25)
    short.touch(busy)
  }
  deepStrictEqual(expired, ['idle'], 'touched every 25 ms, a 60 ms deadline never passes')
  await sleep(120)
  deepStrictEqual(expired, ['idle', 'busy'])
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
  await sleep(150)
  deepStrictEqual(seen, [0, 1, 2])
  throws(() => new DeadlineList(0), /positive/)
})
