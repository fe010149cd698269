/* Why a candidate exchange failed, as a bounded reason label: shared by the mirror and its I/O thread. */
import { type CandidateErrorReason } from './types.ts'

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'])
const RESET_CODES = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH'])

/** Maps an error from the candidate exchange to a bounded reason label. */
export function candidateErrorReason (err: Error & { code?: string }): CandidateErrorReason {
  const code = err.code ?? ''
  if (err instanceof MirrorAbort) return err.reason
  if (TIMEOUT_CODES.has(code)) return 'timeout'
  if (CONNECT_CODES.has(code)) return 'connect'
  if (RESET_CODES.has(code)) return 'reset'
  if (code.startsWith('HPE_') || code === 'UND_ERR_INFO' || err.name === 'HTTPParserError') return 'parse'
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') return 'too_large'
  return 'other'
}

/** Why paritygate itself cut a mirror short. */
export class MirrorAbort extends Error {
  readonly reason: CandidateErrorReason
  constructor (reason: CandidateErrorReason) {
    super(`mirror aborted: ${reason}`)
    this.name = 'MirrorAbort'
    this.reason = reason
  }
}

/** The aborts the mirror raises itself, created once and shared by every job. */
export const DEADLINE = new MirrorAbort('timeout')
export const TOO_LARGE = new MirrorAbort('too_large')
export const OVER_BUDGET = new MirrorAbort('overloaded')
export const SHUTDOWN = new MirrorAbort('shutdown')
export const CLIENT_GONE = new MirrorAbort('client_aborted')
/** A status HTTP does not allow (outside 100–599): the answer is garbage, as a parse error is. */
export const INVALID_STATUS = new MirrorAbort('parse')
/** A chunked upload went over mirror.maxBodyBytes: the mirror is called off (see MirrorJob.withdraw). */
export const WITHDRAWN = new MirrorAbort('too_large')
