/* Route naming: configured templates first, then an automatic name with id-like segments collapsed, capped in number. */
import { type FrozenConfig } from '../config/index.ts'

type RouteConfig = FrozenConfig['routes'][number]

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'])
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const HEX = /^(?:0x)?[0-9a-f]{16,}$/i
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/i
const INT = /^-?\d+$/
/** Long opaque tokens (base64url ids, hashes) that carry digits: no real path word looks like this. */
const TOKEN = /^(?=.*\d)[A-Za-z0-9_-]{24,}$/

/** The name reported for a request when the cap on distinct names is reached. */
export const OTHER_ROUTE = 'other'

/** Paths (method, space and path) longer than this are named each time, never cached. */
export const MAX_CACHED_KEY = 256
/** What the route cache may hold, counting each entry as its key's length plus ENTRY_BYTES. */
export const ROUTE_CACHE_BYTES = 2 * 1024 * 1024
/** A Map entry's own cost, roughly (the RouteMatch it points to is shared). */
const ENTRY_BYTES = 64
/** An automatic name longer than this is `other`: it would be a label of every series of its route. */
export const MAX_NAME_CHARS = 256

/** True for a path segment that names one record rather than a collection: integers, UUIDs, long hex, ULIDs, long tokens. */
export function isIdSegment (segment: string): boolean {
  return INT.test(segment) || UUID.test(segment) || HEX.test(segment) || ULID.test(segment) || TOKEN.test(segment)
}

/** A route's name and its own mirroring settings, if it has any. */
export class RouteMatch {
  name: string
  /** percent for this route, or null to use mirror.percent */
  mirrorPercent: number | null
  /** methods this route may mirror, or null to use mirror.methods */
  mirrorMethods: ReadonlySet<string> | null
  constructor (name: string, mirrorPercent: number | null, mirrorMethods: ReadonlySet<string> | null) {
    this.name = name
    this.mirrorPercent = mirrorPercent
    this.mirrorMethods = mirrorMethods
  }
}

class CompiledRoute {
  name: string
  match: RouteMatch
  method: string | null
  segments: string[]
  /** a trailing `*` matches any rest of the path */
  rest: boolean
  constructor (config: RouteConfig) {
    const sp = config.match.indexOf(' ')
    const method = sp === -1 ? '*' : config.match.slice(0, sp)
    const path = sp === -1 ? config.match : config.match.slice(sp + 1)
    this.name = config.name ?? config.match
    this.match = new RouteMatch(this.name, config.mirror?.percent ?? null, config.mirror?.methods === undefined ? null : new Set(config.mirror.methods))
    this.method = method === '*' ? null : method
    this.segments = path.split('/').slice(1)
    this.rest = this.segments[this.segments.length - 1] === '*'
    if (this.rest) this.segments.pop()
  }

  matches (method: string, parts: string[]): boolean {
    if (this.method !== null && this.method !== method) return false
    if (this.rest ? parts.length < this.segments.length : parts.length !== this.segments.length) return false
    for (let i = 0; i < this.segments.length; i++) {
      const s = this.segments[i]
      if (s.charCodeAt(0) === 58 /* : */ ? parts[i] === '' : s !== parts[i]) return false
    }
    return true
  }
}

/**
 * Names requests for labels and reports. Names are bounded: at most `maxRoutes` distinct automatic
 * names of at most MAX_NAME_CHARS each; beyond that, `other`. A cache bounded in bytes
 * (ROUTE_CACHE_BYTES, paths over MAX_CACHED_KEY never cached) keeps the per-request cost to one
 * Map lookup; bounding the cache in bytes, not entries, keeps long unique paths from filling memory.
 */
export class RouteNamer {
  #routes: CompiledRoute[]
  #maxRoutes: number
  #auto: Map<string, RouteMatch>
  #other: RouteMatch
  #cache: Map<string, RouteMatch>
  #cacheLimit: number
  #cacheBytes: number

  /**
   * @param routes configured templates, tried in order
   * @param maxRoutes cap on distinct automatic names @default 200
   */
  constructor (routes: readonly RouteConfig[], maxRoutes = 200) {
    this.#routes = routes.map((r) => new CompiledRoute(r))
    this.#maxRoutes = maxRoutes
    this.#auto = new Map()
    this.#other = new RouteMatch(OTHER_ROUTE, null, null)
    this.#cache = new Map()
    this.#cacheLimit = 10_000
    this.#cacheBytes = 0
  }

  /** What the route cache holds, counted as ROUTE_CACHE_BYTES counts it. */
  get cacheBytes (): number { return this.#cacheBytes }

  /** The route name for a method and a request target (query string ignored). */
  name (method: string, url: string): string {
    return this.match(method, url).name
  }

  /** The route (name and mirroring settings) for a method and a request target; one Map lookup when cached. */
  match (method: string, url: string): RouteMatch {
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    const key = `${method} ${path}`
    const hit = this.#cache.get(key)
    if (hit !== undefined) return hit
    const found = this.#compute(METHODS.has(method) ? method : 'OTHER', path)
    if (key.length > MAX_CACHED_KEY) return found
    const bytes = key.length + ENTRY_BYTES
    if (this.#cache.size >= this.#cacheLimit || this.#cacheBytes + bytes > ROUTE_CACHE_BYTES) {
      this.#cache.clear()
      this.#cacheBytes = 0
    }
    this.#cache.set(key, found)
    this.#cacheBytes += bytes
    return found
  }

  #compute (method: string, path: string): RouteMatch {
    const parts = path.split('/').slice(1)
    for (const route of this.#routes) {
      if (route.matches(method, parts)) return route.match
    }
    for (let i = 0; i < parts.length; i++) {
      let part = parts[i]
      try { part = decodeURIComponent(part) } catch {}
      if (isIdSegment(part)) parts[i] = ':id'
      else if (part.length > 64) parts[i] = ':long'
    }
    const name = `${method} /${parts.join('/')}`
    if (name.length > MAX_NAME_CHARS) return this.#other
    const known = this.#auto.get(name)
    if (known !== undefined) return known
    if (this.#auto.size >= this.#maxRoutes) return this.#other
    const created = new RouteMatch(name, null, null)
    this.#auto.set(name, created)
    return created
  }
}
