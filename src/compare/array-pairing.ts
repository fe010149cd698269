/*
 * How the elements of two arrays are paired before the diff walks beneath them (json-diff.ts):
 * equal elements as multisets by canonical text, then leftovers by identity fields, then in
 * canonical order. Pure index work on canonical trees; the pairing by fewest differences, which
 * needs the diff walk itself, stays in json-diff.ts.
 */
import { canonicalText, Kind, type JsonNode } from './canonical.ts'

/** The canonical text of an object's member `field` (keys are sorted: a binary search), or null. */
export function memberText (node: JsonNode, field: string): string | null {
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

/** The indices sorted by the canonical text of their elements (ties in index order). */
export function inTextOrder (nodes: JsonNode[], indices: number[]): number[] {
  if (indices.length < 2) return indices
  const texts = new Map<number, string>()
  for (const k of indices) texts.set(k, canonicalText(nodes[k]))
  return indices.sort((i, j) => {
    const x = texts.get(i) as string
    const y = texts.get(j) as string
    return x < y ? -1 : x > y ? 1 : i - j
  })
}

/**
 * How the elements of two arrays were matched: `pairA[k]` with `pairB[k]` (diffed beneath),
 * primary elements left `missing`, candidate elements left `extra`.
 */
export class Matching {
  pairA: number[] = []
  pairB: number[] = []
  missing: number[] = []
  extra: number[] = []
}

/**
 * Matches equal elements of `as` and `bs` (indices into ca, cb) by canonical text, as multisets
 * (equal elements have nothing to diff: they are not queued); returns the leftovers of each
 * side, in their order.
 */
export function matchExact (ca: JsonNode[], cb: JsonNode[], as: number[], bs: number[]): [number[], number[]] {
  const pool = new Map<string, number[]>()
  for (let k = bs.length - 1; k >= 0; k--) {
    const t = canonicalText(cb[bs[k]])
    const list = pool.get(t)
    if (list === undefined) pool.set(t, [bs[k]])
    else list.push(bs[k])
  }
  const used = new Uint8Array(cb.length)
  let matched = 0
  const ua: number[] = []
  for (const i of as) {
    const list = pool.get(canonicalText(ca[i]))
    if (list !== undefined && list.length > 0) {
      used[list.pop() as number] = 1
      matched++
    } else {
      ua.push(i)
    }
  }
  return [ua, matched === 0 ? bs : bs.filter((j) => used[j] === 0)]
}

/** 0 … n − 1. */
export function indices (n: number): number[] {
  const out = new Array<number>(n)
  for (let k = 0; k < n; k++) out[k] = k
  return out
}

/** Pairs leftovers in the order given; the rest are missing / extra. */
export function pairInOrder (ua: readonly number[], ub: readonly number[], m: Matching): void {
  const n = Math.min(ua.length, ub.length)
  for (let k = 0; k < n; k++) { m.pairA.push(ua[k]); m.pairB.push(ub[k]) }
  for (let k = n; k < ua.length; k++) m.missing.push(ua[k])
  for (let k = n; k < ub.length; k++) m.extra.push(ub[k])
}

/**
 * Pairs leftovers by identity fields: for each of `fields` in turn, elements whose value of it
 * (canonical text) is found exactly once among each side's leftovers. Returns what is left.
 */
export function pairByIdentity (ca: JsonNode[], cb: JsonNode[], ua: number[], ub: number[], fields: readonly string[], m: Matching): [number[], number[]] {
  for (const field of fields) {
    if (ua.length === 0 || ub.length === 0) break
    const counts = new Map<string, number>()
    const textA = ua.map((i) => memberText(ca[i], field))
    const textB = ub.map((j) => memberText(cb[j], field))
    for (const t of textA) if (t !== null) counts.set(t, (counts.get(t) ?? 0) + 1)
    const onlyB = new Map<string, number>()
    for (let k = 0; k < ub.length; k++) {
      const t = textB[k]
      if (t === null || counts.get(t) !== 1) continue
      onlyB.set(t, onlyB.has(t) ? -1 : k)
    }
    const pairedB = new Set<number>()
    const restA: number[] = []
    for (let k = 0; k < ua.length; k++) {
      const t = textA[k]
      const kb = t === null ? undefined : onlyB.get(t)
      if (kb === undefined || kb < 0) { restA.push(ua[k]); continue }
      m.pairA.push(ua[k])
      m.pairB.push(ub[kb])
      pairedB.add(kb)
    }
    if (pairedB.size > 0) {
      ua = restA
      ub = ub.filter((_, k) => !pairedB.has(k))
    }
  }
  return [ua, ub]
}
