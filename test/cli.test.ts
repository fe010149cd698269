/* The command line: exit 2 and a message naming the key for any bad input; check-config; version and help. */
import { match, strictEqual } from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { runCli } from './helpers/cli.ts'

const dir = mkdtempSync(join(tmpdir(), 'paritygate-cli-'))

test('cli should print its version and help', async () => {
  const version = await runCli(['--version'])
  strictEqual(version.code, 0)
  match(version.stdout, /^\d+\.\d+\.\d+\n$/)
  const help = await runCli(['--help'])
  strictEqual(help.code, 0)
  match(help.stdout, /paritygate \[serve\] --primary URL/)
})

test('cli check-config should exit 0 for a valid file and 2 with every error and its key path', async () => {
  const good = await runCli(['check-config', 'config/example.yaml'])
  strictEqual(good.code, 0)
  match(good.stdout, /config\/example\.yaml: valid/)
  const badFile = join(dir, 'bad.yaml')
  writeFileSync(badFile, 'primary: { url: "http://x:1/path", timeoutMs: 0 }\nlisten: x\nunknown: 1\n')
  const bad = await runCli(['check-config', badFile])
  strictEqual(bad.code, 2)
  match(bad.stderr, /paritygate: .*bad\.yaml: primary\.url: must be an http/)
  match(bad.stderr, /paritygate: .*bad\.yaml: primary\.timeoutMs: must be >= 1/)
  match(bad.stderr, /paritygate: .*bad\.yaml: listen: must be HOST:PORT/)
  match(bad.stderr, /paritygate: .*bad\.yaml: unknown: is not a known key/)
  strictEqual((await runCli(['check-config'])).code, 2)
})

test('cli serve should stop with exit 2 naming the key for a bad flag, environment value or file', async () => {
  const flag = await runCli(['--primary', 'nope'])
  strictEqual(flag.code, 2)
  match(flag.stderr, /primary\.url: .*\(from flag --primary\)/)
  const env = await runCli(['--primary', 'http://127.0.0.1:1'], { PARITYGATE_LOG_LEVEL: 'loud' })
  strictEqual(env.code, 2)
  match(env.stderr, /log\.level: must be one of .*\(from environment PARITYGATE_LOG_LEVEL\)/)
  const missing = await runCli(['--config', join(dir, 'nope.yaml')])
  strictEqual(missing.code, 2)
  match(missing.stderr, /nope\.yaml: cannot read \(ENOENT\)/)
  const unknownFlag = await runCli(['--primry', 'http://x:1'])
  strictEqual(unknownFlag.code, 2)
  match(unknownFlag.stderr, /unknown flag --primry: did you mean --primary\?/)
  const noPrimary = await runCli([])
  strictEqual(noPrimary.code, 2)
  match(noPrimary.stderr, /primary\.url: is required/)
  const unknownCommand = await runCli(['frobnicate'])
  strictEqual(unknownCommand.code, 2)
})

test('cli healthcheck should exit 1 with a reason when nothing answers on the admin port', async () => {
  const res = await runCli(['healthcheck', '--admin', '127.0.0.1:1'])
  strictEqual(res.code, 1)
  match(res.stderr, /paritygate: not live: /)
  strictEqual((await runCli(['healthcheck', '--admin', 'nope'])).code, 2)
})

test('cli serve should validate --candidate and --mirror-percent and their environment variables', async () => {
  const pct = await runCli(['--primary', 'http://127.0.0.1:1', '--candidate', 'http://127.0.0.1:2', '--mirror-percent', '150'])
  strictEqual(pct.code, 2)
  match(pct.stderr, /mirror\.percent: must be <= 100 \(from flag --mirror-percent\)/)
  const text = await runCli(['--primary', 'http://127.0.0.1:1', '--mirror-percent', 'ten'])
  strictEqual(text.code, 2)
  match(text.stderr, /mirror\.percent: must be number \(from flag --mirror-percent\)/)
  const env = await runCli(['--primary', 'http://127.0.0.1:1'], { PARITYGATE_CANDIDATE: 'v2.internal:8080' })
  strictEqual(env.code, 2)
  match(env.stderr, /candidate\.url: must be an http:\/\/ or https:\/\/ origin .*\(from environment PARITYGATE_CANDIDATE\)/)
})
