/*
 * Comparison rules compiled once per route into a path trie that the diff walks in step.
 *
 * Paths are JSONPath-ish: `$` root, `.name` or `["any key"]` / `['key']` for members,
 * `[3]` for an index, `[*]` for any index, `.*` for any member, `..name` / `..[*]` for a
 * descendant at any depth. Each path compiles to nodes of a trie (an NFA when `..` is used);
 * the diff carries the set of active nodes from parent to child, so matching a child costs a
 * map lookup per active node and no string or regex work at comparison time (H8).
 *
 * Policies:
 * - `ignore`: the value at the path (and everything under it) is never compared; a member
 *   missing on one side at an ignored path is not reported either.
 * - `numberTolerance` applies to every number; `tolerances` per path override it. Two numbers
 *   are equal when |a-b| <= absolute or |a-b| <= relative * max(|a|,|b|). The check is done
 *   exactly on the normalised decimals (BigInt), falling back to Number arithmetic only when
 *   the exponents are more than 1000 apart.
 * - `timestamps`: `true` makes every pair of strings that both parse as RFC 3339 date-times
 *   equal when they name the same instant (within `timestampToleranceMs`, default 0);
 *   a list of paths restricts this to those paths. Default: off, because a timestamp's text
 *   can itself be the contract (signatures, cache keys). Instants are exact to the nanosecond,
 *   for every year 0000-9999; a leap second `:60` is the next minute's `:00` (see parseInstant).
 * - `unordered`: the array at the path is a multiset; elements are matched by canonical text,
 *   leftovers are paired (see json-diff.ts) by a shared identity field (`keyed` fields, `id`,
 *   `key`, `name`), then by the fewest differences under the rules, and diffed with the rules beneath.
 * - `keyed`: `{ "$.items": "id" }` matches array elements by the canonical value of their
 *   `id` member (`1` and `"1"` are different keys); elements sharing a key, and elements
 *   without it, are matched among themselves as a multiset; unmatched ones are `missing` / `extra`.
 */
import { type RuleSettings, type Tolerance as ConfigTolerance } from '../config/index.ts'
import { PARITYGATE_ERR_CONFIG_INVALID } from '../errors.ts'
import { DEFAULT_MAX_DEPTH, normalizeNumber } from './canonical.ts'

/** Numeric tolerance; either bound may be omitted. */
export type Tolerance = ConfigTolerance

/** Comparison settings of one route (the `compare` key of the config). */
export type RuleConfig = RuleSettings

/** An exact decimal m * 10^e, with the Number value for the fallback. */
export class Decimal {
  m: bigint
  e: number
  n: number

  constructor (m: bigint, e: number, n: number) {
    this.m = m
    this.e = e
    this.n = n
  }
}

/** A compiled {@link Tolerance}. */
export class CompiledTolerance {
  absolute: Decimal | null
  relative: Decimal | null

  constructor (absolute: Decimal | null, relative: Decimal | null) {
    this.absolute = absolute
    this.relative = relative
  }
}

/** What applies at one path of the trie. */
export class PathRule {
  ignore: boolean
  tolerance: CompiledTolerance | null
  timestamp: boolean
  unordered: boolean
  keyField: string | null

  constructor () {
    this.ignore = false
    this.tolerance = null
    this.timestamp = false
    this.unordered = false
    this.keyField = null
  }
}

/** A node of the path trie. `loop` nodes stand for `..` and match any segment. */
export class PathNode {
  keys: Map<string, PathNode> | null
  anyKey: PathNode | null
  indices: Map<number, PathNode> | null
  anyIndex: PathNode | null
  descendant: PathNode | null
  loop: boolean
  rule: PathRule | null

  constructor (loop: boolean) {
    this.keys = null
    this.anyKey = null
    this.indices = null
    this.anyIndex = null
    this.descendant = null
    this.loop = loop
    this.rule = null
  }
}

/** Rules of one route, compiled by {@link compileRules}. Immutable after compilation. */
export class CompiledRules {
  /** Active trie nodes at `$` (empty when no path rules exist). */
  rootActive: readonly PathNode[]
  numberTolerance: CompiledTolerance | null
  timestamps: boolean
  timestampToleranceNs: bigint
  headers: readonly string[]
  maxBodyBytes: number
  maxDepth: number
  maxDiffs: number
  /** member names that identify an element of an unordered array: the `keyed` fields, then `id`, `key`, `name` */
  identityFields: readonly string[]

  constructor (rootActive: PathNode[], numberTolerance: CompiledTolerance | null, timestamps: boolean,
    timestampToleranceNs: bigint, headers: string[], maxBodyBytes: number, maxDepth: number, maxDiffs: number,
    identityFields: readonly string[] = IDENTITY_FIELDS) {
    this.rootActive = rootActive
    this.numberTolerance = numberTolerance
    this.timestamps = timestamps
    this.timestampToleranceNs = timestampToleranceNs
    this.headers = headers
    this.maxBodyBytes = maxBodyBytes
    this.maxDepth = maxDepth
    this.maxDiffs = maxDiffs
    this.identityFields = identityFields
  }
}

/** Member names that usually identify an object, tried in this order to pair unordered elements. */
export const IDENTITY_FIELDS: readonly string[] = Object.freeze(['id', 'key', 'name'])

/** Defaults of {@link RuleConfig}. */
export const defaultRuleConfig = {
  headers: ['content-type'],
  maxBodyBytes: 4 * 1024 * 1024,
  maxDepth: DEFAULT_MAX_DEPTH,
  maxDiffs: 100
} satisfies RuleConfig

/** Active-set value meaning "no rule can match below here". */
export const NO_RULES: readonly PathNode[] = Object.freeze([])

/** One parsed path segment. */
type Segment =
  | { type: 'key', key: string }
  | { type: 'anyKey' }
  | { type: 'index', index: number }
  | { type: 'anyIndex' }
  | { type: 'descendant' }

function invalid (key: string, message: string): Error {
  return new PARITYGATE_ERR_CONFIG_INVALID(`${key}: ${message}`)
}

/**
 * Parse a rule path such as `$.items[*].price`, `$["a.b"]` or `$..id` into segments.
 * @param path the path text
 * @param where config key used in error messages
 */
export function parsePath (path: string, where = 'path'): Segment[] {
  if (typeof path !== 'string' || path.charCodeAt(0) !== 0x24) throw invalid(where, `path ${JSON.stringify(path)} must start with "$"`)
  const out: Segment[] = []
  let i = 1
  while (i < path.length) {
    const c = path[i]
    if (c === '.') {
      if (path[i + 1] === '.') {
        out.push({ type: 'descendant' })
        i += 2
        if (path[i] === '[') continue
      } else {
        i++
      }
      if (path[i] === '*') { out.push({ type: 'anyKey' }); i++; continue }
      let j = i
      while (j < path.length && path[j] !== '.' && path[j] !== '[') j++
      if (j === i) throw invalid(where, `empty member name at offset ${i} of ${JSON.stringify(path)}`)
      out.push({ type: 'key', key: path.slice(i, j) })
      i = j
    } else if (c === '[') {
      const close = bracketEnd(path, i, where)
      const inner = path.slice(i + 1, close)
      if (inner === '*') out.push({ type: 'anyIndex' })
      else if (/^(0|[1-9]\d*)$/.test(inner)) out.push({ type: 'index', index: Number(inner) })
      else if (inner.startsWith('"')) out.push({ type: 'key', key: parseQuoted(inner, where, path) })
      else if (inner.startsWith("'") && inner.endsWith("'") && inner.length >= 2) out.push({ type: 'key', key: inner.slice(1, -1) })
      else throw invalid(where, `bad bracket segment [${inner}] in ${JSON.stringify(path)}`)
      i = close + 1
    } else {
      throw invalid(where, `unexpected ${JSON.stringify(c)} at offset ${i} of ${JSON.stringify(path)}`)
    }
  }
  if (out.length > 0 && out[out.length - 1].type === 'descendant') throw invalid(where, `path ${JSON.stringify(path)} ends with ".."`)
  return out
}

function bracketEnd (path: string, i: number, where: string): number {
  const q = path[i + 1]
  if (q === '"' || q === "'") {
    for (let j = i + 2; j < path.length; j++) {
      if (path[j] === '\\') { j++; continue }
      if (path[j] === q) {
        if (path[j + 1] === ']') return j + 1
        break
      }
    }
    throw invalid(where, `unterminated quoted segment in ${JSON.stringify(path)}`)
  }
  const close = path.indexOf(']', i)
  if (close < 0) throw invalid(where, `missing "]" in ${JSON.stringify(path)}`)
  return close
}

function parseQuoted (inner: string, where: string, path: string): string {
  try {
    const key: unknown = JSON.parse(inner)
    if (typeof key === 'string') return key
  } catch {}
  throw invalid(where, `bad quoted key ${inner} in ${JSON.stringify(path)}`)
}

function child (node: PathNode, seg: Segment): PathNode {
  switch (seg.type) {
    case 'key': {
      node.keys ??= new Map()
      let next = node.keys.get(seg.key)
      if (next === undefined) { next = new PathNode(false); node.keys.set(seg.key, next) }
      return next
    }
    case 'index': {
      node.indices ??= new Map()
      let next = node.indices.get(seg.index)
      if (next === undefined) { next = new PathNode(false); node.indices.set(seg.index, next) }
      return next
    }
    case 'anyKey':
      node.anyKey ??= new PathNode(false)
      return node.anyKey
    case 'anyIndex':
      node.anyIndex ??= new PathNode(false)
      return node.anyIndex
    default:
      node.descendant ??= new PathNode(true)
      return node.descendant
  }
}

function addPath (root: PathNode, path: string, where: string): PathRule {
  let node = root
  for (const seg of parsePath(path, where)) node = child(node, seg)
  node.rule ??= new PathRule()
  return node.rule
}

/** Adds `node` and the `..` loop nodes reachable from it to `out` (no duplicates). */
function addClosure (out: PathNode[], node: PathNode): void {
  if (!out.includes(node)) out.push(node)
  if (node.descendant !== null && !out.includes(node.descendant)) out.push(node.descendant)
}

/**
 * The active trie nodes at a child, given those at its parent.
 * @param active nodes active at the parent
 * @param key member name, or null for an array element
 * @param index array index (ignored for members)
 */
export function stepRules (active: readonly PathNode[], key: string | null, index: number): readonly PathNode[] {
  if (active.length === 0) return NO_RULES
  let out: PathNode[] | null = null
  for (let k = 0; k < active.length; k++) {
    const node = active[k]
    let a: PathNode | null | undefined
    let b: PathNode | null | undefined
    if (key !== null) {
      a = node.keys?.get(key)
      b = node.anyKey
    } else {
      a = node.indices?.get(index)
      b = node.anyIndex
    }
    if (a != null) addClosure(out ??= [], a)
    if (b != null) addClosure(out ??= [], b)
    if (node.loop) addClosure(out ??= [], node)
  }
  return out ?? NO_RULES
}

/** True when a rule ignores the path whose active set is given. */
export function isIgnored (active: readonly PathNode[]): boolean {
  for (let k = 0; k < active.length; k++) {
    const rule = active[k].rule
    if (rule !== null && rule.ignore) return true
  }
  return false
}

/** The tolerance at a path: a per-path one, else the global one, else null. */
export function toleranceAt (rules: CompiledRules, active: readonly PathNode[]): CompiledTolerance | null {
  for (let k = 0; k < active.length; k++) {
    const rule = active[k].rule
    if (rule !== null && rule.tolerance !== null) return rule.tolerance
  }
  return rules.numberTolerance
}

/** True when strings at the path compare as instants. */
export function timestampAt (rules: CompiledRules, active: readonly PathNode[]): boolean {
  if (rules.timestamps) return true
  for (let k = 0; k < active.length; k++) {
    const rule = active[k].rule
    if (rule !== null && rule.timestamp) return true
  }
  return false
}

/** How the array at a path compares: null (in order), '' (unordered) or the key member name. */
export function arrayModeAt (active: readonly PathNode[]): string | null {
  let mode: string | null = null
  for (let k = 0; k < active.length; k++) {
    const rule = active[k].rule
    if (rule === null) continue
    if (rule.keyField !== null) return rule.keyField
    if (rule.unordered) mode = ''
  }
  return mode
}

const NUMBER_RE = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/

/**
 * Exact decimal of a canonical (or any JSON) number text.
 * @param text JSON number text
 */
export function toDecimal (text: string): Decimal {
  const m = NUMBER_RE.exec(text)
  /* c8 ignore next */
  if (m === null) return new Decimal(0n, 0, Number(text))
  const canonical = normalizeNumber(m[1] === '-', m[2], m[3] ?? '', m[4] ?? '')
  const c = NUMBER_RE.exec(canonical) as RegExpExecArray
  const frac = c[3] ?? ''
  const exp = Number(c[4] ?? '0')
  const mantissa = BigInt(c[1] + c[2] + frac)
  return new Decimal(mantissa, exp - frac.length, Number(canonical))
}

function compileTolerance (t: Tolerance, where: string): CompiledTolerance {
  if (t === null || typeof t !== 'object') throw invalid(where, 'must be an object { absolute?, relative? }')
  const parts: Array<Decimal | null> = []
  for (const name of ['absolute', 'relative'] as const) {
    const v = t[name]
    if (v === undefined) { parts.push(null); continue }
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalid(`${where}.${name}`, 'must be a finite number >= 0')
    parts.push(toDecimal(String(v)))
  }
  return new CompiledTolerance(parts[0], parts[1])
}

const MAX_SCALE = 1000

/** Compares x.m*10^x.e with y.m*10^y.e exactly; null when the exponents are too far apart. */
function cmpDecimal (xm: bigint, xe: number, ym: bigint, ye: number): number | null {
  if (Math.abs(xe - ye) > MAX_SCALE) return null
  if (xe > ye) xm *= 10n ** BigInt(xe - ye)
  else if (ye > xe) ym *= 10n ** BigInt(ye - xe)
  return xm < ym ? -1 : xm > ym ? 1 : 0
}

/**
 * True when two canonical numbers are within the tolerance.
 * @param a canonical number text
 * @param b canonical number text
 * @param tol compiled tolerance
 */
export function withinTolerance (a: string, b: string, tol: CompiledTolerance): boolean {
  const x = toDecimal(a)
  const y = toDecimal(b)
  if (Math.abs(x.e - y.e) > MAX_SCALE) return withinNumber(x.n, y.n, tol)
  const e = Math.min(x.e, y.e)
  const xm = x.m * 10n ** BigInt(x.e - e)
  const ym = y.m * 10n ** BigInt(y.e - e)
  const diff = xm > ym ? xm - ym : ym - xm
  if (tol.absolute !== null) {
    const c = cmpDecimal(diff, e, tol.absolute.m, tol.absolute.e)
    if (c === null ? withinNumber(x.n, y.n, tol) : c <= 0) return true
  }
  if (tol.relative !== null) {
    const ax = xm < 0n ? -xm : xm
    const ay = ym < 0n ? -ym : ym
    const max = ax > ay ? ax : ay
    const c = cmpDecimal(diff, e, tol.relative.m * max, tol.relative.e + e)
    if (c === null ? withinNumber(x.n, y.n, tol) : c <= 0) return true
  }
  return false
}

function withinNumber (a: number, b: number, tol: CompiledTolerance): boolean {
  if (a === b) return true
  const diff = Math.abs(a - b)
  if (tol.absolute !== null && diff <= tol.absolute.n) return true
  return tol.relative !== null && diff <= tol.relative.n * Math.max(Math.abs(a), Math.abs(b))
}

const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/
const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/**
 * The instant an RFC 3339 date-time names, in nanoseconds since the epoch, or null when the
 * text is not one (RFC 3339 §5.6; digits beyond nanoseconds are dropped). Years 0000-9999 of
 * the proleptic Gregorian calendar, offsets up to ±23:59 (`-00:00` is UTC). A leap second
 * (`:60`, accepted in any minute) names the same instant as the next minute's `:00`, as in
 * POSIX time (which has no leap seconds): `23:59:60.5Z` is `00:00:00.5Z` of the next day.
 * @param text decoded string value
 */
export function parseInstant (text: string): bigint | null {
  if (text.length < 20 || text.length > 64) return null
  const m = RFC3339_RE.exec(text)
  if (m === null) return null
  const year = Number(m[1])
  const month = Number(m[2])
  const day = Number(m[3])
  const hour = Number(m[4])
  const minute = Number(m[5])
  const second = Number(m[6])
  if (month < 1 || month > 12 || day < 1 || day > DAYS[month - 1] || hour > 23 || minute > 59 || second > 60) return null
  if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return null
  let offset = 0
  if (m[8] === undefined) {
    const oh = Number(m[10])
    const om = Number(m[11])
    if (oh > 23 || om > 59) return null
    offset = (oh * 60 + om) * 60 * (m[9] === '-' ? -1 : 1)
  }
  // Not Date.UTC: it reads years 0-99 as 1900-1999, and year 0001 is the zero time of Go and .NET.
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset
  const frac = BigInt(((m[7] ?? '') + '000000000').slice(0, 9))
  return BigInt(seconds) * 1_000_000_000n + frac
}

/**
 * Days from 1970-01-01 to a date of the proleptic Gregorian calendar (year 0 is 1 BC, a leap
 * year), exact for any year (H. Hinnant's days_from_civil).
 * @param year full year
 * @param month 1-12
 * @param day 1-31
 */
export function daysFromCivil (year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

function checkPaths (value: unknown, where: string): string[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw invalid(where, 'must be an array of paths')
  return value as string[]
}

function positiveInt (value: unknown, fallback: number, where: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw invalid(where, 'must be an integer >= 1')
  return value
}

/**
 * Compile the comparison rules of one route. Throws PARITYGATE_ERR_CONFIG_INVALID naming the
 * key when a path or value is malformed; call it when config loads, never per comparison.
 * @param config rule settings; every key is optional, see {@link defaultRuleConfig}
 */
export function compileRules (config: RuleConfig = {}): CompiledRules {
  const root = new PathNode(false)
  let paths = 0
  checkPaths(config.ignore, 'compare.ignore').forEach((p, i) => { addPath(root, p, `compare.ignore[${i}]`).ignore = true; paths++ })
  checkPaths(config.unordered, 'compare.unordered').forEach((p, i) => { addPath(root, p, `compare.unordered[${i}]`).unordered = true; paths++ })
  for (const [p, field] of Object.entries(config.keyed ?? {})) {
    if (typeof field !== 'string' || field === '') throw invalid(`compare.keyed["${p}"]`, 'must be a member name')
    addPath(root, p, `compare.keyed["${p}"]`).keyField = field
    paths++
  }
  for (const [p, t] of Object.entries(config.tolerances ?? {})) {
    addPath(root, p, `compare.tolerances["${p}"]`).tolerance = compileTolerance(t, `compare.tolerances["${p}"]`)
    paths++
  }
  let timestamps = false
  if (config.timestamps === true) timestamps = true
  else if (config.timestamps !== undefined && config.timestamps !== false) {
    checkPaths(config.timestamps, 'compare.timestamps').forEach((p, i) => { addPath(root, p, `compare.timestamps[${i}]`).timestamp = true; paths++ })
  }
  const tolMs = config.timestampToleranceMs ?? 0
  if (typeof tolMs !== 'number' || !Number.isFinite(tolMs) || tolMs < 0) throw invalid('compare.timestampToleranceMs', 'must be a finite number >= 0')
  const headers = config.headers ?? defaultRuleConfig.headers
  if (!Array.isArray(headers) || headers.some((h) => typeof h !== 'string' || h === '')) throw invalid('compare.headers', 'must be an array of header names')
  const rootActive: PathNode[] = []
  if (paths > 0) addClosure(rootActive, root)
  const keyFields = Object.values(config.keyed ?? {})
  return new CompiledRules(
    rootActive,
    config.numberTolerance === undefined ? null : compileTolerance(config.numberTolerance, 'compare.numberTolerance'),
    timestamps,
    BigInt(Math.round(tolMs * 1e6)),
    [...new Set(headers.map((h) => h.toLowerCase()))],
    positiveInt(config.maxBodyBytes, defaultRuleConfig.maxBodyBytes, 'compare.maxBodyBytes'),
    positiveInt(config.maxDepth, defaultRuleConfig.maxDepth, 'compare.maxDepth'),
    positiveInt(config.maxDiffs, defaultRuleConfig.maxDiffs, 'compare.maxDiffs'),
    keyFields.length === 0 ? IDENTITY_FIELDS : [...new Set([...keyFields, ...IDENTITY_FIELDS])]
  )
}
