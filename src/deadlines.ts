/*
 * Deadlines of one length for many in-flight exchanges, on one timer. undici's own headers and body
 * timeouts allocate a timer object per request and keep it alive for up to a second, which makes
 * young-generation collections longer (figures in bench/JOURNAL.md). Here an exchange links itself
 * into a list: nothing is allocated per exchange.
 */
import { performance } from 'node:perf_hooks'

/** What an object carries to sit in a DeadlineList; assign the fields in its constructor (null, 0). */
export interface Expiring {
  deadlineAt: number
  deadlinePrev: Expiring | null
  deadlineNext: Expiring | null
  deadlineList: DeadlineList | null
  /** called once when the deadline passes, after the item has left the list */
  expire: () => void
}

/** The link fields of Expiring, initialised once for every class whose instances sit in a DeadlineList. */
export abstract class WithDeadline implements Expiring {
  deadlineAt: number
  deadlinePrev: Expiring | null
  deadlineNext: Expiring | null
  deadlineList: DeadlineList | null

  constructor () {
    this.deadlineAt = 0
    this.deadlinePrev = null
    this.deadlineNext = null
    this.deadlineList = null
  }

  abstract expire (): void
}

/**
 * Items that expire `ms` after they were added or last touched. All share one length, so the list
 * is in deadline order when items are appended: adding, touching and removing are O(1), and one
 * timer, armed for the head's deadline, serves them all.
 */
export class DeadlineList {
  readonly ms: number
  size: number
  #head: Expiring | null
  #tail: Expiring | null
  #timer: NodeJS.Timeout | null

  constructor (ms: number) {
    if (!(ms > 0)) throw new RangeError(`DeadlineList: ms must be positive, got ${ms}`)
    this.ms = ms
    this.size = 0
    this.#head = null
    this.#tail = null
    this.#timer = null
  }

  /** Starts (or restarts) the item's deadline, `ms` from `now`; takes it out of any other list first. */
  add (item: Expiring, now: number = performance.now()): void {
    if (item.deadlineList !== null) item.deadlineList.remove(item)
    item.deadlineAt = now + this.ms
    item.deadlineList = this
    item.deadlinePrev = this.#tail
    item.deadlineNext = null
    if (this.#tail === null) this.#head = item
    else this.#tail.deadlineNext = item
    this.#tail = item
    this.size++
    if (this.#timer === null) this.#arm(now)
  }

  /** Pushes the item's deadline back to `ms` from `now` (an idle timeout seeing activity). */
  touch (item: Expiring, now: number = performance.now()): void {
    if (item.deadlineList !== this) return
    if (item === this.#tail) item.deadlineAt = now + this.ms
    else this.add(item, now)
  }

  /** Takes the item out; its deadline no longer applies. A no-op for an item not in this list. */
  remove (item: Expiring): void {
    if (item.deadlineList !== this) return
    const prev = item.deadlinePrev
    const next = item.deadlineNext
    if (prev === null) this.#head = next
    else prev.deadlineNext = next
    if (next === null) this.#tail = prev
    else next.deadlinePrev = prev
    item.deadlinePrev = null
    item.deadlineNext = null
    item.deadlineList = null
    this.size--
  }

  /** Stops the timer and forgets every item (none of them expires). */
  clear (): void {
    while (this.#head !== null) this.remove(this.#head)
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }

  /** One timer for the head's deadline; unref'd, so pending deadlines never keep the process up. */
  #arm (now: number): void {
    const head = this.#head as Expiring
    this.#timer = setTimeout(this.#fire, Math.max(1, Math.ceil(head.deadlineAt - now)))
    this.#timer.unref()
  }

  #fire = (): void => {
    this.#timer = null
    const now = performance.now()
    let item = this.#head
    while (item !== null && item.deadlineAt <= now) {
      this.remove(item)
      item.expire()
      item = this.#head
    }
    if (this.#head !== null && this.#timer === null) this.#arm(now)
  }
}
