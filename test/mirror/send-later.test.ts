/* The candidate's request leaves after the turn's live I/O (MirrorController.sendLater): what happens to a job in between. */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { type TestContext, test } from 'node:test'
import { setImmediate as turn } from 'node:timers/promises'
import { request } from 'undici'
import { validateConfig } from '../../src/config/index.ts'
import { MirrorController } from '../../src/mirror/controller.ts'
import { createRecordingUpstream, createUpstream } from '../helpers/upstream.ts'
import { countingObserver, eventually, jsonPrimary } from './helpers.ts'

/** A controller mirroring everything to a recording candidate, and a server whose requests it begins (queued, not sent). */
async function setUp (t: TestContext): Promise<{ controller: MirrorController, seen: ReturnType<typeof countingObserver>, candidate: Awaited<ReturnType<typeof createRecordingUpstream>>, hit: () => Promise<void>, during: (fn: (c: MirrorController) => void) => void }> {
  const primary = await jsonPrimary(t)
  const candidate = await createRecordingUpstream(t)
  const config = validateConfig({ primary: { url: primary.url }, candidate: { url: candidate.url }, mirror: { percent: 100 }, noise: { percent: 0 } })
  const seen = countingObserver()
  const controller = new MirrorController(config, seen)
  t.after(() => controller.close(true))
  let after: (c: MirrorController) => void = () => {}
  const server = await createUpstream(t, (req, res) => {
    const started = controller.begin(req, { name: 'r', mirrorPercent: null, mirrorMethods: null }, ['x-test', '1'], 'id-1', false)
    ok(started !== null, 'mirrored')
    controller.sendLater(started.job)
    after(controller) // still in the turn that began it
    res.end()
  })
  return { controller, seen, candidate, hit: async () => { await (await request(`${server}/r`)).body.dump() }, during: (fn) => { after = fn } }
}

test('a mirror cancelled in the turn that began it is never sent, and is counted once', async (t) => {
  const { controller, seen, candidate, hit, during } = await setUp(t)
  during((c) => {
    strictEqual(candidate.received.length, 0, 'not sent in the turn that began it')
    c.shutdown()
  })
  await hit()
  await turn()
  await turn()
  deepStrictEqual(seen.candidates, ['shutdown'])
  strictEqual(controller.state.inflight, 0)
  await new Promise((resolve) => setTimeout(resolve, 50))
  strictEqual(candidate.received.length, 0, 'the candidate never heard of it')
  strictEqual(seen.pairs, 0)
})

test('close() sends the mirrors begun in its turn before closing the pool, and they complete', async (t) => {
  const { seen, candidate, hit, during } = await setUp(t)
  let closed: Promise<void> | null = null
  during((c) => { closed = c.close() })
  await hit()
  ok(closed !== null)
  await closed
  strictEqual(candidate.received.length, 1, 'sent, not dropped by the closing pool')
  strictEqual(candidate.received[0].headers['x-test'], '1')
  ok(await eventually(() => seen.candidates.length === 1), 'the exchange ended')
  deepStrictEqual(seen.candidates, [null], 'a success, not a pool-closed error')
})
