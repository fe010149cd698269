/* The shape of a validated paritygate configuration, derived from the schema in options.ts (keys documented in docs/configuration.md). */
import { type Static } from '@sinclair/typebox'
import { type GATE_BUDGETS, type RULES, type schema } from './options.ts'

/** The validated configuration: every key with a default is present. */
export type Config = Static<typeof schema>
export type PrimaryConfig = Config['primary']
export type CandidateConfig = Config['candidate']
export type MirrorConfig = Config['mirror']
/** The `compare` key: the comparison rules, with defaults, plus the workers, queues and samples. */
export type CompareConfig = Config['compare']
export type NoiseConfig = Config['noise']
/** The `gate` key: budgets plus windows, route cap and notifications. */
export type GateSettings = Config['gate']
export type ProxyConfig = Config['proxy']
export type RouteConfig = Config['routes'][number]
export type LogLevel = Config['log']['level']

/** Comparison rules of the `compare` key and of `routes[].compare` (see docs/comparison.md); every key optional. */
export type RuleSettings = Static<typeof RULES>
/** Numeric tolerance; either bound may be omitted. */
export type Tolerance = NonNullable<RuleSettings['numberTolerance']>
/** Budgets and confidence of the gate (the gate's own inputs). */
export type GateBudgets = Static<typeof GATE_BUDGETS>

/** A deep-readonly view: the loaded config is frozen. */
export type DeepReadonly<T> = T extends Array<infer U> ? ReadonlyArray<DeepReadonly<U>> : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T
export type FrozenConfig = DeepReadonly<Config>
