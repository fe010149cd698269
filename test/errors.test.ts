/* Every PARITYGATE_ERR_* export is named after its code and listed in the errors table of docs/operations.md. */
import { ok, strictEqual } from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
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
  const documented = rows.map((row) => /^\| `([A-Z_]+)` \|/.exec(row)?.[1])
  strictEqual(documented.filter((code) => code === undefined || !(code in errors)).join(', '), '', 'every row of the table is a code of the catalogue')
})

/** Codes documented but not raised yet, each with why and when it goes. */
const NOT_RAISED_YET = new Map<string, string>([])

test('every error code should be raised somewhere in src (or answered by the admin listener)', () => {
  const files = (dir: URL): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory()) return files(new URL(`${e.name}/`, dir))
    return /\.tsx?$/.test(e.name) && e.name !== 'errors.ts' ? [readFileSync(new URL(e.name, dir), 'utf8')] : []
  })
  const sources = files(new URL('../src/', import.meta.url)).join('\n')
  const missing = Object.keys(errors).filter((code) => !NOT_RAISED_YET.has(code) && !new RegExp(`\\b${code}\\b`).test(sources))
  strictEqual(missing.join(', '), '')
  for (const code of NOT_RAISED_YET.keys()) {
    ok(code in errors, `${code} is still in the catalogue`)
    ok(!new RegExp(`\\b${code}\\b`).test(sources), `${code} is raised now: remove it from NOT_RAISED_YET`)
  }
})
