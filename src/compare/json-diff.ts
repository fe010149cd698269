/*
 * Structural diff of two canonical JSON trees under compiled rules: iterative (explicit
 * stack, any depth), bounded in output, reporting JSONPath-ish paths in document order.
 *
 * Arrays under `unordered`: equal elements (canonical text) match as multisets; leftovers pair
 * by a shared identity field (the route's `keyed` fields, `id`, `key`, `name`: a value found
 * once on each side), then greedily by the fewest differences under the rules (cheapest pair
 * first), while at most MAX_PAIR_COSTS pairs per array and PAIRING_STEPS visited nodes per diff
 * are spent counting; what is left pairs in canonical order. Under `keyed`: elements pair by
 * the canonical text of their key; elements sharing a key, and those without it, match as
 * multisets, then in order. Reports: pairs and missing elements in the primary's order, then
 * extra ones in the candidate's.
 */
import { type JsonNode, Kind } from './canonical.ts'
import { parseInstant } from './instants.ts'
import { indices, inTextOrder, Matching, matchExact, memberText, pairByIdentity, pairInOrder } from './array-pairing.ts'
import { type PathNode, arrayModeAt, isIgnored, stepRules } from './json-path.ts'
import { type CompiledRules, compileRules, timestampAt, toleranceAt } from './rules.ts'
import { withinTolerance } from './tolerance.ts'

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
  /** when given, receives the primary's and the candidate's node of each difference returned (null on a side without one), two per difference */
  nodes?: Array<JsonNode | null>
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

/** Queues a matching: pairs and missing elements in the primary's order, then extra ones in the candidate's. */
function queueMatching (out: Step[], s: Step, ca: JsonNode[], cb: JsonNode[], m: Matching): void {
  const order = m.pairA.map((_, k) => k).sort((x, y) => m.pairA[x] - m.pairA[y])
  const missing = m.missing.sort((x, y) => x - y)
  let k = 0
  for (const i of missing) {
    while (k < order.length && m.pairA[order[k]] < i) { const p = order[k++]; queue(out, s, ca[m.pairA[p]], cb[m.pairB[p]], null, m.pairA[p], null) }
    queue(out, s, ca[i], null, null, i, 'missing')
  }
  for (; k < order.length; k++) queue(out, s, ca[m.pairA[order[k]]], cb[m.pairB[order[k]]], null, m.pairA[order[k]], null)
  for (const j of m.extra.sort((x, y) => x - y)) queue(out, s, null, cb[j], null, j, 'extra')
}

function diffUnordered (out: Step[], s: Step, ca: JsonNode[], cb: JsonNode[], rules: CompiledRules): void {
  const m = new Matching()
  let [ua, ub] = matchExact(ca, cb, indices(ca.length), indices(cb.length))
  if ((ua.length > 1 || ub.length > 1) && ua.length > 0 && ub.length > 0 && !counting) {
    [ua, ub] = pairByIdentity(ca, cb, ua, ub, rules.identityFields, m);
    [ua, ub] = pairByDifferences(ca, cb, ua, ub, s, rules, m)
  }
  pairInOrder(inTextOrder(ca, ua), inTextOrder(cb, ub), m)
  queueMatching(out, s, ca, cb, m)
}

/** Most pairs of leftovers whose differences are counted for one array. */
export const MAX_PAIR_COSTS = 10_000
/** Differences counted per pair at most (more is "very different"). */
const COST_CAP = 32
/** Nodes visited counting differences, per {@link jsonDiff} call. */
export const PAIRING_STEPS = 250_000

// Scratch state of one jsonDiff call: the diff is synchronous and never re-entered, except by
// the counting walks of pairByDifferences (which pair nested unordered arrays in order).
let pairingSteps = 0
let counting = false
/** where the nodes of reported differences go (DiffLimits.nodes), for one jsonDiff call */
let nodesOut: Array<JsonNode | null> | null = null

/**
 * Pairs leftovers greedily by the fewest differences under the rules beneath (cheapest pair
 * first, ties in the primary's then the candidate's order), while at most MAX_PAIR_COSTS pairs
 * and PAIRING_STEPS visited nodes are enough; what is left is paired by canonical order.
 */
function pairByDifferences (ca: JsonNode[], cb: JsonNode[], ua: number[], ub: number[], s: Step, rules: CompiledRules, m: Matching): [number[], number[]] {
  if (ua.length === 0 || ub.length === 0) return [ua, ub]
  if (ua.length === 1 && ub.length === 1) {
    m.pairA.push(ua[0])
    m.pairB.push(ub[0])
    return [[], []]
  }
  if (ua.length * ub.length > MAX_PAIR_COSTS) return [ua, ub]
  const costs: number[] = []
  let spent = false
  for (let x = 0; x < ua.length && !spent; x++) {
    const active = stepRules(s.active, null, ua[x])
    for (let y = 0; y < ub.length; y++) {
      const c = countDiffs(ca[ua[x]], cb[ub[y]], active, rules)
      if (c < 0) { spent = true; break }
      costs.push(c * MAX_PAIR_COSTS + x * ub.length + y)
    }
  }
  costs.sort((p, q) => p - q)
  const usedA = new Uint8Array(ua.length)
  const usedB = new Uint8Array(ub.length)
  for (const code of costs) {
    const xy = code % MAX_PAIR_COSTS
    const x = Math.floor(xy / ub.length)
    const y = xy % ub.length
    if (usedA[x] === 1 || usedB[y] === 1) continue
    usedA[x] = usedB[y] = 1
    m.pairA.push(ua[x])
    m.pairB.push(ub[y])
  }
  return [ua.filter((_, x) => usedA[x] === 0), ub.filter((_, y) => usedB[y] === 0)]
}

/** Differences between two elements under the rules (at most COST_CAP), or -1 when the pairing budget ran out. */
function countDiffs (a: JsonNode, b: JsonNode, active: readonly PathNode[], rules: CompiledRules): number {
  const was = counting
  counting = true
  try {
    return walk(new Step(a, b, null, null, -1, active, null), rules, COST_CAP, null)
  } finally {
    counting = was
  }
}

function diffKeyed (out: Step[], s: Step, ca: JsonNode[], cb: JsonNode[], field: string): void {
  // Elements grouped by the canonical text of their key (1 and "1" differ); those without it form one group.
  const groups = new Map<string | null, [number[], number[]]>()
  const group = (key: string | null): [number[], number[]] => {
    let g = groups.get(key)
    if (g === undefined) { g = [[], []]; groups.set(key, g) }
    return g
  }
  for (let i = 0; i < ca.length; i++) group(memberText(ca[i], field))[0].push(i)
  for (let j = 0; j < cb.length; j++) group(memberText(cb[j], field))[1].push(j)
  const m = new Matching()
  for (const [as, bs] of groups.values()) {
    if (as.length === 1 && bs.length === 1) {
      m.pairA.push(as[0])
      m.pairB.push(bs[0])
    } else if (as.length === 0 || bs.length === 0) {
      for (const i of as) m.missing.push(i)
      for (const j of bs) m.extra.push(j)
    } else {
      // Elements sharing a key: a multiset (equal ones first), the rest paired in order.
      const [ua, ub] = matchExact(ca, cb, as, bs)
      pairInOrder(ua, ub, m)
    }
  }
  queueMatching(out, s, ca, cb, m)
}

/**
 * Walks two trees from `root`: reports differences into `diffs` (null: only counts them) until
 * `maxDiffs`; returns how many it found, or -1 when counting ran out of pairing budget.
 */
function walk (root: Step, rules: CompiledRules, maxDiffs: number, diffs: Difference[] | null): number {
  const stack: Step[] = [root]
  const pending: Step[] = []
  let found = 0
  while (stack.length > 0) {
    const s = stack.pop() as Step
    if (diffs === null && --pairingSteps < 0) return -1
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
          diffUnordered(pending, s, ca, cb, rules)
        } else {
          diffKeyed(pending, s, ca, cb, mode)
        }
      } else if (x.canonical !== y.canonical && !scalarEqual(x, y, s, rules)) {
        kind = 'changed'
      }
    }
    if (kind !== null) {
      if (found >= maxDiffs) {
        pending.length = 0
        return diffs === null ? found : -2
      }
      found++
      if (diffs !== null) {
        diffs.push({ path: pathOf(s), kind })
        nodesOut?.push(s.a, s.b)
      }
    }
    for (let k = pending.length - 1; k >= 0; k--) stack.push(pending[k])
    pending.length = 0
  }
  return found
}

/**
 * Differences between two canonical trees under the rules, in document order of the primary.
 * Never recurses; at most `maxDiffs` differences are returned. Leftover elements of unordered
 * arrays are paired by identity field, then by fewest differences, within a bounded budget.
 * @param a primary tree
 * @param b candidate tree
 * @param rules compiled rules @default compileRules()
 * @param limits output bounds
 */
export function jsonDiff (a: JsonNode, b: JsonNode, rules: CompiledRules = DEFAULT_RULES, limits: DiffLimits = {}): DiffResult {
  const maxDiffs = limits.maxDiffs ?? rules.maxDiffs
  const diffs: Difference[] = []
  pairingSteps = PAIRING_STEPS
  nodesOut = limits.nodes ?? null
  try {
    const found = walk(new Step(a, b, null, null, -1, rules.rootActive, null), rules, maxDiffs, diffs)
    return { diffs, truncated: found === -2 }
  } finally {
    nodesOut = null
  }
}
