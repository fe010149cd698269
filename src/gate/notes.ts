/*
 * What the gate's reasons say about the mirror itself, beside the evidence: nothing is mirrored
 * (no candidate, a percent of 0, the kill switch), or the candidate is unreachable (the breaker is
 * open). Without them a user reads `too few samples (n=0)` and waits for evidence that never comes.
 */
import { type GateResult } from './types.ts'

/** The mirror as the gate needs to know it: config, run-time overrides and the breaker. */
export interface MirrorFacts {
  candidate: boolean
  /** in force (config or run time) */
  enabled: boolean
  /** the switch in force was set at run time (PUT /api/v1/mirror) */
  enabledAtRuntime: boolean
  /** in force (config or run time) */
  percent: number
  percentAtRuntime: boolean
  /** routes[].mirror.percent of the configured routes */
  routePercents: readonly number[]
  /** while the breaker is open: since when (ISO) and the last failure */
  unreachable: { since: string, reason: string } | null
}

/** Notes on the mirror that the checks' reasons start with; null when there is nothing to say. */
export interface GateNotes {
  /** why nothing is mirrored: every check's reason starts with it */
  nothingMirrored: string | null
  /** the candidate is unreachable: the errors check's reason starts with it */
  unreachable: string | null
}

export function gateNotes (facts: MirrorFacts): GateNotes {
  let nothingMirrored: string | null = null
  if (!facts.candidate) nothingMirrored = 'no candidate is configured (candidate.url, --candidate): nothing is mirrored'
  else if (!facts.enabled) {
    nothingMirrored = facts.enabledAtRuntime
      ? 'mirroring is disabled at run time (PUT /api/v1/mirror {"enabled":true} turns it back on): nothing is mirrored'
      : 'candidate set, mirror.enabled is false: nothing is mirrored'
  } else if (facts.percent === 0 && !facts.routePercents.some((p) => p > 0)) {
    nothingMirrored = facts.percentAtRuntime
      ? 'candidate set, mirror.percent is 0 (set at run time): nothing is mirrored'
      : 'candidate set, mirror.percent is 0: nothing is mirrored'
  }
  const unreachable = facts.candidate && facts.unreachable !== null
    ? `candidate unreachable: circuit open since ${facts.unreachable.since}: ${facts.unreachable.reason}`
    : null
  return { nothingMirrored, unreachable }
}

/** The result with the notes in front of the reasons they concern (a copy; the evidence is unchanged). */
export function annotate (result: GateResult, notes: GateNotes | null): GateResult {
  if (notes === null || (notes.nothingMirrored === null && notes.unreachable === null)) return result
  const prefix = (reason: string, ...lines: Array<string | null>): string => [...lines.filter((l): l is string => l !== null), reason].join(': ')
  const { mismatch, errors, latency } = result.checks
  return {
    ...result,
    checks: {
      mismatch: { ...mismatch, reason: prefix(mismatch.reason, notes.nothingMirrored) },
      errors: { ...errors, reason: prefix(errors.reason, notes.nothingMirrored, notes.unreachable) },
      latency: { ...latency, reason: prefix(latency.reason, notes.nothingMirrored) }
    }
  }
}
