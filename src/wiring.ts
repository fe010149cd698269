/*
 * How one process wires the mirror and the comparison to the stats: the mirror's observer (decisions,
 * candidate exchanges, pairs handed to the comparison) and the comparison's outcome hook (outcomes,
 * server errors and latencies counted in the metrics and the gate's windows).
 */
import { type ComparisonEngine, type ExchangePair, type OutcomeHook } from './compare/engine.ts'
import { type Logger } from './logger.ts'
import { ioThreadOf } from './mirror/io-thread.ts'
import { type MirrorObserver } from './mirror/types.ts'
import { type ParitySink } from './stats/parity.ts'
import { type Metrics } from './stats/registry.ts'

/** Mirror decisions that mean a wanted mirror was not sent: reported by the gate, never counted as matches. */
const DROPPED = new Set(['overloaded', 'circuit_open', 'body_too_large', 'shutdown'])
/** Candidate failures that count against the gate's error budget (an oversized answer is not the candidate failing). */
const GATE_ERRORS = new Set(['timeout', 'connect', 'reset', 'parse', 'other'])
const COMPARED = new Set(['match', 'mismatch', 'noise'])
/** Candidate failures after which a 5xx status is not counted again as a server error (counted as errors, or not mirrored). */
const NOT_SERVER_ERRORS = new Set([...GATE_ERRORS, 'shutdown', 'client_aborted'])

/**
 * A candidate answer 5xx where the primary answered, and not 5xx: an error a user of the candidate
 * would see, counted against the gate's error budget (the pair is also a mismatch).
 */
function serverError (pair: ExchangePair): boolean {
  const c = pair.candidate
  const p = pair.primary.status
  return c.status >= 500 && c.status <= 599 && (c.error === null || !NOT_SERVER_ERRORS.has(c.error)) && p >= 100 && p < 500
}

/** The candidate version of a pair: a reader of `candidate.versionHeader`, null without one. */
export type VersionOf = (pair: ExchangePair) => string | null
const noVersion: VersionOf = () => null

/** Logs reasons for the candidate's failures at debug, feeds metrics and gate windows, and hands complete pairs to the comparison. */
export function createMirrorObserver (metrics: Metrics, parity: ParitySink, log: Logger, engine: () => ComparisonEngine | null, version: VersionOf = noVersion): MirrorObserver {
  return {
    decision: (route, decision) => {
      metrics.recordDecision(route, decision)
      parity.decision?.(route, decision)
      if (DROPPED.has(decision)) parity.count(route, 'dropped')
    },
    candidate: (route, method, status, seconds, reason) => {
      metrics.recordExchange('candidate', route, method, status, seconds)
      if (reason !== 'shutdown' && reason !== 'client_aborted') parity.count(route, 'mirrored')
      if (reason !== null && GATE_ERRORS.has(reason)) parity.count(route, 'errors')
      if (reason !== null) {
        metrics.candidateErrors.labels(reason).inc()
        if (log.isLevelEnabled('debug')) log.debug({ route, method, reason }, 'candidate exchange failed')
      }
    },
    inflight: (count) => { metrics.mirrorInflightNow = count },
    pair: (pair) => {
      // A new candidate build starts fresh windows before its first pair is compared; an earlier
      // build's answer is not evidence, nor worth comparing (its fields and samples would mislead).
      if (parity.version?.(version(pair)) === 'stale') {
        pair.release()
        metrics.recordComparison(pair.route, 'skipped')
        return
      }
      const e = engine()
      if (e !== null) e.submit(pair)
      else {
        // The comparison is gone (a reload removed the candidate): still one outcome per mirrored request.
        pair.release()
        metrics.recordComparison(pair.route, 'skipped')
        parity.count(pair.route, 'skipped')
      }
    },
    room: (bytes) => engine()?.hasRoom(bytes) ?? true,
    fetch: (route, spec, onDone) => {
      const workers = engine()?.workers ?? null
      const remote = workers === null ? null : ioThreadOf(workers).fetch(spec, onDone)
      if (remote !== null) metrics.mirrorOffloaded.labels(route).inc()
      return remote
    }
  }
}

/** Counts each comparison outcome (metrics and gate windows, with both latencies) and leaves a debug breadcrumb with both canonical hashes. */
export function createOutcomeHook (metrics: Metrics, parity: ParitySink, log: Logger, version: VersionOf = noVersion): OutcomeHook {
  return (pair, outcome, result) => {
    metrics.recordComparison(pair.route, outcome)
    const v = version(pair)
    parity.count(pair.route, outcome, v)
    if (serverError(pair)) {
      metrics.recordServerError(pair.route)
      parity.count(pair.route, 'serverErrors', v)
    }
    if (COMPARED.has(outcome)) {
      parity.time(pair.route, 'primary', pair.primary.durationMs * 1000, v)
      parity.time(pair.route, 'candidate', pair.candidate.durationMs * 1000, v)
    }
    if (log.isLevelEnabled('debug')) {
      log.debug({ requestId: pair.requestId, route: pair.route, outcome, reason: result.reason, primaryHash: result.primaryHash, candidateHash: result.candidateHash, diffs: result.diffs.length }, 'compared')
    }
  }
}
