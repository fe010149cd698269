/* Issue 11.3: a primary that answers before reading the request body must not hang the client; the candidate is not charged for it. */
import { ok, strictEqual } from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { startProxy } from '../helpers/proxy.ts'
import { createUpstream } from '../helpers/upstream.ts'
import { eventually, metricOrZero } from '../mirror/helpers.ts'

const run = promisify(execFile)

test('proxy should finish the exchange at once when the primary answers before reading a 5 MB upload', async (t) => {
  const file = join(tmpdir(), `paritygate-early-${process.pid}.bin`)
  writeFileSync(file, Buffer.alloc(5 * 1024 * 1024, 97))
  // The primary answers at once and never reads the body (Node then drops it), as an auth check would.
  const primary = await createUpstream(t, (_req, res) => { res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}') })
  let candidateBytes = 0
  const candidate = await createUpstream(t, (req, res) => {
    req.on('data', (c: Buffer) => { candidateBytes += c.length })
    req.on('end', () => res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}'))
  })
  const proxy = await startProxy(t, {
    primary: { url: primary },
    candidate: { url: candidate, timeoutMs: 1000 },
    mirror: { percent: 100, methods: ['POST'], maxBodyBytes: 8 * 1024 * 1024 },
    proxy: { keepAliveTimeoutMs: 30_000 }
  })
  for (const expect of ['', '100-continue']) {
    const started = Date.now()
    const { stdout } = await run('curl', ['-sS', '-o', '-', '-w', '\n%{http_code}', '-H', `Expect: ${expect}`, '--data-binary', `@${file}`, `${proxy.url}/upload`])
    const elapsed = Date.now() - started
    const [body, status] = stdout.split('\n')
    strictEqual(status, '401')
    strictEqual(body, '{"error":"unauthorized"}')
    ok(elapsed < 5000, `curl finished after ${elapsed} ms (Expect: ${expect || 'none'})`)
  }
  ok(await eventually(() => proxy.app.proxyState.inflight === 0, 3000))
  ok(await eventually(() => (proxy.app.proxyState.mirror?.state.inflight ?? 0) === 0, 3000))
  // The candidate's copy of the body could never be whole: called off, never a candidate timeout or error of the gate.
  strictEqual(await metricOrZero(proxy, 'paritygate_candidate_errors_total{reason="timeout"}'), 0)
  const gate = proxy.app.gate.evaluate()
  strictEqual(gate.checks.errors.errors, 0)
  ok(candidateBytes <= 5 * 1024 * 1024 * 2)
})
