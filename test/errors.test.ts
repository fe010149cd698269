/* Every PARITYGATE_ERR_* export is named after its code and listed in README.md#errors. */
import { ok, strictEqual } from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import * as errors from '../src/errors.ts'

test('errors should be named after their code and carry an HTTP status', () => {
  for (const [key, ErrorCtor] of Object.entries(errors)) {
    const err = new ErrorCtor('a', 'b')
    strictEqual(err.code, key)
    ok(err.statusCode >= 400 && err.statusCode < 600, key)
  }
})

test('README.md should list every error code', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('## Errors'))
  for (const key of Object.keys(errors)) ok(section.includes(`\`${key}\``), `${key} is documented`)
})
