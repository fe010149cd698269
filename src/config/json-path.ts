/*
 * The syntax of rule paths (`compare.ignore`, `redact.fields`…), parsed in one place: the schema
 * checks every path with it (the `jsonPath` keyword) and the comparison compiles its path trie
 * from it (src/compare/json-path.ts). Paths are JSONPath-ish: `$` root, `.name` or `["any key"]` /
 * `['key']` for members, `[3]` for an index, `[*]` for any index, `.*` for any member, `..name` /
 * `..[*]` for a descendant at any depth. See docs/comparison.md.
 */
import { PARITYGATE_ERR_CONFIG_INVALID } from '../errors.ts'

/** One parsed path segment. */
export type Segment =
  | { type: 'key', key: string }
  | { type: 'anyKey' }
  | { type: 'index', index: number }
  | { type: 'anyIndex' }
  | { type: 'descendant' }

/** A config error naming its key: `key: message`. */
export function invalid (key: string, message: string): Error {
  return new PARITYGATE_ERR_CONFIG_INVALID(`${key}: ${message}`)
}

/** What is wrong with a path, without the key: thrown by the parser, caught by {@link pathError}. */
class PathSyntaxError extends Error {}

/**
 * Parse a rule path such as `$.items[*].price`, `$["a.b"]` or `$..id` into segments.
 * @param path the path text
 * @param where config key used in error messages
 * @throws PARITYGATE_ERR_CONFIG_INVALID `where: what is wrong`
 */
export function parsePath (path: string, where = 'path'): Segment[] {
  try {
    return segments(path)
  } catch (err) {
    if (err instanceof PathSyntaxError) throw invalid(where, err.message)
    throw err
  }
}

/** What is wrong with a path (`missing "]" in "$.x["`), or null when it parses. */
export function pathError (path: string): string | null {
  try {
    segments(path)
    return null
  } catch (err) {
    if (err instanceof PathSyntaxError) return err.message
    throw err
  }
}

function segments (path: string): Segment[] {
  if (typeof path !== 'string' || path.charCodeAt(0) !== 0x24) throw new PathSyntaxError(`path ${JSON.stringify(path)} must start with "$"`)
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
      if (j === i) throw new PathSyntaxError(`empty member name at offset ${i} of ${JSON.stringify(path)}`)
      out.push({ type: 'key', key: path.slice(i, j) })
      i = j
    } else if (c === '[') {
      const close = bracketEnd(path, i)
      const inner = path.slice(i + 1, close)
      if (inner === '*') out.push({ type: 'anyIndex' })
      else if (/^(0|[1-9]\d*)$/.test(inner)) out.push({ type: 'index', index: Number(inner) })
      else if (inner.startsWith('"')) out.push({ type: 'key', key: parseQuoted(inner, path) })
      else if (inner.startsWith("'") && inner.endsWith("'") && inner.length >= 2) out.push({ type: 'key', key: inner.slice(1, -1) })
      else throw new PathSyntaxError(`bad bracket segment [${inner}] in ${JSON.stringify(path)}`)
      i = close + 1
    } else {
      throw new PathSyntaxError(`unexpected ${JSON.stringify(c)} at offset ${i} of ${JSON.stringify(path)}`)
    }
  }
  if (out.length > 0 && out[out.length - 1].type === 'descendant') throw new PathSyntaxError(`path ${JSON.stringify(path)} ends with ".."`)
  return out
}

function bracketEnd (path: string, i: number): number {
  const q = path[i + 1]
  if (q === '"' || q === "'") {
    for (let j = i + 2; j < path.length; j++) {
      if (path[j] === '\\') { j++; continue }
      if (path[j] === q) {
        if (path[j + 1] === ']') return j + 1
        break
      }
    }
    throw new PathSyntaxError(`unterminated quoted segment in ${JSON.stringify(path)}`)
  }
  const close = path.indexOf(']', i)
  if (close < 0) throw new PathSyntaxError(`missing "]" in ${JSON.stringify(path)}`)
  return close
}

function parseQuoted (inner: string, path: string): string {
  try {
    const key: unknown = JSON.parse(inner)
    if (typeof key === 'string') return key
  } catch {}
  throw new PathSyntaxError(`bad quoted key ${inner} in ${JSON.stringify(path)}`)
}
