/* Every example config under config/ validates, so the examples cannot drift from the schema. */
import { ok } from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadConfig } from '../../src/config/index.ts'

const root = new URL('../../config/', import.meta.url).pathname
const examples = readdirSync(root).filter((f) => /\.(ya?ml|json)$/.test(f))

test('config/ should hold example configs', () => {
  ok(examples.length >= 2, examples.join(', '))
})

for (const name of examples) {
  test(`config/${name} should validate against the schema`, () => {
    const config = loadConfig({ file: join(root, name) })
    ok(config.primary.url.startsWith('http'))
  })
}
