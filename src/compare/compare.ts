/*
 * Compares one primary/candidate exchange (status, allow-listed headers, body) under compiled
 * rules and returns a ComparisonResult. Pure data in, data out; it never throws (T11).
 *
 * Policies:
 * - Status: any difference is a difference at path `@status` (kind `changed`).
 * - Headers: only the allow-listed names; `content-type` compares its media type only,
 *   case-insensitively (parameters such as charset do not count: the charset is the body's
 *   business, below); `content-encoding` compares its normalised codings (`identity` or absent
 *   equal, `x-gzip` is `gzip`); others compare their trimmed values (repeated headers joined
 *   with ", "). Paths `@headers.<name>`, kinds changed/missing/extra.
 * - Bodies are compared as the client reads them: content-coding undone (body.ts), text in
 *   its charset. Both valid JSON -> equal canonical hashes match at once, otherwise jsonDiff.
 *   A body that claims JSON but is not canonicalisable (duplicate key, lone surrogate, BOM,
 *   trailing bytes, invalid UTF-8, syntax) is classified `invalid_json` and compared by its
 *   decoded bytes: identical broken bodies match, anything else is a difference at `$` (kind
 *   `changed` when both are broken, `type` when only one is). The reason is `invalid_json`,
 *   `detail` names the anomaly of each side. Non-JSON bodies compare by their decoded bytes
 *   when both sides read them in the same charset, by the text they read as otherwise (an
 *   undeclared charset reads only ASCII; reason `charset` when they differ).
 * - A body whose coding fails to decode (bad gzip, a coding claimed over plain bytes) equals
 *   only the same raw bytes under the same coding chain: against anything else it is a
 *   difference at `$`, reason `decode_error`, the detail naming each side's chain.
 * - A body on one side only of an answer that has none (1xx, 204, 304, HEAD): difference at `$`
 *   (`extra` or `missing`), reason `body_not_allowed`, whatever the body decodes to.
 * - A body that is too large, too deep or in an unsupported coding is not compared: the
 *   outcome is `skipped` with that reason, unless status or headers already differ
 *   (then `mismatch`, the reason still names why the body was not compared).
 * - `noise` is never produced here; the noise learner reclassifies mismatches later.
 */
import { channel } from 'node:diagnostics_channel'
import { type BodyView, bodyText, codingChain, parseContentType, readBody } from './body.ts'
import { type JsonNode } from './canonical.ts'
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
  /** skipped: too_large, too_deep, unsupported_encoding, too_many_encodings; invalid_json, decode_error, charset, body_not_allowed; comparator_error. */
  reason: string | null
  detail: string | null
  diffs: Difference[]
  truncated: boolean
  /** sha256 of the primary's canonical JSON body, or of its bytes when not JSON; null when skipped. */
  primaryHash: string | null
  candidateHash: string | null
  /**
   * When the bodies were diffed as JSON: the primary's and the candidate's node at each
   * difference (null on a side without one, and for status and header differences), two per
   * difference, in the order of `diffs`; null otherwise. For showing values; never sent anywhere.
   */
  nodes: Array<JsonNode | null> | null

  constructor (outcome: Outcome, reason: string | null, detail: string | null, diffs: Difference[], truncated: boolean,
    primaryHash: string | null, candidateHash: string | null, nodes: Array<JsonNode | null> | null = null) {
    this.outcome = outcome
    this.reason = reason
    this.detail = detail
    this.diffs = diffs
    this.truncated = truncated
    this.primaryHash = primaryHash
    this.candidateHash = candidateHash
    this.nodes = nodes
  }
}

const resultChannel = channel('paritygate:compare:result')
const DEFAULT_RULES = compileRules()

function headerValue (value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  return Array.isArray(value) ? value.map((v) => v.trim()).join(', ') : value.trim()
}

/** A Content-Encoding value as its normalised codings (`X-Gzip, identity` is `gzip`); undefined for none. */
function codingsValue (value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  const chain = codingChain({ 'content-encoding': value })
  return chain.length === 0 ? undefined : chain.join(',')
}

function compareHeaders (a: Exchange['headers'], b: Exchange['headers'], names: readonly string[], out: Difference[]): void {
  for (let k = 0; k < names.length; k++) {
    const name = names[k]
    const coding = name === 'content-encoding'
    let x = coding ? codingsValue(a[name]) : headerValue(a[name])
    let y = coding ? codingsValue(b[name]) : headerValue(b[name])
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

/**
 * Whether two bodies that are not both JSON trees are the same content for a client: a body
 * that failed to decode equals only the same raw bytes under the same coding chain; decoded
 * bodies in the same charset compare by bytes, in different charsets by the text they read as.
 */
function sameContent (p: BodyView, c: BodyView): boolean {
  const pBroken = p.anomaly === 'decode_error'
  const cBroken = c.anomaly === 'decode_error'
  if (pBroken || cBroken) return pBroken && cBroken && p.coding === c.coding && (p.bytes as Buffer).equals(c.bytes as Buffer)
  if (p.charset === c.charset) return (p.kind === c.kind && p.hash === c.hash) || (p.bytes as Buffer).equals(c.bytes as Buffer)
  const text = bodyText(p)
  return text !== null && text === bodyText(c)
}

/** Why the bodies were compared the way they were: decode_error, invalid_json, charset or null. */
type BodyReason = 'decode_error' | 'invalid_json' | 'charset' | null

function compareBodies (p: BodyView, c: BodyView, rules: CompiledRules, out: Difference[], nodes: Array<JsonNode | null>): { truncated: boolean, reason: BodyReason } {
  if (p.kind === 'json' && c.kind === 'json') {
    if (p.hash === c.hash) return { truncated: false, reason: null }
    const budget = rules.maxDiffs - out.length
    if (budget <= 0) return { truncated: true, reason: null }
    for (let k = 0; k < out.length; k++) nodes.push(null, null)
    const d = jsonDiff(p.tree as NonNullable<BodyView['tree']>, c.tree as NonNullable<BodyView['tree']>, rules, { maxDiffs: budget, nodes })
    for (const diff of d.diffs) out.push(diff)
    return { truncated: d.truncated, reason: null }
  }
  const invalid = p.anomaly !== null || c.anomaly !== null
  let reason: BodyReason = p.anomaly === 'decode_error' || c.anomaly === 'decode_error' ? 'decode_error' : invalid ? 'invalid_json' : null
  if (!sameContent(p, c)) {
    if (reason === null && p.charset !== c.charset) reason = 'charset'
    const bothBroken = p.anomaly !== null && c.anomaly !== null
    const kind = p.kind === c.kind && (bothBroken || !invalid) ? 'changed' : 'type'
    if (out.length >= rules.maxDiffs) return { truncated: true, reason }
    out.push({ path: '$', kind })
  }
  return { truncated: false, reason }
}

function sideDetail (v: BodyView, reason: BodyReason): string {
  if (reason === 'charset') return `charset ${v.charset ?? 'undeclared'}`
  const coding = reason === 'decode_error' ? ` [${v.coding === '' ? 'identity' : v.coding}]` : ''
  return `${v.anomaly ?? 'ok'}${coding}${v.detail === null ? '' : ' (' + v.detail + ')'}`
}

function bodyDetail (p: BodyView, c: BodyView, reason: BodyReason): string {
  return `primary: ${sideDetail(p, reason)}; candidate: ${sideDetail(c, reason)}`
}

/** A status whose answer has no body (RFC 9110 §6.4.1): 1xx, 204, 304, or any answer to HEAD. */
function bodiless (status: number, method: string | undefined): boolean {
  return status < 200 || status === 204 || status === 304 || method === 'HEAD'
}

function compareUnsafe (primary: Exchange, candidate: Exchange, rules: CompiledRules, method: string | undefined): ComparisonResult {
  const diffs: Difference[] = []
  if (primary.status !== candidate.status) diffs.push({ path: '@status', kind: 'changed' })
  compareHeaders(primary.headers, candidate.headers, rules.headers, diffs)
  if ((primary.body.length === 0) !== (candidate.body.length === 0) && (bodiless(primary.status, method) || bodiless(candidate.status, method))) {
    // A body where none is allowed is a difference whatever it decodes to: the client reads it as the next answer.
    const extra = primary.body.length === 0
    const holder = extra ? candidate : primary
    const room = diffs.length < rules.maxDiffs
    if (room) diffs.push({ path: '$', kind: extra ? 'extra' : 'missing' })
    const what = method === 'HEAD' ? 'an answer to HEAD' : `a ${holder.status} answer`
    return new ComparisonResult('mismatch', 'body_not_allowed', `${extra ? 'candidate' : 'primary'}: ${holder.body.length} body bytes in ${what}`,
      diffs, !room, null, null)
  }
  const opts = { maxBodyBytes: rules.maxBodyBytes, maxDepth: rules.maxDepth }
  const p = readBody(primary.headers, primary.body, opts)
  const c = p.kind === 'skipped' ? p : readBody(candidate.headers, candidate.body, opts)
  if (p.kind === 'skipped' || c.kind === 'skipped') {
    const skipped = p.kind === 'skipped' ? p : c
    const outcome = diffs.length > 0 ? 'mismatch' : 'skipped'
    return new ComparisonResult(outcome, skipped.skipReason, `${skipped === p ? 'primary' : 'candidate'}: ${skipped.detail ?? ''}`,
      diffs, false, p.hash, c === p ? null : c.hash)
  }
  const nodes: Array<JsonNode | null> = []
  const { truncated, reason } = compareBodies(p, c, rules, diffs, nodes)
  return new ComparisonResult(diffs.length > 0 ? 'mismatch' : 'match', reason,
    reason === null ? null : bodyDetail(p, c, reason), diffs, truncated, p.hash, c.hash, nodes.length > 0 ? nodes : null)
}

/**
 * Compare a primary and a candidate response. Never throws: any exception becomes outcome
 * `error` with reason `comparator_error`. Publishes `paritygate:compare:result` when subscribed.
 * @param primary the primary's response
 * @param candidate the candidate's response
 * @param rules compiled rules of the route @default compileRules()
 * @param method the request's method, when known (a HEAD answer has no body)
 */
export function compareExchanges (primary: Exchange, candidate: Exchange, rules: CompiledRules = DEFAULT_RULES, method?: string): ComparisonResult {
  let result: ComparisonResult
  try {
    result = compareUnsafe(primary, candidate, rules, method)
  } catch (err) {
    result = new ComparisonResult('error', 'comparator_error', err instanceof Error ? err.message : String(err), [], false, null, null)
  }
  if (resultChannel.hasSubscribers) resultChannel.publish(result)
  return result
}
