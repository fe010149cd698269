/*
 * Validates the Kubernetes documents under config/ against the schema of their apiVersion and
 * kind: the openAPIV3Schema of the real CRDs (Argo Rollouts, Flagger, Prometheus Operator,
 * Istio) and hand-written core kinds, all in test/integrations/schemas/ (SOURCES.md there).
 */
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'

const DIR = fileURLToPath(new URL('./schemas/', import.meta.url))

/** Go RE2's (?i) is not JavaScript: turn it into the i flag. */
function regExp (pattern: string, flags: string): RegExp {
  return pattern.includes('(?i)') ? new RegExp(pattern.replaceAll('(?i)', ''), flags + 'i') : new RegExp(pattern, flags)
}
regExp.code = 'new RegExp'

/**
 * A schema in which objects with declared properties reject any other key (as the API server
 * does under strict field validation), unless they allow them themselves.
 */
function strict (node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strict)
  if (node === null || typeof node !== 'object') return node
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(node)) out[key] = key === 'properties' ? Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, strict(v)])) : strict(value)
  if (out.properties !== undefined && out.additionalProperties === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) out.additionalProperties = false
  return out
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, code: { regExp } })
for (const keyword of ['x-kubernetes-int-or-string', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-validations', 'x-kubernetes-embedded-resource']) {
  ajv.addKeyword({ keyword })
}

/** `<apiVersion> <kind>` to the schema file's name. */
const byKind = new Map<string, string>()
for (const file of readdirSync(DIR).filter((f) => f.endsWith('.json'))) {
  const schema = strict(JSON.parse(readFileSync(DIR + file, 'utf8'))) as Record<string, any>
  // the API server takes apiVersion, kind and metadata at the top of every object, declared or not
  if (schema.properties !== undefined) schema.properties = { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, ...schema.properties }
  ajv.addSchema({ ...schema, $id: file })
  const m = /^(.+)_(v\w+)_(\w+)\.json$/.exec(file)
  if (m === null || m[1] === 'meta') continue
  const apiVersion = m[1] === 'core' ? m[2] : `${m[1]}/${m[2]}`
  byKind.set(`${apiVersion} ${m[3]}`, file)
}

/** The apiVersion/kind pairs that have a schema. */
export function knownKinds (): string[] {
  return [...byKind.keys()].sort()
}

function compiled (id: string): ValidateFunction {
  const validate = ajv.getSchema(id)
  if (validate === undefined) throw new Error(`no schema ${id}`)
  return validate
}

function describe (errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}${e.keyword === 'additionalProperties' ? `: ${String((e.params as { additionalProperty: string }).additionalProperty)}` : ''}${e.keyword === 'enum' ? ` ${JSON.stringify((e.params as { allowedValues: unknown }).allowedValues)}` : ''}`)
}

/**
 * What is wrong with a document: [] when it is valid for its apiVersion and kind, and its
 * metadata is valid ObjectMeta. A kind without a schema is an error too.
 */
export function schemaErrors (doc: Record<string, any>, as?: { apiVersion: string, kind: string }): string[] {
  const key = `${as?.apiVersion ?? doc.apiVersion} ${as?.kind ?? doc.kind}`
  const file = byKind.get(key)
  if (file === undefined) return [`no schema for ${key} (test/integrations/schemas/)`]
  const subject = as === undefined ? doc : { ...doc, ...as }
  const validate = compiled(file)
  const errors = validate(subject) ? [] : describe(validate.errors)
  const meta = compiled('meta_v1_ObjectMeta.json')
  if (!meta(doc.metadata)) errors.push(...describe(meta.errors).map((e) => `/metadata${e}`))
  return errors
}
