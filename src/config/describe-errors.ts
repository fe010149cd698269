/* ajv's errors said plainly: one `key.path: what is wrong` line per problem, the way every config error reads. */
import { type ErrorObject } from 'ajv'
import { schema } from './options.ts'
import { closest } from './suggest.ts'

const FORMAT_HINTS: Record<string, string> = {
  hostport: 'must be HOST:PORT (for example 0.0.0.0:8000 or [::1]:9000)',
  origin: 'must be an http:// or https:// origin without path, query or credentials (for example http://127.0.0.1:8080)',
  route: 'must be "METHOD /path/:param" or "/path/:param"',
  url: 'must be an http:// or https:// URL'
}

/** The keys the schema allows where an ajv error points (its schemaPath, less the keyword). */
function knownKeys (schemaPath: string): string[] {
  let node: unknown = schema
  for (const part of schemaPath.replace(/^#\//, '').split('/').slice(0, -1)) {
    if (node === null || typeof node !== 'object') return []
    node = (node as Record<string, unknown>)[part]
  }
  const properties = (node as { properties?: Record<string, unknown> } | undefined)?.properties
  return properties === undefined ? [] : Object.keys(properties)
}

/** Inside a `propertyNames` check: reported once, by the propertyNames error that follows it. */
function inPropertyNames (e: ErrorObject): boolean {
  return e.keyword !== 'propertyNames' && (e.propertyName !== undefined || e.schemaPath.includes('/propertyNames/'))
}

/** Turns ajv errors into `key.path: what is wrong` lines, one per error. */
export function describeErrors (errors: ErrorObject[] | null | undefined): string[] {
  const all = errors ?? []
  const out: string[] = []
  const alternatives = new Set(all.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath))
  for (const e of all) {
    if (inPropertyNames(e)) continue
    if (e.keyword !== 'anyOf' && alternatives.has(e.instancePath)) continue // reported once, by anyOf
    // A list of the right shape with a bad element: the element's error says what is wrong.
    if (e.keyword === 'anyOf' && all.some((o) => o.instancePath.startsWith(`${e.instancePath}/`))) continue
    let key = e.instancePath.slice(1).replaceAll('/', '.').replace(/\.(\d+)(?=\.|$)/g, '[$1]')
    let msg = e.message ?? 'is invalid'
    if (e.keyword === 'additionalProperties') {
      const extra = (e.params as { additionalProperty: string }).additionalProperty
      key = key ? `${key}.${extra}` : extra
      const near = closest(extra, knownKeys(e.schemaPath))
      msg = near === null ? 'is not a known key' : `is not a known key: did you mean ${near}?`
    } else if (e.keyword === 'required') {
      const missing = (e.params as { missingProperty: string }).missingProperty
      key = key ? `${key}.${missing}` : missing
      msg = 'is required'
    } else if (e.keyword === 'format') {
      msg = FORMAT_HINTS[(e.params as { format: string }).format] ?? msg
    } else if (e.keyword === 'propertyNames') {
      const name = (e.params as { propertyName: string }).propertyName
      // A map keyed by JSON paths (tolerances, keyed) names the path; the other maps are keyed by header names.
      const path = all.find((o) => o.keyword === 'jsonPath' && o.instancePath === e.instancePath &&
        o.schemaPath.startsWith(`${e.schemaPath}/`) && (o.params as { path?: string }).path === name)
      if (path !== undefined) {
        key = `${key}[${JSON.stringify(name)}]`
        msg = path.message ?? msg
      } else {
        msg = `"${name}" is not a valid header name`
      }
    } else if (e.keyword === 'anyOf') {
      msg = key === 'workers' ? 'must be a whole number from 1 to 64, or auto' : 'must be true, false, or a list of JSON paths'
    } else if (e.keyword === 'enum') {
      msg = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`
    }
    out.push(`${key || '(root)'}: ${msg}`)
  }
  return out
}
