/* The configuration schema, its defaults, and the one compiled validator (unknown keys rejected, result frozen). */
import { Ajv, type ErrorObject } from 'ajv'
import { PARITYGATE_ERR_CONFIG_INVALID } from '../errors.ts'
import { closest } from './suggest.ts'
import { type Config, type FrozenConfig } from './types.ts'

/** Defaults for every optional key; documented key by key in README.md#configuration. */
export const defaultConfig = {
  workers: 1,
  listen: '0.0.0.0:8000',
  admin: '0.0.0.0:9000',
  primary: {
    timeoutMs: 30_000,
    connectTimeoutMs: 5_000,
    bodyTimeoutMs: 300_000,
    connections: 128,
    keepAliveTimeoutMs: 4_000,
    host: null
  },
  candidate: {
    url: null,
    timeoutMs: 5_000,
    connections: 64,
    maxInflight: 64,
    maxResponseBytes: 4 * 1024 * 1024,
    host: null,
    dropHeaders: [],
    setHeaders: {},
    breaker: { failures: 5, cooldownMs: 5_000 },
    versionHeader: null
  },
  mirror: {
    enabled: true,
    percent: 100,
    methods: ['GET', 'HEAD', 'OPTIONS'],
    maxBodyBytes: 1024 * 1024,
    stickyHeader: null,
    stickyCookie: null,
    shadowHeader: 'x-paritygate-shadow',
    maxEventLoopLagMs: 200,
    maxCaptureBytes: 64 * 1024 * 1024,
    offloadFromBytes: 256 * 1024
  },
  compare: {
    headers: ['content-type'],
    maxBodyBytes: 4 * 1024 * 1024,
    maxDepth: 1000,
    maxDiffs: 100,
    workers: 1,
    workerMinBytes: 64 * 1024,
    maxQueue: 1000,
    maxQueueBytes: 64 * 1024 * 1024,
    samples: { perSignature: 5, maxEntries: 500, maxBytes: 16 * 1024 * 1024, maxBodyChars: 16 * 1024 },
    mismatchLog: { path: null, maxBytes: 50 * 1024 * 1024, maxFiles: 3 }
  },
  noise: { percent: 5, secondary: null, halfLife: 50, threshold: 0.05, minObservations: 5 },
  gate: {
    window: '5m',
    maxWindow: '1h',
    confidence: 0.95,
    mismatchBudget: 0.001,
    errorBudget: 0.005,
    latencyP95Ratio: 1.10,
    latencySlackMs: 5,
    minLatencySamples: 100,
    maxRoutes: 100,
    notify: { webhooks: [], intervalMs: 10_000, retries: 3, timeoutMs: 5_000, pageUrl: null }
  },
  proxy: {
    requestIdHeader: 'x-request-id',
    via: false,
    xForwarded: true,
    maxHeaderBytes: 65_536,
    maxHeaderCount: 200,
    keepAliveTimeoutMs: 65_000,
    headersTimeoutMs: 10_000,
    maxConnections: null,
    clientTimeoutMs: 30_000,
    clientMinBytesPerSecond: 1024,
    slowClientAfterMs: 2_000,
    slowClientShare: 0.5
  },
  routes: [],
  maxRoutes: 200,
  shutdown: { graceMs: 25_000, delayMs: 0 },
  redact: { headers: ['authorization', 'cookie', 'set-cookie', 'proxy-authorization'], fields: [], storeNonJsonBodies: false },
  log: { level: 'info' }
} as const

const ms = (def: number, min = 1, max = 86_400_000) => ({ type: 'integer', minimum: min, maximum: max, default: def })
const HEADER_NAME = '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$'
const METHODS = { type: 'array', items: { type: 'string', pattern: '^[A-Z]+$' }, uniqueItems: true }
const PERCENT = { type: 'number', minimum: 0, maximum: 100 }
const WINDOW = '^[1-9]\\d{0,6}(ms|s|m|h)$'
const JSON_PATH = { type: 'string', pattern: '^\\$' }
const TOLERANCE = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: { absolute: { type: 'number', minimum: 0 }, relative: { type: 'number', minimum: 0 } }
}
/** The comparison rules, shared by `compare` and `routes[].compare`; defaults only at the top level. */
const RULE_PROPERTIES = {
  headers: { type: 'array', items: { type: 'string', pattern: HEADER_NAME } },
  ignore: { type: 'array', items: JSON_PATH },
  numberTolerance: TOLERANCE,
  tolerances: { type: 'object', propertyNames: { pattern: '^\\$' }, additionalProperties: TOLERANCE },
  timestamps: { anyOf: [{ type: 'boolean' }, { type: 'array', items: JSON_PATH }] },
  timestampToleranceMs: { type: 'number', minimum: 0 },
  unordered: { type: 'array', items: JSON_PATH },
  keyed: { type: 'object', propertyNames: { pattern: '^\\$' }, additionalProperties: { type: 'string', minLength: 1 } },
  maxBodyBytes: { type: 'integer', minimum: 1, maximum: 256 * 1024 * 1024 },
  maxDepth: { type: 'integer', minimum: 1, maximum: 100_000 },
  maxDiffs: { type: 'integer', minimum: 1, maximum: 10_000 }
} as const

/** JSON Schema of the whole file; every object rejects unknown keys. */
export const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['primary'],
  properties: {
    workers: { anyOf: [{ type: 'integer', minimum: 1, maximum: 64 }, { const: 'auto' }], default: defaultConfig.workers },
    listen: { type: 'string', format: 'hostport', default: defaultConfig.listen },
    admin: { type: 'string', format: 'hostport', default: defaultConfig.admin },
    primary: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: {
        url: { type: 'string', format: 'origin' },
        timeoutMs: ms(defaultConfig.primary.timeoutMs),
        connectTimeoutMs: ms(defaultConfig.primary.connectTimeoutMs),
        bodyTimeoutMs: ms(defaultConfig.primary.bodyTimeoutMs, 0),
        connections: { type: 'integer', minimum: 1, maximum: 65_536, default: defaultConfig.primary.connections },
        keepAliveTimeoutMs: ms(defaultConfig.primary.keepAliveTimeoutMs),
        host: { type: ['string', 'null'], minLength: 1, pattern: '^[^\\s/]+$', default: defaultConfig.primary.host }
      }
    },
    candidate: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        url: { type: ['string', 'null'], format: 'origin', default: defaultConfig.candidate.url },
        timeoutMs: ms(defaultConfig.candidate.timeoutMs),
        connections: { type: 'integer', minimum: 1, maximum: 4096, default: defaultConfig.candidate.connections },
        maxInflight: { type: 'integer', minimum: 1, maximum: 100_000, default: defaultConfig.candidate.maxInflight },
        maxResponseBytes: { type: 'integer', minimum: 0, maximum: 1024 * 1024 * 1024, default: defaultConfig.candidate.maxResponseBytes },
        host: { type: ['string', 'null'], minLength: 1, pattern: '^[^\\s/]+$', default: defaultConfig.candidate.host },
        dropHeaders: { type: 'array', items: { type: 'string', pattern: HEADER_NAME }, default: [] },
        setHeaders: { type: 'object', propertyNames: { pattern: HEADER_NAME }, additionalProperties: { type: 'string', pattern: '^[^\\r\\n\\0]*$' }, default: {} },
        breaker: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            failures: { type: 'integer', minimum: 1, maximum: 1_000_000, default: defaultConfig.candidate.breaker.failures },
            cooldownMs: ms(defaultConfig.candidate.breaker.cooldownMs)
          }
        },
        versionHeader: { type: ['string', 'null'], pattern: HEADER_NAME, default: defaultConfig.candidate.versionHeader }
      }
    },
    mirror: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: defaultConfig.mirror.enabled },
        percent: { ...PERCENT, default: defaultConfig.mirror.percent },
        methods: { ...METHODS, default: [...defaultConfig.mirror.methods] },
        maxBodyBytes: { type: 'integer', minimum: 0, maximum: 64 * 1024 * 1024, default: defaultConfig.mirror.maxBodyBytes },
        stickyHeader: { type: ['string', 'null'], pattern: HEADER_NAME, default: defaultConfig.mirror.stickyHeader },
        stickyCookie: { type: ['string', 'null'], pattern: '^[^;,=\\s]+$', default: defaultConfig.mirror.stickyCookie },
        shadowHeader: { type: 'string', pattern: HEADER_NAME, default: defaultConfig.mirror.shadowHeader },
        maxEventLoopLagMs: ms(defaultConfig.mirror.maxEventLoopLagMs, 10, 60_000),
        maxCaptureBytes: { type: 'integer', minimum: 0, maximum: 16 * 1024 * 1024 * 1024, default: defaultConfig.mirror.maxCaptureBytes },
        offloadFromBytes: { type: 'integer', minimum: 0, default: defaultConfig.mirror.offloadFromBytes }
      }
    },
    compare: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        ...RULE_PROPERTIES,
        headers: { ...RULE_PROPERTIES.headers, default: [...defaultConfig.compare.headers] },
        maxBodyBytes: { ...RULE_PROPERTIES.maxBodyBytes, default: defaultConfig.compare.maxBodyBytes },
        maxDepth: { ...RULE_PROPERTIES.maxDepth, default: defaultConfig.compare.maxDepth },
        maxDiffs: { ...RULE_PROPERTIES.maxDiffs, default: defaultConfig.compare.maxDiffs },
        workers: { type: 'integer', minimum: 0, maximum: 64, default: defaultConfig.compare.workers },
        workerMinBytes: { type: 'integer', minimum: 0, default: defaultConfig.compare.workerMinBytes },
        maxQueue: { type: 'integer', minimum: 1, maximum: 1_000_000, default: defaultConfig.compare.maxQueue },
        maxQueueBytes: { type: 'integer', minimum: 0, default: defaultConfig.compare.maxQueueBytes },
        samples: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            perSignature: { type: 'integer', minimum: 0, maximum: 1000, default: defaultConfig.compare.samples.perSignature },
            maxEntries: { type: 'integer', minimum: 0, maximum: 1_000_000, default: defaultConfig.compare.samples.maxEntries },
            maxBytes: { type: 'integer', minimum: 0, default: defaultConfig.compare.samples.maxBytes },
            maxBodyChars: { type: 'integer', minimum: 0, maximum: 16 * 1024 * 1024, default: defaultConfig.compare.samples.maxBodyChars }
          }
        },
        mismatchLog: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            path: { type: ['string', 'null'], minLength: 1, default: defaultConfig.compare.mismatchLog.path },
            maxBytes: { type: 'integer', minimum: 1024, default: defaultConfig.compare.mismatchLog.maxBytes },
            maxFiles: { type: 'integer', minimum: 1, maximum: 100, default: defaultConfig.compare.mismatchLog.maxFiles }
          }
        }
      }
    },
    noise: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        percent: { ...PERCENT, default: defaultConfig.noise.percent },
        secondary: { type: ['string', 'null'], format: 'origin', default: defaultConfig.noise.secondary },
        halfLife: { type: 'number', exclusiveMinimum: 0, default: defaultConfig.noise.halfLife },
        threshold: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: defaultConfig.noise.threshold },
        minObservations: { type: 'number', minimum: 0, default: defaultConfig.noise.minObservations }
      }
    },
    gate: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        window: { type: 'string', pattern: WINDOW, default: defaultConfig.gate.window },
        maxWindow: { type: 'string', pattern: WINDOW, default: defaultConfig.gate.maxWindow },
        confidence: { type: 'number', exclusiveMinimum: 0.5, exclusiveMaximum: 1, default: defaultConfig.gate.confidence },
        mismatchBudget: { type: 'number', minimum: 0, maximum: 1, default: defaultConfig.gate.mismatchBudget },
        errorBudget: { type: 'number', minimum: 0, maximum: 1, default: defaultConfig.gate.errorBudget },
        latencyP95Ratio: { type: 'number', exclusiveMinimum: 0, default: defaultConfig.gate.latencyP95Ratio },
        latencySlackMs: { type: 'number', minimum: 0, default: defaultConfig.gate.latencySlackMs },
        minLatencySamples: { type: 'integer', minimum: 1, default: defaultConfig.gate.minLatencySamples },
        maxRoutes: { type: 'integer', minimum: 1, maximum: 10_000, default: defaultConfig.gate.maxRoutes },
        notify: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            webhooks: { type: 'array', items: { type: 'string', format: 'url' }, maxItems: 20, default: [] },
            intervalMs: ms(defaultConfig.gate.notify.intervalMs, 1000),
            retries: { type: 'integer', minimum: 0, maximum: 10, default: defaultConfig.gate.notify.retries },
            timeoutMs: ms(defaultConfig.gate.notify.timeoutMs, 100, 60_000),
            pageUrl: { type: ['string', 'null'], format: 'url', default: defaultConfig.gate.notify.pageUrl }
          }
        }
      }
    },
    proxy: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        requestIdHeader: { type: 'string', pattern: '^[A-Za-z0-9-]+$', default: defaultConfig.proxy.requestIdHeader },
        via: { type: 'boolean', default: defaultConfig.proxy.via },
        xForwarded: { type: 'boolean', default: defaultConfig.proxy.xForwarded },
        maxHeaderBytes: { type: 'integer', minimum: 8192, maximum: 1_048_576, default: defaultConfig.proxy.maxHeaderBytes },
        maxHeaderCount: { type: 'integer', minimum: 16, maximum: 10_000, default: defaultConfig.proxy.maxHeaderCount },
        keepAliveTimeoutMs: ms(defaultConfig.proxy.keepAliveTimeoutMs),
        headersTimeoutMs: ms(defaultConfig.proxy.headersTimeoutMs, 100, 600_000),
        maxConnections: { type: ['integer', 'null'], minimum: 1, maximum: 1_000_000, default: defaultConfig.proxy.maxConnections },
        clientTimeoutMs: ms(defaultConfig.proxy.clientTimeoutMs, 100),
        clientMinBytesPerSecond: { type: 'integer', minimum: 0, maximum: 1024 * 1024 * 1024, default: defaultConfig.proxy.clientMinBytesPerSecond },
        slowClientAfterMs: ms(defaultConfig.proxy.slowClientAfterMs, 50, 600_000),
        slowClientShare: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: defaultConfig.proxy.slowClientShare }
      }
    },
    routes: {
      type: 'array',
      default: [],
      maxItems: 1000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['match'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 100 },
          match: { type: 'string', format: 'route' },
          mirror: {
            type: 'object',
            additionalProperties: false,
            properties: { percent: PERCENT, methods: METHODS }
          },
          compare: { type: 'object', additionalProperties: false, properties: RULE_PROPERTIES }
        }
      }
    },
    maxRoutes: { type: 'integer', minimum: 1, maximum: 10_000, default: defaultConfig.maxRoutes },
    shutdown: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        graceMs: ms(defaultConfig.shutdown.graceMs, 0),
        delayMs: ms(defaultConfig.shutdown.delayMs, 0)
      }
    },
    redact: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        headers: { type: 'array', items: { type: 'string', pattern: HEADER_NAME }, default: [...defaultConfig.redact.headers] },
        fields: { type: 'array', items: JSON_PATH, default: [] },
        storeNonJsonBodies: { type: 'boolean', default: defaultConfig.redact.storeNonJsonBodies }
      }
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: defaultConfig.log.level }
      }
    }
  }
} as const

const METHOD_RE = /^(?:[A-Z]+|\*)$/

/** `HOST:PORT` with an IPv4 address, a name or a bracketed IPv6 address, and a port from 0 to 65535. */
export function isHostPort (value: string): boolean {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value)
  return m !== null && Number(m[2]) <= 65_535
}

/** `HOST:PORT` → listen options; IPv6 hosts come bracketed. */
export function parseHostPort (value: string): { host: string, port: number } {
  const i = value.lastIndexOf(':')
  const host = value.slice(0, i).replace(/^\[(.*)\]$/, '$1')
  return { host, port: Number(value.slice(i + 1)) }
}

/** An http(s) origin: no path beyond `/`, no query, no credentials. */
export function isOrigin (value: string): boolean {
  let url: URL
  try { url = new URL(value) } catch { return false }
  return (url.protocol === 'http:' || url.protocol === 'https:') && (url.pathname === '/' || url.pathname === '') &&
    url.search === '' && url.hash === '' && url.username === '' && url.password === ''
}

/** An http(s) URL (webhooks, links). */
export function isUrl (value: string): boolean {
  try {
    const url = new URL(value)
    return url.protocol === 'http:' || url.protocol === 'https:'
  } catch { return false }
}

/** `METHOD /path/:param/*`: one method (or `*`) and a path template starting with `/`. */
export function isRouteTemplate (value: string): boolean {
  const sp = value.indexOf(' ')
  if (sp === -1) return value.startsWith('/')
  return METHOD_RE.test(value.slice(0, sp)) && value.slice(sp + 1).startsWith('/')
}

const ajv = new Ajv({
  allErrors: true,
  useDefaults: true,
  strict: true,
  allowUnionTypes: true,
  formats: { hostport: isHostPort, origin: isOrigin, route: isRouteTemplate, url: isUrl }
})
const validate = ajv.compile(schema)

const FORMAT_HINTS: Record<string, string> = {
  hostport: 'must be HOST:PORT (for example 0.0.0.0:8000 or [::1]:9000)',
  origin: 'must be an http:// or https:// origin without path, query or credentials (for example http://127.0.0.1:8080)',
  route: 'must be "METHOD /path/:param" or "/path/:param"',
  url: 'must be an http:// or https:// URL'
}

/** The keys the schema allows where an ajv error points (its schemaPath, less the keyword). */
function knownKeys (schemaPath: string): string[] {
  let node: unknown = schema
  for (const part of schemaPath.replace(/^#\//, '').split('/').slice(0, -1)) {
    if (node === null || typeof node !== 'object') return []
    node = (node as Record<string, unknown>)[part]
  }
  const properties = (node as { properties?: Record<string, unknown> } | undefined)?.properties
  return properties === undefined ? [] : Object.keys(properties)
}

/** Turns ajv errors into `key.path: what is wrong` lines, one per error. */
export function describeErrors (errors: ErrorObject[] | null | undefined): string[] {
  const out: string[] = []
  const alternatives = new Set((errors ?? []).filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath))
  for (const e of errors ?? []) {
    if (e.propertyName !== undefined && e.keyword !== 'propertyNames') continue // reported once, by propertyNames
    if (e.keyword !== 'anyOf' && alternatives.has(e.instancePath)) continue // reported once, by anyOf
    let key = e.instancePath.slice(1).replaceAll('/', '.').replace(/\.(\d+)(?=\.|$)/g, '[$1]')
    let msg = e.message ?? 'is invalid'
    if (e.keyword === 'additionalProperties') {
      const extra = (e.params as { additionalProperty: string }).additionalProperty
      key = key ? `${key}.${extra}` : extra
      const near = closest(extra, knownKeys(e.schemaPath))
      msg = near === null ? 'is not a known key' : `is not a known key: did you mean ${near}?`
    } else if (e.keyword === 'required') {
      const missing = (e.params as { missingProperty: string }).missingProperty
      key = key ? `${key}.${missing}` : missing
      msg = 'is required'
    } else if (e.keyword === 'format') {
      msg = FORMAT_HINTS[(e.params as { format: string }).format] ?? msg
    } else if (e.keyword === 'pattern' && (e.params as { pattern: string }).pattern === '^\\$') {
      msg = 'must be a JSON path starting with "$" (for example $.meta.requestId or $.items[*].updatedAt)'
    } else if (e.keyword === 'pattern' && (e.params as { pattern: string }).pattern === WINDOW) {
      msg = 'must be a duration such as 30s, 5m or 1h'
    } else if (e.keyword === 'propertyNames') {
      msg = `"${(e.params as { propertyName: string }).propertyName}" is not a valid header name`
    } else if (e.keyword === 'anyOf') {
      msg = key === 'workers' ? 'must be a whole number from 1 to 64, or auto' : 'must be true, false, or a list of JSON paths'
    } else if (e.keyword === 'enum') {
      msg = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`
    }
    out.push(`${key || '(root)'}: ${msg}`)
  }
  return out
}

function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

/**
 * Thrown by validateConfig and readConfigFile; carries every error line (check-config prints them
 * all). Its code is PARITYGATE_ERR_CONFIG_INVALID, or PARITYGATE_ERR_CONFIG_READ when the file
 * cannot be read or parsed at all.
 */
export class ConfigErrors extends PARITYGATE_ERR_CONFIG_INVALID {
  readonly errors: string[]
  constructor (errors: string[], code: 'PARITYGATE_ERR_CONFIG_INVALID' | 'PARITYGATE_ERR_CONFIG_READ' = 'PARITYGATE_ERR_CONFIG_INVALID') {
    super(errors.join('; '))
    this.name = 'ConfigErrors'
    // The lines as they are, without the catalogue's "Invalid configuration:" prefix.
    this.message = errors.join('\n')
    // The catalogue types the code of its own constructor; a file that cannot be read has the other config code.
    ;(this as { code: string }).code = code
    this.errors = errors
  }
}

/**
 * Route templates written in another router's syntax: `{id}` (OpenAPI, Spring) or `<id>` (Flask)
 * are literal text to paritygate, and a request path cannot even hold `{` or `<` unencoded, so
 * such a route would never match. Each one is an error that names the `:id` rewrite.
 */
export function templateErrors (input: unknown): string[] {
  const routes = (input as { routes?: unknown } | null)?.routes
  if (!Array.isArray(routes)) return []
  const errors: string[] = []
  routes.forEach((route, i) => {
    const match = (route as { match?: unknown } | null)?.match
    if (typeof match !== 'string' || !/\{[^/{}]*\}|<[^/<>]*>/.test(match)) return
    const rewrite = match.replace(/\{(?:[^/{}:]*:)?([^/{}]*)\}|<(?:[^/<>:]*:)?([^/<>]*)>/g, (_m, a?: string, b?: string) => `:${(a ?? b ?? '').trim() || 'param'}`)
    const example = /\{[^/{}]*\}|<[^/<>]*>/.exec(match)?.[0] ?? ''
    errors.push(`routes[${i}].match: ${JSON.stringify(example)} is not a parameter here: templates write parameters as :name, so write ${JSON.stringify(rewrite)}`)
  })
  return errors
}

/**
 * Validates a raw config object against the schema, fills defaults, and returns it deeply frozen.
 * @throws ConfigErrors listing every problem with its key path
 */
export function validateConfig (input: unknown): FrozenConfig {
  const config = structuredClone(input)
  const templates = templateErrors(config)
  if (!validate(config)) throw new ConfigErrors([...describeErrors(validate.errors), ...templates])
  if (templates.length > 0) throw new ConfigErrors(templates)
  return deepFreeze(config as unknown as Config)
}
