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

/** Comparison rules (see README#comparison); per route they add to or override the global ones. */
export interface RuleSettings {
  headers?: string[]
  ignore?: string[]
  numberTolerance?: { absolute?: number, relative?: number }
  tolerances?: Record<string, { absolute?: number, relative?: number }>
  timestamps?: boolean | string[]
  timestampToleranceMs?: number
  unordered?: string[]
  keyed?: Record<string, string>
  maxBodyBytes?: number
  maxDepth?: number
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
  samples: { perSignature: number, maxEntries: number, maxBytes: number, maxBodyChars: number }
  mismatchLog: { path: string | null, maxBytes: number, maxFiles: number }
}

export interface GateSettings {
  window: string
  maxWindow: string
  confidence: number
  mismatchBudget: number
  errorBudget: number
  latencyP95Ratio: number
  latencySlackMs: number
  minLatencySamples: number
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
}

export interface ProxyConfig {
  requestIdHeader: string
  via: boolean
  xForwarded: boolean
  maxHeaderBytes: number
  keepAliveTimeoutMs: number
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
  redact: { headers: string[], fields: string[] }
  log: { level: LogLevel }
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

/** A deep-readonly view: the loaded config is frozen. */
export type DeepReadonly<T> = T extends Array<infer U> ? ReadonlyArray<DeepReadonly<U>> : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T
export type FrozenConfig = DeepReadonly<Config>
