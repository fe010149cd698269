/* A request that is already a mirror (it carries mirror.shadowHeader) is served but never mirrored again: no mirror loops between paritygates. */
import { ok, strictEqual } from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { startProxy } from '../helpers/proxy.ts'
import { createRecordingUpstream } from '../helpers/upstream.ts'
import { metric } from './helpers.ts'

test('mirror should never mirror a request that carries the shadow header, and count it as decision shadow', async (t) => {
  const primary = await createRecordingUpstream(t)
  const candidate = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: primary.url }, candidate: { url: candidate.url }, mirror: { percent: 100 } })
  const res = await request(`${proxy.url}/loop`, { headers: { 'X-Paritygate-Shadow': '1' } })
  strictEqual(res.statusCode, 200)
  await res.body.dump()
  await (await request(`${proxy.url}/loop`)).body.dump()
  await sleep(200)
  strictEqual(primary.received.length, 2)
  strictEqual(primary.received[0].headers['x-paritygate-shadow'], '1', 'the primary still gets it as sent')
  strictEqual(candidate.received.length, 1, 'only the plain request was mirrored')
  ok(candidate.received[0].headers['x-paritygate-shadow'] === '1')
  strictEqual(await metric(proxy, 'paritygate_mirror_decisions_total{route="GET /loop",decision="shadow"}'), 1)
  strictEqual(await metric(proxy, 'paritygate_mirror_decisions_total{route="GET /loop",decision="mirrored"}'), 1)
})
