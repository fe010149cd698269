/*
 * Compares one primary/candidate exchange (status, allow-listed headers, body) under compiled
 * rules and returns a ComparisonResult. Pure data in, data out; it never throws (T11).
 *
 * Policies:
 * - Status: any difference is a difference at path `@status` (kind `changed`).
 * - Headers: only the allow-listed names; `content-type` compares its media type only,
 *   case-insensitively (parameters such as charset do not count); others compare their trimmed
 *   values (repeated headers joined with ", "). Paths `@headers.<name>`, kinds changed/missing/extra.
 * - Bodies: both valid JSON -> equal canonical hashes match at once, otherwise jsonDiff.
 *   A body that claims JSON but is not canonicalisable (duplicate key, lone surrogate, BOM,
 *   trailing bytes, invalid UTF-8, syntax) is classified `invalid_json` and compared by the
 *   sha256 of its decoded bytes: identical broken bodies match, anything else is a difference
 *   at `$` (kind `changed` when both are broken, `type` when only one is). The reason is
 *   `invalid_json`, `detail` names the anomaly of each side. Non-JSON bodies compare by sha256.
 * - A body that is too large, too deep or in an unsupported coding is not compared: the
 *   outcome is `skipped` with that reason, unless status or headers already differ
 *   (then `mismatch`, the reason still names why the body was not compared).
 * - `noise` is never produced here; the noise learner reclassifies mismatches later.
 */
import { channel } from 'node:diagnostics_channel'
import { type BodyView, parseContentType, readBody } from './body.ts'
import { type Difference, jsonDiff } from './json-diff.ts'
import { type CompiledRules, compileRules } from './rules.ts'

/** One side of an exchange: the response as received, body still content-coded. */
export interface Exchange {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

/** Outcome of one comparison (`noise` is assigned later by the noise learner). */
export type Outcome = 'match' | 'mismatch' | 'skipped' | 'error'

/** Result of {@link compareExchanges}; every field is always set (one V8 shape, H7). */
export class ComparisonResult {
  outcome: Outcome
  /** skipped: too_large, too_deep, unsupported_encoding, too_many_encodings; invalid_json; comparator_error. */
  reason: string | null
  detail: string | null
  diffs: Difference[]
  truncated: boolean
  /** sha256 of the primary's canonical JSON body, or of its bytes when not JSON; null when skipped. */
  primaryHash: string | null
  candidateHash: string | null

  constructor (outcome: Outcome, reason: string | null, detail: string | null, diffs: Difference[], truncated: boolean,
    primaryHash: string | null, candidateHash: string | null) {
    this.outcome = outcome
    this.reason = reason
    this.detail = detail
    this.diffs = diffs
    this.truncated = truncated
    this.primaryHash = primaryHash
    this.candidateHash = candidateHash
  }
}

const resultChannel = channel('paritygate:compare:result')
const DEFAULT_RULES = compileRules()

function headerValue (value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  return Array.isArray(value) ? value.map((v) => v.trim()).join(', ') : value.trim()
}

function compareHeaders (a: Exchange['headers'], b: Exchange['headers'], names: readonly string[], out: Difference[]): void {
  for (let k = 0; k < names.length; k++) {
    const name = names[k]
    let x = headerValue(a[name])
    let y = headerValue(b[name])
    if (x === undefined && y === undefined) continue
    const path = '@headers.' + name
    if (y === undefined) { out.push({ path, kind: 'missing' }); continue }
    if (x === undefined) { out.push({ path, kind: 'extra' }); continue }
    if (name === 'content-type') {
      x = parseContentType(x).type
      y = parseContentType(y).type
    }
    if (x !== y) out.push({ path, kind: 'changed' })
  }
}

function compareBodies (p: BodyView, c: BodyView, rules: CompiledRules, out: Difference[]): { truncated: boolean, invalid: boolean } {
  if (p.kind === 'json' && c.kind === 'json') {
    if (p.hash === c.hash) return { truncated: false, invalid: false }
    const budget = rules.maxDiffs - out.length
    if (budget <= 0) return { truncated: true, invalid: false }
    const d = jsonDiff(p.tree as NonNullable<BodyView['tree']>, c.tree as NonNullable<BodyView['tree']>, rules, { maxDiffs: budget })
    for (const diff of d.diffs) out.push(diff)
    return { truncated: d.truncated, invalid: false }
  }
  const invalid = p.anomaly !== null || c.anomaly !== null
  const same = p.kind === c.kind && p.hash === c.hash
  if (!same && !(p.bytes !== null && c.bytes !== null && p.bytes.equals(c.bytes))) {
    const bothBroken = p.anomaly !== null && c.anomaly !== null
    const kind = p.kind === c.kind && (bothBroken || !invalid) ? 'changed' : 'type'
    if (out.length >= rules.maxDiffs) return { truncated: true, invalid }
    out.push({ path: '$', kind })
  }
  return { truncated: false, invalid }
}

function anomalyDetail (p: BodyView, c: BodyView): string {
  return `primary: ${p.anomaly ?? 'ok'}${p.detail === null ? '' : ' (' + p.detail + ')'}; ` +
    `candidate: ${c.anomaly ?? 'ok'}${c.detail === null ? '' : ' (' + c.detail + ')'}`
}

function compareUnsafe (primary: Exchange, candidate: Exchange, rules: CompiledRules): ComparisonResult {
  const diffs: Difference[] = []
  if (primary.status !== candidate.status) diffs.push({ path: '@status', kind: 'changed' })
  compareHeaders(primary.headers, candidate.headers, rules.headers, diffs)
  const opts = { maxBodyBytes: rules.maxBodyBytes, maxDepth: rules.maxDepth }
  const p = readBody(primary.headers, primary.body, opts)
  const c = p.kind === 'skipped' ? p : readBody(candidate.headers, candidate.body, opts)
  if (p.kind === 'skipped' || c.kind === 'skipped') {
    const skipped = p.kind === 'skipped' ? p : c
    const outcome = diffs.length > 0 ? 'mismatch' : 'skipped'
    return new ComparisonResult(outcome, skipped.skipReason, `${skipped === p ? 'primary' : 'candidate'}: ${skipped.detail ?? ''}`,
      diffs, false, p.hash, c === p ? null : c.hash)
  }
  const { truncated, invalid } = compareBodies(p, c, rules, diffs)
  return new ComparisonResult(diffs.length > 0 ? 'mismatch' : 'match', invalid ? 'invalid_json' : null,
    invalid ? anomalyDetail(p, c) : null, diffs, truncated, p.hash, c.hash)
}

/**
 * Compare a primary and a candidate response. Never throws: any exception becomes outcome
 * `error` with reason `comparator_error`. Publishes `paritygate:compare:result` when subscribed.
 * @param primary the primary's response
 * @param candidate the candidate's response
 * @param rules compiled rules of the route @default compileRules()
 */
export function compareExchanges (primary: Exchange, candidate: Exchange, rules: CompiledRules = DEFAULT_RULES): ComparisonResult {
  let result: ComparisonResult
  try {
    result = compareUnsafe(primary, candidate, rules)
  } catch (err) {
    result = new ComparisonResult('error', 'comparator_error', err instanceof Error ? err.message : String(err), [], false, null, null)
  }
  if (resultChannel.hasSubscribers) resultChannel.publish(result)
  return result
}
