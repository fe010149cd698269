/* A small pool of comparison worker threads, so that large bodies never block the event loop the live path runs on. */
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads'
import { RestartDelay } from '../threads/restart.ts'
import { startWorker } from '../threads/start.ts'
import { type AnalyzeResult, type AnalyzeTask } from './analyze.ts'
import { type RedactSettings } from './redact.ts'
import { type RuleConfig } from './rules.ts'

/** A worker's answer, with the large body buffers it hands back for reuse. */
export interface WorkerAnswer { result: AnalyzeResult, buffers: ArrayBuffer[] }

interface Pending {
  resolve: (r: WorkerAnswer) => void
  /** the task goes through the relay, which adds the candidate's body */
  viaRelay: boolean
}

/** What every worker compiles at start: the rule configs and the redaction settings. */
export interface WorkerSetup { rules: { global: RuleConfig, routes: Record<string, RuleConfig> }, redact: RedactSettings }

const EXT = extname(fileURLToPath(import.meta.url))
/** The worker script beside this module: `.ts` under tsx in development, `.js` in dist/. */
const WORKER_URL = new URL(`./worker${EXT}`, import.meta.url)

function failed (detail: string): WorkerAnswer {
  return { result: { outcome: 'error', reason: 'comparator_error', detail, diffs: [], truncated: false, primaryHash: null, candidateHash: null, noisePaths: null, sample: null }, buffers: [] }
}

/** The largest room the shared gauge holds (2 TiB): more than any queue is configured to take. */
const MAX_ROOM_KIB = 0x7fffffff

class Slot {
  /** null when the thread could not be created (the slot is then down) */
  worker: Worker | null
  index: number
  pending: Map<number, Pending>
  /** the worker said it was set up */
  ready: boolean
  /** the worker died before it was ready and waits to be started again: no task goes to it */
  down: boolean
  constructor (worker: Worker | null, index: number) {
    this.worker = worker
    this.index = index
    this.pending = new Map()
    this.ready = false
    this.down = false
  }
}

/**
 * A candidate's body another thread holds for a pair (the mirror's I/O thread, mirror/io-thread.ts):
 * the comparison task goes there, gets the body, and goes on to a worker over a port of its own,
 * so that the body's bytes never come to the main thread.
 */
export interface HeldBody {
  /** the pool whose workers the holding thread is connected to */
  readonly pool: WorkerPool
  /** sends the task to the holding thread, which adds the body and posts it to worker `slot` as task `taskId` */
  forward: (slot: number, taskId: number, task: AnalyzeTask, transfer: ArrayBuffer[]) => void
  /** the pair will not be compared: frees the body */
  drop: () => void
}

/** A thread that holds bodies and relays tasks to this pool's workers (the mirror's I/O thread). */
export interface Relay {
  /** whether it runs and takes exchanges */
  readonly ready: boolean
  /** a port to worker `slot`, to post tasks on (again after the worker was replaced) */
  connect: (slot: number, port: MessagePort) => void
  /** the pool closes: end what the relay runs */
  close: () => Promise<void>
}

/**
 * Runs {@link analyze} in `size` worker threads, least busy first, started with the first task (or
 * the mirror's I/O thread attaching). A worker that dies fails its
 * tasks as `comparator_error` and is replaced: at once when it had been set up, after a wait that
 * doubles (100 ms to 30 s) while workers keep dying before that, tasks meanwhile answered at once
 * as `comparator_error` (threads/restart.ts). Capture buffers of their own are moved to the
 * worker and back (no copy on either side); other bodies are copied.
 */
export class WorkerPool {
  readonly size: number
  #setup: WorkerSetup
  #slots: Slot[]
  #next: number
  #closed: boolean
  /** the mirror's I/O thread once it runs (it attaches itself) */
  #relay: Relay | null
  /** what the comparison queue can still take, in KiB: shared with the I/O thread, which reads it at each answer's headers */
  readonly room: Int32Array
  /** workers started since the pool was made, the first ones included (0 until the first task) */
  started: number
  #restart: RestartDelay
  #timers: Set<NodeJS.Timeout>

  constructor (size: number, setup: WorkerSetup) {
    this.size = size
    this.#setup = setup
    this.#slots = []
    this.#next = 0
    this.#closed = false
    this.#relay = null
    this.room = new Int32Array(new SharedArrayBuffer(4))
    this.started = 0
    this.#restart = new RestartDelay()
    this.#timers = new Set()
  }

  /**
   * Starts the workers with the first task or relay: a service whose answers all stay under
   * compare.workerMinBytes never has them (an idle worker holds about 10 MiB).
   */
  #start (): void {
    if (this.#slots.length > 0 || this.#closed) return
    for (let i = 0; i < this.size; i++) this.#slots.push(this.#spawn(i))
  }

  #spawn (index: number): Slot {
    this.started++
    let worker: Worker
    try {
      worker = startWorker(WORKER_URL, this.#setup)
    } catch (err) {
      // A thread the system refuses throws here (ERR_WORKER_INIT_FAILED): a slot without a worker, tried again later.
      const slot = new Slot(null, index)
      this.#retry(slot, index, `comparison worker could not start: ${(err as Error).message}`)
      return slot
    }
    const slot = new Slot(worker, index)
    if (this.#relay !== null) this.#connect(slot, this.#relay)
    worker.on('message', (msg: { id: number, result: AnalyzeResult, buffers?: ArrayBuffer[] } | { type: 'ready' }) => {
      if ('type' in msg) {
        slot.ready = true
        this.#restart.ready()
        return
      }
      const p = slot.pending.get(msg.id)
      if (p === undefined) return
      slot.pending.delete(msg.id)
      p.resolve({ result: msg.result, buffers: msg.buffers ?? [] })
    })
    const fail = (why: string) => {
      for (const p of slot.pending.values()) p.resolve(failed(why))
      slot.pending.clear()
      const i = this.#slots.indexOf(slot)
      if (i !== -1 && !this.#closed && !slot.down) this.#retry(slot, i, why)
    }
    worker.on('error', (err) => fail(`comparison worker failed: ${err.message}`))
    worker.on('exit', (code) => { if (code !== 0 || slot.pending.size > 0) fail(`comparison worker exited with code ${code}`) })
    return slot
  }

  /** Replaces the dead worker of `slot` (at `index`): at once if it had been ready, else after the restart delay. */
  #retry (slot: Slot, index: number, why: string): void {
    const wait = this.#restart.died(slot.ready, why)
    if (wait === 0) {
      this.#slots[index] = this.#spawn(index)
      return
    }
    slot.down = true
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      if (!this.#closed && this.#slots[index] === slot) this.#slots[index] = this.#spawn(index)
    }, wait)
    timer.unref()
    this.#timers.add(timer)
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
   * Runs one task whose candidate body another thread holds (`remote`): the task goes there, gets
   * the body, and goes on to a comparison worker; the candidate's bytes never come to this thread.
   */
  runRemote (remote: HeldBody, task: AnalyzeTask, transfer: ArrayBuffer[] = []): Promise<WorkerAnswer> {
    return this.#dispatch(task, transfer, remote)
  }

  #dispatch (task: AnalyzeTask, transfer: ArrayBuffer[], remote: HeldBody | null): Promise<WorkerAnswer> {
    this.#start()
    let slot: Slot | null = null
    for (const s of this.#slots) if (!s.down && (slot === null || s.pending.size < slot.pending.size)) slot = s
    if (slot === null) {
      // every worker failed to start and waits to be started again: no task waits for them
      remote?.drop()
      return Promise.resolve(failed(`no comparison worker runs: ${this.#restart.lastFailure ?? 'starting'}`))
    }
    const id = this.#next++
    return new Promise((resolve) => {
      if (remote !== null && (remote.pool !== this || this.#relay === null)) {
        resolve(failed('the candidate body was lost (comparison workers restarted)'))
        return
      }
      slot.pending.set(id, { resolve, viaRelay: remote !== null })
      const worker = slot.worker as Worker // a slot that is not down has one
      worker.ref()
      if (remote === null) worker.postMessage({ id, task }, transfer)
      else remote.forward(slot.index, id, task, transfer)
    }).finally(() => { if (slot.pending.size === 0) slot.worker?.unref() }) as Promise<WorkerAnswer>
  }

  /** Publishes the comparison queue's room (bytes) to the I/O thread: no message, one store. */
  setRoom (bytes: number): void {
    Atomics.store(this.room, 0, Math.min(MAX_ROOM_KIB, Math.max(0, Math.floor(bytes / 1024))))
  }

  /** Whether the pool was closed (a relay must not start for it). */
  get closed (): boolean { return this.#closed }

  /** Whether a relay is attached and takes exchanges. */
  get relayReady (): boolean { return this.#relay?.ready ?? false }

  /** Connects a relay (the mirror's I/O thread, once started) to every worker, now and as they are replaced. */
  attach (relay: Relay): void {
    this.#relay = relay
    for (const slot of this.#slots) this.#connect(slot, relay)
    this.#start() // its bodies will come to them (each new worker connects to the relay as it starts)
  }

  /** The relay died: the tasks it was to hand on fail as `comparator_error`. */
  detach (relay: Relay, why: string): void {
    if (this.#relay !== relay) return
    this.#relay = null
    for (const slot of this.#slots) {
      for (const [id, p] of slot.pending) {
        if (!p.viaRelay) continue
        slot.pending.delete(id)
        p.resolve(failed(why))
      }
    }
  }

  #connect (slot: Slot, relay: Relay): void {
    if (slot.worker === null) return // down: connected when its worker starts
    const { port1, port2 } = new MessageChannel()
    slot.worker.postMessage({ ioPort: port1 }, [port1])
    relay.connect(slot.index, port2)
  }

  /** Stops the workers and the relay (whose exchanges in flight end as `shutdown`). */
  async close (): Promise<void> {
    this.#closed = true
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    const relay = this.#relay
    this.#relay = null
    await Promise.all([...this.#slots.map((s) => s.worker?.terminate()), relay?.close()])
  }
}
