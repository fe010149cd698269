/* SIGTERM under load: readiness 503, no started request lost, the listener stops, exit 0 within the grace period. */
import { ok, strictEqual } from 'node:assert/strict'
import { once } from 'node:events'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool, request } from 'undici'
import { listening, spawnCli } from '../helpers/cli.ts'
import { createUpstream } from '../helpers/upstream.ts'

test('serve should drain in-flight requests on SIGTERM, answer ready 503, and exit 0', async (t) => {
  let arrived = 0
  const upstream = await createUpstream(t, (req, res) => {
    arrived++
    req.resume()
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('done'), 500)
  })
  const child = spawnCli(['serve', '--primary', upstream, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--log-level', 'info'])
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const started = await listening(child)
  const pool = new Pool(started.proxy, { connections: 40 })
  t.after(() => pool.destroy())
  strictEqual((await request(`${started.admin}/healthz/ready`)).statusCode, 200)

  const inflight = Array.from({ length: 40 }, (_, i) => pool.request({ method: i % 2 === 0 ? 'GET' : 'POST', path: `/work/${i}`, body: i % 2 === 0 ? null : 'x' }).then(async (res) => ({ status: res.statusCode, body: await res.body.text() })))
  const arrivedNow = () => arrived
  while (arrivedNow() < 40) await sleep(10)
  child.kill('SIGTERM')
  await sleep(50)
  const ready = await request(`${started.admin}/healthz/ready`).catch(() => null)
  if (ready !== null) strictEqual(ready.statusCode, 503, 'not ready while draining')

  const results = await Promise.all(inflight)
  strictEqual(results.filter((r) => r.status === 200 && r.body === 'done').length, 40, 'every request that had started completed')
  const [code] = await once(child, 'exit')
  strictEqual(code, 0)
  ok(started.output().includes('draining before exit') && started.output().includes('"msg":"stopped"'))
  const after = await request(`${started.proxy}/late`).then((r) => r.statusCode, (err: NodeJS.ErrnoException) => err.code)
  strictEqual(after, 'ECONNREFUSED', 'nothing listens after exit')
})
