/*
 * The trie that rule paths compile to, which the diff walks in step.
 *
 * The path syntax is parsed in src/config/json-path.ts, where the schema checks every path with
 * the same parser. Each path compiles to nodes of a trie (an NFA when `..` is used);
 * the diff carries the set of active nodes from parent to child, so matching a child costs a
 * map lookup per active node and no string or regex work at comparison time (H8).
 */
import { parsePath, type Segment } from '../config/json-path.ts'
import { type CompiledTolerance } from './tolerance.ts'

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

/** Active-set value meaning "no rule can match below here". */
export const NO_RULES: readonly PathNode[] = Object.freeze([])

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

export function addPath (root: PathNode, path: string, where: string): PathRule {
  let node = root
  for (const seg of parsePath(path, where)) node = child(node, seg)
  node.rule ??= new PathRule()
  return node.rule
}

/** Adds `node` and the `..` loop nodes reachable from it to `out` (no duplicates). */
export function addClosure (out: PathNode[], node: PathNode): void {
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
