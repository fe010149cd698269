/*
 * Writes the openAPIV3Schema of chosen kinds from CustomResourceDefinition YAML files into this
 * folder, one JSON file per kind (`<group>_<version>_<Kind>.json`), descriptions left out (they
 * make up most of the size and no validation reads them). Everything else is kept as the CRD has
 * it, x-kubernetes-* keywords included; test/integrations/schemas.ts reads them.
 *
 *   node --import tsx test/integrations/schemas/extract.ts SOURCE-LABEL CRD.yaml Kind [Kind...]
 *
 * SOURCE-LABEL (repository@commit:path) goes into the file's $comment. See SOURCES.md.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'

const HERE = fileURLToPath(new URL('.', import.meta.url))

/** The schema without `description` strings (a property named description is kept). */
function withoutDescriptions (node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDescriptions)
  if (node === null || typeof node !== 'object') return node
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(node)) {
    if (key === 'description' && typeof value === 'string') continue
    out[key] = withoutDescriptions(value)
  }
  return out
}

const [source, file, ...kinds] = process.argv.slice(2)
if (source === undefined || file === undefined || kinds.length === 0) {
  throw new Error('usage: extract.ts SOURCE-LABEL CRD.yaml Kind [Kind...]')
}
const wanted = new Set(kinds)
for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
  const crd = doc.toJS() as Record<string, any> | null
  if (crd?.kind !== 'CustomResourceDefinition' || !wanted.has(crd.spec.names.kind)) continue
  const kind: string = crd.spec.names.kind
  for (const version of crd.spec.versions) {
    if (version.served !== true) continue
    const name = `${crd.spec.group}_${version.name}_${kind}.json`
    const schema = { $comment: `openAPIV3Schema of ${kind} ${crd.spec.group}/${version.name} from ${source}, descriptions left out`, ...(withoutDescriptions(version.schema.openAPIV3Schema) as object) }
    writeFileSync(join(HERE, name), JSON.stringify(schema) + '\n')
    console.log(name)
  }
  wanted.delete(kind)
}
if (wanted.size > 0) {
  throw new Error(`not found in ${file}: ${[...wanted].join(', ')}`)
}
