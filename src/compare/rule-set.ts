/* The comparison rules of every route, compiled once when the config loads: global rules merged with each route's own. */
import { type FrozenConfig, type RuleSettings } from '../config/index.ts'
import { compileRules, type CompiledRules, type RuleConfig } from './rules.ts'

type Settings = RuleSettings | undefined
const LISTS = ['headers', 'ignore', 'unordered'] as const
const MAPS = ['tolerances', 'keyed'] as const

/**
 * A route's rules over the global ones: lists of paths add up (`ignore`, `unordered`, and
 * `timestamps` when both are lists), maps merge (`tolerances`, `keyed`), and single values
 * (`numberTolerance`, limits, `headers`) are replaced.
 */
export function mergeRules (global: Settings, route: Settings): RuleConfig {
  const out: RuleConfig = structuredClone((global ?? {}) as RuleConfig)
  if (route === undefined) return out
  for (const [key, value] of Object.entries(route)) {
    if ((LISTS as readonly string[]).includes(key) && key !== 'headers') {
      const k = key as 'ignore' | 'unordered'
      out[k] = [...(out[k] ?? []), ...(value as string[])]
    } else if ((MAPS as readonly string[]).includes(key)) {
      const k = key as 'tolerances' | 'keyed'
      out[k] = { ...(out[k] ?? {}), ...(value as object) } as never
    } else if (key === 'timestamps' && Array.isArray(value) && Array.isArray(out.timestamps)) {
      out.timestamps = [...out.timestamps, ...value]
    } else {
      (out as Record<string, unknown>)[key] = structuredClone(value)
    }
  }
  return out
}

/** The fields of `compare` that are rules (the rest sizes workers, queues and samples). */
export function globalRules (compare: FrozenConfig['compare']): RuleConfig {
  const { workers: _w, workerMinBytes: _m, maxQueue: _q, maxQueueBytes: _b, samples: _s, mismatchLog: _l, ...rules } = compare
  return structuredClone(rules) as RuleConfig
}

/** The rule configs by route name (plain data, so that workers can compile them too). */
export function ruleConfigs (config: FrozenConfig): { global: RuleConfig, routes: Record<string, RuleConfig> } {
  const global = globalRules(config.compare)
  const routes: Record<string, RuleConfig> = {}
  for (const r of config.routes) if (r.compare !== undefined) routes[r.name ?? r.match] = mergeRules(global, r.compare as RuleSettings)
  return { global, routes }
}

/** Compiled rules, looked up by route name. */
export class RuleSet {
  readonly global: CompiledRules
  readonly routes: ReadonlyMap<string, CompiledRules>

  constructor (configs: { global: RuleConfig, routes: Record<string, RuleConfig> }) {
    this.global = compileRules(configs.global)
    const routes = new Map<string, CompiledRules>()
    for (const [name, rc] of Object.entries(configs.routes)) routes.set(name, compileRules(rc))
    this.routes = routes
  }

  get (route: string): CompiledRules {
    return this.routes.get(route) ?? this.global
  }
}

/** Error lines for rules that do not compile (a path the rule language rejects), with their config key. */
export function checkRules (config: FrozenConfig): string[] {
  const errors: string[] = []
  const prefix = (where: string, message: string) => message.replace(/^Invalid configuration: /, '').replace(/^compare\./, where)
  try { compileRules(globalRules(config.compare)) } catch (err) { errors.push(prefix('compare.', (err as Error).message)) }
  config.routes.forEach((r, i) => {
    if (r.compare === undefined) return
    try { compileRules(structuredClone(r.compare) as RuleConfig) } catch (err) { errors.push(prefix(`routes[${i}].compare.`, (err as Error).message)) }
  })
  try { compileRules({ ignore: [...config.redact.fields] }) } catch (err) { errors.push(prefix('redact.fields.', (err as Error).message).replace('redact.fields.ignore', 'redact.fields')) }
  return errors
}
