/* Verdict-change notifications: sent on a change to fail and back to pass, retried with back-off, never duplicated. */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { test } from 'node:test'
import { notification, VerdictNotifier } from '../../src/admin/notify.ts'
import { createLogger } from '../../src/logger.ts'
import { type GateResult, type Verdict } from '../../src/gate/types.ts'
import { createRecordingUpstream } from '../helpers/upstream.ts'
import { startProxy } from '../helpers/proxy.ts'

function result (verdict: Verdict): GateResult {
  const check = { verdict, ratio: 0.02, budget: 0.001, compared: 5000, mismatched: 100, upper: 0.03, lower: 0.01, confidence: 0.95, noise: 0, errored: 0, skipped: 0, dropped: 0, needed: null, neededIfClean: 1000, neededToFail: 0, etaSeconds: null, reason: 'r' }
  return {
    verdict,
    pass: verdict === 'pass',
    window: '5m',
    route: null,
    checks: {
      mismatch: check,
      errors: { verdict: 'pass', ratio: 0, budget: 0.005, mirrored: 5000, errors: 0, transport: 0, serverErrors: 0, upper: 0.001, lower: 0, confidence: 0.95, needed: 0, neededIfClean: 0, neededToFail: null, etaSeconds: null, reason: 'r' },
      latency: { verdict: 'pass', primaryP95Ms: 40, candidateP95Ms: 41, ratio: 1.02, budget: 1.1, diffMs: 1, slackMs: 5, primaryP95LowerMs: 39, primaryP95UpperMs: 41, candidateP95LowerMs: 40, candidateP95UpperMs: 42, primarySamples: 5000, candidateSamples: 5000, minSamples: 100, needed: 0, etaSeconds: null, reason: 'r' }
    },
    generatedAt: new Date().toISOString()
  }
}

test('notifier should post on pass → fail and fail → pass only, with a Slack-readable text', async (t) => {
  let fails = 2
  const receiver = await createRecordingUpstream(t, (_r, res) => {
    if (fails-- > 0) { res.writeHead(503).end(); return }
    res.end('ok')
  })
  const verdicts: Verdict[] = ['inconclusive', 'pass', 'pass', 'fail', 'fail', 'inconclusive', 'pass', 'pass']
  let i = 0
  const waits: number[] = []
  const notifier = new VerdictNotifier({ webhooks: [receiver.url + '/hook'], intervalMs: 1000, retries: 3, timeoutMs: 1000, pageUrl: 'http://paritygate.example/' }, () => result(verdicts[i++]), createLogger('silent', []), { sleep: async (ms) => { waits.push(ms) } })
  for (let k = 0; k < verdicts.length; k++) await notifier.check()
  const delivered = receiver.received.filter((_, k) => k >= 2).map((r) => JSON.parse(r.body.toString()))
  strictEqual(notifier.sent, 2)
  strictEqual(delivered.length, 2)
  strictEqual(delivered[0].verdict, 'fail')
  strictEqual(delivered[0].previous, 'pass')
  strictEqual(delivered[1].verdict, 'pass')
  strictEqual(delivered[1].previous, 'inconclusive', 'fail → inconclusive → pass notifies on the pass')
  ok(String(delivered[0].text).includes('paritygate verdict pass → *fail*'))
  ok(String(delivered[0].text).includes('http://paritygate.example/'))
  strictEqual(receiver.received.length, 4, 'two retries after two 503s, then the two notifications')
  deepStrictEqual(waits, [250, 500], 'a doubling back-off between attempts')
})

test('notifier should give up after its retries and log one line, without throwing', async (t) => {
  const receiver = await createRecordingUpstream(t, (_r, res) => res.writeHead(500).end())
  const verdicts: Verdict[] = ['pass', 'fail']
  let i = 0
  const waits: number[] = []
  const notifier = new VerdictNotifier({ webhooks: [receiver.url], intervalMs: 1000, retries: 1, timeoutMs: 1000, pageUrl: null }, () => result(verdicts[i++]), createLogger('silent', []), { sleep: async (ms) => { waits.push(ms) } })
  await notifier.check()
  await notifier.check()
  strictEqual(notifier.failed, 1)
  strictEqual(receiver.received.length, 2)
  deepStrictEqual(waits, [250])
  ok(String(notification(result('fail'), 'pass', null).text).includes('mismatch 2.000 % of 5000 compared'))
})

test('app should start the notifier only when webhooks are configured', async (t) => {
  const upstream = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: upstream.url }, gate: { notify: { webhooks: [upstream.url], intervalMs: 1000 } } })
  await proxy.app.notifier.check()
  strictEqual(proxy.app.notifier.sent, 0, 'first evaluation sets the baseline')
})
