/* One mirrored exchange in, its outcome out: status, headers, body compared under the route's rules, noise paths, a redacted sample. Pure; runs on the main thread or in a worker. */
import { codingChain, effectiveCharset, parseContentType, readBody } from './body.ts'
import { compareExchanges, type ComparisonResult, type Exchange } from './compare.ts'
import { fastMatch } from './fast-match.ts'
import { type Redactor } from './redact.ts'
import { type RuleSet } from './rule-set.ts'
import { type SampleSide, type StoredValue } from './samples.ts'

/** One captured answer, as the mirror hands it over (headers flat: name, value, …). */
export interface SideData {
  status: number
  headers: string[]
  body: Uint8Array
  truncated: boolean
  error: string | null
  durationMs: number
}

/** Everything needed to compare one exchange; plain data, so that it can cross to a worker. */
export interface AnalyzeTask {
  route: string
  primary: SideData
  candidate: SideData
  /** a second answer of the primary (noise learning), or null */
  secondary: SideData | null
  /** render a redacted sample when the outcome is a mismatch */
  render: boolean
  maxBodyChars: number
  /** compute both canonical hashes even when the bytes are identical (for the debug breadcrumb) */
  hashes?: boolean
  /** the request's method, when known (an answer to HEAD has no body) */
  method?: string
}

/** The outcome of one exchange (before noise reclassification, which needs the learner's state). */
export interface AnalyzeResult extends Pick<ComparisonResult, 'outcome' | 'reason' | 'detail' | 'diffs' | 'truncated' | 'primaryHash' | 'candidateHash'> {
  /** paths that differed between the two primary answers, or null without a secondary */
  noisePaths: string[] | null
  sample: { primary: SampleSide, candidate: SampleSide } | null
  /** for a mismatch: the redacted values of each side at each difference, in the order of `diffs` (the first MAX_VALUED_DIFFS) */
  values?: DiffValues[] | null
}

/** Longest value kept at a differing path, in characters (longer ones are cut, and flagged). */
export const MAX_VALUE_CHARS = 256
/** Most differences of one exchange whose values are kept. */
export const MAX_VALUED_DIFFS = 100

/** The values at one difference: null for a side without one; both absent when not known (a body that is not JSON). */
export interface DiffValues {
  primary?: StoredValue | null
  candidate?: StoredValue | null
}

/** The member names and indices of a path as jsonDiff writes it (`$.a["b.c"][2]`); null for anything else. */
export function pathSteps (path: string): Array<string | number> | null {
  if (path[0] !== '$') return null
  const steps: Array<string | number> = []
  let i = 1
  while (i < path.length) {
    if (path[i] === '.') {
      let j = i + 1
      while (j < path.length && path[j] !== '.' && path[j] !== '[') j++
      steps.push(path.slice(i + 1, j))
      i = j
    } else if (path[i] === '[' && path[i + 1] === '"') {
      let j = i + 2
      while (j < path.length && path[j] !== '"') j += path[j] === '\\' ? 2 : 1
      try { steps.push(JSON.parse(path.slice(i + 1, j + 1)) as string) } catch { return null }
      i = j + 2
    } else if (path[i] === '[') {
      const close = path.indexOf(']', i)
      if (close < 0) return null
      steps.push(Number(path.slice(i + 1, close)))
      i = close + 1
    } else {
      return null
    }
  }
  return steps
}

/** A string or number shown as a stored JSON value. */
function plain (value: string | number | undefined): StoredValue | null {
  return value === undefined ? null : { text: JSON.stringify(value), truncated: false }
}

/**
 * Each side's value at the differences of a mismatch, redacted by the same Redactor as the
 * bodies (secret names and configured paths on the way, card numbers, secret headers), before
 * anything keeps them: status codes, compared header values, JSON values at body paths.
 */
export function diffValues (cmp: Pick<ComparisonResult, 'diffs' | 'nodes'>, p: SideData, c: SideData, redactor: Redactor): DiffValues[] {
  const out: DiffValues[] = []
  let ph: Record<string, string> | null = null
  let ch: Record<string, string> | null = null
  const n = Math.min(cmp.diffs.length, MAX_VALUED_DIFFS)
  for (let k = 0; k < n; k++) {
    const path = cmp.diffs[k].path
    if (path === '@status') {
      out.push({ primary: plain(p.status), candidate: plain(c.status) })
    } else if (path.startsWith('@headers.')) {
      const name = path.slice(9)
      ph ??= redactor.headerObject(p.headers)
      ch ??= redactor.headerObject(c.headers)
      out.push({ primary: plain(ph[name]), candidate: plain(ch[name]) })
    } else {
      const a = cmp.nodes?.[2 * k] ?? null
      const b = cmp.nodes?.[2 * k + 1] ?? null
      const steps = a === null && b === null ? null : pathSteps(path)
      if (steps === null) { out.push({}); continue }
      out.push({
        primary: a === null ? null : redactor.value(a, steps, MAX_VALUE_CHARS),
        candidate: b === null ? null : redactor.value(b, steps, MAX_VALUE_CHARS)
      })
    }
  }
  return out
}

/** Flat header list → the lowercased-name object the comparator takes. */
export function headerRecord (flat: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null)
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i].toLowerCase()
    const prev = out[name]
    out[name] = prev === undefined ? flat[i + 1] : Array.isArray(prev) ? [...prev, flat[i + 1]] : [prev, flat[i + 1]]
  }
  return out
}

function exchange (side: SideData): Exchange {
  return { status: side.status, headers: headerRecord(side.headers), body: Buffer.from(side.body.buffer, side.body.byteOffset, side.body.byteLength) }
}

function result (outcome: AnalyzeResult['outcome'], reason: string | null, detail: string | null): AnalyzeResult {
  return { outcome, reason, detail, diffs: [], truncated: false, primaryHash: null, candidateHash: null, noisePaths: null, sample: null }
}

/** A side for display: redacted headers, body decoded, redacted and truncated. */
export function renderSide (side: SideData, redactor: Redactor, maxChars: number, maxBodyBytes: number): SampleSide {
  const ex = exchange(side)
  const view = readBody(ex.headers, ex.body, { maxBodyBytes })
  let body: { text: string, truncated: boolean }
  if (view.kind === 'json' && view.tree !== null) {
    const text = redactor.render(view.tree, maxChars + 1)
    body = text.length > maxChars ? { text: text.slice(0, maxChars), truncated: true } : { text, truncated: false }
  } else {
    body = redactor.body(view.bytes, parseContentType(ex.headers['content-type']).type, maxChars)
  }
  const json = view.kind === 'json' && view.tree !== null
  return { status: side.status, headers: redactor.headerObject(side.headers), body: body.text, bodyJson: json, bodyTruncated: body.truncated, durationMs: Math.round(side.durationMs * 1000) / 1000 }
}

/** What the byte-identical shortcut looks at: status, flat headers, body bytes. */
export type Answer = Pick<SideData, 'status' | 'headers' | 'body'>

/** The values of one header in a flat list (name, value, …), in order, joined as the comparator sees them. */
function headerValues (flat: readonly string[], name: string): string | null {
  let out: string | null = null
  for (let i = 0; i < flat.length; i += 2) {
    if (flat[i].length === name.length && flat[i].toLowerCase() === name) out = out === null ? flat[i + 1] : `${out},${flat[i + 1]}`
  }
  return out
}

/** Scratch for {@link readingHeaders}: content-encoding, transfer-encoding, content-type of each side. */
const readA: Array<string | undefined> = [undefined, undefined, undefined]
const readB: Array<string | undefined> = [undefined, undefined, undefined]

/** Collects the header values the reading of a body depends on, in one pass (repeated ones joined as the comparator joins them). */
function readingHeaders (flat: readonly string[], out: Array<string | undefined>): void {
  out[0] = out[1] = out[2] = undefined
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]
    const n = name.length
    if ((n !== 12 && n !== 16 && n !== 17) || ((name.charCodeAt(0) | 0x20) !== 0x63 && (name.charCodeAt(0) | 0x20) !== 0x74)) continue
    const lower = name.toLowerCase()
    const k = lower === 'content-type' ? 2 : lower === 'content-encoding' ? 0 : lower === 'transfer-encoding' ? 1 : -1
    if (k >= 0) out[k] = out[k] === undefined ? flat[i + 1] : `${out[k] as string},${flat[i + 1]}`
  }
}

/** The normalised coding chain and charset a body is read with (see body.ts). */
function readingKey (h: Array<string | undefined>): string {
  const chain = codingChain({ 'content-encoding': h[0], 'transfer-encoding': h[1] })
  return `${chain.join(',')};${effectiveCharset(parseContentType(h[2])) ?? ''}`
}

/**
 * Whether the same bytes read as the same content on both sides (headers in readA, readB): the
 * same content-coding chain and the same charset. Identical header values answer at once;
 * different spellings of the same coding or charset (`x-gzip` / `gzip`, `UTF-8` / `utf8`) are
 * normalised.
 */
function sameReading (): boolean {
  if (readA[0] === readB[0] && readA[1] === readB[1] && readA[2] === readB[2]) return true
  return readingKey(readA) === readingKey(readB)
}

const READING_NAMES = ['content-encoding', 'transfer-encoding', 'content-type']

/**
 * Byte-identical answers (same status, same allow-listed header values, same body bytes, read
 * the same: same content-coding chain and charset) are equal whatever the rules say: the common
 * case for a healthy candidate costs a memcmp, not two parses. The same bytes under another
 * coding or charset are another answer (plain bytes labelled gzip cannot be decoded; gzip bytes
 * without their label are not the JSON they hold), left to the full comparison.
 * @param names allow-listed header names, lowercased
 */
export function sameAnswer (a: Answer, b: Answer, names: readonly string[]): boolean {
  if (a.status !== b.status || a.body.byteLength !== b.body.byteLength) return false
  readingHeaders(a.headers, readA)
  readingHeaders(b.headers, readB)
  for (const name of names) {
    const k = READING_NAMES.indexOf(name)
    if (k >= 0 ? readA[k] !== readB[k] : headerValues(a.headers, name) !== headerValues(b.headers, name)) return false
  }
  return sameReading() && Buffer.compare(a.body, b.body) === 0
}

/**
 * Compares one exchange. A candidate that failed is `error` (its reason kept); a candidate cut
 * off for size, or a primary that failed or was too large, is `skipped`. Never throws.
 */
export function analyze (task: AnalyzeTask, rules: RuleSet, redactor: Redactor): AnalyzeResult {
  const { primary: p, candidate: c } = task
  if (c.error === 'too_large') return result('skipped', 'too_large', 'candidate body over candidate.maxResponseBytes')
  if (c.error === 'shutdown' || c.error === 'client_aborted' || c.error === 'overloaded') return result('skipped', c.error, null)
  if (c.error !== null) return result('error', `candidate_${c.error}`, null)
  if (p.error !== null) return result('skipped', `primary_${p.error}`, null)
  if (p.truncated) return result('skipped', 'too_large', 'primary body over candidate.maxResponseBytes')
  const compiled = rules.get(task.route)
  try {
    let pe: Exchange | null = null
    let noisePaths: string[] | null = null
    const s = task.secondary
    if (s !== null && s.error === null && !s.truncated) {
      if (sameAnswer(p, s, compiled.headers)) noisePaths = []
      else {
        const noise = compareExchanges(pe = exchange(p), exchange(s), compiled, task.method)
        noisePaths = noise.outcome === 'match' || noise.outcome === 'mismatch' ? noise.diffs.map((d) => d.path) : null
      }
    }
    if (task.hashes !== true && sameAnswer(p, c, compiled.headers)) {
      return { outcome: 'match', reason: null, detail: null, diffs: [], truncated: false, primaryHash: null, candidateHash: null, noisePaths, sample: null }
    }
    // Same JSON re-serialized: proven a match without trees (fast-match.ts); anything else is compared in full.
    if (task.hashes !== true && fastMatch(p, c, compiled)) {
      return { outcome: 'match', reason: null, detail: null, diffs: [], truncated: false, primaryHash: null, candidateHash: null, noisePaths, sample: null }
    }
    const cmp = compareExchanges(pe ?? exchange(p), exchange(c), compiled, task.method)
    let sample: AnalyzeResult['sample'] = null
    if (task.render && cmp.outcome === 'mismatch') {
      sample = { primary: renderSide(p, redactor, task.maxBodyChars, compiled.maxBodyBytes), candidate: renderSide(c, redactor, task.maxBodyChars, compiled.maxBodyBytes) }
    }
    const values = cmp.outcome === 'mismatch' ? diffValues(cmp, p, c, redactor) : null
    return { outcome: cmp.outcome, reason: cmp.reason, detail: cmp.detail, diffs: cmp.diffs, truncated: cmp.truncated, primaryHash: cmp.primaryHash, candidateHash: cmp.candidateHash, noisePaths, sample, values }
  } catch (err) {
    return result('error', 'comparator_error', (err as Error).message)
  }
}
