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

export interface RouteConfig {
  name?: string
  match: string
}

export interface ProxyConfig {
  requestIdHeader: string
  via: boolean
  xForwarded: boolean
  maxHeaderBytes: number
  keepAliveTimeoutMs: number
}

export interface Config {
  listen: string
  admin: string
  primary: PrimaryConfig
  proxy: ProxyConfig
  routes: RouteConfig[]
  maxRoutes: number
  shutdown: { graceMs: number, delayMs: number }
  redact: { headers: string[] }
  log: { level: LogLevel }
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

/** A deep-readonly view: the loaded config is frozen. */
export type DeepReadonly<T> = T extends Array<infer U> ? ReadonlyArray<DeepReadonly<U>> : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T
export type FrozenConfig = DeepReadonly<Config>
