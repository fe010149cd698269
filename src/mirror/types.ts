/* Types shared by the mirror: decisions, failure reasons, offloaded exchanges, and the observer that app.ts wires to metrics. */
import { type MirrorPair } from './captured-response.ts'
import { type RemoteBody } from './io-thread.ts'
import { type MirrorDecision } from '../stats/decisions.ts'

/** Why a request was or was not mirrored (declared with the stats that count it). */
export type { MirrorDecision } from '../stats/decisions.ts'

/** Why a candidate exchange failed; the `reason` label of paritygate_candidate_errors_total. */
export type CandidateErrorReason = 'timeout' | 'connect' | 'reset' | 'parse' | 'too_large' | 'overloaded' | 'shutdown' | 'client_aborted' | 'other'

/** How paritygate connects to the candidate, on the main thread and in the I/O thread alike. */
export interface CandidatePoolSettings {
  connections: number
  connectTimeoutMs: number
  maxHeaderSize: number
}

/** A candidate exchange run by the mirror's I/O thread (mirror/io-worker.ts) rather than on the live path's thread. */
export interface FetchSpec extends CandidatePoolSettings {
  origin: string
  method: string
  path: string
  headers: string[]
  /** candidate.maxResponseBytes: a longer body is cut off as `too_large` */
  maxBytes: number
}

/** How an offloaded exchange ended; its body, if any, stays in the I/O thread until compared or dropped. */
export interface FetchDone {
  type: 'done'
  id: number
  status: number
  /** lowercased name, value, … */
  headers: string[]
  bytes: number
  error: CandidateErrorReason | null
  durationMs: number
}

/**
 * What the mirror reports, implemented by app.ts (metrics now, comparison later). A typed
 * observer rather than diagnostics_channel: the same one-way dependency (mirror/ imports no
 * stats), without an event object allocated per request.
 */
export interface MirrorObserver {
  decision: (route: string, decision: MirrorDecision) => void
  /** one finished candidate exchange: status 0 with a reason when it failed */
  candidate: (route: string, method: string, status: number, seconds: number, reason: CandidateErrorReason | null) => void
  inflight: (count: number) => void
  /** both answers complete; called from setImmediate, off the live path */
  pair: (pair: MirrorPair) => void
  /** whether the comparison would take a pair of about `bytes` now (asked when the candidate announces a large body) */
  room: (bytes: number) => boolean
  /**
   * Runs a candidate exchange in the I/O thread; `onDone` is called once, when it ends. Null
   * when there is no such thread (compare.workers 0).
   */
  fetch: (route: string, spec: FetchSpec, onDone: (done: FetchDone) => void) => RemoteBody | null
}

/** What the mirror needs to know of a request's route (see proxy/routes.ts RouteMatch). */
export interface MirrorRoute {
  name: string
  mirrorPercent: number | null
  mirrorMethods: ReadonlySet<string> | null
}
