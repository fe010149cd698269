/*
 * The standalone set-up end to end, when nginx is installed (bench/install.sh installs it): the
 * shipped NGINX mirror snippet in front of v1, copying to a standalone paritygate that calls v1
 * and v2 itself. Users get v1's answers; only sampled safe requests reach the gate.
 */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool, request } from 'undici'
import { parse } from 'yaml'
import { startProxy } from '../helpers/proxy.ts'
import { createRecordingUpstream } from '../helpers/upstream.ts'
import { CONFIG, documentOf } from './helpers.ts'

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p))

async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  await once(server, 'close')
  return port
}

test('NGINX mirror to a standalone gate: users get v1, the gate compares about 20 % of GETs and never sees a POST', { skip: NGINX === undefined && 'nginx is not installed (bench/install.sh installs it)', timeout: 30_000 }, async (t) => {
  const answer = (url: string) => JSON.stringify({ url, price: 10 })
  const v1 = await createRecordingUpstream(t, (req, res) => res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': 'v1' }).end(answer(req.url)))
  const v2 = await createRecordingUpstream(t, (req, res) => res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': 'v2' }).end(answer(req.url)))
  // the standalone gate's shipped config, with loopback addresses for the test
  const map = documentOf('k8s/standalone-gate.yaml', 'ConfigMap')
  const shipped = parse(map.data['paritygate.yaml'])
  const gate = await startProxy(t, { ...shipped, listen: '127.0.0.1:0', admin: '127.0.0.1:0', primary: { ...shipped.primary, url: v1.url }, candidate: { ...shipped.candidate, url: v2.url }, log: { level: 'warn' } })

  const dir = mkdtempSync(join(tmpdir(), 'paritygate-nginx-'))
  const port = await freePort()
  const conf = readFileSync(CONFIG + 'k8s/nginx-mirror.conf', 'utf8')
    .replace('orders-v1:8080', new URL(v1.url).host)
    .replace('paritygate:8000', new URL(gate.url).host)
    .replace('listen 80;', `listen 127.0.0.1:${port};`)
  writeFileSync(join(dir, 'mirror.conf'), conf)
  writeFileSync(join(dir, 'nginx.conf'), [
    'daemon off;', 'master_process off;', `pid ${dir}/nginx.pid;`, `error_log ${dir}/error.log warn;`, 'events {}',
    'http {', '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `  ${k}_temp_path ${dir}/${k};`),
    `  include ${dir}/mirror.conf;`, '}', ''
  ].join('\n'))
  const nginx = spawn(NGINX as string, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' })
  t.after(async () => {
    if (nginx.exitCode === null && nginx.signalCode === null) {
      const exited = once(nginx, 'exit')
      nginx.kill('SIGTERM')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  })
  const base = `http://127.0.0.1:${port}`
  // ready once it accepts connections (an HTTP probe would itself be mirrored)
  const end = Date.now() + 5000
  while (Date.now() < end) {
    const socket = connect(port, '127.0.0.1')
    // once() rejects on 'error': a refused connection
    const up = await once(socket, 'connect').then(() => true, () => false)
    socket.destroy()
    if (up) break
    await sleep(50)
  }

  const pool = new Pool(base, { connections: 4 })
  const gets = 400
  const posts = 40
  for (let i = 0; i < gets + posts; i++) {
    const post = i % 11 === 10
    const res = await pool.request({ method: post ? 'POST' : 'GET', path: `/orders/${i}`, body: post ? '{"qty":1}' : undefined, headers: post ? { 'content-type': 'application/json' } : {} })
    strictEqual(res.statusCode, 200)
    strictEqual(res.headers['x-served-by'], 'v1')
    strictEqual(await res.body.text(), answer(`/orders/${i}`))
  }
  await pool.close()
  await sleep(500)

  // v1 sees each user request once from NGINX, plus the gate's copies (marked by X-Forwarded-For)
  const viaGate = v1.received.filter((r) => r.headers['x-forwarded-for'] !== undefined)
  const direct = v1.received.filter((r) => r.headers['x-forwarded-for'] === undefined)
  strictEqual(direct.length, gets + posts)
  strictEqual(direct.filter((r) => r.method === 'POST').length, posts, 'each POST ran once on v1')
  deepStrictEqual([...new Set(viaGate.map((r) => r.method))], ['GET'], 'only safe methods are mirrored')
  ok(viaGate.length > gets * 0.1 && viaGate.length < gets * 0.32, `mirrored ${viaGate.length} of ${gets} GETs (20 % sampled)`)
  const ids = new Set(direct.map((r) => r.headers['x-request-id']))
  ok(viaGate.every((r) => ids.has(r.headers['x-request-id'])), 'a copy carries the live request id')
  // the gate called v2 for each copy, marked as shadow traffic, and compared them all
  strictEqual(v2.received.length, viaGate.length)
  ok(v2.received.every((r) => r.headers['x-paritygate-shadow'] === '1' && r.method === 'GET'))
  const verdict = await (await request(`${gate.admin}/api/v1/gate`)).body.json() as { checks: { mismatch: { compared: number, mismatched: number } } }
  strictEqual(verdict.checks.mismatch.compared, viaGate.length)
  strictEqual(verdict.checks.mismatch.mismatched, 0)
})
