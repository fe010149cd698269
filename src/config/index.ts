/* The config concept: schema, defaults, loading. A leaf: imports no other part of paritygate. */
export { defaultConfig, schema } from './options.ts'
export { validateConfig, ConfigErrors } from './validate.ts'
export { describeErrors } from './describe-errors.ts'
export { isHostPort, isOrigin, parseHostPort } from './formats.ts'
export { LONGEST_MAX_WINDOW_MS, MAX_WINDOW_MS, WINDOW_PATTERN, parseWindow } from './window.ts'
export { loadConfig, readConfigFile, ENV_KEYS, type Overrides } from './load.ts'
export type { Config, FrozenConfig, PrimaryConfig, ProxyConfig, RouteConfig, RuleSettings, Tolerance, GateBudgets, GateSettings, LogLevel } from './types.ts'
