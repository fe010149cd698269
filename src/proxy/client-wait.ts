/* The watch over what an exchange waits for from its client: its upload, or its reading of a paused answer. */
import { WithDeadline } from '../deadlines.ts'

/** What the watch is waiting for. */
export const UPLOAD = 1
export const DOWNLOAD = 2

/** The exchange side of the watch: looked at every proxy.slowClientAfterMs while it waits on its client. */
export interface ClientWatcher { checkClient: () => void }

/**
 * The watch over one exchange's client, in ProxyState.clientChecks (an exchange's own deadline
 * links serve the primary's deadlines). Allocated only for uploads and paused answers.
 */
export class ClientWait extends WithDeadline {
  exchange: ClientWatcher
  phase: number
  /** when the current wait on the client began */
  since: number
  /** the socket's bytesRead at the last look (uploads) */
  mark: number
  /** counted in ProxyState.slowClients */
  slow: boolean

  constructor (exchange: ClientWatcher) {
    super()
    this.exchange = exchange
    this.phase = 0
    this.since = 0
    this.mark = 0
    this.slow = false
  }

  expire (): void {
    this.exchange.checkClient()
  }
}
