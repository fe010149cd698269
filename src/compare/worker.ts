/* A comparison worker thread: compiles the rules it is given and analyzes exchanges posted to it. */
import { execFileSync } from 'node:child_process'
import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
import { parentPort, workerData } from 'node:worker_threads'
import { analyze, type AnalyzeTask } from './analyze.ts'
import { Redactor } from './redact.ts'
import { RuleSet } from './rule-set.ts'
import { type RuleConfig } from './rules.ts'

interface Setup { rules: { global: RuleConfig, routes: Record<string, RuleConfig> }, redact: { headers: string[], fields: string[] } }

const setup = workerData as Setup

// Lowest CPU priority for this thread only (on Linux, nice values are per thread): when a core is
// contended, the event loop that serves users runs first, and comparisons fall behind and are
// shed (compare.maxQueueBytes) instead of slowing the live path.
try { setPriority(19) } catch {}
// And the idle scheduling class where Linux and chrt(1) allow it: a nice-19 thread still runs out
// the rest of its time slice when the event loop wakes up (up to a few ms under EEVDF), a
// SCHED_IDLE one is preempted at once. Lowering one's own class needs no privilege.
try {
  const tid = readlinkSync('/proc/thread-self').split('/').pop() as string
  execFileSync('chrt', ['--idle', '--pid', '0', tid], { stdio: 'ignore', timeout: 2000 })
} catch {}
const rules = new RuleSet(setup.rules)
const redactor = new Redactor(setup.redact.headers, setup.redact.fields)

/** Body buffers at least this large go back to the main thread with the answer, to be reused for captures. */
const RETURN_FROM = 64 * 1024

parentPort?.on('message', (msg: { id: number, task: AnalyzeTask }) => {
  const result = analyze(msg.task, rules, redactor)
  // Nothing here reads the bodies any more (the trees hold strings): send their buffers back.
  const buffers: ArrayBuffer[] = []
  for (const side of [msg.task.primary, msg.task.candidate, msg.task.secondary]) {
    const b = side?.body.buffer
    if (b instanceof ArrayBuffer && b.byteLength >= RETURN_FROM && !buffers.includes(b)) buffers.push(b)
  }
  parentPort?.postMessage({ id: msg.id, result, buffers }, buffers)
})
