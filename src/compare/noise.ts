/*
 * Learns which JSON paths are nondeterministic per route, from pairs of primary answers
 * (Diffy's idea): a path that differs between two calls to the same v1 is noise.
 *
 * Every observation of a route is one tick. Each path keeps an exponentially decayed count of
 * the ticks where it differed, and the route keeps the decayed count of all ticks, both with
 * the same half-life (in observations), so rate = decayed differing / decayed observed. A field
 * that stops differing (fixed in v1) decays below the threshold within a few half-lives.
 * Memory is bounded: at most maxRoutes routes (least recently observed evicted) and
 * maxPathsPerRoute paths per route (the lowest decayed count evicted).
 */
import { collapsePath } from './signature.ts'

/** Options of {@link NoiseLearner}. */
export interface NoiseOptions {
  /** Observations after which an old observation weighs half. @default 50 */
  halfLife?: number
  /** Rate from which a path counts as noisy. @default 0.05 */
  threshold?: number
  /** Decayed observations needed before any path counts as noisy. @default 5 */
  minObservations?: number
  /** Routes tracked. @default 1000 */
  maxRoutes?: number
  /** Paths tracked per route. @default 200 */
  maxPathsPerRoute?: number
}

/** One entry of {@link NoiseLearner.list}. */
export interface NoisyPath {
  path: string
  rate: number
  noisy: boolean
}

class PathStat {
  score: number
  tick: number

  constructor (score: number, tick: number) {
    this.score = score
    this.tick = tick
  }
}

class RouteStat {
  tick: number
  total: number
  paths: Map<string, PathStat>

  constructor () {
    this.tick = 0
    this.total = 0
    this.paths = new Map()
  }
}

/** Per-route learner of noisy (nondeterministic) paths. */
export class NoiseLearner {
  #decay: number
  #threshold: number
  #minObservations: number
  #maxRoutes: number
  #maxPaths: number
  #routes: Map<string, RouteStat>

  /**
   * @param opts see {@link NoiseOptions}
   */
  constructor (opts: NoiseOptions = {}) {
    const halfLife = opts.halfLife ?? 50
    this.#decay = Math.pow(0.5, 1 / halfLife)
    this.#threshold = opts.threshold ?? 0.05
    this.#minObservations = opts.minObservations ?? 5
    this.#maxRoutes = opts.maxRoutes ?? 1000
    this.#maxPaths = opts.maxPathsPerRoute ?? 200
    this.#routes = new Map()
  }

  /**
   * Record one comparison of two primary answers of a route.
   * @param route bounded route name
   * @param paths paths that differed (array indices are collapsed here); empty when equal
   */
  observe (route: string, paths: Iterable<string>): void {
    let stat = this.#routes.get(route)
    if (stat === undefined) {
      stat = new RouteStat()
      if (this.#routes.size >= this.#maxRoutes) this.#routes.delete(this.#routes.keys().next().value as string)
    } else {
      this.#routes.delete(route)
    }
    this.#routes.set(route, stat)
    stat.tick++
    stat.total = stat.total * this.#decay + 1
    const seen = new Set<string>()
    for (const raw of paths) {
      const path = collapsePath(raw)
      if (seen.has(path)) continue
      seen.add(path)
      let p = stat.paths.get(path)
      if (p === undefined) {
        if (stat.paths.size >= this.#maxPaths) this.#evictPath(stat)
        p = new PathStat(0, stat.tick)
        stat.paths.set(path, p)
      }
      p.score = this.#decayed(p, stat.tick) + 1
      p.tick = stat.tick
    }
  }

  #decayed (p: PathStat, tick: number): number {
    return p.score * Math.pow(this.#decay, tick - p.tick)
  }

  #evictPath (stat: RouteStat): void {
    let worst: string | null = null
    let low = Infinity
    for (const [path, p] of stat.paths) {
      const s = this.#decayed(p, stat.tick)
      if (s < low) { low = s; worst = path }
    }
    if (worst !== null) stat.paths.delete(worst)
  }

  /**
   * Decayed share of observations in which the path differed (0 when unknown).
   * @param route route name
   * @param path a path (indices are collapsed)
   */
  rate (route: string, path: string): number {
    const stat = this.#routes.get(route)
    if (stat === undefined || stat.total === 0) return 0
    const p = stat.paths.get(collapsePath(path))
    return p === undefined ? 0 : Math.min(1, this.#decayed(p, stat.tick) / stat.total)
  }

  /**
   * True when the path is known to differ between two primary answers of the route.
   * @param route route name
   * @param path a path (indices are collapsed)
   */
  isNoisy (route: string, path: string): boolean {
    const stat = this.#routes.get(route)
    if (stat === undefined || stat.total < this.#minObservations) return false
    return this.rate(route, path) >= this.#threshold
  }

  /**
   * Whether the route has been observed enough (noise.minObservations, decayed) for its paths to
   * count as noise: before that, a difference on a fresh id or stamp is unknown, not a regression.
   * @param route route name
   */
  judged (route: string): boolean {
    const stat = this.#routes.get(route)
    return stat !== undefined && stat.total >= this.#minObservations
  }

  /**
   * True when every path is noisy (so a mismatch on exactly these paths is `noise`).
   * @param route route name
   * @param paths differing paths of a mismatch; false when empty
   */
  allNoisy (route: string, paths: Iterable<string>): boolean {
    let any = false
    for (const p of paths) {
      if (!this.isNoisy(route, p)) return false
      any = true
    }
    return any
  }

  /**
   * Paths seen differing on a route, highest rate first.
   * @param route route name
   */
  list (route: string): NoisyPath[] {
    const stat = this.#routes.get(route)
    if (stat === undefined) return []
    const enough = stat.total >= this.#minObservations
    const out: NoisyPath[] = []
    for (const [path, p] of stat.paths) {
      const rate = Math.min(1, this.#decayed(p, stat.tick) / stat.total)
      out.push({ path, rate, noisy: enough && rate >= this.#threshold })
    }
    return out.sort((x, y) => y.rate - x.rate || (x.path < y.path ? -1 : 1))
  }

  /** Routes tracked, least recently observed first. */
  routes (): string[] {
    return [...this.#routes.keys()]
  }

  /** Forget everything (a new candidate version does not change v1's noise, but tests do). */
  reset (): void {
    this.#routes.clear()
  }
}
