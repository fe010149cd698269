/* Event-loop lag, sampled by a timer: mirroring is shed while the process is behind, never the users. */

/** Measures how late a 50 ms timer fires; `lagging` is true while the decaying maximum of that delay exceeds the threshold. */
export class LagMonitor {
  readonly thresholdMs: number
  readonly intervalMs: number
  #timer: NodeJS.Timeout | null
  #expected: number
  #lagMs: number

  /**
   * @param thresholdMs lag above which `lagging` turns true @default 200
   * @param intervalMs sampling period @default 50
   */
  constructor (thresholdMs = 200, intervalMs = 50) {
    this.thresholdMs = thresholdMs
    this.intervalMs = intervalMs
    this.#timer = null
    this.#expected = 0
    this.#lagMs = 0
  }

  get lagMs (): number { return this.#lagMs }
  get lagging (): boolean { return this.#lagMs > this.thresholdMs }

  start (): void {
    if (this.#timer !== null) return
    this.#expected = performance.now() + this.intervalMs
    this.#timer = setInterval(this.#tick, this.intervalMs).unref()
  }

  stop (): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }

  #tick = (): void => {
    const now = performance.now()
    // A decaying maximum: one long stall keeps mirroring shed for a few samples, not just one.
    this.#lagMs = Math.max(now - this.#expected, this.#lagMs * 0.8)
    this.#expected = now + this.intervalMs
  }
}
