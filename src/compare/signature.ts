/* Where mismatches are grouped: a difference's path with its array indices collapsed, and a mismatch's signature (route and paths). */

/**
 * Replace every array index of a path by `[*]` (quoted member names are left alone).
 * @param path a path as produced by jsonDiff (json-diff.ts)
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
