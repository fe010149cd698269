/* The Dockerfile cannot be built here (no Docker engine): check its contract and run its commands in a scratch copy. */
import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deepStrictEqual, match, ok, strictEqual } from 'node:assert/strict'
import { once } from 'node:events'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { listening, ROOT } from './helpers/cli.ts'
import { createUpstream } from './helpers/upstream.ts'

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
const lines = dockerfile.split('\n').filter((l) => l !== '' && !l.startsWith('#'))

test('Dockerfile should be multi-stage on an LTS Node image, non-root, with ports, healthcheck and entrypoint', () => {
  const froms = lines.filter((l) => l.startsWith('FROM '))
  strictEqual(froms.length, 2)
  for (const from of froms) {
    const major = Number(/node:(\d+)/.exec(from)?.[1])
    ok(major >= 22 && major % 2 === 0, `${from}: an even (LTS) Node line`)
  }
  // the kubelet checks runAsNonRoot only against a numeric user: a name (USER node) makes it refuse the pod
  const users = lines.filter((l) => l.startsWith('USER '))
  const user = users.at(-1)
  match(user ?? '', /^USER \d+:\d+$/, `the final USER should be numeric uid:gid, not ${user}`)
  strictEqual(user, 'USER 1000:1000', 'the node images\' node user (uid 1000, gid 1000)')
  ok(lines.lastIndexOf(user as string) > lines.lastIndexOf(froms[1]), 'the runtime stage sets the user')
  ok(lines.includes('EXPOSE 8000 9000'))
  ok(lines.includes('ENTRYPOINT ["node", "--max-semi-space-size=32", "--single-threaded-gc", "dist/cli.js"]'))
  match(dockerfile, /HEALTHCHECK .*CMD \["node", "dist\/cli\.js", "healthcheck"\]/)
  ok(!/curl|wget/.test(dockerfile), 'the healthcheck needs no curl')
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('FROM '))
  ok(!runtime.includes('COPY src') && !runtime.includes('npm ci\n'), 'the runtime stage holds no sources or dev toolchain')
})

test('Dockerfile commands should build, prune to production dependencies, and start', { timeout: 240_000 }, async (t) => {
  deepStrictEqual(lines.filter((l) => l.startsWith('RUN ')), [
    'RUN npm ci --no-audit --no-fund',
    'RUN npm run build && npm prune --omit=dev --no-audit --no-fund'
  ], 'the commands this test runs are the ones the Dockerfile runs')
  const dir = mkdtempSync(join(tmpdir(), 'paritygate-image-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'scripts/build-ui.mjs', 'config']) cpSync(join(ROOT, f), join(dir, f), { recursive: true })
  const sh = (cmd: string) => execFileSync('sh', ['-c', cmd], { cwd: dir, stdio: 'pipe', env: { ...process.env, npm_config_prefer_offline: 'true' } })
  sh('npm ci --no-audit --no-fund')
  sh('npm run build && npm prune --omit=dev --no-audit --no-fund')
  ok(existsSync(join(dir, 'dist/cli.js')))
  ok(existsSync(join(dir, 'dist/ui/index.html')) && existsSync(join(dir, 'dist/ui/app.js')), 'the page is built into dist/ui')
  ok(!existsSync(join(dir, 'node_modules/typescript')) && !existsSync(join(dir, 'node_modules/tsx')), 'dev dependencies pruned')
  rmSync(join(dir, 'src'), { recursive: true })

  const version = execFileSync(process.execPath, ['dist/cli.js', '--version'], { cwd: dir, env: { NODE_ENV: 'production', PATH: process.env.PATH } }).toString()
  strictEqual(version.trim(), JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version)

  const upstream = await createUpstream(t, (_req, res) => res.end('from primary'))
  const child = spawn(process.execPath, ['dist/cli.js', 'serve', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'], { cwd: dir, env: { NODE_ENV: 'production', PATH: process.env.PATH, PARITYGATE_PRIMARY: upstream }, stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const started = await listening(child)
  strictEqual(await (await fetch(`${started.proxy}/x`)).text(), 'from primary')
  const health = execFileSync(process.execPath, ['dist/cli.js', 'healthcheck', '--admin', new URL(started.admin).host], { cwd: dir }).toString()
  strictEqual(health, '')
  const page = await fetch(`${started.admin}/`)
  deepStrictEqual([page.status, (await page.text()).includes('ui/app.js')], [200, true], 'the admin port serves the page from the image')
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  strictEqual(code, 0)
})
