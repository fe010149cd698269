/* A small pool of comparison worker threads, so that large bodies never block the event loop the live path runs on. */
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MessageChannel, Worker } from 'node:worker_threads'
import { type AnalyzeResult, type AnalyzeTask } from './analyze.ts'
import { type CandidateErrorReason, type FetchDone, type FetchSpec } from '../mirror/types.ts'
import { type IoRequest, type IoSetup } from './io-worker.ts'
import { type RedactSettings } from './redact.ts'
import { type RuleConfig } from './rules.ts'

/** A worker's answer, with the large body buffers it hands back for reuse. */
export interface WorkerAnswer { result: AnalyzeResult, buffers: ArrayBuffer[] }

interface Pending {
  resolve: (r: WorkerAnswer) => void
  /** the task goes through the I/O thread, which adds the candidate's body */
  viaIo: boolean
}

/** What every worker compiles at start: the rule configs and the redaction settings. */
export interface WorkerSetup { rules: { global: RuleConfig, routes: Record<string, RuleConfig> }, redact: RedactSettings }

const EXT = extname(fileURLToPath(import.meta.url))
/** The worker scripts beside this module: `.ts` under tsx in development, `.js` in dist/. */
const WORKER_URL = new URL(`./worker${EXT}`, import.meta.url)
const IO_WORKER_URL = new URL(`./io-worker${EXT}`, import.meta.url)

function startWorker (url: URL, workerData: unknown): Worker {
  // Under tsx (tests, development) a worker does not inherit the TypeScript loader: register it first.
  const worker = url.pathname.endsWith('.ts')
    ? new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}) })`, { eval: true, workerData })
    : new Worker(url, { workerData })
  worker.unref()
  return worker
}

function failed (detail: string): WorkerAnswer {
  return { result: { outcome: 'error', reason: 'comparator_error', detail, diffs: [], truncated: false, primaryHash: null, candidateHash: null, noisePaths: null, sample: null }, buffers: [] }
}

/** The largest room the shared gauge holds (2 TiB): more than any queue is configured to take. */
const MAX_ROOM_KIB = 0x7fffffff

class Slot {
  worker: Worker
  index: number
  pending: Map<number, Pending>
  constructor (worker: Worker, index: number) {
    this.worker = worker
    this.index = index
    this.pending = new Map()
  }
}

/** A candidate's answer the I/O thread received and holds until it is forwarded to a comparison worker, or dropped. */
export class RemoteBody {
  readonly id: number
  readonly pool: WorkerPool
  constructor (id: number, pool: WorkerPool) {
    this.id = id
    this.pool = pool
  }

  /** Cuts the exchange short (its `done` still comes) or drops the body received. */
  cancel (): void { this.pool.io({ type: 'cancel', id: this.id }) }
  /** The pair will not be compared: free the body. */
  drop (): void { this.pool.io({ type: 'drop', id: this.id }) }
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
  /** the mirror's I/O thread, started by the first exchange offered to it (fetch) */
  #io: Worker | null
  #ioReady: boolean
  #ioStarting: boolean
  #fetches: Map<number, (done: FetchDone) => void>
  /** what the comparison queue can still take, in KiB: shared with the I/O thread, which reads it at each answer's headers */
  #room: Int32Array

  constructor (size: number, setup: WorkerSetup) {
    this.size = size
    this.#setup = setup
    this.#slots = []
    this.#next = 0
    this.#closed = false
    this.#io = null
    this.#ioReady = false
    this.#ioStarting = false
    this.#fetches = new Map()
    this.#room = new Int32Array(new SharedArrayBuffer(4))
    for (let i = 0; i < size; i++) this.#slots.push(this.#spawn(i))
  }

  #spawn (index: number): Slot {
    const worker = startWorker(WORKER_URL, this.#setup)
    const slot = new Slot(worker, index)
    if (this.#io !== null) this.#connect(slot, this.#io)
    worker.on('message', (msg: { id: number, result: AnalyzeResult, buffers?: ArrayBuffer[] }) => {
      const p = slot.pending.get(msg.id)
      if (p === undefined) return
      slot.pending.delete(msg.id)
      p.resolve({ result: msg.result, buffers: msg.buffers ?? [] })
    })
    const fail = (why: string) => {
      for (const p of slot.pending.values()) p.resolve(failed(why))
      slot.pending.clear()
      const i = this.#slots.indexOf(slot)
      if (i !== -1 && !this.#closed) this.#slots[i] = this.#spawn(i)
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
    return this.#dispatch(task, transfer, null)
  }

  /**
   * Runs one task whose candidate body the I/O thread holds (`remote`): the task goes there, gets
   * the body, and goes on to a comparison worker; the candidate's bytes never come to this thread.
   */
  runRemote (remote: RemoteBody, task: AnalyzeTask, transfer: ArrayBuffer[] = []): Promise<WorkerAnswer> {
    return this.#dispatch(task, transfer, remote)
  }

  #dispatch (task: AnalyzeTask, transfer: ArrayBuffer[], remote: RemoteBody | null): Promise<WorkerAnswer> {
    let slot = this.#slots[0]
    for (const s of this.#slots) if (s.pending.size < slot.pending.size) slot = s
    const id = this.#next++
    return new Promise((resolve) => {
      if (remote !== null && (remote.pool !== this || this.#io === null)) {
        resolve(failed('the candidate body was lost (comparison workers restarted)'))
        return
      }
      slot.pending.set(id, { resolve, viaIo: remote !== null })
      slot.worker.ref()
      if (remote === null) slot.worker.postMessage({ id, task }, transfer)
      else this.io({ type: 'forward', id: remote.id, slot: slot.index, taskId: id, task, transfer }, transfer)
    }).finally(() => { if (slot.pending.size === 0) slot.worker.unref() }) as Promise<WorkerAnswer>
  }

  /**
   * Starts a candidate exchange in the I/O thread; `onDone` is called exactly once, when the
   * exchange ends, cancelled or not. The body stays there, then goes to a comparison worker.
   */
  fetch (spec: FetchSpec, onDone: (done: FetchDone) => void): RemoteBody | null {
    const io = this.#io
    // Until the thread runs, exchanges stay on the main thread. It starts (or, after it died,
    // starts again) from setImmediate: creating a Worker is not work for a live request's turn.
    if (io === null || !this.#ioReady) {
      if (io === null && !this.#ioStarting) {
        this.#ioStarting = true
        setImmediate(() => { this.#ioStarting = false; this.#startIo() })
      }
      return null
    }
    const id = this.#next++
    this.#fetches.set(id, onDone)
    io.ref()
    io.postMessage({ type: 'fetch', id, spec })
    return new RemoteBody(id, this)
  }

  /** Publishes the comparison queue's room (bytes) to the I/O thread: no message, one store. */
  setRoom (bytes: number): void {
    Atomics.store(this.#room, 0, Math.min(MAX_ROOM_KIB, Math.max(0, Math.floor(bytes / 1024))))
  }

  /** Posts to the I/O thread (if it still runs). */
  io (msg: IoRequest, transfer: ArrayBuffer[] = []): void {
    this.#io?.postMessage(msg, transfer)
  }

  #connect (slot: Slot, io: Worker): void {
    const { port1, port2 } = new MessageChannel()
    slot.worker.postMessage({ ioPort: port1 }, [port1])
    io.postMessage({ type: 'port', slot: slot.index, port: port2 }, [port2])
  }

  /** Whether the I/O thread runs and takes exchanges. */
  get ioReady (): boolean { return this.#ioReady }

  /** Starts the I/O thread; it takes exchanges once it runs. */
  #startIo (): void {
    if (this.#io !== null || this.#closed) return
    const io = startWorker(IO_WORKER_URL, { room: this.#room } satisfies IoSetup)
    this.#io = io
    this.#ioReady = false
    for (const slot of this.#slots) this.#connect(slot, io)
    io.on('message', (msg: FetchDone | { type: 'ready' }) => {
      if (msg.type === 'ready') {
        this.#ioReady = true
        return
      }
      const onDone = this.#fetches.get(msg.id)
      if (onDone === undefined) return
      this.#fetches.delete(msg.id)
      if (this.#fetches.size === 0) io.unref()
      onDone(msg)
    })
    const fail = (why: string) => {
      if (this.#io !== io) return
      this.#io = null
      this.#ioReady = false
      this.#endFetches('other')
      for (const slot of this.#slots) {
        for (const [id, p] of slot.pending) {
          if (!p.viaIo) continue
          slot.pending.delete(id)
          p.resolve(failed(why))
        }
      }
    }
    io.on('error', (err) => fail(`mirror I/O thread failed: ${err.message}`))
    io.on('exit', (code) => fail(`mirror I/O thread exited with code ${code}`))
  }

  /** Stops the workers; exchanges still in the I/O thread end as `shutdown`. */
  async close (): Promise<void> {
    this.#closed = true
    const io = this.#io
    this.#io = null
    this.#ioReady = false
    this.#endFetches('shutdown')
    await Promise.all([...this.#slots.map((s) => s.worker.terminate()), io?.terminate()])
  }

  #endFetches (error: CandidateErrorReason): void {
    const fetches = [...this.#fetches]
    this.#fetches.clear()
    for (const [id, onDone] of fetches) onDone({ type: 'done', id, status: 0, headers: [], bytes: 0, error, durationMs: 0 })
  }
}
