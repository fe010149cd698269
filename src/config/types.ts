/* The shape of a validated paritygate configuration. */

export interface PrimaryConfig {
  /** Origin of the service of record (v1): scheme, host and port, no path. */
  url: string
  timeoutMs: number
  connectTimeoutMs: number
  bodyTimeoutMs: number
  connections: number
  keepAliveTimeoutMs: number
  /** Host header sent upstream; null keeps the client's Host. */
  host: string | null
}

/** Numeric tolerance; either bound may be omitted. */
export interface Tolerance {
  absolute?: number
  relative?: number
}

/** Comparison rules of the `compare` key and of `routes[].compare` (see README#comparison). */
export interface RuleSettings {
  /** Response headers compared, case-insensitive names. @default ['content-type'] */
  headers?: string[]
  /** Paths never compared. @default [] */
  ignore?: string[]
  /** Tolerance for every number. @default none (exact) */
  numberTolerance?: Tolerance
  /** Tolerance per path, overriding numberTolerance. @default {} */
  tolerances?: Record<string, Tolerance>
  /** Compare RFC 3339 strings by instant: everywhere (true) or at these paths. @default false */
  timestamps?: boolean | string[]
  /** Allowed distance between two instants, in ms. @default 0 */
  timestampToleranceMs?: number
  /** Arrays compared as multisets. @default [] */
  unordered?: string[]
  /** Arrays whose elements are matched by a member: path -> member name. @default {} */
  keyed?: Record<string, string>
  /** Largest decoded body compared; larger bodies are skipped (too_large). @default 4194304 */
  maxBodyBytes?: number
  /** Deepest JSON nesting compared; deeper bodies are skipped (too_deep). @default 1000 */
  maxDepth?: number
  /** Most differences reported per comparison. @default 100 */
  maxDiffs?: number
}

export interface RouteConfig {
  name?: string
  match: string
  /** per-route mirroring: overrides mirror.percent and mirror.methods for this route */
  mirror?: { percent?: number, methods?: string[] }
  /** per-route comparison rules, merged over compare */
  compare?: RuleSettings
}

export interface CompareConfig extends RuleSettings {
  headers: string[]
  maxBodyBytes: number
  maxDepth: number
  maxDiffs: number
  workers: number
  workerMinBytes: number
  maxQueue: number
  maxQueueBytes: number
  samples: { perSignature: number, maxEntries: number, maxBytes: number, maxBodyChars: number }
  mismatchLog: { path: string | null, maxBytes: number, maxFiles: number }
}

/** Budgets and confidence of the gate (the gate's own inputs). */
export interface GateBudgets {
  /** Two-sided confidence of every interval. @default 0.95 */
  confidence: number
  /** Largest acceptable mismatch / (match + mismatch + noise). @default 0.001 */
  mismatchBudget: number
  /** Largest acceptable candidate errors / mirrored. @default 0.005 */
  errorBudget: number
  /** Largest acceptable candidate p95 / primary p95. @default 1.10 */
  latencyP95Ratio: number
  /** A p95 difference under this many ms never fails the latency check. @default 5 */
  latencySlackMs: number
  /** Fewer latency samples than this on either side makes the latency check inconclusive. @default 100 */
  minLatencySamples: number
}

/** The `gate` key: budgets plus windows, route cap and notifications. */
export interface GateSettings extends GateBudgets {
  window: string
  maxWindow: string
  maxRoutes: number
  notify: { webhooks: string[], intervalMs: number, retries: number, timeoutMs: number, pageUrl: string | null }
}

export interface NoiseConfig {
  percent: number
  secondary: string | null
  halfLife: number
  threshold: number
  minObservations: number
}

export interface CandidateConfig {
  /** Origin of the service under test (v2); null: nothing is mirrored. */
  url: string | null
  timeoutMs: number
  connections: number
  maxInflight: number
  maxResponseBytes: number
  /** Host header sent to the candidate; null keeps the one sent to the primary. */
  host: string | null
  /** Request headers removed before mirroring (credentials by default: none). */
  dropHeaders: string[]
  /** Request headers set (replaced) on mirrored requests, e.g. a test credential. */
  setHeaders: Record<string, string>
  breaker: { failures: number, cooldownMs: number }
  /** Response header of the candidate that names its build (e.g. x-app-version): a new value starts fresh gate windows. */
  versionHeader: string | null
}

export interface MirrorConfig {
  enabled: boolean
  percent: number
  methods: string[]
  maxBodyBytes: number
  stickyHeader: string | null
  stickyCookie: string | null
  shadowHeader: string
  maxEventLoopLagMs: number
  maxCaptureBytes: number
  /** bodiless requests on routes whose last answer was this large or larger have the candidate's answer received by the I/O thread; 0: never */
  offloadFromBytes: number
}

export interface ProxyConfig {
  requestIdHeader: string
  via: boolean
  xForwarded: boolean
  maxHeaderBytes: number
  /** request header fields a client may send; more get 431 */
  maxHeaderCount: number
  keepAliveTimeoutMs: number
  /** the whole request head must arrive within this (slowloris); 408 */
  headersTimeoutMs: number
  /** open client connections at most; null: from the process's file-descriptor limit */
  maxConnections: number | null
  /** longest a client may keep an exchange waiting on its upload or its reading */
  clientTimeoutMs: number
  /** an upload slower than this (bytes/s) counts as waiting on the client */
  clientMinBytesPerSecond: number
  /** a wait on the client longer than this makes the exchange slow */
  slowClientAfterMs: number
  /** share of primary.connections that slow exchanges may hold */
  slowClientShare: number
}

export interface Config {
  /** proxy processes behind one listener: a number, or `auto` for one per core */
  workers: number | 'auto'
  listen: string
  admin: string
  primary: PrimaryConfig
  candidate: CandidateConfig
  mirror: MirrorConfig
  compare: CompareConfig
  noise: NoiseConfig
  gate: GateSettings
  proxy: ProxyConfig
  routes: RouteConfig[]
  maxRoutes: number
  shutdown: { graceMs: number, delayMs: number }
  /** what is replaced before anything is stored or logged (see src/compare/redact.ts) */
  redact: { headers: string[], fields: string[], storeNonJsonBodies: boolean }
  log: { level: LogLevel }
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

/** A deep-readonly view: the loaded config is frozen. */
export type DeepReadonly<T> = T extends Array<infer U> ? ReadonlyArray<DeepReadonly<U>> : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T
export type FrozenConfig = DeepReadonly<Config>
