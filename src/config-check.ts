/*
 * What the schema cannot check in a config, for `check-config` and `serve`: every rule path, each
 * one compiled alone by the comparison's own path parser (so that every bad element of every list
 * is reported, not the first of each), the rules as a whole, and the gate window.
 */
import { checkRules } from './compare/rule-set.ts'
import { parsePath } from './compare/json-path.ts'
import { type FrozenConfig } from './config/index.ts'
import { checkGateSettings } from './gate/parity.ts'

const LISTS = ['ignore', 'unordered', 'timestamps'] as const
const MAPS = ['keyed', 'tolerances'] as const

function isObject (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** `key: message` of one path the rule language rejects, or null. Paths not starting with "$" are the schema's to report. */
function pathError (path: unknown, where: string): string | null {
  if (typeof path !== 'string' || !path.startsWith('$')) return null
  try {
    parsePath(path, where)
    return null
  } catch (err) {
    return (err as Error).message.replace(/^Invalid configuration: /, '')
  }
}

/**
 * Every rule path of a config (validated or not) that does not parse, with its key path:
 * compare.*, routes[i].compare.* and redact.fields[i].
 */
export function pathErrors (raw: unknown): string[] {
  try {
    return rulePathErrors(raw)
  } catch (err) {
    return [internalError(err)]
  }
}

function rulePathErrors (raw: unknown): string[] {
  if (!isObject(raw)) return []
  const errors: string[] = []
  const sections: Array<[string, unknown]> = [['compare', raw.compare]]
  if (Array.isArray(raw.routes)) raw.routes.forEach((r, i) => { if (isObject(r)) sections.push([`routes[${i}].compare`, r.compare]) })
  for (const [where, rules] of sections) {
    if (!isObject(rules)) continue
    for (const list of LISTS) {
      const paths = rules[list]
      if (Array.isArray(paths)) paths.forEach((p, i) => errors.push(pathError(p, `${where}.${list}[${i}]`) ?? ''))
    }
    for (const map of MAPS) {
      const paths = rules[map]
      if (isObject(paths)) for (const p of Object.keys(paths)) errors.push(pathError(p, `${where}.${map}[${JSON.stringify(p)}]`) ?? '')
    }
  }
  const redact = isObject(raw.redact) ? raw.redact.fields : undefined
  if (Array.isArray(redact)) redact.forEach((p, i) => errors.push(pathError(p, `redact.fields[${i}]`) ?? ''))
  return errors.filter((e) => e !== '')
}

/**
 * Errors of a validated config that the schema cannot see; empty when it can serve. Never throws:
 * a failure of a check itself (a bug, not the config's fault) is one line that says so, so that
 * check-config reports it with exit 2 like any other error instead of a stack trace.
 */
export function configErrors (config: FrozenConfig): string[] {
  try {
    const paths = pathErrors(config)
    return [...(paths.length > 0 ? paths : checkRules(config)), ...checkGateSettings(config.gate)]
  } catch (err) {
    return [internalError(err)]
  }
}

/** The one line of a check that failed rather than found something wrong. */
function internalError (err: unknown): string {
  return `internal error while checking the config (please report it): ${err instanceof Error ? err.message : String(err)}`
}
