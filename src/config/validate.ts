/*
 * The one compiled validator of the schema (options.ts): unknown keys rejected, defaults filled,
 * result frozen. Rule paths and gate windows are checked by schema keywords with the same
 * parsers that use them later, so that every error comes out of describeErrors with its key path.
 */
import { Ajv, type SchemaValidateFunction } from 'ajv'
import { PARITYGATE_ERR_CONFIG_INVALID } from '../errors.ts'
import { describeErrors } from './describe-errors.ts'
import { isHostPort, isOrigin, isRouteTemplate, isUrl } from './formats.ts'
import { deepFreeze } from './freeze.ts'
import { pathError } from './json-path.ts'
import { schema } from './options.ts'
import { type Config, type FrozenConfig } from './types.ts'
import { LONGEST_MAX_WINDOW_MS, WINDOW_PATTERN, parseWindow, windowError } from './window.ts'

/** `jsonPath: true`: a rule path the comparison can compile (src/config/json-path.ts). */
const jsonPath: SchemaValidateFunction = (_schema: true, data: string): boolean => {
  const message = data.startsWith('$') ? pathError(data) : 'must be a JSON path starting with "$" (for example $.meta.requestId or $.items[*].updatedAt)'
  jsonPath.errors = message === null ? [] : [{ keyword: 'jsonPath', message, params: { path: data } }]
  return message === null
}

/**
 * `window: { maxMs }` or `window: { maxFrom: 'sibling' }`: a window (`30s`, `5m`, `1h`) no
 * longer than maxMs, or than the sibling key's window (when that one is valid; its own errors are
 * its own). Defaults are filled before the keyword runs, so the sibling is there.
 */
const window: SchemaValidateFunction = (spec: { maxMs?: number, maxFrom?: string }, data: string, _parent, cxt): boolean => {
  let maxMs = spec.maxMs ?? LONGEST_MAX_WINDOW_MS
  let limit = 'the longest kept window'
  if (spec.maxFrom !== undefined) {
    const sibling: unknown = (cxt?.parentData as Record<string, unknown> | undefined)?.[spec.maxFrom]
    if (windowError(sibling, LONGEST_MAX_WINDOW_MS) === null) {
      maxMs = parseWindow(sibling, LONGEST_MAX_WINDOW_MS)
      limit = [...(cxt?.instancePath ?? '').split('/').slice(1, -1), spec.maxFrom].join('.')
    }
  }
  const message = WINDOW_PATTERN.test(data) ? windowError(data, maxMs, limit) : 'must be a duration such as 30s, 5m or 1h'
  window.errors = message === null ? [] : [{ keyword: 'window', message, params: { window: data } }]
  return message === null
}

const ajv = new Ajv({
  allErrors: true,
  useDefaults: true,
  strict: true,
  allowUnionTypes: true,
  formats: { hostport: isHostPort, origin: isOrigin, route: isRouteTemplate, url: isUrl }
})
ajv.addKeyword({ keyword: 'jsonPath', type: 'string', schemaType: 'boolean', errors: true, validate: jsonPath })
ajv.addKeyword({ keyword: 'window', type: 'string', schemaType: 'object', errors: true, validate: window })
const validate = ajv.compile(schema)

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
