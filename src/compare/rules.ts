/*
 * Comparison rules of one route: the policies below, compiled once per route into a path
 * trie (json-path.ts) that the diff walks in step.
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
import { invalid } from '../config/json-path.ts'
import { RULE_DEFAULTS } from '../config/rule-defaults.ts'
import { addClosure, addPath, PathNode } from './json-path.ts'
import { toDecimal, type Decimal } from './numbers.ts'
import { CompiledTolerance } from './tolerance.ts'

/** Numeric tolerance; either bound may be omitted. */
export type Tolerance = ConfigTolerance

/** Comparison settings of one route (the `compare` key of the config). */
export type RuleConfig = RuleSettings

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

/** Defaults of {@link RuleConfig}: those of the `compare` key. */
export const defaultRuleConfig = {
  ...RULE_DEFAULTS,
  headers: [...RULE_DEFAULTS.headers]
} satisfies RuleConfig

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
