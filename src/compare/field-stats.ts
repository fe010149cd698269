/* Per-route counts of differing JSON paths (indices collapsed), bounded in routes and paths. */
import { collapsePath } from './json-diff.ts'

class FieldCount {
  count: number
  kinds: Record<string, number>
  lastAt: number
  constructor () {
    this.count = 0
    this.kinds = Object.create(null)
    this.lastAt = 0
  }
}

/** Which fields differ most, per route. */
export class FieldStats {
  readonly maxRoutes: number
  readonly maxPaths: number
  #routes: Map<string, { compared: number, paths: Map<string, FieldCount> }>
  /** the route recorded last: already the most recent, nothing to reorder */
  #last: string | null

  /**
   * @param maxRoutes routes tracked (least recently updated dropped) @default 500
   * @param maxPaths paths per route (least counted dropped) @default 200
   */
  constructor (maxRoutes = 500, maxPaths = 200) {
    this.maxRoutes = maxRoutes
    this.maxPaths = maxPaths
    this.#routes = new Map()
    this.#last = null
  }

  /** Counts one comparison of the route and the paths that differed in it. */
  record (route: string, diffs: ReadonlyArray<{ path: string, kind: string }>): void {
    let r = this.#routes.get(route)
    if (r === undefined) {
      if (this.#routes.size >= this.maxRoutes) this.#routes.delete(this.#routes.keys().next().value as string)
      r = { compared: 0, paths: new Map() }
      this.#routes.set(route, r)
    } else if (this.#last !== route) {
      this.#routes.delete(route)
      this.#routes.set(route, r)
    }
    this.#last = route
    r.compared++
    if (diffs.length === 0) return
    const now = Date.now()
    const seen = new Set<string>()
    for (const d of diffs) {
      const path = collapsePath(d.path)
      if (seen.has(path)) continue
      seen.add(path)
      let f = r.paths.get(path)
      if (f === undefined) {
        if (r.paths.size >= this.maxPaths) {
          let low: string | null = null
          let min = Infinity
          for (const [p, c] of r.paths) if (c.count < min) { min = c.count; low = p }
          if (low !== null) r.paths.delete(low)
        }
        f = new FieldCount()
        r.paths.set(path, f)
      }
      f.count++
      f.kinds[d.kind] = (f.kinds[d.kind] ?? 0) + 1
      f.lastAt = now
    }
  }

  /** The differing paths of a route (or of all routes), most frequent first. */
  list (route: string | null): Array<{ route: string, path: string, count: number, ratio: number, kinds: Record<string, number> }> {
    const out = []
    for (const [name, r] of this.#routes) {
      if (route !== null && name !== route) continue
      for (const [path, f] of r.paths) out.push({ route: name, path, count: f.count, ratio: f.count / r.compared, kinds: { ...f.kinds } })
    }
    return out.sort((a, b) => b.count - a.count || (a.path < b.path ? -1 : 1))
  }

  reset (): void {
    this.#routes.clear()
    this.#last = null
  }
}
