/* A small pool of comparison worker threads, so that large bodies never block the event loop the live path runs on. */
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { type AnalyzeResult, type AnalyzeTask } from './analyze.ts'
import { type RuleConfig } from './rules.ts'

/** A worker's answer, with the large body buffers it hands back for reuse. */
export interface WorkerAnswer { result: AnalyzeResult, buffers: ArrayBuffer[] }

interface Pending { resolve: (r: WorkerAnswer) => void }

/** What every worker compiles at start: the rule configs and the redaction settings. */
export interface WorkerSetup { rules: { global: RuleConfig, routes: Record<string, RuleConfig> }, redact: { headers: string[], fields: string[] } }

/** The worker script beside this module: `.ts` under tsx in development, `.js` in dist/. */
const WORKER_URL = new URL(`./worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url)

class Slot {
  worker: Worker
  pending: Map<number, Pending>
  constructor (worker: Worker) {
    this.worker = worker
    this.pending = new Map()
  }
}

/**
 * Runs {@link analyze} in `size` worker threads, least busy first. A worker that dies fails its
 * tasks as `comparator_error` and is replaced. Capture buffers of their own are moved to the
 * worker and back (no copy on either side); other bodies are copied.
 */
export class WorkerPool {
  readonly size: number
  #setup: WorkerSetup
  #slots: Slot[]
  #next: number
  #closed: boolean

  constructor (size: number, setup: WorkerSetup) {
    this.size = size
    this.#setup = setup
    this.#slots = []
    this.#next = 0
    this.#closed = false
    for (let i = 0; i < size; i++) this.#slots.push(this.#spawn())
  }

  #spawn (): Slot {
    // Under tsx (tests, development) a worker does not inherit the TypeScript loader: register it first.
    const worker = WORKER_URL.pathname.endsWith('.ts')
      ? new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}) })`, { eval: true, workerData: this.#setup })
      : new Worker(WORKER_URL, { workerData: this.#setup })
    worker.unref()
    const slot = new Slot(worker)
    worker.on('message', (msg: { id: number, result: AnalyzeResult, buffers?: ArrayBuffer[] }) => {
      const p = slot.pending.get(msg.id)
      if (p === undefined) return
      slot.pending.delete(msg.id)
      p.resolve({ result: msg.result, buffers: msg.buffers ?? [] })
    })
    const fail = (why: string) => {
      for (const p of slot.pending.values()) p.resolve({ result: { outcome: 'error', reason: 'comparator_error', detail: why, diffs: [], truncated: false, primaryHash: null, candidateHash: null, noisePaths: null, sample: null }, buffers: [] })
      slot.pending.clear()
      const i = this.#slots.indexOf(slot)
      if (i !== -1 && !this.#closed) this.#slots[i] = this.#spawn()
    }
    worker.on('error', (err) => fail(`comparison worker failed: ${err.message}`))
    worker.on('exit', (code) => { if (code !== 0 || slot.pending.size > 0) fail(`comparison worker exited with code ${code}`) })
    return slot
  }

  /** Tasks waiting or running in all workers. */
  get busy (): number {
    let n = 0
    for (const s of this.#slots) n += s.pending.size
    return n
  }

  /**
   * Runs one task; `transfer` lists ArrayBuffers of the task that move to the worker (detached
   * here). The answer brings the task's large body buffers back, for reuse.
   */
  run (task: AnalyzeTask, transfer: ArrayBuffer[] = []): Promise<WorkerAnswer> {
    let slot = this.#slots[0]
    for (const s of this.#slots) if (s.pending.size < slot.pending.size) slot = s
    const id = this.#next++
    return new Promise((resolve) => {
      slot.pending.set(id, { resolve })
      slot.worker.ref()
      slot.worker.postMessage({ id, task }, transfer)
    }).finally(() => { if (slot.pending.size === 0) slot.worker.unref() }) as Promise<WorkerAnswer>
  }

  async close (): Promise<void> {
    this.#closed = true
    await Promise.all(this.#slots.map((s) => s.worker.terminate()))
  }
}
