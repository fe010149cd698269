/*
 * Background threads that die before they are ready (a module that fails to load, a thread the
 * system refuses) are started again after a wait that doubles, not at once in a loop that would
 * take the event loop serving users with it.
 */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { pathToFileURL } from 'node:url'
import { type AnalyzeTask } from '../../src/compare/analyze.ts'
import { redactSettings } from '../../src/compare/redact.ts'
import { ruleConfigs } from '../../src/compare/rule-set.ts'
import { type WorkerPool as Pool, type WorkerSetup } from '../../src/compare/worker-pool.ts'
import { validateConfig } from '../../src/config/index.ts'
import { IoThread } from '../../src/mirror/io-thread.ts'
import { type FetchSpec } from '../../src/mirror/types.ts'
import { FIRST_RESTART_MS, MAX_RESTART_MS, RestartDelay } from '../../src/threads/restart.ts'
import { builtCli, TEST_DIST } from '../helpers/cli.ts'

// The pool from the tests' JavaScript build: under tsx a worker's start takes a few hundred ms of
// loading, which would hide a loop of restarts that in dist/ turns over every 30 ms.
builtCli()
const { WorkerPool } = await import(pathToFileURL(join(TEST_DIST, 'compare/worker-pool.js')).href) as { WorkerPool: typeof Pool }

const config = validateConfig({ primary: { url: 'http://127.0.0.1:1' }, candidate: { url: 'http://127.0.0.1:2' } })
const setup: WorkerSetup = { rules: ruleConfigs(config), redact: redactSettings(config.redact) }

function task (): AnalyzeTask {
  const side = { status: 200, headers: ['content-type', 'application/json'], body: Buffer.from('{"a":1}'), truncated: false, error: null, durationMs: 1 }
  return { route: 'r', primary: side, candidate: { ...side, body: Buffer.from('{"a":2}') }, secondary: null, render: false, maxBodyChars: 1000 }
}

test('RestartDelay should wait 100 ms after a failed start, double to 30 s, and restart at once after a ready thread dies', () => {
  const d = new RestartDelay()
  strictEqual(d.died(true, 'a task killed it'), 0)
  const waits = Array.from({ length: 12 }, () => d.died(false, 'no module'))
  deepStrictEqual(waits.slice(0, 4), [FIRST_RESTART_MS, 2 * FIRST_RESTART_MS, 4 * FIRST_RESTART_MS, 8 * FIRST_RESTART_MS])
  strictEqual(waits.at(-1), MAX_RESTART_MS)
  strictEqual(d.lastFailure, 'no module')
  d.ready()
  strictEqual(d.lastFailure, null)
  strictEqual(d.died(false, 'again'), FIRST_RESTART_MS)
})

test('a comparison worker that dies before it is ready should be started again after a growing wait, its tasks answered at once', async (t) => {
  // rules the worker cannot compile: it throws while it sets up, every time
  const pool = new WorkerPool(1, { ...setup, rules: [] as unknown as WorkerSetup['rules'] })
  t.after(() => pool.close())
  const first = await pool.run(task()) // starts the worker, which dies setting up
  strictEqual(first.result.reason, 'comparator_error')
  await sleep(1500)
  // without the wait: a new thread as soon as the last one died, dozens in 1.5 s
  ok(pool.started >= 2 && pool.started <= 5, `${pool.started} starts in 1.5 s`)
  const since = performance.now()
  const answer = await pool.run(task())
  strictEqual(answer.result.reason, 'comparator_error')
  ok(/no comparison worker runs|exited|failed/.test(answer.result.detail ?? ''), answer.result.detail ?? '')
  ok(performance.now() - since < 1000, 'answered without waiting for a worker')
})

test('a comparison worker should start with the first task, compare, and be started once', async (t) => {
  const pool = new WorkerPool(1, setup)
  t.after(() => pool.close())
  await sleep(200)
  strictEqual(pool.started, 0, 'no thread (about 10 MiB) until a body is large enough to need one')
  const answer = await pool.run(task())
  strictEqual(answer.result.outcome, 'mismatch')
  await sleep(300)
  strictEqual(pool.started, 1)
})

test('the mirror\'s I/O thread that dies before it is ready should be started again after a growing wait', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'paritygate-io-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const script = join(dir, 'broken-io-worker.mjs')
  writeFileSync(script, 'throw new Error("this thread cannot start")\n')
  const pool = new WorkerPool(1, setup)
  const thread = new IoThread(pool, pathToFileURL(script))
  t.after(async () => { await thread.close(); await pool.close() })
  // a large-answer route's exchanges keep coming: each may start the thread
  const until = performance.now() + 1500
  while (performance.now() < until) {
    strictEqual(thread.fetch({} as FetchSpec, () => {}), null, 'never ready: the exchange stays on the main thread')
    await sleep(5)
  }
  ok(thread.started >= 2 && thread.started <= 5, `${thread.started} starts in 1.5 s`)
})

test('a comparison worker the system refuses to create should not throw out of the pool: it is tried again after a growing wait', async (t) => {
  // what cannot cross to a thread makes `new Worker` throw at once, as a refused thread does (ERR_WORKER_INIT_FAILED)
  const pool = new WorkerPool(1, { ...setup, cannotCross: () => {} } as unknown as WorkerSetup)
  t.after(() => pool.close())
  const answer = await pool.run(task())
  strictEqual(answer.result.reason, 'comparator_error')
  ok(/could not start/.test(answer.result.detail ?? ''), answer.result.detail ?? '')
  await sleep(1200)
  ok(pool.started >= 3 && pool.started <= 5, `${pool.started} starts in 1.2 s`)
})

test('the mirror\'s I/O thread the system refuses to create should not throw out of its start: it is tried again after a growing wait', async (t) => {
  const pool = new WorkerPool(1, setup)
  // a script Node will not start a thread from (not file: or data:): `new Worker` throws at once
  const thread = new IoThread(pool, new URL('http://127.0.0.1:1/io-worker.mjs'))
  t.after(async () => { await thread.close(); await pool.close() })
  const until = performance.now() + 1200
  while (performance.now() < until) {
    strictEqual(thread.fetch({} as FetchSpec, () => {}), null)
    await sleep(5)
  }
  ok(thread.started >= 3 && thread.started <= 5, `${thread.started} starts in 1.2 s`)
})
