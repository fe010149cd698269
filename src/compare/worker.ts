/* A comparison worker thread: compiles the rules it is given and analyzes exchanges posted to it. */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads'
import { analyze, type AnalyzeTask } from './analyze.ts'
import { yieldToLivePath } from './priority.ts'
import { Redactor } from './redact.ts'
import { RuleSet } from './rule-set.ts'
import { type RuleConfig } from './rules.ts'

interface Setup { rules: { global: RuleConfig, routes: Record<string, RuleConfig> }, redact: { headers: string[], fields: string[] } }

const setup = workerData as Setup

yieldToLivePath()
const rules = new RuleSet(setup.rules)
const redactor = new Redactor(setup.redact.headers, setup.redact.fields)

/** Body buffers at least this large go back to the main thread with the answer, to be reused for captures. */
const RETURN_FROM = 64 * 1024

/** Analyzes one task (from the main thread, or from the mirror's I/O thread with the candidate's body) and answers the main thread. */
function onTask (msg: { id: number, task: AnalyzeTask }): void {
  const result = analyze(msg.task, rules, redactor)
  // Nothing here reads the bodies any more (the trees hold strings): send their buffers back.
  const buffers: ArrayBuffer[] = []
  for (const side of [msg.task.primary, msg.task.candidate, msg.task.secondary]) {
    const b = side?.body.buffer
    if (b instanceof ArrayBuffer && b.byteLength >= RETURN_FROM && !buffers.includes(b)) buffers.push(b)
  }
  parentPort?.postMessage({ id: msg.id, result, buffers }, buffers)
}

parentPort?.on('message', (msg: { id: number, task: AnalyzeTask } | { ioPort: MessagePort }) => {
  if ('ioPort' in msg) msg.ioPort.on('message', onTask)
  else onTask(msg)
})
