/* The mirror's decisions, as the stats count them: the mirror decides, the windows and metrics only name them. */

/** Why a request was or was not mirrored; the `decision` label of paritygate_mirror_decisions_total. */
export type MirrorDecision = 'mirrored' | 'sampled_out' | 'unsafe_method' | 'body_too_large' | 'overloaded' | 'circuit_open' | 'disabled' | 'shutdown' | 'shadow'

/** Every mirror decision (a Record, so that a new decision cannot be left out of the history's window). */
const DECISION_SET: Readonly<Record<MirrorDecision, true>> = { mirrored: true, sampled_out: true, unsafe_method: true, body_too_large: true, overloaded: true, circuit_open: true, disabled: true, shutdown: true, shadow: true }

/** Every mirror decision, as paritygate_mirror_decisions_total labels them. */
export const DECISIONS = Object.keys(DECISION_SET) as MirrorDecision[]

/** Whether a string (a worker's batch, say) names a known decision. */
export function isDecision (decision: string): decision is MirrorDecision {
  return Object.hasOwn(DECISION_SET, decision)
}
