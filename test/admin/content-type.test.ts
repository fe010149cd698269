/* The admin API takes a JSON body whatever its Content-Type says, as the README's curl examples send it (issue 15.4). */
import { deepStrictEqual, strictEqual } from 'node:assert/strict'
import { test } from 'node:test'
import { request } from 'undici'
import { rawRequest } from '../helpers/raw.ts'
import { startProxy } from '../helpers/proxy.ts'
import { createRecordingUpstream } from '../helpers/upstream.ts'

test('PUT /api/v1/mirror should take JSON sent without a content type, as a form (curl -d) or as text', async (t) => {
  const primary = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: primary.url }, candidate: { url: primary.url } })
  const put = async (body: string, headers: Record<string, string>) => {
    const res = await request(`${proxy.admin}/api/v1/mirror`, { method: 'PUT', body, headers })
    return { status: res.statusCode, body: await res.body.json() as Record<string, unknown> }
  }
  // curl -X PUT -d '{"enabled":false}' http://…/api/v1/mirror
  let r = await put('{"enabled":false}', { 'content-type': 'application/x-www-form-urlencoded' })
  strictEqual(r.status, 200, JSON.stringify(r.body))
  strictEqual((r.body.mirror as { enabled: boolean }).enabled, false)
  r = await put('{"percent": 25}', {})
  strictEqual(r.status, 200, JSON.stringify(r.body))
  strictEqual((r.body.mirror as { percent: number }).percent, 25)
  r = await put('{"enabled":true}', { 'content-type': 'text/plain' })
  strictEqual(r.status, 200, JSON.stringify(r.body))
  r = await put('{"percent": 30}', { 'content-type': 'application/json' })
  strictEqual((r.body.mirror as { percent: number }).percent, 30)
  // Not JSON: a 400 that says so, with a code.
  r = await put('enabled=false', { 'content-type': 'application/x-www-form-urlencoded' })
  strictEqual(r.status, 400)
  strictEqual(r.body.code, 'PARITYGATE_ERR_BAD_JSON')
  // No Content-Type header at all, on the wire.
  const port = new URL(proxy.admin).port
  const raw = await rawRequest(Number(port), 'PUT /api/v1/mirror HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\nConnection: close\r\n\r\n{"enabled":false}')
  strictEqual(raw.split('\r\n')[0], 'HTTP/1.1 200 OK')
  deepStrictEqual(proxy.app.proxyState.mirror?.runtime, { enabled: false, percent: 30 })
  // Over bodyLimit (64 KiB) without a content type: refused, not parsed.
  const big = await put(JSON.stringify({ percent: 1, pad: 'x'.repeat(70_000) }), {})
  strictEqual(big.status, 413)
})

test('POST /api/v1/reset should work as curl sends it, with no body and a form content type', async (t) => {
  const primary = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: primary.url }, candidate: { url: primary.url } })
  const res = await request(`${proxy.admin}/api/v1/reset`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  strictEqual(res.statusCode, 200)
  strictEqual((await res.body.json() as { reset: boolean }).reset, true)
  // curl -X POST -d '{"metadata":{"window":"5m"}}' …/api/v1/gate/flagger: the window in the form-labelled JSON is read.
  const flagger = await request(`${proxy.admin}/api/v1/gate/flagger`, { method: 'POST', body: '{"metadata":{"window":"bogus"}}', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  strictEqual(flagger.statusCode, 400, 'the window from the body was read (and refused)')
  await flagger.body.dump()
})
