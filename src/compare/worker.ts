/* A comparison worker thread: compiles the rules it is given and analyzes exchanges posted to it. */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads'
import { analyze, type AnalyzeTask } from './analyze.ts'
import { yieldToLivePath } from '../threads/priority.ts'
import { Redactor, type RedactSettings } from './redact.ts'
import { RuleSet } from './rule-set.ts'
import { type RuleConfig } from './rules.ts'

interface Setup { rules: { global: RuleConfig, routes: Record<string, RuleConfig> }, redact: RedactSettings }

const setup = workerData as Setup

yieldToLivePath()
const rules = new RuleSet(setup.rules)
const redactor = Redactor.from(setup.redact)

/** Body buffers at least this large go back to the main thread with the answer, to be reused for captures. */
const RETURN_FROM = 64 * 1024

/** A body buffer of its own, large enough to be worth reusing. */
function reusable (body: Uint8Array | undefined): ArrayBuffer | null {
  const b = body?.buffer
  return b instanceof ArrayBuffer && b.byteLength >= RETURN_FROM ? b : null
}

/**
 * Analyzes one task (from the main thread, or from the mirror's I/O thread with the candidate's
 * body) and answers the main thread. Nothing here reads the bodies afterwards (the trees hold
 * strings): their buffers go back where they came from, the candidate's to the I/O thread when it
 * received it, so that the main thread never takes in buffers it did not send.
 */
function onTask (msg: { id: number, task: AnalyzeTask }, io: MessagePort | null): void {
  const result = analyze(msg.task, rules, redactor)
  const candidate = io === null ? null : reusable(msg.task.candidate.body)
  if (candidate !== null) io?.postMessage(candidate, [candidate])
  const buffers: ArrayBuffer[] = []
  for (const side of [msg.task.primary, msg.task.candidate, msg.task.secondary]) {
    const b = reusable(side?.body)
    if (b !== null && b !== candidate && !buffers.includes(b)) buffers.push(b)
  }
  parentPort?.postMessage({ id: msg.id, result, buffers }, buffers)
}

parentPort?.on('message', (msg: { id: number, task: AnalyzeTask } | { ioPort: MessagePort }) => {
  if ('ioPort' in msg) {
    const io = msg.ioPort
    io.on('message', (task: { id: number, task: AnalyzeTask }) => onTask(task, io))
  } else {
    onTask(msg, null)
  }
})
// Set up (its rules compiled): a death from now on is its work's, not its start's (threads/restart.ts).
parentPort?.postMessage({ type: 'ready' })
