/* A candidate that goes down is said above debug: once when the breaker opens, once when it closes, and in the gate's errors reason (issue 15.8). */
import { match, ok, strictEqual } from 'node:assert/strict'
import { once } from 'node:events'
import { createServer } from 'node:http'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { CircuitBreaker, type BreakerEvent } from '../../src/mirror/breaker.ts'
import { startProxy } from '../helpers/proxy.ts'
import { createRecordingUpstream, listenAgain } from '../helpers/upstream.ts'
import { eventually } from './helpers.ts'

test('the breaker should report each open and close with the outage start and the last failure', () => {
  const events: BreakerEvent[] = []
  const b = new CircuitBreaker(2, 100)
  b.onChange = (e) => events.push(e)
  b.failure(1000, 'connect ECONNREFUSED 10.0.0.5:8080')
  strictEqual(events.length, 0)
  b.failure(1001, 'connect ECONNREFUSED 10.0.0.5:8080')
  strictEqual(events.length, 1)
  strictEqual(events[0].state, 'open')
  strictEqual(events[0].previous, 'closed')
  strictEqual(events[0].since, 1001)
  strictEqual(events[0].reason, 'connect ECONNREFUSED 10.0.0.5:8080')
  ok(b.allow(1200)) // half-open probe
  b.failure(1201, 'connect ETIMEDOUT')
  strictEqual(events[1].previous, 'half_open')
  strictEqual(events[1].since, 1001, 'the outage began at the first open')
  strictEqual(b.outage?.reason, 'connect ETIMEDOUT')
  ok(b.allow(1400))
  b.success()
  strictEqual(events[2].state, 'closed')
  strictEqual(b.outage, null)
})

test('a candidate that is down should be logged at warn once (with the reason), named in the gate\'s errors reason, and logged again when it is back', async (t) => {
  const primary = await createRecordingUpstream(t, (_r, res) => res.end('{}'))
  // A port nobody listens on (for now).
  const probe = createServer()
  probe.listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const port = (probe.address() as { port: number }).port
  await new Promise((resolve) => probe.close(resolve))
  const proxy = await startProxy(t, {
    primary: { url: primary.url },
    candidate: { url: `http://127.0.0.1:${port}`, breaker: { failures: 2, cooldownMs: 30 } },
    mirror: { percent: 100 }
  })
  for (let i = 0; i < 30; i++) {
    await (await request(`${proxy.url}/items/${i}`)).body.dump()
    await sleep(5)
  }
  ok(await eventually(() => proxy.logs.some((l) => l.level === 'warn')))
  await sleep(100)
  const warns = proxy.logs.filter((l) => l.level === 'warn')
  strictEqual(warns.length, 1, 'failed probes while it stays down are not logged again within a minute: ' + JSON.stringify(warns))
  match(warns[0].msg as string, new RegExp(`^candidate unreachable: mirroring paused: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}$`))
  const gate = await (await request(`${proxy.admin}/api/v1/gate`)).body.json() as { checks: { errors: { reason: string } } }
  match(gate.checks.errors.reason, new RegExp(`^candidate unreachable: circuit open since \\d{4}-\\d\\d-\\d\\dT[^ ]+Z: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}: `))
  const mirror = await (await request(`${proxy.admin}/api/v1/mirror`)).body.json() as { mirror: { unreachable?: { reason: string } } }
  match(mirror.mirror.unreachable?.reason ?? '', /ECONNREFUSED/)

  // Back: the next probe succeeds, the breaker closes, and that is said once.
  const candidate = createServer((_req, res) => res.end('{}'))
  await listenAgain(candidate, port)
  t.after(() => new Promise((resolve) => candidate.close(resolve)))
  ok(await eventually(async () => {
    await (await request(`${proxy.url}/items/x`)).body.dump()
    return proxy.logs.some((l) => l.msg === 'candidate reachable again: mirroring resumes')
  }, 5000))
  const after = await (await request(`${proxy.admin}/api/v1/gate`)).body.json() as { checks: { errors: { reason: string } } }
  ok(!after.checks.errors.reason.includes('unreachable'), after.checks.errors.reason)
})
