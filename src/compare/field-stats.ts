/* Per-route counts of differing JSON paths (indices collapsed), with a few example values, bounded in routes, paths and bytes. */
import { collapsePath } from './signature.ts'
import { scrubCards } from '../secrets.ts'
import { valueView, type StoredValue, type ValueView } from './samples.ts'

/** Example value pairs kept per path. */
export const EXAMPLES_PER_PATH = 3

/** One example of a differing path as the API shows it: the concrete path and each side's value (null: nothing there). */
export interface FieldExample {
  path: string
  primary: ValueView | null
  candidate: ValueView | null
}

/** An example as kept: values already redacted (they come from the comparison's Redactor). */
interface StoredExample {
  path: string
  primary: StoredValue | null
  candidate: StoredValue | null
  bytes: number
}

class FieldCount {
  count: number
  kinds: Record<string, number>
  lastAt: number
  examples: StoredExample[]
  /** the example replaced next when full (the oldest) */
  next: number
  constructor () {
    this.count = 0
    this.kinds = Object.create(null)
    this.lastAt = 0
    this.examples = []
    this.next = 0
  }
}

function exampleBytes (e: Omit<StoredExample, 'bytes'>): number {
  return 96 + (e.path.length + (e.primary?.text.length ?? 0) + (e.candidate?.text.length ?? 0)) * 2
}

function sameValue (a: StoredValue | null, b: StoredValue | null): boolean {
  return a === null || b === null ? a === b : a.text === b.text
}

/** Which fields differ most, per route. */
export class FieldStats {
  readonly maxRoutes: number
  readonly maxPaths: number
  readonly maxExampleBytes: number
  #routes: Map<string, { compared: number, paths: Map<string, FieldCount> }>
  #exampleBytes: number
  /** the route recorded last: already the most recent, nothing to reorder */
  #last: string | null

  /**
   * @param maxRoutes routes tracked (least recently updated dropped) @default 500
   * @param maxPaths paths per route (least counted dropped) @default 200
   * @param maxExampleBytes approximate memory of all example values; past it no new example is kept @default 4 MiB
   */
  constructor (maxRoutes = 500, maxPaths = 200, maxExampleBytes = 4 * 1024 * 1024) {
    this.maxRoutes = maxRoutes
    this.maxPaths = maxPaths
    this.maxExampleBytes = maxExampleBytes
    this.#routes = new Map()
    this.#exampleBytes = 0
    this.#last = null
  }

  /** Approximate memory held by example values. */
  get exampleBytes (): number { return this.#exampleBytes }

  /**
   * Counts one comparison of the route and the paths that differed in it; with `values` (the
   * redacted values of each side at `diffs[k]`), keeps the latest few distinct ones per path.
   */
  record (route: string, diffs: ReadonlyArray<{ path: string, kind: string }>, values: ReadonlyArray<{ primary?: StoredValue | null, candidate?: StoredValue | null }> | null = null): void {
    let r = this.#routes.get(route)
    if (r === undefined) {
      if (this.#routes.size >= this.maxRoutes) {
        const oldest = this.#routes.keys().next().value as string
        for (const f of (this.#routes.get(oldest) as { paths: Map<string, FieldCount> }).paths.values()) this.#forget(f)
        this.#routes.delete(oldest)
      }
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
    for (let k = 0; k < diffs.length; k++) {
      const d = diffs[k]
      const path = collapsePath(d.path)
      if (seen.has(path)) continue
      seen.add(path)
      let f = r.paths.get(path)
      if (f === undefined) {
        if (r.paths.size >= this.maxPaths) {
          let low: string | null = null
          let min = Infinity
          for (const [p, c] of r.paths) if (c.count < min) { min = c.count; low = p }
          if (low !== null) {
            this.#forget(r.paths.get(low) as FieldCount)
            r.paths.delete(low)
          }
        }
        f = new FieldCount()
        r.paths.set(path, f)
      }
      f.count++
      f.kinds[d.kind] = (f.kinds[d.kind] ?? 0) + 1
      f.lastAt = now
      const v = values?.[k]
      if (v !== undefined && (v.primary !== undefined || v.candidate !== undefined)) this.#example(f, d.path, v.primary ?? null, v.candidate ?? null)
    }
  }

  /** Keeps an example pair unless the path has it already; full, it replaces the oldest; within the byte cap. */
  #example (f: FieldCount, path: string, primary: StoredValue | null, candidate: StoredValue | null): void {
    for (const e of f.examples) if (sameValue(e.primary, primary) && sameValue(e.candidate, candidate)) return
    const shown = scrubCards(path)
    const e: StoredExample = { path: shown, primary, candidate, bytes: 0 }
    e.bytes = exampleBytes(e)
    const replaced = f.examples.length >= EXAMPLES_PER_PATH ? f.examples[f.next] : null
    if (this.#exampleBytes + e.bytes - (replaced?.bytes ?? 0) > this.maxExampleBytes) return
    this.#exampleBytes += e.bytes - (replaced?.bytes ?? 0)
    if (replaced === null) f.examples.push(e)
    else {
      f.examples[f.next] = e
      f.next = (f.next + 1) % EXAMPLES_PER_PATH
    }
  }

  #forget (f: FieldCount): void {
    for (const e of f.examples) this.#exampleBytes -= e.bytes
    f.examples = []
  }

  /** The differing paths of a route (or of all routes), most frequent first. */
  list (route: string | null): Array<{ route: string, path: string, count: number, ratio: number, kinds: Record<string, number>, examples: FieldExample[] }> {
    const out = []
    for (const [name, r] of this.#routes) {
      if (route !== null && name !== route) continue
      for (const [path, f] of r.paths) {
        const examples = f.examples.map((e) => ({ path: e.path, primary: e.primary === null ? null : valueView(e.primary), candidate: e.candidate === null ? null : valueView(e.candidate) }))
        out.push({ route: name, path, count: f.count, ratio: f.count / r.compared, kinds: { ...f.kinds }, examples })
      }
    }
    return out.sort((a, b) => b.count - a.count || (a.path < b.path ? -1 : 1))
  }

  reset (): void {
    this.#routes.clear()
    this.#exampleBytes = 0
    this.#last = null
  }
}
