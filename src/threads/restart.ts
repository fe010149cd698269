/* When to start a background thread again after it died: at once, unless it died before it was ready. */

/** The first wait after a thread failed to start, in ms. */
export const FIRST_RESTART_MS = 100
/** The longest wait between two starts of a thread that keeps failing to start, in ms. */
export const MAX_RESTART_MS = 30_000

/**
 * The delay before the next start of a background thread (comparison worker, mirror I/O thread).
 * A thread that died after it said it was ready is started again at once: what killed it was its
 * work (a hostile body), and each such death takes another task. One that died before (a module
 * that fails to load, a thread the system refuses: `ERR_WORKER_INIT_FAILED` under a pids limit)
 * would die again at once; started again without a pause it would take the event loop that serves
 * users with it. So each such failure doubles the wait, from 100 ms to 30 s, until a start succeeds.
 */
export class RestartDelay {
  #delay: number
  /** the reason of the last failure to start, null after a start succeeded */
  lastFailure: string | null

  constructor () {
    this.#delay = 0
    this.lastFailure = null
  }

  /** A thread said it was ready: the next death is restarted at once. */
  ready (): void {
    this.#delay = 0
    this.lastFailure = null
  }

  /**
   * A thread died: the ms to wait before starting it again.
   * @param wasReady whether it had said it was ready
   * @param why what ended it, kept for the answers given while no thread runs
   */
  died (wasReady: boolean, why: string): number {
    if (wasReady) return 0
    this.lastFailure = why
    this.#delay = this.#delay === 0 ? FIRST_RESTART_MS : Math.min(MAX_RESTART_MS, 2 * this.#delay)
    return this.#delay
  }
}
