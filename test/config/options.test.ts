/* Config: one schema, defaults filled, unknown keys rejected, every error with its key path, frozen result. */
import { deepStrictEqual, match, ok, strictEqual, throws } from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ConfigErrors, defaultConfig, loadConfig, validateConfig } from '../../src/config/index.ts'

function errorsOf (fn: () => unknown): string[] {
  try { fn() } catch (err) {
    ok(err instanceof ConfigErrors, String(err))
    return err.errors
  }
  throw new Error('expected ConfigErrors')
}

const dir = mkdtempSync(join(tmpdir(), 'paritygate-config-'))
function file (name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

test('validateConfig should fill defaults and freeze the result deeply', () => {
  const config = validateConfig({ primary: { url: 'http://127.0.0.1:8080' } })
  strictEqual(config.listen, defaultConfig.listen)
  strictEqual(config.admin, '0.0.0.0:9000')
  strictEqual(config.primary.timeoutMs, 30_000)
  strictEqual(config.proxy.requestIdHeader, 'x-request-id')
  deepStrictEqual(config.redact.headers, ['authorization', 'cookie', 'set-cookie', 'proxy-authorization'])
  ok(Object.isFrozen(config) && Object.isFrozen(config.primary) && Object.isFrozen(config.redact.headers))
  throws(() => { (config.primary as { timeoutMs: number }).timeoutMs = 1 }, TypeError)
})

test('validateConfig should reject unknown keys and report every error with its key path', () => {
  const errors = errorsOf(() => validateConfig({
    primary: { url: 'ftp://x', timeoutMs: -1, extra: 1 },
    listen: 'nonsense',
    bogus: true,
    routes: [{ match: 'orders' }],
    log: { level: 'loud' }
  }))
  ok(errors.includes('primary.extra: is not a known key'), errors.join('\n'))
  ok(errors.includes('bogus: is not a known key'))
  ok(errors.some((e) => e.startsWith('primary.url: must be an http:// or https:// origin')))
  ok(errors.some((e) => e.startsWith('primary.timeoutMs: must be >= 1')))
  ok(errors.some((e) => e.startsWith('listen: must be HOST:PORT')))
  ok(errors.some((e) => e.startsWith('routes[0].match: must be "METHOD /path/:param"')))
  ok(errors.some((e) => e.startsWith('log.level: must be one of fatal, error, warn, info')))
  strictEqual(errors.length, 7)
})

test('validateConfig should require primary.url and refuse a URL with a path, query or credentials', () => {
  deepStrictEqual(errorsOf(() => validateConfig({})), ['primary: is required'])
  for (const url of ['http://h/base', 'http://h/?a=1', 'http://u:p@h/', 'not a url']) {
    match(errorsOf(() => validateConfig({ primary: { url } }))[0], /^primary\.url: must be an http/)
  }
  strictEqual(validateConfig({ primary: { url: 'https://[::1]:8443/' } }).primary.url, 'https://[::1]:8443/')
})

test('loadConfig should apply defaults < file < environment < flags', () => {
  const path = file('layered.yaml', 'primary:\n  url: http://file:1\nlisten: 127.0.0.1:1\nadmin: 127.0.0.1:2\nlog: { level: warn }\n')
  const fromFile = loadConfig({ file: path })
  strictEqual(fromFile.primary.url, 'http://file:1')
  strictEqual(fromFile.log.level, 'warn')
  const fromEnv = loadConfig({ file: path, env: { PARITYGATE_PRIMARY: 'http://env:2', PARITYGATE_LISTEN: '127.0.0.1:3', PARITYGATE_LOG_LEVEL: 'debug' } })
  strictEqual(fromEnv.primary.url, 'http://env:2')
  strictEqual(fromEnv.listen, '127.0.0.1:3')
  strictEqual(fromEnv.admin, '127.0.0.1:2')
  const fromFlags = loadConfig({ file: path, env: { PARITYGATE_PRIMARY: 'http://env:2' }, flags: { primary: 'http://flag:3', admin: '[::1]:4' } })
  strictEqual(fromFlags.primary.url, 'http://flag:3')
  strictEqual(fromFlags.admin, '[::1]:4')
  const viaEnvFile = loadConfig({ env: { PARITYGATE_CONFIG: path } })
  strictEqual(viaEnvFile.primary.url, 'http://file:1')
})

test('loadConfig should name the flag, variable or file a bad value came from', () => {
  match(errorsOf(() => loadConfig({ flags: { primary: 'nope' } }))[0], /^primary\.url: .*\(from flag --primary\)$/)
  match(errorsOf(() => loadConfig({ env: { PARITYGATE_PRIMARY: 'http://x:1', PARITYGATE_ADMIN: 'x' } }))[0], /^admin: .*\(from environment PARITYGATE_ADMIN\)$/)
  const bad = file('bad.yaml', 'primary: { url: http://x:1, timeoutMs: fast }\n')
  match(errorsOf(() => loadConfig({ file: bad }))[0], /^primary\.timeoutMs: must be integer \(from file .*bad\.yaml\)$/)
  match(errorsOf(() => loadConfig({}))[0], /primary\.url: is required \(set primary\.url in the config file, PARITYGATE_PRIMARY or --primary\)/)
})

test('loadConfig should refuse unreadable files, bad YAML or JSON, duplicate keys and non-mapping documents', () => {
  match(errorsOf(() => loadConfig({ file: join(dir, 'missing.yaml') }))[0], /missing\.yaml: cannot read \(ENOENT\)/)
  match(errorsOf(() => loadConfig({ file: file('broken.json', '{"primary": ') }))[0], /broken\.json: (line \d+, column \d+: )?not valid JSON/)
  match(errorsOf(() => loadConfig({ file: file('broken.yaml', 'primary: [\n') }))[0], /broken\.yaml: line \d+, column \d+: not valid YAML/)
  match(errorsOf(() => loadConfig({ file: file('dup.yaml', 'listen: a:1\nlisten: b:2\n') }))[0], /dup\.yaml: line 2, column 1: not valid YAML: .*[Uu]nique/)
  match(errorsOf(() => loadConfig({ file: file('list.yaml', '- a\n- b\n') }))[0], /list\.yaml: must hold a mapping/)
  strictEqual(loadConfig({ file: file('empty.yaml', ''), flags: { primary: 'http://x:1' } }).primary.url, 'http://x:1')
})
