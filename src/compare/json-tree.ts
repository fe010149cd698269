/* The canonical tree that canonical.ts builds from a body's bytes: its nodes and the canonical text of a subtree. */

/** Node kinds of the canonical tree. */
export const Kind = {
  Null: 0,
  Bool: 1,
  Number: 2,
  String: 3,
  Array: 4,
  Object: 5
} as const

/** One of the {@link Kind} values. */
export type JsonKind = typeof Kind[keyof typeof Kind]

/**
 * A node of the canonical tree. Objects keep their keys sorted (UTF-16 code units) in `keys`,
 * the canonical quoted form of each key followed by ':' in `keyTexts` and the values at the same index in
 * `children`; arrays keep their items in `children`. `canonical` is the canonical text of the
 * subtree: always set on scalars (quoted re-escaped string, normalised number), and on
 * containers only once {@link canonicalText} computed it (the root's is set by canonicalize).
 */
export class JsonNode {
  kind: JsonKind
  canonical: string | null
  keys: string[] | null
  keyTexts: string[] | null
  children: JsonNode[] | null

  constructor (kind: JsonKind, canonical: string | null, keys: string[] | null, keyTexts: string[] | null, children: JsonNode[] | null) {
    this.kind = kind
    this.canonical = canonical
    this.keys = keys
    this.keyTexts = keyTexts
    this.children = children
  }
}

/**
 * The canonical text of a subtree, computed once (iteratively, top-down, joined in one
 * allocation) and cached on the node (string ropes built bottom-up leave the garbage collector
 * far more to do on large bodies).
 * @param node a node of a tree returned by canonicalize
 */
export function canonicalText (node: JsonNode): string {
  if (node.canonical !== null) return node.canonical
  // Parts are joined in chunks: one join over a million-entry array is much slower.
  const chunks: string[] = []
  let parts: string[] = [node.kind === Kind.Object ? '{' : '[']
  const nodes: JsonNode[] = [node]
  const positions: number[] = [0]
  let depth = 0
  while (depth >= 0) {
    const top = nodes[depth]
    const children = top.children as JsonNode[]
    const k = positions[depth]
    if (k === children.length) {
      parts.push(top.kind === Kind.Object ? '}' : ']')
      depth--
      continue
    }
    positions[depth] = k + 1
    if (parts.length >= CHUNK) {
      chunks.push(parts.join(''))
      parts = []
    }
    if (k > 0) parts.push(',')
    if (top.keyTexts !== null) parts.push(top.keyTexts[k])
    const child = children[k]
    if (child.canonical !== null) {
      parts.push(child.canonical)
    } else {
      parts.push(child.kind === Kind.Object ? '{' : '[')
      depth++
      nodes[depth] = child
      positions[depth] = 0
    }
  }
  chunks.push(parts.join(''))
  const text = chunks.length === 1 ? chunks[0] : chunks.join('')
  node.canonical = text
  return text
}

const CHUNK = 2048
