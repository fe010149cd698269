/* A comparison worker thread: compiles the rules it is given and analyzes exchanges posted to it. */
import { parentPort, workerData } from 'node:worker_threads'
import { analyze, type AnalyzeTask } from './analyze.ts'
import { Redactor } from './redact.ts'
import { RuleSet } from './rule-set.ts'
import { type RuleConfig } from './rules.ts'

interface Setup { rules: { global: RuleConfig, routes: Record<string, RuleConfig> }, redact: { headers: string[], fields: string[] } }

const setup = workerData as Setup
const rules = new RuleSet(setup.rules)
const redactor = new Redactor(setup.redact.headers, setup.redact.fields)

parentPort?.on('message', (msg: { id: number, task: AnalyzeTask }) => {
  parentPort?.postMessage({ id: msg.id, result: analyze(msg.task, rules, redactor) })
})
