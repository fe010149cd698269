/* Logging: JSON lines, secrets redacted, one line per upstream failure with the request id, nothing per request. */
import { ok, strictEqual } from 'node:assert/strict'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { request } from 'undici'
import { createLogger } from '../src/logger.ts'
import { startProxy } from './helpers/proxy.ts'
import { createTcpUpstream, createUpstream } from './helpers/upstream.ts'

const CANARY = 'canary-7f3a9c'

test('logger should redact authorization, cookie, set-cookie and proxy-authorization wherever headers are logged', () => {
  let text = ''
  const sink = new Writable({ write (c, _e, cb) { text += c; cb() } })
  const log = createLogger('info', ['authorization', 'cookie', 'set-cookie', 'proxy-authorization', 'x-api-key'], sink)
  log.info({ headers: { authorization: CANARY, cookie: CANARY, 'x-api-key': CANARY, accept: 'ok' } }, 'a')
  log.info({ req: { headers: { 'proxy-authorization': CANARY } }, res: { headers: { 'set-cookie': [CANARY] } } }, 'b')
  log.info({ sample: { primary: { headers: { authorization: CANARY } } } }, 'c')
  ok(!text.includes(CANARY), text)
  strictEqual(text.split('\n').filter(Boolean).length, 3)
  ok(text.includes('"accept":"ok"'))
  ok(text.includes('[redacted]'))
})

test('proxy should log nothing per request at the default level and one line per upstream failure, without secrets', async (t) => {
  const ok200 = await createUpstream(t, (_req, res) => res.end('fine'))
  const proxy = await startProxy(t, { primary: { url: ok200 } })
  for (let i = 0; i < 20; i++) await (await request(`${proxy.url}/x?token=${CANARY}`, { headers: { authorization: `Bearer ${CANARY}`, cookie: `s=${CANARY}` } })).body.dump()
  strictEqual(proxy.logs.length, 0, proxy.logText())

  const resetting = await createTcpUpstream(t, (s) => s.once('data', () => s.resetAndDestroy()))
  const failing = await startProxy(t, { primary: { url: resetting.url } })
  const res = await request(`${failing.url}/orders/12?token=${CANARY}`, { method: 'POST', body: CANARY, headers: { authorization: `Bearer ${CANARY}`, 'x-request-id': 'req-1' } })
  strictEqual(res.statusCode, 502)
  await res.body.dump()
  strictEqual(failing.logs.length, 1)
  const line = failing.logs[0]
  strictEqual(line.level, 'warn')
  strictEqual(line.requestId, 'req-1')
  strictEqual(line.route, 'POST /orders/:id')
  ok(!failing.logText().includes(CANARY), failing.logText())
})
