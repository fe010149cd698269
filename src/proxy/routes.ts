/* Route naming: configured templates first, then an automatic name with id-like segments collapsed, capped in number. */
import { type RouteConfig } from '../config/index.ts'

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'])
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const HEX = /^(?:0x)?[0-9a-f]{16,}$/i
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/i
const INT = /^-?\d+$/
/** Long opaque tokens (base64url ids, hashes) that carry digits: no real path word looks like this. */
const TOKEN = /^(?=.*\d)[A-Za-z0-9_-]{24,}$/

/** The name reported for a request when the cap on distinct names is reached. */
export const OTHER_ROUTE = 'other'

/** True for a path segment that names one record rather than a collection: integers, UUIDs, long hex, ULIDs, long tokens. */
export function isIdSegment (segment: string): boolean {
  return INT.test(segment) || UUID.test(segment) || HEX.test(segment) || ULID.test(segment) || TOKEN.test(segment)
}

class CompiledRoute {
  name: string
  method: string | null
  segments: string[]
  /** a trailing `*` matches any rest of the path */
  rest: boolean
  constructor (config: Readonly<RouteConfig>) {
    const sp = config.match.indexOf(' ')
    const method = sp === -1 ? '*' : config.match.slice(0, sp)
    const path = sp === -1 ? config.match : config.match.slice(sp + 1)
    this.name = config.name ?? config.match
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
 * names; beyond that, `other`. A bounded cache keeps the per-request cost to one Map lookup.
 */
export class RouteNamer {
  #routes: CompiledRoute[]
  #maxRoutes: number
  #auto: Set<string>
  #cache: Map<string, string>
  #cacheLimit: number

  /**
   * @param routes configured templates, tried in order
   * @param maxRoutes cap on distinct automatic names @default 200
   */
  constructor (routes: ReadonlyArray<Readonly<RouteConfig>>, maxRoutes = 200) {
    this.#routes = routes.map((r) => new CompiledRoute(r))
    this.#maxRoutes = maxRoutes
    this.#auto = new Set()
    this.#cache = new Map()
    this.#cacheLimit = 10_000
  }

  /** The route name for a method and a request target (query string ignored). */
  name (method: string, url: string): string {
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    const key = `${method} ${path}`
    const hit = this.#cache.get(key)
    if (hit !== undefined) return hit
    const name = this.#compute(METHODS.has(method) ? method : 'OTHER', path)
    if (this.#cache.size >= this.#cacheLimit) this.#cache.clear()
    this.#cache.set(key, name)
    return name
  }

  #compute (method: string, path: string): string {
    const parts = path.split('/').slice(1)
    for (const route of this.#routes) {
      if (route.matches(method, parts)) return route.name
    }
    for (let i = 0; i < parts.length; i++) {
      let part = parts[i]
      try { part = decodeURIComponent(part) } catch {}
      if (isIdSegment(part)) parts[i] = ':id'
      else if (part.length > 64) parts[i] = ':long'
    }
    const name = `${method} /${parts.join('/')}`
    if (this.#auto.has(name)) return name
    if (this.#auto.size >= this.#maxRoutes) return OTHER_ROUTE
    this.#auto.add(name)
    return name
  }
}
