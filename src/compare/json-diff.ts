/*
 * Structural diff of two canonical JSON trees under compiled rules: iterative (explicit
 * stack, any depth), bounded in output, reporting JSONPath-ish paths in document order.
 */
import { type JsonNode, Kind, canonicalText } from './canonical.ts'
import {
  type CompiledRules, type PathNode, arrayModeAt, compileRules, isIgnored, parseInstant,
  stepRules, timestampAt, toleranceAt, withinTolerance
} from './rules.ts'

/**
 * Kind of a difference: `changed` (same type, other value), `missing` (in the primary only),
 * `extra` (in the candidate only), `type` (different JSON types), `length` (arrays of
 * different lengths; reported on the array itself).
 */
export type DiffKind = 'changed' | 'missing' | 'extra' | 'type' | 'length'

/** One difference: where and what kind. */
export interface Difference {
  path: string
  kind: DiffKind
}

/** Result of {@link jsonDiff}. `truncated` is true when more than maxDiffs differences exist. */
export interface DiffResult {
  diffs: Difference[]
  truncated: boolean
}

/** Limits of {@link jsonDiff}. */
export interface DiffLimits {
  /** Most differences returned. @default rules.maxDiffs (100) */
  maxDiffs?: number
}

class Step {
  a: JsonNode | null
  b: JsonNode | null
  parent: Step | null
  key: string | null
  index: number
  active: readonly PathNode[]
  report: DiffKind | null

  constructor (a: JsonNode | null, b: JsonNode | null, parent: Step | null, key: string | null, index: number,
    active: readonly PathNode[], report: DiffKind | null) {
    this.a = a
    this.b = b
    this.parent = parent
    this.key = key
    this.index = index
    this.active = active
    this.report = report
  }
}

const DEFAULT_RULES = compileRules()
const IDENT_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/**
 * Format one member segment: `.name` for identifiers, `["a.b"]` otherwise.
 * @param key member name
 */
export function formatKey (key: string): string {
  return IDENT_RE.test(key) ? '.' + key : '[' + JSON.stringify(key) + ']'
}

function pathOf (step: Step): string {
  const parts: string[] = []
  for (let s: Step | null = step; s !== null && s.parent !== null; s = s.parent) {
    parts.push(s.key !== null ? formatKey(s.key) : '[' + s.index + ']')
  }
  let out = '$'
  for (let k = parts.length - 1; k >= 0; k--) out += parts[k]
  return out
}

function stringValue (canonical: string): string {
  return canonical.indexOf('\\') < 0 ? canonical.slice(1, -1) : JSON.parse(canonical) as string
}

function memberText (node: JsonNode, field: string): string | null {
  if (node.kind !== Kind.Object) return null
  const keys = node.keys as string[]
  let lo = 0
  let hi = keys.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const k = keys[mid]
    if (k === field) return canonicalText((node.children as JsonNode[])[mid])
    if (k < field) lo = mid + 1
    else hi = mid - 1
  }
  return null
}

function scalarEqual (x: JsonNode, y: JsonNode, step: Step, rules: CompiledRules): boolean {
  if (x.kind === Kind.Number) {
    const tol = toleranceAt(rules, step.active)
    return tol !== null && withinTolerance(x.canonical as string, y.canonical as string, tol)
  }
  if (x.kind === Kind.String && timestampAt(rules, step.active)) {
    const ia = parseInstant(stringValue(x.canonical as string))
    if (ia === null) return false
    const ib = parseInstant(stringValue(y.canonical as string))
    if (ib === null) return false
    const d = ia > ib ? ia - ib : ib - ia
    return d <= rules.timestampToleranceNs
  }
  return false
}

/** Queues a child pair, or a missing/extra report, unless an ignore rule covers it. */
function queue (out: Step[], parent: Step, a: JsonNode | null, b: JsonNode | null, key: string | null, index: number, report: DiffKind | null): void {
  const active = stepRules(parent.active, key, index)
  if (report !== null && isIgnored(active)) return
  out.push(new Step(a, b, parent, key, index, active, report))
}

function byText (texts: string[]): (i: number, j: number) => number {
  return (i, j) => texts[i] < texts[j] ? -1 : texts[i] > texts[j] ? 1 : i - j
}

function diffObject (out: Step[], s: Step, x: JsonNode, y: JsonNode): void {
  const ka = x.keys as string[]
  const kb = y.keys as string[]
  const va = x.children as JsonNode[]
  const vb = y.children as JsonNode[]
  let i = 0
  let j = 0
  while (i < ka.length || j < kb.length) {
    if (j >= kb.length || (i < ka.length && ka[i] < kb[j])) {
      queue(out, s, va[i], null, ka[i], -1, 'missing')
      i++
    } else if (i >= ka.length || kb[j] < ka[i]) {
      queue(out, s, null, vb[j], kb[j], -1, 'extra')
      j++
    } else {
      queue(out, s, va[i], vb[j], ka[i], -1, null)
      i++
      j++
    }
  }
}

function diffUnordered (out: Step[], s: Step, ca: JsonNode[], cb: JsonNode[]): void {
  const ta = ca.map(canonicalText)
  const tb = cb.map(canonicalText)
  const pool = new Map<string, number[]>()
  for (let j = cb.length - 1; j >= 0; j--) {
    const list = pool.get(tb[j])
    if (list === undefined) pool.set(tb[j], [j])
    else list.push(j)
  }
  const used = new Uint8Array(cb.length)
  const ua: number[] = []
  for (let i = 0; i < ca.length; i++) {
    const list = pool.get(ta[i])
    if (list !== undefined && list.length > 0) used[list.pop() as number] = 1
    else ua.push(i)
  }
  const ub: number[] = []
  for (let j = 0; j < cb.length; j++) if (used[j] === 0) ub.push(j)
  ua.sort(byText(ta))
  ub.sort(byText(tb))
  pairLeftovers(out, s, ca, cb, ua, ub)
}

function pairLeftovers (out: Step[], s: Step, ca: JsonNode[], cb: JsonNode[], ua: number[], ub: number[]): void {
  const n = Math.min(ua.length, ub.length)
  for (let k = 0; k < n; k++) queue(out, s, ca[ua[k]], cb[ub[k]], null, ua[k], null)
  for (let k = n; k < ua.length; k++) queue(out, s, ca[ua[k]], null, null, ua[k], 'missing')
  for (let k = n; k < ub.length; k++) queue(out, s, null, cb[ub[k]], null, ub[k], 'extra')
}

function diffKeyed (out: Step[], s: Step, ca: JsonNode[], cb: JsonNode[], field: string): void {
  const index = new Map<string, number>()
  const used = new Uint8Array(cb.length)
  const ub: number[] = []
  for (let j = 0; j < cb.length; j++) {
    const key = memberText(cb[j], field)
    if (key !== null && !index.has(key)) index.set(key, j)
    else ub.push(j)
  }
  const ua: number[] = []
  const missing: number[] = []
  for (let i = 0; i < ca.length; i++) {
    const key = memberText(ca[i], field)
    const j = key === null ? undefined : index.get(key)
    if (key === null) {
      ua.push(i)
    } else if (j === undefined || used[j] === 1) {
      missing.push(i)
    } else {
      used[j] = 1
      queue(out, s, ca[i], cb[j], null, i, null)
    }
  }
  for (const i of missing) queue(out, s, ca[i], null, null, i, 'missing')
  for (const [, j] of index) if (used[j] === 0) queue(out, s, null, cb[j], null, j, 'extra')
  pairLeftovers(out, s, ca, cb, ua, ub)
}

/**
 * Differences between two canonical trees under the rules, in document order of the primary.
 * Never recurses; at most `maxDiffs` differences are returned.
 * @param a primary tree
 * @param b candidate tree
 * @param rules compiled rules @default compileRules()
 * @param limits output bounds
 */
export function jsonDiff (a: JsonNode, b: JsonNode, rules: CompiledRules = DEFAULT_RULES, limits: DiffLimits = {}): DiffResult {
  const maxDiffs = limits.maxDiffs ?? rules.maxDiffs
  const diffs: Difference[] = []
  const stack: Step[] = [new Step(a, b, null, null, -1, rules.rootActive, null)]
  const pending: Step[] = []
  while (stack.length > 0) {
    const s = stack.pop() as Step
    let kind: DiffKind | null = s.report
    if (kind === null) {
      const x = s.a as JsonNode
      const y = s.b as JsonNode
      if (s.active.length > 0 && isIgnored(s.active)) continue
      if (x.kind !== y.kind) {
        kind = 'type'
      } else if (x.kind === Kind.Object) {
        diffObject(pending, s, x, y)
      } else if (x.kind === Kind.Array) {
        const ca = x.children as JsonNode[]
        const cb = y.children as JsonNode[]
        const mode = s.active.length > 0 ? arrayModeAt(s.active) : null
        if (ca.length !== cb.length) kind = 'length'
        if (mode === null) {
          const n = Math.min(ca.length, cb.length)
          for (let k = 0; k < n; k++) queue(pending, s, ca[k], cb[k], null, k, null)
        } else if (mode === '') {
          diffUnordered(pending, s, ca, cb)
        } else {
          diffKeyed(pending, s, ca, cb, mode)
        }
      } else if (x.canonical !== y.canonical && !scalarEqual(x, y, s, rules)) {
        kind = 'changed'
      }
    }
    if (kind !== null) {
      if (diffs.length >= maxDiffs) return { diffs, truncated: true }
      diffs.push({ path: pathOf(s), kind })
    }
    for (let k = pending.length - 1; k >= 0; k--) stack.push(pending[k])
    pending.length = 0
  }
  return { diffs, truncated: false }
}

/**
 * Replace every array index of a path by `[*]` (quoted member names are left alone).
 * @param path a path as produced by {@link jsonDiff}
 */
export function collapsePath (path: string): string {
  if (path.indexOf('[') < 0) return path
  let out = ''
  let i = 0
  while (i < path.length) {
    const c = path[i]
    if (c === '[' && path[i + 1] === '"') {
      let j = i + 2
      while (j < path.length && path[j] !== '"') j += path[j] === '\\' ? 2 : 1
      out += path.slice(i, j + 2)
      i = j + 2
    } else if (c === '[') {
      const close = path.indexOf(']', i)
      if (close < 0) return out + path.slice(i)
      out += /^\d+$/.test(path.slice(i + 1, close)) ? '[*]' : path.slice(i, close + 1)
      i = close + 1
    } else {
      out += c
      i++
    }
  }
  return out
}

/**
 * Signature of a mismatch: the route, then its sorted unique collapsed paths, space-separated.
 * Samples are grouped by it.
 * @param route bounded route name
 * @param paths differing paths
 */
export function signature (route: string, paths: Iterable<string>): string {
  const set = new Set<string>()
  for (const p of paths) set.add(collapsePath(p))
  const sorted = [...set].sort()
  return sorted.length === 0 ? route : route + ' ' + sorted.join(' ')
}
