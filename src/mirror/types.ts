/* Shapes shared by the mirror: decisions, captured responses, and the observer that app.ts wires to metrics. */

/** Why a request was or was not mirrored; the `decision` label of paritygate_mirror_decisions_total. */
export type MirrorDecision = 'mirrored' | 'sampled_out' | 'unsafe_method' | 'body_too_large' | 'overloaded' | 'circuit_open' | 'disabled' | 'shutdown'

/** Why a candidate exchange failed; the `reason` label of paritygate_candidate_errors_total. */
export type CandidateErrorReason = 'timeout' | 'connect' | 'reset' | 'parse' | 'too_large' | 'shutdown' | 'client_aborted' | 'other'

/** One side's answer as captured for comparison: status, headers (lowercased names), body bytes. */
export class CapturedResponse {
  status: number
  /** name, value, name, value… with lowercased names */
  headers: string[]
  chunks: Buffer[]
  bytes: number
  /** the body went over the capture cap: only its first bytes are kept, and it cannot be compared */
  truncated: boolean
  durationMs: number
  /** null when the exchange completed; otherwise why it did not */
  error: string | null

  constructor () {
    this.status = 0
    this.headers = []
    this.chunks = []
    this.bytes = 0
    this.truncated = false
    this.durationMs = 0
    this.error = null
  }

  /** The first value of a header (name lowercased), or undefined. */
  header (name: string): string | undefined {
    for (let i = 0; i < this.headers.length; i += 2) if (this.headers[i] === name) return this.headers[i + 1]
    return undefined
  }

  body (): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks)]
    return this.chunks[0]
  }
}

/** A primary answer and a candidate answer to the same request, handed on once both are complete. */
export class MirrorPair {
  requestId: string
  route: string
  method: string
  path: string
  primary: CapturedResponse
  candidate: CapturedResponse
  /** a second answer of the primary (or of noise.secondary) to learn noise from, or null */
  secondary: CapturedResponse | null

  constructor (requestId: string, route: string, method: string, path: string, primary: CapturedResponse, candidate: CapturedResponse, secondary: CapturedResponse | null) {
    this.requestId = requestId
    this.route = route
    this.method = method
    this.path = path
    this.primary = primary
    this.candidate = candidate
    this.secondary = secondary
  }
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
}
