/* The config concept: schema, defaults, loading. A leaf: imports no other part of paritygate. */
export { defaultConfig, schema, validateConfig, ConfigErrors, describeErrors, isHostPort, isOrigin, parseHostPort } from './options.ts'
export { loadConfig, readConfigFile, ENV_KEYS, type Overrides } from './load.ts'
export type { Config, FrozenConfig, PrimaryConfig, ProxyConfig, RouteConfig, RuleSettings, Tolerance, GateBudgets, GateSettings, LogLevel } from './types.ts'
