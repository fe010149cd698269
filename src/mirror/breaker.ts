/* A circuit breaker for the candidate: opens after consecutive failures, lets one probe through after a cool-down. */

export type BreakerState = 'closed' | 'open' | 'half_open'

/**
 * Closed: everything passes. After `failures` consecutive failures it opens and refuses for
 * `cooldownMs`; then one probe passes (half-open): a success closes it, a failure opens it again,
 * and a probe that ends neither way (cut off by paritygate: too large, overloaded, shutdown, the
 * client gone) is released, so that the next request may probe. Every caller allowed through
 * must report exactly one of success(), failure() or release().
 */
export class CircuitBreaker {
  readonly failures: number
  readonly cooldownMs: number
  #state: BreakerState
  #consecutive: number
  #openedAt: number
  #probing: boolean

  /**
   * @param failures consecutive failures that open the breaker @default 5
   * @param cooldownMs time open before a probe @default 5000
   */
  constructor (failures = 5, cooldownMs = 5000) {
    this.failures = failures
    this.cooldownMs = cooldownMs
    this.#state = 'closed'
    this.#consecutive = 0
    this.#openedAt = 0
    this.#probing = false
  }

  get state (): BreakerState { return this.#state }

  /** Whether a half-open probe is in flight now. */
  get probing (): boolean { return this.#probing }

  /** Whether a mirror may go out now; in half-open, only one at a time. */
  allow (now = Date.now()): boolean {
    if (this.#state === 'closed') return true
    if (this.#state === 'open') {
      if (now - this.#openedAt < this.cooldownMs) return false
      this.#state = 'half_open'
      this.#probing = false
    }
    if (this.#probing) return false
    this.#probing = true
    return true
  }

  success (): void {
    this.#consecutive = 0
    this.#probing = false
    this.#state = 'closed'
  }

  /** A mirror ended neither in success nor in failure of the candidate: a probe's slot is free again, the state unchanged. */
  release (): void {
    this.#probing = false
  }

  failure (now = Date.now()): void {
    this.#probing = false
    if (this.#state === 'half_open' || ++this.#consecutive >= this.failures) {
      this.#state = 'open'
      this.#openedAt = now
      this.#consecutive = 0
    }
  }
}
