/* A comparison worker thread: compiles the rules it is given and analyzes exchanges posted to it. */
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
const rules = new RuleSet(setup.rules)
const redactor = new Redactor(setup.redact.headers, setup.redact.fields)

parentPort?.on('message', (msg: { id: number, task: AnalyzeTask }) => {
  parentPort?.postMessage({ id: msg.id, result: analyze(msg.task, rules, redactor) })
})
