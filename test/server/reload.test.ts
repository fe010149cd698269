/* SIGHUP: a valid file applies without dropping a request; an invalid one is refused and the old config keeps serving. */
import { ok, strictEqual } from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool, request } from 'undici'
import { listening, spawnCli } from '../helpers/cli.ts'
import { createRecordingUpstream } from '../helpers/upstream.ts'

test('serve should reload its config on SIGHUP under load, and refuse an invalid one', async (t) => {
  const primary = await createRecordingUpstream(t)
  const v2a = await createRecordingUpstream(t)
  const v2b = await createRecordingUpstream(t)
  const dir = mkdtempSync(join(tmpdir(), 'paritygate-reload-'))
  const file = join(dir, 'paritygate.yaml')
  const write = (candidate: string, percent: number | string) => writeFileSync(file,
    `listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\nprimary: { url: ${primary.url} }\ncandidate: { url: ${candidate} }\nmirror: { percent: ${percent} }\n`)
  write(v2a.url, 100)
  const child = spawnCli(['serve', '--config', file])
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const started = await listening(child)

  const pool = new Pool(started.proxy, { connections: 8 })
  t.after(() => pool.close())
  let stop = false
  const running = () => !stop
  const statuses: number[] = []
  const load = Promise.all(Array.from({ length: 8 }, async () => {
    while (running()) {
      const res = await pool.request({ method: 'GET', path: '/orders/1' })
      statuses.push(res.statusCode)
      await res.body.dump()
    }
  }))
  const received = (u: { received: unknown[] }) => u.received.length
  while (received(v2a) < 50) await sleep(10)

  write(v2b.url, 100)
  child.kill('SIGHUP')
  while (!started.output().includes('config reloaded')) await sleep(10)
  const before = v2b.received.length
  while (v2b.received.length < before + 50) await sleep(10)
  const v2aAfter = v2a.received.length

  writeFileSync(file, 'primary: { url: "not a url" }\nmirror: { percent: 150 }\n')
  child.kill('SIGHUP')
  while (!started.output().includes('config reload refused')) await sleep(10)
  const refused = JSON.parse(started.output().split('\n').find((l: string) => l.includes('config reload refused')) as string)
  ok(refused.errors.some((e: string) => e.startsWith('primary.url:')) && refused.errors.some((e: string) => e.startsWith('mirror.percent:')), started.output())
  const stillB = v2b.received.length
  while (v2b.received.length < stillB + 20) await sleep(10)

  stop = true
  await load
  ok(statuses.length > 100, `${statuses.length} requests during the reloads`)
  strictEqual(statuses.filter((s) => s !== 200).length, 0, 'no failed request across both reloads')
  ok(v2a.received.length - v2aAfter <= 8, 'the old candidate gets nothing new after the reload (at most the mirrors in flight)')
  const mirror = await (await request(`${started.admin}/api/v1/mirror`)).body.json() as { mirror: { percent: number } }
  strictEqual(mirror.mirror.percent, 100)
  const metrics = await (await request(`${started.admin}/metrics`)).body.text()
  ok(metrics.includes('paritygate_config_reloads_total{result="success"} 1'))
  ok(metrics.includes('paritygate_config_reloads_total{result="failure"} 1'))
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  strictEqual(code, 0)
})
