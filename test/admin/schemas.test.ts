/* The admin routes' schemas: replies written by fast-json-stringify lose nothing, and every error is {error, code, message} of the catalogue. */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { test } from 'node:test'
import { request } from 'undici'
import { redactConfig } from '../../src/admin/admin.ts'
import { startProxy } from '../helpers/proxy.ts'
import { createUpstream } from '../helpers/upstream.ts'
import { eventually } from '../mirror/helpers.ts'

async function get (url: string, headers: Record<string, string> = {}): Promise<{ status: number, body: Record<string, any> }> {
  const res = await request(url, { headers })
  return { status: res.statusCode, body: await res.body.json() as Record<string, any> }
}

/** A value as it would be written whole by JSON.stringify. */
const whole = (value: unknown): unknown => JSON.parse(JSON.stringify(value))

/** Fields that move with the clock (the time of the answer, rates per second, event-loop lag) replaced by their type; every key stays. */
function steady (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(steady)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, ['generatedAt', 'etaSeconds', 'reason', 'lagMs'].includes(k) ? typeof v : steady(v)]))
}

test('every JSON answer of the admin port should carry every field of what the backend returned', async (t) => {
  let n = 0
  const primary = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ price: 10, id: ++n })))
  const candidate = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ price: 11, id: n })))
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100 }, noise: { percent: 50 } })
  for (let i = 0; i < 6; i++) await (await request(`${proxy.url}/orders/${i}`)).body.dump()
  const engine = proxy.app.engine
  ok(engine !== null)
  ok(await eventually(() => engine.samples.size > 0 && engine.fieldReport(null).length > 0, 5000))
  const route = proxy.app.parity.knownRoutes()[0]

  const gate = await get(`${proxy.admin}/api/v1/gate?window=5m`)
  const rawGate = steady(whole(proxy.app.gate.evaluate('5m')))
  deepStrictEqual(steady(gate.body), rawGate)

  deepStrictEqual((await get(`${proxy.admin}/api/v1/routes?window=5m`)).body, whole({ window: '5m', routes: proxy.app.parity.routes('5m') }))
  deepStrictEqual((await get(`${proxy.admin}/api/v1/history?window=5m&route=${encodeURIComponent(route)}`)).body, whole(proxy.app.parity.history('5m', route)))
  deepStrictEqual((await get(`${proxy.admin}/api/v1/fields`)).body, whole({ route: null, fields: engine.fieldReport(null) }))
  deepStrictEqual((await get(`${proxy.admin}/api/v1/noise`)).body, whole({ route: null, paths: engine.noiseReport(null) }))
  const list = (await get(`${proxy.admin}/api/v1/mismatches?limit=0010`)).body
  deepStrictEqual(list, whole({ route: null, signatures: engine.samples.groups(null, 10), stored: engine.samples.size, evicted: engine.samples.evicted }))
  const id = list.signatures[0].samples[0].id as string
  deepStrictEqual((await get(`${proxy.admin}/api/v1/mismatches/${id}`)).body, whole(engine.samples.view(id)))
  deepStrictEqual(steady((await get(`${proxy.admin}/api/v1/mirror`)).body), steady(whole({ mirror: proxy.app.proxyState.mirror?.state })))
  deepStrictEqual(steady((await get(`${proxy.admin}/api/v1/config`)).body), steady(whole({ config: redactConfig(proxy.config), mirror: proxy.app.proxyState.mirror?.state })))
  const flagger = await request(`${proxy.admin}/api/v1/gate/flagger`, { method: 'POST', body: JSON.stringify({ name: 'orders', metadata: { window: '5m' } }) })
  const answer = await flagger.body.json() as Record<string, any>
  deepStrictEqual(Object.keys(answer).sort(), ['gate', 'pass', 'reason', 'verdict'])
  deepStrictEqual(steady(answer.gate), rawGate)
})

test('admin errors should be {error, code, message} with a code of the catalogue, and schemas should check queries and bodies', async (t) => {
  const primary = await createUpstream(t, (_req, res) => res.end('{}'))
  const put = async (proxyAdmin: string, body: string, headers: Record<string, string> = {}) => {
    const res = await request(`${proxyAdmin}/api/v1/mirror`, { method: 'PUT', body, headers: { 'content-type': 'application/json', ...headers } })
    return { status: res.statusCode, body: await res.body.json() as Record<string, unknown> }
  }
  const bare = await startProxy(t, { primary: { url: primary } })
  deepStrictEqual(await put(bare.admin, '{"percent":5}'), { status: 409, body: { error: 'Conflict', code: 'PARITYGATE_ERR_NO_CANDIDATE', message: 'no candidate is configured (candidate.url, --candidate)' } })

  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: primary } }, { adminToken: 'tok-9' })
  const auth = { authorization: 'Bearer tok-9' }
  const refused = await put(proxy.admin, '{"percent":5}')
  deepStrictEqual([refused.status, refused.body.error, refused.body.code], [401, 'Unauthorized', 'PARITYGATE_ERR_UNAUTHORIZED'])
  ok(String(refused.body.message).startsWith('changes need Authorization: Bearer'))
  const bad = (message: string) => ({ status: 400, body: { error: 'Bad Request', code: 'PARITYGATE_ERR_BAD_ADMIN_REQUEST', message } })
  deepStrictEqual(await put(proxy.admin, '{"percent":101}', auth), bad('percent: must be a number from 0 to 100'))
  deepStrictEqual(await put(proxy.admin, '{"percent":"5"}', auth), bad('percent: must be a number from 0 to 100'), 'no coercion of a string to a number')
  deepStrictEqual(await put(proxy.admin, '{"enabled":"no"}', auth), bad('enabled: must be true or false'))
  deepStrictEqual(await put(proxy.admin, '{"percent":5,"other":1}', auth), bad('other: is not a known key'), 'an unknown key is refused, not dropped')
  deepStrictEqual(await put(proxy.admin, '{}', auth), bad('give percent, enabled, or both'))
  deepStrictEqual(await put(proxy.admin, '[1]', auth), bad('body must be a JSON object such as {"percent": 10} or {"enabled": false}'))
  deepStrictEqual((await put(proxy.admin, '{"percent":5}', auth)).status, 200)
  // Labelled JSON or not, a body that is not JSON is PARITYGATE_ERR_BAD_JSON, and an empty one is no body.
  for (const type of ['application/json', 'text/plain', 'application/x-www-form-urlencoded']) {
    const notJson = await put(proxy.admin, '{percent', { ...auth, 'content-type': type })
    deepStrictEqual([notJson.status, notJson.body.error, notJson.body.code], [400, 'Bad Request', 'PARITYGATE_ERR_BAD_JSON'], type)
    const reset = await request(`${proxy.admin}/api/v1/reset`, { method: 'POST', headers: { ...auth, 'content-type': type } })
    strictEqual(reset.statusCode, 200, type)
    strictEqual((await reset.body.json() as { reset: boolean }).reset, true)
  }

  for (const limit of ['0', '1001', 'ten', '']) {
    deepStrictEqual(await get(`${proxy.admin}/api/v1/mismatches?limit=${limit}`, auth), bad('limit: must be an integer from 1 to 1000'), limit)
  }
  const missing = await get(`${proxy.admin}/api/v1/mismatches/no-such-id`, auth)
  deepStrictEqual(missing, { status: 404, body: { error: 'Not Found', code: 'PARITYGATE_ERR_NO_SAMPLE', message: 'no such sample (it may have been evicted)' } })
  const window = await get(`${proxy.admin}/api/v1/gate?window=soon`)
  deepStrictEqual([window.status, window.body.error, window.body.code], [400, 'Bad Request', 'PARITYGATE_ERR_BAD_WINDOW'])
  const route = await get(`${proxy.admin}/api/v1/routes?route=nope`)
  deepStrictEqual([route.status, route.body.code, route.body.routes], [404, 'PARITYGATE_ERR_UNKNOWN_ROUTE', []])
  const twice = await get(`${proxy.admin}/api/v1/gate?route=a&route=b`)
  deepStrictEqual([twice.status, twice.body.code], [400, 'PARITYGATE_ERR_BAD_ADMIN_REQUEST'])
  const forbidden = await proxy.app.admin.inject({ method: 'GET', url: '/api/v1/config', remoteAddress: '10.0.0.9' })
  strictEqual(forbidden.statusCode, 401, 'a token is set: the token decides, whatever the peer')
  const open = await startProxy(t, { primary: { url: primary }, candidate: { url: primary } })
  const far = await open.app.admin.inject({ method: 'GET', url: '/api/v1/config', remoteAddress: '10.0.0.9' })
  deepStrictEqual([far.statusCode, far.json().code], [403, 'PARITYGATE_ERR_FORBIDDEN'])
})
