/*
 * The candidate's HTTP/1.1 client for bodiless requests (issue 16): keep-alive sockets of
 * node:net, the request head written as one string, the answer parsed here. undici's dispatch
 * (request object, header validation, its wasm parser and its queue) was a fifth of a mirrored
 * exchange's CPU; the candidate's requests need none of it: they are built by paritygate from
 * headers Node's parser has already checked, and their answers are captured whole.
 *
 * Requests with a body, and an https candidate, still go to the undici pool it falls back on, as
 * does a request whose head would carry CR or LF (undici refuses it, as before) or whose target
 * is not a path (absolute-form: undici's rules apply). The handler is
 * the undici dispatch-handler contract the mirror's jobs implement (onConnect, onHeaders, onData,
 * onComplete, onError), with the header names and values as latin1 strings instead of Buffers.
 *
 * What an answer may be, and how it is read: candidate-connection.ts.
 */
import { type Dispatcher } from 'undici'
import { type CandidateHandler, type CandidateRequest, ClientError, Connection, type ConnectionOwner } from './candidate-connection.ts'
import { type CandidatePoolSettings } from './types.ts'

export { type CandidateHandler, type CandidateRequest, ClientError } from './candidate-connection.ts'

/** What the mirror dispatches candidate and noise-baseline requests on: this client or an undici pool. */
export interface CandidateDispatcher {
  dispatch (req: CandidateRequest, handler: CandidateHandler): boolean
  close (): Promise<void>
  destroy (): Promise<void>
}

/** Whether a string of the request head holds CR or LF (a header injection: undici refuses it). */
function unsafe (s: string): boolean {
  return s.includes('\r') || s.includes('\n')
}

/**
 * A pool of at most `connections` keep-alive connections to an http origin; requests beyond it
 * wait in order. `fallback` takes what this client does not (see the file's header).
 */
export class CandidateClient implements CandidateDispatcher, ConnectionOwner {
  readonly settings: CandidatePoolSettings
  readonly hostname: string
  readonly port: number
  readonly host: string
  readonly fallback: Dispatcher
  #idle: Connection[]
  #open: Set<Connection>
  #waiting: Array<{ req: CandidateRequest, head: string, handler: CandidateHandler }>
  #sweep: NodeJS.Timeout
  #closed: boolean
  /** resolves close() once the last connection is gone */
  #drained: (() => void) | null

  constructor (origin: string, settings: CandidatePoolSettings, fallback: Dispatcher) {
    const url = new URL(origin)
    this.settings = settings
    this.hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
    this.port = Number(url.port === '' ? 80 : url.port)
    this.host = url.host
    this.fallback = fallback
    this.#idle = []
    this.#open = new Set()
    this.#waiting = []
    this.#closed = false
    this.#drained = null
    this.#sweep = setInterval(() => this.#closeIdle(), 1_000).unref()
  }

  /** Whether this client takes an origin (plain http); https goes to the fallback pool whole. */
  static takes (origin: string): boolean {
    return new URL(origin).protocol === 'http:'
  }

  dispatch (req: CandidateRequest, handler: CandidateHandler): boolean {
    const head = req.body == null && !this.#closed ? this.#head(req) : null
    if (head === null) return this.fallback.dispatch(req as Dispatcher.DispatchOptions, handler as unknown as Dispatcher.DispatchHandler)
    const idle = this.#reusable()
    if (idle !== undefined) idle.send(req, head, handler)
    else if (this.#open.size < this.settings.connections) this.#connect().send(req, head, handler)
    // onConnect when it is sent, as undici does: until then its caller ends it without us
    else this.#waiting.push({ req, head, handler })
    return true
  }

  /** The request head, or null when a string in it carries CR or LF. */
  #head (req: CandidateRequest): string | null {
    // undici takes absolute-form targets (and refuses others): paths of ours start with a slash
    if (req.path.charCodeAt(0) !== 0x2f || unsafe(req.path) || unsafe(req.method)) return null
    let head = `${req.method} ${req.path} HTTP/1.1\r\n`
    let host = false
    const h = req.headers
    for (let i = 0; i < h.length; i += 2) {
      const name = h[i]
      const value = h[i + 1]
      if (unsafe(name) || unsafe(value)) return null
      if (name.length === 4 && name.toLowerCase() === 'host') host = true
      head += `${name}: ${value}\r\n`
    }
    if (!host) head += `host: ${this.host}\r\n`
    return head + 'connection: keep-alive\r\n\r\n'
  }

  /** The most recently freed idle connection still young enough to reuse; older ones are closed on the way. */
  #reusable (): Connection | undefined {
    for (;;) {
      const c = this.#idle.pop()
      if (c === undefined || !c.expired(performance.now())) return c
      c.socket.destroy()
    }
  }

  #connect (): Connection {
    const c = new Connection(this)
    this.#open.add(c)
    return c
  }

  /** A connection is free again: the next waiting request, or the idle list. */
  release (c: Connection): void {
    const next = this.#waiting.shift()
    if (next !== undefined) { c.send(next.req, next.head, next.handler); return }
    if (this.#closed) { c.socket.destroy(); return }
    c.idleSince = performance.now()
    this.#idle.push(c)
  }

  /** A connection closed: off the lists; a waiting request gets a new one. */
  forget (c: Connection): void {
    this.#open.delete(c)
    const at = this.#idle.indexOf(c)
    if (at !== -1) this.#idle.splice(at, 1)
    // a request waiting for a connection gets a new one (also while closing: it was accepted)
    const next = this.#waiting.shift()
    if (next !== undefined) this.#connect().send(next.req, next.head, next.handler)
    if (this.#open.size === 0) this.#drained?.()
  }

  #closeIdle (): void {
    const now = performance.now()
    for (const c of [...this.#idle]) if (c.expired(now)) c.socket.destroy()
  }

  /** Closes gracefully: exchanges in progress and waiting finish, idle connections close, nothing new is sent here. */
  async close (): Promise<void> {
    this.#closed = true
    clearInterval(this.#sweep)
    for (const c of this.#idle.splice(0)) c.socket.destroy()
    if (this.#open.size > 0) await new Promise<void>((resolve) => { this.#drained = resolve })
    await this.fallback.close()
  }

  /** Closes at once: every exchange in progress ends with an error. */
  async destroy (): Promise<void> {
    this.#closed = true
    clearInterval(this.#sweep)
    for (const w of this.#waiting.splice(0)) w.handler.onError(new ClientError('UND_ERR_DESTROYED', 'the pool was destroyed'))
    for (const c of [...this.#open]) c.fail(new ClientError('UND_ERR_DESTROYED', 'the pool was destroyed'))
    this.#drained?.()
    await this.fallback.destroy()
  }
}
