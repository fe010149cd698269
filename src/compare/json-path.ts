/*
 * Rule paths and the trie they compile to, which the diff walks in step.
 *
 *
 * Paths are JSONPath-ish: `$` root, `.name` or `["any key"]` / `['key']` for members,
 * `[3]` for an index, `[*]` for any index, `.*` for any member, `..name` / `..[*]` for a
 * descendant at any depth. Each path compiles to nodes of a trie (an NFA when `..` is used);
 * the diff carries the set of active nodes from parent to child, so matching a child costs a
 * map lookup per active node and no string or regex work at comparison time (H8).
 */
import { PARITYGATE_ERR_CONFIG_INVALID } from '../errors.ts'
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

/** One parsed path segment. */
type Segment =
  | { type: 'key', key: string }
  | { type: 'anyKey' }
  | { type: 'index', index: number }
  | { type: 'anyIndex' }
  | { type: 'descendant' }

export function invalid (key: string, message: string): Error {
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
