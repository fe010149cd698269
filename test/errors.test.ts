/* Every PARITYGATE_ERR_* export is named after its code and listed in the errors table of docs/operations.md. */
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

test('docs/operations.md should list every error code in its errors table', () => {
  const doc = readFileSync(new URL('../docs/operations.md', import.meta.url), 'utf8')
  const start = doc.indexOf('\n## Errors\n')
  ok(start !== -1, 'docs/operations.md has an "## Errors" section')
  const end = doc.indexOf('\n## ', start + 1)
  const rows = doc.slice(start, end === -1 ? undefined : end).split('\n').filter((line) => line.startsWith('| `'))
  for (const key of Object.keys(errors)) ok(rows.some((row) => row.startsWith(`| \`${key}\` |`)), `${key} is documented`)
})
