/* Reload notes compare against what runs, and say which run-time overrides stay in force (issue 15.9). */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { test } from 'node:test'
import { validateConfig } from '../../src/config/index.ts'
import { startProxy } from '../helpers/proxy.ts'
import { createRecordingUpstream } from '../helpers/upstream.ts'

test('a change of listen back to the running address should need no restart', async (t) => {
  const primary = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: primary.url } })
  const running = proxy.config.listen
  const moved = proxy.app.reload(validateConfig({ ...proxy.config, listen: '127.0.0.1:1234', admin: '127.0.0.1:1235' }))
  ok(moved.includes(`listen: changes need a restart (listening on ${running})`), moved.join('\n'))
  ok(moved.some((n) => n.startsWith('admin: changes need a restart')), moved.join('\n'))
  const back = proxy.app.reload(validateConfig({ ...proxy.config, listen: running }))
  ok(!back.some((n) => n.startsWith('listen:') || n.startsWith('admin:')), back.join('\n'))
  const proxyBack = proxy.app.reload(validateConfig({ ...proxy.config, proxy: { ...proxy.config.proxy, maxHeaderBytes: 32_768 } }))
  ok(proxyBack.some((n) => n.startsWith('proxy:')))
  deepStrictEqual(proxy.app.reload(validateConfig({ ...proxy.config })), [])
})

test('a run-time percent should stay in force over an unchanged file, and be said; a new percent in the file should replace it', async (t) => {
  const primary = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: primary.url }, candidate: { url: primary.url }, mirror: { percent: 0 } })
  const mirror = () => proxy.app.proxyState.mirror
  mirror()?.setRuntime({ percent: 10, enabled: false })
  const same = proxy.app.reload(validateConfig({ ...proxy.config, candidate: { ...proxy.config.candidate, timeoutMs: 1234 } }))
  ok(same.some((n) => n.startsWith('mirror.percent: the run-time 10 stays in force over the file\'s 0')), same.join('\n'))
  ok(same.some((n) => n.startsWith('mirror.enabled: the run-time false stays in force over the file\'s true')), same.join('\n'))
  strictEqual(mirror()?.state.percent, 10)
  strictEqual(mirror()?.state.enabled, false)
  const changed = proxy.app.reload(validateConfig({ ...proxy.config, mirror: { ...proxy.config.mirror, percent: 20 } }))
  ok(changed.includes('mirror.percent: the file\'s new 20 replaces the run-time 10'), changed.join('\n'))
  strictEqual(mirror()?.state.percent, 20)
  strictEqual(mirror()?.state.enabled, false, 'the switch was not changed in the file: the run-time one stays')
  ok(changed.some((n) => n.startsWith('mirror.enabled: the run-time false stays in force')), changed.join('\n'))
  deepStrictEqual(mirror()?.runtime, { enabled: false, percent: null })
})
