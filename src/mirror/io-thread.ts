/*
 * The main thread's side of the mirror's I/O thread (io-worker.ts): starts it beside a pool of
 * comparison workers, runs candidate exchanges there, and relays comparison tasks to it so that
 * a large candidate body goes from that thread straight to a worker.
 */
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type MessagePort, type Worker } from 'node:worker_threads'
import { type AnalyzeTask } from '../compare/analyze.ts'
import { type HeldBody, type Relay, type WorkerPool } from '../compare/worker-pool.ts'
import { RestartDelay } from '../threads/restart.ts'
import { startWorker } from '../threads/start.ts'
import { type IoRequest, type IoSetup } from './io-worker.ts'
import { type CandidateErrorReason, type FetchDone, type FetchSpec } from './types.ts'

const EXT = extname(fileURLToPath(import.meta.url))
/** The thread's script beside this module: `.ts` under tsx in development, `.js` in dist/. */
const IO_WORKER_URL = new URL(`./io-worker${EXT}`, import.meta.url)

/** A candidate exchange the I/O thread runs, and the answer's body it holds until it is forwarded to a comparison worker, or dropped. */
export class RemoteBody implements HeldBody {
  readonly id: number
  readonly pool: WorkerPool
  readonly #thread: IoThread
  constructor (id: number, thread: IoThread, pool: WorkerPool) {
    this.id = id
    this.#thread = thread
    this.pool = pool
  }

  /** Cuts the exchange short (its `done` still comes) or drops the body received. */
  cancel (): void { this.#thread.post({ type: 'cancel', id: this.id }) }
  /** The pair will not be compared: free the body. */
  drop (): void { this.#thread.post({ type: 'drop', id: this.id }) }
  /** Sends the comparison task to the thread, which adds the body and posts it to worker `slot`. */
  forward (slot: number, taskId: number, task: AnalyzeTask, transfer: ArrayBuffer[]): void {
    this.#thread.post({ type: 'forward', id: this.id, slot, taskId, task, transfer }, transfer)
  }
}

/**
 * The mirror's I/O thread of one pool of comparison workers: started by the first exchange offered
 * to it, started again by the next one after it died (after a wait while it keeps dying before it
 * is ready: threads/restart.ts), closed with the pool.
 */
export class IoThread implements Relay {
  readonly #pool: WorkerPool
  readonly #url: URL
  #worker: Worker | null
  #ready: boolean
  #starting: boolean
  /** no start before this time (performance.now()): the last one died before it was ready */
  #notBefore: number
  #restart: RestartDelay
  #timer: NodeJS.Timeout | null
  #next: number
  #fetches: Map<number, (done: FetchDone) => void>
  /** threads started, the first included */
  started: number

  /**
   * @param pool the comparison workers it hands bodies to
   * @param url the thread's script @default io-worker beside this module
   */
  constructor (pool: WorkerPool, url: URL = IO_WORKER_URL) {
    this.#pool = pool
    this.#url = url
    this.#worker = null
    this.#ready = false
    this.#starting = false
    this.#notBefore = 0
    this.#restart = new RestartDelay()
    this.#timer = null
    this.#next = 0
    this.#fetches = new Map()
    this.started = 0
  }

  /** Whether the thread runs and takes exchanges. */
  get ready (): boolean { return this.#ready }

  /**
   * Starts a candidate exchange in the I/O thread; `onDone` is called exactly once, when the
   * exchange ends, cancelled or not. The body stays there, then goes to a comparison worker.
   * Null until the thread runs: the exchange then stays on the main thread.
   */
  fetch (spec: FetchSpec, onDone: (done: FetchDone) => void): RemoteBody | null {
    const io = this.#worker
    // It starts (or, after it died, starts again) from setImmediate: creating a Worker is not
    // work for a live request's turn.
    if (io === null || !this.#ready) {
      if (io === null && !this.#starting) {
        this.#starting = true
        const wait = this.#notBefore - performance.now()
        if (wait <= 0) {
          setImmediate(() => { this.#starting = false; this.#start() })
        } else {
          this.#timer = setTimeout(() => { this.#timer = null; this.#starting = false; this.#start() }, wait)
          this.#timer.unref()
        }
      }
      return null
    }
    const id = this.#next++
    this.#fetches.set(id, onDone)
    io.ref()
    io.postMessage({ type: 'fetch', id, spec })
    return new RemoteBody(id, this, this.#pool)
  }

  /** Posts to the thread (if it still runs). */
  post (msg: IoRequest, transfer: ArrayBuffer[] = []): void {
    this.#worker?.postMessage(msg, transfer)
  }

  /** Takes a port to comparison worker `slot` (Relay). */
  connect (slot: number, port: MessagePort): void {
    this.#worker?.postMessage({ type: 'port', slot, port } satisfies IoRequest, [port])
  }

  #start (): void {
    if (this.#worker !== null || this.#pool.closed) return
    this.started++
    let io: Worker
    try {
      io = startWorker(this.#url, { room: this.#pool.room } satisfies IoSetup)
    } catch (err) {
      // A thread the system refuses throws here (ERR_WORKER_INIT_FAILED): tried again by a later exchange, after the wait.
      this.#notBefore = performance.now() + this.#restart.died(false, `mirror I/O thread could not start: ${(err as Error).message}`)
      return
    }
    this.#worker = io
    this.#ready = false
    this.#pool.attach(this)
    io.on('message', (msg: FetchDone | { type: 'ready' }) => {
      if (msg.type === 'ready') {
        this.#ready = true
        this.#restart.ready()
        return
      }
      const onDone = this.#fetches.get(msg.id)
      if (onDone === undefined) return
      this.#fetches.delete(msg.id)
      if (this.#fetches.size === 0) io.unref()
      onDone(msg)
    })
    const fail = (why: string) => {
      if (this.#worker !== io) return
      this.#worker = null
      this.#notBefore = performance.now() + this.#restart.died(this.#ready, why)
      this.#ready = false
      this.#endFetches('other')
      this.#pool.detach(this, why)
    }
    io.on('error', (err) => fail(`mirror I/O thread failed: ${err.message}`))
    io.on('exit', (code) => fail(`mirror I/O thread exited with code ${code}`))
  }

  /** Stops the thread (with its pool); exchanges still in it end as `shutdown`. */
  async close (): Promise<void> {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    const io = this.#worker
    this.#worker = null
    this.#ready = false
    this.#endFetches('shutdown')
    await io?.terminate()
  }

  #endFetches (error: CandidateErrorReason): void {
    const fetches = [...this.#fetches]
    this.#fetches.clear()
    for (const [id, onDone] of fetches) onDone({ type: 'done', id, status: 0, headers: [], bytes: 0, error, durationMs: 0 })
  }
}

const threads = new WeakMap<WorkerPool, IoThread>()

/** The I/O thread of a pool of comparison workers (one per pool: a reload's new pool gets a new one). */
export function ioThreadOf (pool: WorkerPool): IoThread {
  let thread = threads.get(pool)
  if (thread === undefined) threads.set(pool, thread = new IoThread(pool))
  return thread
}
