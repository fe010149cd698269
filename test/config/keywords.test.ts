/* Rule paths and gate windows are checked by the schema itself (issue 13.4): every error by validateConfig, with its key path, like any other. */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { defaultRuleConfig } from '../../src/compare/rules.ts'
import { ConfigErrors, defaultConfig, validateConfig } from '../../src/config/index.ts'
import { defaultGateConfig } from '../../src/gate/index.ts'
import { runCli } from '../helpers/cli.ts'

const primary = { url: 'http://127.0.0.1:8080' }

function errorsOf (input: unknown): string[] {
  try { validateConfig(input) } catch (err) {
    ok(err instanceof ConfigErrors, String(err))
    return err.errors
  }
  throw new Error('expected ConfigErrors')
}

test('validateConfig should report every bad rule path with its key, keys of path maps included, one line each', () => {
  deepStrictEqual(errorsOf({
    primary,
    compare: {
      ignore: ['$.ok', '$.x[', 'name'],
      tolerances: { x: { absolute: 1 }, '$.y[': { absolute: 1 }, '$.fine': { relative: 0.1 } },
      timestamps: ['$.t[', '$.at'],
      keyed: { '$.k[': 'id' }
    },
    routes: [{ match: '/a', compare: { unordered: ['$.u['] } }],
    redact: { fields: ['$.c['] }
  }), [
    'compare.ignore[1]: missing "]" in "$.x["',
    'compare.ignore[2]: must be a JSON path starting with "$" (for example $.meta.requestId or $.items[*].updatedAt)',
    'compare.tolerances["x"]: must be a JSON path starting with "$" (for example $.meta.requestId or $.items[*].updatedAt)',
    'compare.tolerances["$.y["]: missing "]" in "$.y["',
    'compare.timestamps[0]: missing "]" in "$.t["',
    'compare.keyed["$.k["]: missing "]" in "$.k["',
    'routes[0].compare.unordered[0]: missing "]" in "$.u["',
    'redact.fields[0]: missing "]" in "$.c["'
  ])
})

test('validateConfig should refuse a gate.window longer than gate.maxWindow, and a gate.maxWindow over a day, each under its own key', () => {
  deepStrictEqual(errorsOf({ primary, gate: { window: '2h' } }), ['gate.window: window 2h exceeds the maximum 1h (gate.maxWindow)'])
  deepStrictEqual(errorsOf({ primary, gate: { window: '90m', maxWindow: '25h' } }), ['gate.maxWindow: window 25h exceeds the maximum 24h (the longest kept window)'])
  deepStrictEqual(errorsOf({ primary, gate: { window: '5 minutes', maxWindow: '0s' } }), [
    'gate.window: must be a duration such as 30s, 5m or 1h',
    'gate.maxWindow: window must be longer than 0, got "0s"'
  ])
  strictEqual(validateConfig({ primary, gate: { window: '90m', maxWindow: '2h' } }).gate.window, '90m')
})

test('check-config should list a window too long with the schema errors, each line with the file name', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'paritygate-keywords-')), 'config.yaml')
  writeFileSync(path, 'primary: { url: "http://127.0.0.1:8080" }\nmirror: { precent: 10 }\ngate: { window: 2h }\ncompare: { ignore: ["$.x["] }\n')
  const r = await runCli(['check-config', path])
  strictEqual(r.code, 2)
  deepStrictEqual(r.stderr.trim().split('\n').sort(), [
    `paritygate: ${path}: compare.ignore[0]: missing "]" in "$.x["`,
    `paritygate: ${path}: gate.window: window 2h exceeds the maximum 1h (gate.maxWindow)`,
    `paritygate: ${path}: mirror.precent: is not a known key: did you mean percent?`
  ])
})

test('the comparison and the gate should take their defaults from the schema', () => {
  deepStrictEqual(defaultRuleConfig, {
    headers: [...defaultConfig.compare.headers],
    maxBodyBytes: defaultConfig.compare.maxBodyBytes,
    maxDepth: defaultConfig.compare.maxDepth,
    maxDiffs: defaultConfig.compare.maxDiffs
  })
  const { window: _w, maxWindow: _m, maxRoutes: _r, notify: _n, ...budgets } = defaultConfig.gate
  deepStrictEqual({ ...defaultGateConfig }, budgets)
  strictEqual(defaultConfig.gate.mismatchBudget, 0.001, 'the documented default')
})
