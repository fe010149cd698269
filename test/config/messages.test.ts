/* check-config and serve name every error, with its key path and the file, and say what was meant (issue 15.5, 15.6). */
import { deepStrictEqual, match, ok, strictEqual } from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { closest, editDistance } from '../../src/config/suggest.ts'
import { runCli } from '../helpers/cli.ts'

function file (name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'paritygate-messages-')), name)
  writeFileSync(path, text)
  return path
}

test('closest should suggest a name within two edits (transpositions and case count once), and nothing far', () => {
  strictEqual(editDistance('primry', 'primary'), 1)
  strictEqual(editDistance('timeoutms', 'timeoutMs'), 0)
  strictEqual(editDistance('tiemoutMs', 'timeoutMs'), 1)
  strictEqual(closest('primry', ['primary', 'candidate']), 'primary')
  strictEqual(closest('mirror-precent', ['mirror-percent', 'noise-percent']), 'mirror-percent')
  strictEqual(closest('xy', ['ab', 'log']), null)
  strictEqual(closest('completely', ['primary']), null)
})

test('check-config should report every bad rule path of every list, the route template meant, and unknown keys with a suggestion, each line with the file name', async () => {
  const path = file('config.yaml', [
    'primary:',
    '  url: http://127.0.0.1:8080',
    '  timeoutms: 5000',
    'compare:',
    '  ignore: ["$.ok", "$.x[", "$.y[z]"]',
    '  unordered: ["$.items", "$.a[\'b"]',
    'routes:',
    '  - match: /orders/{id}',
    '  - match: GET /users/{userId}/orders/{orderId}',
    '    compare:',
    '      ignore: ["$.fine", "$.bad["]',
    'redact:',
    '  fields: ["$.card[", "$.ok"]',
    ''
  ].join('\n'))
  const r = await runCli(['check-config', path])
  strictEqual(r.code, 2)
  const lines = r.stderr.trim().split('\n')
  for (const line of lines) ok(line.startsWith(`paritygate: ${path}: `), line)
  const said = lines.map((l) => l.slice(`paritygate: ${path}: `.length))
  ok(said.includes('primary.timeoutms: is not a known key: did you mean timeoutMs?'), said.join('\n'))
  ok(said.includes('routes[0].match: "{id}" is not a parameter here: templates write parameters as :name, so write "/orders/:id"'), said.join('\n'))
  ok(said.includes('routes[1].match: "{userId}" is not a parameter here: templates write parameters as :name, so write "GET /users/:userId/orders/:orderId"'), said.join('\n'))
  ok(said.includes('compare.ignore[1]: missing "]" in "$.x["'), said.join('\n'))
  ok(said.some((l) => l.startsWith('compare.ignore[2]: bad bracket segment [z]')), said.join('\n'))
  ok(said.some((l) => l.startsWith('compare.unordered[1]: ')), said.join('\n'))
  ok(said.includes('routes[1].compare.ignore[1]: missing "]" in "$.bad["'), said.join('\n'))
  ok(said.includes('redact.fields[0]: missing "]" in "$.card["'), said.join('\n'))
  ok(!said.some((l) => l.includes('"$.ok"') || l.includes('$.fine')), 'good paths are not reported')
})

test('check-config should report every bad path of a file the schema accepts too', async () => {
  const path = file('paths.yaml', 'primary: { url: "http://127.0.0.1:8080" }\ncompare:\n  ignore: ["$.a", "$.x[", "$.b", "$.y["]\n  keyed: { "$.k[": id }\n')
  const r = await runCli(['check-config', path])
  strictEqual(r.code, 2)
  deepStrictEqual(r.stderr.trim().split('\n'), [
    `paritygate: ${path}: compare.ignore[1]: missing "]" in "$.x["`,
    `paritygate: ${path}: compare.ignore[3]: missing "]" in "$.y["`,
    `paritygate: ${path}: compare.keyed["$.k["]: missing "]" in "$.k["`
  ])
})

test('a YAML error should show the line and a caret under the column, with the file name', async () => {
  const path = file('broken.yaml', 'primary:\n  url: [http://127.0.0.1:8080\nlisten: 0.0.0.0:8000\n')
  const r = await runCli(['check-config', path])
  strictEqual(r.code, 2)
  const lines = r.stderr.split('\n').filter((l) => l !== '')
  match(lines[0], new RegExp(`^paritygate: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: line (\\d+), column (\\d+): not valid YAML: \\S`))
  const [, line, column] = /line (\d+), column (\d+)/.exec(lines[0]) as RegExpExecArray
  const source = 'primary:\n  url: [http://127.0.0.1:8080\nlisten: 0.0.0.0:8000\n'.split('\n')[Number(line) - 1]
  strictEqual(lines[1], `paritygate:   ${line} | ${source}`)
  const caret = lines[2].indexOf('^') - lines[1].indexOf(' | ') - 3
  strictEqual(caret, Number(column) - 1)
  ok(!lines[0].endsWith(':'), 'the message says something after the position')
})

test('a JSON config error should show the line and a caret too', async () => {
  const path = file('broken.json', '{\n  "primary": { "url": "http://127.0.0.1:8080" },\n  "listen": 8000,,\n}\n')
  const r = await runCli(['check-config', path])
  strictEqual(r.code, 2)
  match(r.stderr, /broken\.json: line 3, column \d+: not valid JSON: /)
  match(r.stderr, / {2}3 \| {3}"listen": 8000,,\n/)
})

test('serve should refuse an unknown config key with a suggestion, naming the file (exit 2)', async () => {
  const path = file('serve.yaml', 'primary: { url: "http://127.0.0.1:8080" }\nmirror: { precent: 10 }\n')
  const r = await runCli(['serve', '--config', path, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'])
  strictEqual(r.code, 2)
  match(r.stderr, new RegExp(`mirror\\.precent: is not a known key: did you mean percent\\? \\(from file ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`))
})
