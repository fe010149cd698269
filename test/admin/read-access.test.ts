/* Who may read samples, field values and the effective config: the token when one is set, loopback when none is; probes, metrics, the gate and the page stay open. */
import { ok, strictEqual } from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { access, GUARDED_READS } from '../../src/admin/admin.ts'
import { listening, spawnCli } from '../helpers/cli.ts'
import { startProxy } from '../helpers/proxy.ts'
import { createUpstream } from '../helpers/upstream.ts'

const TOKEN = 'tok-read-123'
const GUARDED = ['/api/v1/config', '/api/v1/mismatches', '/api/v1/mismatches/no-such-id', '/api/v1/fields']
const OPEN = ['/healthz/live', '/healthz/ready', '/metrics', '/api/v1/gate', '/api/v1/routes', '/api/v1/mirror', '/api/v1/noise', '/api/v1/history']

test('access should take the token whatever the peer when one is set, and loopback peers only when none is', () => {
  strictEqual(access(TOKEN, `Bearer ${TOKEN}`, '10.1.2.3'), 'allowed')
  strictEqual(access(TOKEN, `Bearer ${TOKEN}`, '127.0.0.1'), 'allowed')
  strictEqual(access(TOKEN, undefined, '127.0.0.1'), 'unauthorized', 'a set token is needed from loopback too')
  strictEqual(access(TOKEN, 'Bearer wrong', '10.1.2.3'), 'unauthorized')
  strictEqual(access(TOKEN, TOKEN, '10.1.2.3'), 'unauthorized', 'Bearer scheme required')
  strictEqual(access(null, undefined, '127.0.0.1'), 'allowed')
  strictEqual(access(null, undefined, '::1'), 'allowed')
  strictEqual(access(null, undefined, '::ffff:127.0.0.1'), 'allowed')
  strictEqual(access(null, `Bearer ${TOKEN}`, '10.1.2.3'), 'forbidden', 'no token set: a token given proves nothing')
  strictEqual(access(null, undefined, '::ffff:10.1.2.3'), 'forbidden')
  strictEqual(access(null, undefined, undefined), 'forbidden')
  ok(GUARDED_READS.has('/api/v1/mismatches/:id') && GUARDED_READS.has('/api/v1/fields') && !GUARDED_READS.has('/api/v1/gate'))
})

async function withSample (t: Parameters<typeof startProxy>[0], adminToken?: string) {
  let n = 0
  const primary = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"v":1}'))
  const candidate = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(`{"v":${2 + n++}}`))
  const proxy = await startProxy(t, { primary: { url: primary }, candidate: { url: candidate }, mirror: { percent: 100 } }, adminToken === undefined ? {} : { adminToken })
  await (await request(`${proxy.url}/x`)).body.text()
  const auth = adminToken === undefined ? {} : { authorization: `Bearer ${adminToken}` }
  let id = ''
  for (let i = 0; i < 300 && id === ''; i++) {
    const list = await (await request(`${proxy.admin}/api/v1/mismatches`, { headers: auth })).body.json() as { signatures: Array<{ samples: Array<{ id: string }> }> }
    id = list.signatures[0]?.samples[0]?.id ?? ''
    if (id === '') await sleep(10)
  }
  ok(id !== '', 'a sample was stored')
  return { proxy, id }
}

test('samples and the effective config should need the token over a real socket when one is set, from loopback too', async (t) => {
  const { proxy, id } = await withSample(t, TOKEN)
  for (const path of [...GUARDED, `/api/v1/mismatches/${id}`, '/api/v1/mismatches?limit=5']) {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: TOKEN }]) {
      const res = await request(`${proxy.admin}${path}`, { headers })
      const body = await res.body.text()
      strictEqual(res.statusCode, 401, `${path} with ${JSON.stringify(headers)}`)
      strictEqual(res.headers['www-authenticate'], 'Bearer')
      ok(!body.includes('"v":'), body)
    }
    const head = await request(`${proxy.admin}${path}`, { method: 'HEAD' })
    await head.body.dump()
    strictEqual(head.statusCode, 401, `HEAD ${path}`)
  }
  const auth = { authorization: `Bearer ${TOKEN}` }
  strictEqual((await request(`${proxy.admin}/api/v1/config`, { headers: auth })).statusCode, 200)
  strictEqual((await request(`${proxy.admin}/api/v1/mismatches`, { headers: auth })).statusCode, 200)
  const sample = await request(`${proxy.admin}/api/v1/mismatches/${id}`, { headers: auth })
  strictEqual(sample.statusCode, 200)
  ok((await sample.body.text()).includes('"v":1'), 'the sample itself')
  const fields = await request(`${proxy.admin}/api/v1/fields`, { headers: auth })
  strictEqual(fields.statusCode, 200)
  ok((await fields.body.text()).includes('"json":1'), 'fields show example values to the token holder')
  strictEqual((await request(`${proxy.admin}/api/v1/mismatches/no-such-id`, { headers: auth })).statusCode, 404)
  for (const path of OPEN) {
    const res = await request(`${proxy.admin}${path}`)
    await res.body.dump()
    strictEqual(res.statusCode, 200, path)
  }
  const flagger = await request(`${proxy.admin}/api/v1/gate/flagger`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  ok('verdict' in (await flagger.body.json() as object), 'the flagger webhook answers its verdict without a token')
})

test('samples and the effective config should be refused to a peer that is not loopback when no token is set', async (t) => {
  const { proxy, id } = await withSample(t)
  // fastify's inject sets the peer address in-process: no traffic leaves loopback.
  for (const url of [...GUARDED, `/api/v1/mismatches/${id}`]) {
    const res = await proxy.app.admin.inject({ method: 'GET', url, remoteAddress: '10.1.2.3' })
    strictEqual(res.statusCode, 403, url)
    ok(!res.body.includes('"v":'), res.body)
    strictEqual((await proxy.app.admin.inject({ method: 'GET', url, remoteAddress: '::ffff:10.1.2.3', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 403)
  }
  strictEqual((await proxy.app.admin.inject({ method: 'GET', url: `/api/v1/mismatches/${id}`, remoteAddress: '127.0.0.1' })).statusCode, 200)
  strictEqual((await proxy.app.admin.inject({ method: 'GET', url: '/api/v1/config', remoteAddress: '::1' })).statusCode, 200)
  for (const url of OPEN) strictEqual((await proxy.app.admin.inject({ method: 'GET', url, remoteAddress: '10.1.2.3' })).statusCode, 200, url)
})

test('a token should let a peer that is not loopback read samples', async (t) => {
  const { proxy, id } = await withSample(t, TOKEN)
  const res = await proxy.app.admin.inject({ method: 'GET', url: `/api/v1/mismatches/${id}`, remoteAddress: '10.1.2.3', headers: { authorization: `Bearer ${TOKEN}` } })
  strictEqual(res.statusCode, 200)
})

test('GET /api/v1/config should hide credentials, path tokens and query values of every URL', async (t) => {
  const primary = await createUpstream(t, (_req, res) => res.end('{}'))
  const proxy = await startProxy(t, {
    primary: { url: primary },
    noise: { secondary: primary },
    gate: { notify: { webhooks: ['https://hooks.slack.com/services/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', 'https://alerts.example.com/hook?apikey=qv-secret-1'], pageUrl: 'https://pg-user:pg-pass@pager.example.com/incidents#qv-frag', intervalMs: 60_000 } }
  })
  const text = await (await request(`${proxy.admin}/api/v1/config`)).body.text()
  for (const secret of ['T0A1B2C3D', 'B0E1F2G3H', 'sEcReT', 'qv-secret-1', 'pg-user', 'pg-pass', 'qv-frag']) ok(!text.includes(secret), `${secret} in ${text}`)
  const { config } = JSON.parse(text) as { config: { primary: { url: string }, noise: { secondary: string }, gate: { notify: { webhooks: string[], pageUrl: string } } } }
  strictEqual(config.gate.notify.webhooks[0], 'https://hooks.slack.com/services/[redacted]/[redacted]/[redacted]')
  strictEqual(config.gate.notify.webhooks[1], 'https://alerts.example.com/hook?apikey=[redacted]')
  strictEqual(config.gate.notify.pageUrl, 'https://[redacted]@pager.example.com/incidents#[redacted]')
  strictEqual(config.primary.url, primary, 'an origin has nothing to hide')
  strictEqual(config.noise.secondary, primary)
})

test('the admin port of a --workers group should guard samples and config the same way', async (t) => {
  const primary = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"v":1}'))
  const candidate = await createUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"v":2}'))
  const config = join(mkdtempSync(join(tmpdir(), 'paritygate-read-access-')), 'config.json')
  writeFileSync(config, JSON.stringify({ mirror: { maxEventLoopLagMs: 60_000 }, gate: { notify: { webhooks: ['https://hooks.slack.com/services/T0/B0/wk-secret-9'], intervalMs: 60_000 } } }))
  const child = spawnCli(['serve', '--config', config, '--primary', primary, '--candidate', candidate, '--mirror-percent', '100', '--workers', '2', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'], { PARITYGATE_ADMIN_TOKEN: TOKEN })
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const { proxy, admin } = await listening(child)
  await (await request(`${proxy}/x`)).body.text()
  const auth = { authorization: `Bearer ${TOKEN}` }
  let id = ''
  for (let i = 0; i < 300 && id === ''; i++) {
    const list = await (await request(`${admin}/api/v1/mismatches`, { headers: auth })).body.json() as { signatures: Array<{ samples: Array<{ id: string }> }> }
    id = list.signatures[0]?.samples[0]?.id ?? ''
    if (id === '') await sleep(20)
  }
  ok(id !== '', 'the group stored a sample')
  for (const path of ['/api/v1/config', '/api/v1/fields', '/api/v1/mismatches', `/api/v1/mismatches/${id}`]) {
    const res = await request(`${admin}${path}`)
    await res.body.dump()
    strictEqual(res.statusCode, 401, path)
  }
  strictEqual((await request(`${admin}/api/v1/mismatches/${id}`, { headers: auth })).statusCode, 200)
  const shown = await (await request(`${admin}/api/v1/config`, { headers: auth })).body.text()
  ok(!shown.includes('wk-secret-9') && shown.includes('https://hooks.slack.com/services/[redacted]/[redacted]/[redacted]'), shown)
  for (const path of ['/metrics', '/api/v1/gate', '/healthz/ready']) strictEqual((await request(`${admin}${path}`)).statusCode, 200, path)
  child.kill('SIGTERM')
})
