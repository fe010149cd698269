/* A circuit breaker for the candidate: opens after consecutive failures, lets one probe through after a cool-down. */

export type BreakerState = 'closed' | 'open' | 'half_open'

/** A change the breaker reports: it opened (first, or again after a failed probe), or it closed. */
export interface BreakerEvent {
  state: 'open' | 'closed'
  previous: BreakerState
  /** when it first opened (this outage's start), ms since the epoch */
  since: number
  /** what the last failure said, e.g. `connect ECONNREFUSED 10.0.0.5:8080` */
  reason: string | null
}

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
  /** when the current outage began (the first open since the last close); 0 while closed */
  #since: number
  #reason: string | null
  /** told of every open and close (see BreakerEvent); never throws into the breaker */
  onChange: ((event: BreakerEvent) => void) | null
  /** the time, in ms since the epoch, when a caller gives none (tests move it past a cool-down) */
  clock: () => number

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
    this.#since = 0
    this.#reason = null
    this.onChange = null
    this.clock = Date.now
  }

  get state (): BreakerState { return this.#state }

  /** While open or half-open: since when (ms since the epoch) and why the candidate is unreachable; null while closed. */
  get outage (): { since: number, reason: string | null } | null {
    return this.#state === 'closed' ? null : { since: this.#since, reason: this.#reason }
  }

  /** Whether a half-open probe is in flight now. */
  get probing (): boolean { return this.#probing }

  /** Whether a mirror may go out now; in half-open, only one at a time. */
  allow (now = this.clock()): boolean {
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
    const previous = this.#state
    this.#consecutive = 0
    this.#probing = false
    this.#state = 'closed'
    if (previous !== 'closed') {
      const event: BreakerEvent = { state: 'closed', previous, since: this.#since, reason: this.#reason }
      this.#since = 0
      this.#emit(event)
    }
  }

  #emit (event: BreakerEvent): void {
    try { this.onChange?.(event) } catch {}
  }

  /** A mirror ended neither in success nor in failure of the candidate: a probe's slot is free again, the state unchanged. */
  release (): void {
    this.#probing = false
  }

  /** @param reason what the failure said (an error message), kept for logs and the gate */
  failure (now = this.clock(), reason: string | null = null): void {
    this.#probing = false
    if (reason !== null) this.#reason = reason
    if (this.#state === 'half_open' || ++this.#consecutive >= this.failures) {
      const previous = this.#state
      this.#state = 'open'
      this.#openedAt = now
      this.#consecutive = 0
      if (previous === 'closed') this.#since = now
      this.#emit({ state: 'open', previous, since: this.#since, reason: this.#reason })
    }
  }
}
