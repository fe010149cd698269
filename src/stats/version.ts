/* Which candidate build the gate's evidence belongs to: read from a response header of the candidate, off the live path. */

/** How long the judged version may go unseen before an earlier version that answers again takes over. */
export const RETURN_AFTER_MS = 30_000
/** Earlier versions remembered (to tell a straggler from a new build); the oldest are forgotten. */
const MAX_RETIRED = 32
/** Longest version string kept; longer values are cut (a header is not a place for a novel). */
const MAX_VERSION_CHARS = 128

/**
 * The value of header `name` (lowercase) in a captured `name, value, name, value…` list, trimmed
 * and cut to 128 characters; null when absent or empty. The first occurrence wins.
 */
export function versionOf (headers: readonly string[], name: string): string | null {
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const key = headers[i]
    if (key.length === name.length && key.toLowerCase() === name) {
      const value = headers[i + 1].trim()
      return value === '' ? null : value.slice(0, MAX_VERSION_CHARS)
    }
  }
  return null
}

/** What one observed version means for the evidence. */
export type VersionChange =
  /** the version judged so far (or no version at all): count it */
  | 'same'
  /** the first version seen: it is judged from now on, the evidence so far stays */
  | 'first'
  /** a new build: the evidence so far is another build's, start afresh */
  | 'changed'
  /** an earlier build still answering (a replica not yet replaced, a comparison finishing late): not evidence */
  | 'stale'

/**
 * Tracks the candidate version the gate judges. A version never seen before replaces the judged
 * one at once; a version judged earlier (a straggler of a rolling update, or a pair compared late)
 * is stale evidence, unless the judged version has not answered for {@link RETURN_AFTER_MS}
 * (a rollback of the candidate): then it takes over again. Answers without the header (a proxy's
 * own 502, a refused connection) never change the version and count for the judged one.
 */
export class VersionTracker {
  #current: string | null
  #lastSeenAt: number
  #retired: Set<string>
  #returnAfterMs: number

  constructor (returnAfterMs = RETURN_AFTER_MS) {
    this.#current = null
    this.#lastSeenAt = 0
    this.#retired = new Set()
    this.#returnAfterMs = returnAfterMs
  }

  /** The version judged now; null until one is seen. */
  get current (): string | null { return this.#current }

  /**
   * An answer of `version` (null: the answer had no version) was seen at `now`.
   * @returns what it means, see {@link VersionChange}
   */
  observe (version: string | null, now: number): VersionChange {
    if (version === null) return 'same'
    if (version === this.#current) {
      this.#lastSeenAt = now
      return 'same'
    }
    if (this.#current === null) {
      this.#current = version
      this.#lastSeenAt = now
      return 'first'
    }
    if (this.#retired.has(version) && now - this.#lastSeenAt < this.#returnAfterMs) return 'stale'
    this.#retired.delete(version)
    this.#retired.add(this.#current)
    if (this.#retired.size > MAX_RETIRED) this.#retired.delete(this.#retired.values().next().value as string)
    this.#current = version
    this.#lastSeenAt = now
    return 'changed'
  }

  /** Whether evidence of `version` belongs to another build than the judged one (without observing it). */
  isStale (version: string | null | undefined): boolean {
    return version != null && this.#current !== null && version !== this.#current
  }
}
