/*
 * The configuration schema: every key with its type, limits and default, declared once with
 * TypeBox. The JSON Schema that ajv validates (validate.ts), the TypeScript types (types.ts) and
 * `defaultConfig` all come from it. Every key is documented in docs/configuration.md.
 */
import { Type, type ArrayOptions, type IntegerOptions, type NumberOptions, type ObjectOptions, type SchemaOptions, type Static, type TObject, type TProperties, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { deepFreeze } from './freeze.ts'
import { RULE_DEFAULTS } from './rule-defaults.ts'
import { type DeepReadonly } from './types.ts'
import { LONGEST_MAX_WINDOW_MS } from './window.ts'

/**
 * An object that rejects unknown keys. A key with a default is not required of the file (ajv
 * fills it in), but the validated config always has it, and so does the static type.
 */
function Obj<T extends TProperties> (properties: T, options: ObjectOptions = {}): TObject<T> {
  const schema = Type.Object(properties, { additionalProperties: false, ...options })
  const node = schema as { required?: string[] }
  const required = (node.required ?? []).filter((key) => !('default' in properties[key]))
  if (required.length > 0) node.required = required
  else delete node.required
  return schema
}

/** A string or null, one `type` keyword (a union would be an anyOf, reported as two errors); null unless set. */
const stringOrNull = (options: SchemaOptions = {}) => Type.Unsafe<string | null>({ type: ['string', 'null'], default: null, ...options })

/** An object of free keys, each checked by `keys` (JSON Schema's propertyNames), each value by `value`. */
const map = <V extends TSchema>(keys: SchemaOptions, value: V, options: SchemaOptions = {}) =>
  Type.Unsafe<Record<string, Static<V>>>({ type: 'object', propertyNames: keys, additionalProperties: value, ...options })

const ms = (def: number, min = 1, max = 86_400_000) => Type.Integer({ minimum: min, maximum: max, default: def })
const int = (def: number, minimum: number, maximum?: number) => Type.Integer({ minimum, ...(maximum === undefined ? {} : { maximum }), default: def })
const HEADER_NAME = '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$'
const headerNames = (options: ArrayOptions = {}) => Type.Array(Type.String({ pattern: HEADER_NAME }), options)
const methods = (options: ArrayOptions = {}) => Type.Array(Type.String({ pattern: '^[A-Z]+$' }), { uniqueItems: true, ...options })
const percent = (options: NumberOptions = {}) => Type.Number({ minimum: 0, maximum: 100, ...options })
/** A rule path, checked by the comparison's own parser (the `jsonPath` keyword, validate.ts). */
const JSON_PATH = { jsonPath: true }
const jsonPaths = (options: ArrayOptions = {}) => Type.Array(Type.String(JSON_PATH), options)
const tolerance = () => Obj({
  absolute: Type.Optional(Type.Number({ minimum: 0 })),
  relative: Type.Optional(Type.Number({ minimum: 0 }))
}, { minProperties: 1 })
const maxBodyBytes = (options: IntegerOptions = {}) => Type.Integer({ minimum: 1, maximum: 256 * 1024 * 1024, ...options })
const maxDepth = (options: IntegerOptions = {}) => Type.Integer({ minimum: 1, maximum: 100_000, ...options })
const maxDiffs = (options: IntegerOptions = {}) => Type.Integer({ minimum: 1, maximum: 10_000, ...options })

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** The comparison rules of `routes[].compare`, all optional; `compare` has them too, with defaults. */
export const RULES = Obj({
  headers: Type.Optional(headerNames()),
  ignore: Type.Optional(jsonPaths()),
  numberTolerance: Type.Optional(tolerance()),
  tolerances: Type.Optional(map(JSON_PATH, tolerance())),
  timestamps: Type.Optional(Type.Union([Type.Boolean(), jsonPaths()])),
  timestampToleranceMs: Type.Optional(Type.Number({ minimum: 0 })),
  unordered: Type.Optional(jsonPaths()),
  keyed: Type.Optional(map(JSON_PATH, Type.String({ minLength: 1 }))),
  maxBodyBytes: Type.Optional(maxBodyBytes()),
  maxDepth: Type.Optional(maxDepth()),
  maxDiffs: Type.Optional(maxDiffs())
})

/** The gate's own inputs: budgets and confidence (docs/gate.md). */
export const GATE_BUDGETS = Obj({
  confidence: Type.Number({ exclusiveMinimum: 0.5, exclusiveMaximum: 1, default: 0.95 }),
  mismatchBudget: Type.Number({ minimum: 0, maximum: 1, default: 0.001 }),
  errorBudget: Type.Number({ minimum: 0, maximum: 1, default: 0.005 }),
  latencyP95Ratio: Type.Number({ exclusiveMinimum: 0, default: 1.10 }),
  latencySlackMs: Type.Number({ minimum: 0, default: 5 }),
  minLatencySamples: Type.Integer({ minimum: 1, default: 100 })
})

/** JSON Schema of the whole file; every object rejects unknown keys. */
export const schema = Obj({
  workers: Type.Union([Type.Integer({ minimum: 1, maximum: 64 }), Type.Literal('auto')], { default: 1 }),
  listen: Type.String({ format: 'hostport', default: '0.0.0.0:8000' }),
  admin: Type.String({ format: 'hostport', default: '0.0.0.0:9000' }),
  primary: Obj({
    url: Type.String({ format: 'origin' }),
    timeoutMs: ms(30_000),
    connectTimeoutMs: ms(5_000),
    bodyTimeoutMs: ms(300_000, 0),
    connections: int(128, 1, 65_536),
    keepAliveTimeoutMs: ms(4_000),
    host: stringOrNull({ minLength: 1, pattern: '^[^\\s/]+$' })
  }),
  candidate: Obj({
    url: stringOrNull({ format: 'origin' }),
    timeoutMs: ms(5_000),
    connections: int(64, 1, 4096),
    maxInflight: int(64, 1, 100_000),
    maxResponseBytes: int(4 * 1024 * 1024, 0, 1024 * 1024 * 1024),
    host: stringOrNull({ minLength: 1, pattern: '^[^\\s/]+$' }),
    dropHeaders: headerNames({ default: [] }),
    setHeaders: map({ pattern: HEADER_NAME }, Type.String({ pattern: '^[^\\r\\n\\0]*$' }), { default: {} }),
    breaker: Obj({
      failures: int(5, 1, 1_000_000),
      cooldownMs: ms(5_000)
    }, { default: {} }),
    versionHeader: stringOrNull({ pattern: HEADER_NAME })
  }, { default: {} }),
  mirror: Obj({
    enabled: Type.Boolean({ default: true }),
    percent: percent({ default: 100 }),
    methods: methods({ default: ['GET', 'HEAD', 'OPTIONS'] }),
    maxBodyBytes: int(1024 * 1024, 0, 64 * 1024 * 1024),
    stickyHeader: stringOrNull({ pattern: HEADER_NAME }),
    stickyCookie: stringOrNull({ pattern: '^[^;,=\\s]+$' }),
    shadowHeader: Type.String({ pattern: HEADER_NAME, default: 'x-paritygate-shadow' }),
    maxEventLoopLagMs: ms(200, 10, 60_000),
    maxCaptureBytes: int(64 * 1024 * 1024, 0, 16 * 1024 * 1024 * 1024),
    offloadFromBytes: int(256 * 1024, 0)
  }, { default: {} }),
  compare: Obj({
    ...RULES.properties,
    headers: headerNames({ default: [...RULE_DEFAULTS.headers] }),
    maxBodyBytes: maxBodyBytes({ default: RULE_DEFAULTS.maxBodyBytes }),
    maxDepth: maxDepth({ default: RULE_DEFAULTS.maxDepth }),
    maxDiffs: maxDiffs({ default: RULE_DEFAULTS.maxDiffs }),
    workers: int(1, 0, 64),
    workerMinBytes: int(64 * 1024, 0),
    maxQueue: int(1000, 1, 1_000_000),
    maxQueueBytes: int(64 * 1024 * 1024, 0),
    samples: Obj({
      perSignature: int(5, 0, 1000),
      maxEntries: int(500, 0, 1_000_000),
      maxBytes: int(16 * 1024 * 1024, 0),
      maxBodyChars: int(16 * 1024, 0, 16 * 1024 * 1024)
    }, { default: {} }),
    mismatchLog: Obj({
      path: stringOrNull({ minLength: 1 }),
      maxBytes: int(50 * 1024 * 1024, 1024),
      maxFiles: int(3, 1, 100)
    }, { default: {} })
  }, { default: {} }),
  noise: Obj({
    percent: percent({ default: 5 }),
    secondary: stringOrNull({ format: 'origin' }),
    halfLife: Type.Number({ exclusiveMinimum: 0, default: 50 }),
    threshold: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.05 }),
    minObservations: Type.Number({ minimum: 0, default: 5 })
  }, { default: {} }),
  gate: Obj({
    // The default window may be no longer than the kept one (the `window` keyword, validate.ts).
    window: Type.String({ window: { maxFrom: 'maxWindow' }, default: '5m' }),
    maxWindow: Type.String({ window: { maxMs: LONGEST_MAX_WINDOW_MS }, default: '1h' }),
    ...GATE_BUDGETS.properties,
    maxRoutes: int(100, 1, 10_000),
    notify: Obj({
      webhooks: Type.Array(Type.String({ format: 'url' }), { maxItems: 20, default: [] }),
      intervalMs: ms(10_000, 1000),
      retries: int(3, 0, 10),
      timeoutMs: ms(5_000, 100, 60_000),
      pageUrl: stringOrNull({ format: 'url' })
    }, { default: {} })
  }, { default: {} }),
  proxy: Obj({
    requestIdHeader: Type.String({ pattern: '^[A-Za-z0-9-]+$', default: 'x-request-id' }),
    via: Type.Boolean({ default: false }),
    xForwarded: Type.Boolean({ default: true }),
    maxHeaderBytes: int(65_536, 8192, 1_048_576),
    maxHeaderCount: int(200, 16, 10_000),
    keepAliveTimeoutMs: ms(65_000),
    headersTimeoutMs: ms(10_000, 100, 600_000),
    maxConnections: Type.Unsafe<number | null>({ type: ['integer', 'null'], minimum: 1, maximum: 1_000_000, default: null }),
    clientTimeoutMs: ms(30_000, 100),
    clientMinBytesPerSecond: int(1024, 0, 1024 * 1024 * 1024),
    slowClientAfterMs: ms(2_000, 50, 600_000),
    slowClientShare: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.5 })
  }, { default: {} }),
  routes: Type.Array(Obj({
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    match: Type.String({ format: 'route' }),
    mirror: Type.Optional(Obj({ percent: Type.Optional(percent()), methods: Type.Optional(methods()) })),
    compare: Type.Optional(RULES)
  }), { default: [], maxItems: 1000 }),
  maxRoutes: int(200, 1, 10_000),
  shutdown: Obj({
    graceMs: ms(25_000, 0),
    delayMs: ms(0, 0)
  }, { default: {} }),
  redact: Obj({
    headers: headerNames({ default: ['authorization', 'cookie', 'set-cookie', 'proxy-authorization'] }),
    fields: jsonPaths({ default: [] }),
    storeNonJsonBodies: Type.Boolean({ default: false })
  }, { default: {} }),
  log: Obj({
    level: Type.Unsafe<typeof LOG_LEVELS[number]>({ enum: LOG_LEVELS, default: 'info' })
  }, { default: {} })
})

type Config = Static<typeof schema>

/** Every default, read from the schema (all but primary.url, which has none); frozen. */
export const defaultConfig = deepFreeze(Value.Default(schema, { primary: {} })) as DeepReadonly<Omit<Config, 'primary'> & { primary: Omit<Config['primary'], 'url'> }>
