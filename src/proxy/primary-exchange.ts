/* One client request and its exchange with the primary: dispatch, deadlines, the answer streamed back, the mirror told. */
import { type IncomingMessage, type ServerResponse } from 'node:http'
import { performance } from 'node:perf_hooks'
import { type Readable } from 'node:stream'
import { errors, type Dispatcher } from 'undici'
import { completeWithoutBody } from '../connector.ts'
import { WithDeadline } from '../deadlines.ts'
import { PARITYGATE_ERR_CLIENT_TIMEOUT, PARITYGATE_ERR_PRIMARY_TIMEOUT, PARITYGATE_ERR_PRIMARY_UNAVAILABLE } from '../errors.ts'
import { type MirrorJob } from '../mirror/mirror-job.ts'
import { type ClientRejection } from '../stats/registry.ts'
import { ClientWait, DOWNLOAD, UPLOAD } from './client-wait.ts'
import { lingeringClose, untrackQueued } from './connections.ts'
import { forwardResponseHeaders } from './headers.ts'
import { destroyResponse, sendError, type ErrorCtor } from './replies.ts'
import { type ProxyState } from './state.ts'

/** Bodies up to this size with a known Content-Length go to the client in one write: cheaper than streaming them (bench/JOURNAL.md). */
const SMALL_BODY = 64 * 1024
/** RFC 9110 §9.2.2: methods a client may repeat without changing the outcome. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])
/** Errors that mean the pooled connection was already closed by the primary when the request went out. */
const STALE_SOCKET = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'])
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])
const NO_HEADERS: string[] = []
const EMPTY = Buffer.alloc(0)

/**
 * One client request and its exchange with the primary, as an undici dispatch handler (the legacy
 * callback API, which undici 7's core calls directly, without the wrapper the newer API needs).
 * Every field is assigned in the constructor so that V8 keeps one shape.
 */
export class PrimaryExchange extends WithDeadline implements Dispatcher.DispatchHandler {
  state: ProxyState
  req: IncomingMessage
  res: ServerResponse
  requestId: string
  headers: string[]
  body: Readable | null
  route: string | null
  job: MirrorJob | null
  startedAt: number
  dispatchedAt: number
  abort: ((err?: Error) => void) | null
  status: number
  statusText: string
  responseHeaders: string[] | null
  chunks: Buffer[] | null
  resume: (() => void) | null
  retried: boolean
  done: boolean
  flushScheduled: boolean
  /** onClientClose ran */
  closed: boolean
  wait: ClientWait | null

  constructor (state: ProxyState, req: IncomingMessage, res: ServerResponse, requestId: string, headers: string[], body: Readable | null, route: string | null, job: MirrorJob | null, startedAt: number) {
    super()
    this.state = state
    this.req = req
    this.res = res
    this.requestId = requestId
    this.headers = headers
    this.body = body
    this.route = route
    this.job = job
    this.startedAt = startedAt
    this.dispatchedAt = 0
    this.abort = null
    this.status = 0
    this.statusText = ''
    this.responseHeaders = null
    this.chunks = null
    this.resume = null
    this.retried = false
    this.done = false
    this.flushScheduled = false
    this.closed = false
    this.wait = null
    res.once('close', this.onClientClose)
  }

  dispatch (): void {
    this.dispatchedAt = performance.now()
    this.state.headersDeadlines?.add(this, this.dispatchedAt)
    this.state.pool.dispatch({
      path: this.req.url as string,
      method: this.req.method as Dispatcher.HttpMethod,
      headers: this.headers,
      body: this.body
    }, this)
    if (this.body !== null && !this.req.complete && this.wait === null) this.watchClient(UPLOAD)
  }

  /** Starts (or restarts) a wait on the client: its upload, or its reading of a paused answer. */
  watchClient (phase: number): void {
    const wait = this.wait ??= new ClientWait(this)
    const now = performance.now()
    wait.phase = phase
    wait.since = now
    wait.mark = this.req.socket?.bytesRead ?? 0
    this.state.clientChecks.add(wait, now)
  }

  /** The wait on the client is over (progress, or the exchange ended). */
  stopWaiting (): void {
    const wait = this.wait
    if (wait === null) return
    wait.deadlineList?.remove(wait)
    if (wait.slow) {
      wait.slow = false
      this.state.slowClients--
    }
  }

  /**
   * Every proxy.slowClientAfterMs while the exchange waits on its client: an upload that keeps up
   * (or that the primary itself holds back) starts a new wait; a wait past proxy.clientTimeoutMs
   * ends the exchange; a wait past slowClientAfterMs makes it slow, and slow exchanges may hold
   * only proxy.slowClientShare of the primary's connections.
   */
  checkClient (): void {
    const wait = this.wait as ClientWait
    const state = this.state
    const now = performance.now()
    if (this.done) { this.stopWaiting(); return }
    if (wait.phase === UPLOAD) {
      const req = this.req
      if (req.complete) { this.stopWaiting(); return }
      const read = req.socket?.bytesRead ?? wait.mark
      const keptUp = read - wait.mark >= state.uploadMinBytes
      wait.mark = read
      // Not flowing: the primary (or the pool, still connecting) is not reading yet; that is not the client's doing.
      if (keptUp || req.readableFlowing !== true) {
        if (wait.slow) { wait.slow = false; state.slowClients-- }
        wait.since = now
        state.clientChecks.add(wait, now)
        return
      }
    }
    if (now - wait.since >= state.clientTimeoutMs) { this.cutClient('client_timeout'); return }
    if (!wait.slow) {
      wait.slow = true
      if (++state.slowClients > state.slowClientCap) { this.cutClient('slow_share'); return }
    }
    state.clientChecks.add(wait, now)
  }

  /** Ends an exchange whose client is too slow: 408 if nothing was answered yet, else the connection is cut. */
  cutClient (reason: ClientRejection): void {
    const state = this.state
    this.stopWaiting()
    state.metrics.clientRejections.labels(reason).inc()
    this.done = true
    this.deadlineList?.remove(this)
    this.abort?.()
    const res = this.res
    if (!res.headersSent && !res.destroyed) sendError(res, PARITYGATE_ERR_CLIENT_TIMEOUT, this.requestId, true)
    else res.destroy()
    this.job?.clientGone()
    this.job?.primaryEnd(performance.now() - this.dispatchedAt, 'client_aborted')
    state.metrics.recordExchange('primary', this.routeName(), this.req.method as string, 0, (performance.now() - this.dispatchedAt) / 1000)
    if (state.log.isLevelEnabled('info')) {
      state.log.info({ requestId: this.requestId, route: this.routeName(), reason, phase: this.wait?.phase === UPLOAD ? 'upload' : 'download' }, 'client too slow: exchange ended')
    }
  }

  onConnect (abort: (err?: Error) => void): void {
    this.abort = abort
    if (this.done) abort()
  }

  onHeaders (status: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    if (status < 200) return true // 1xx: Node already answered Expect itself; other interim answers are not relayed
    if (status > 599) {
      this.fail(PARITYGATE_ERR_PRIMARY_UNAVAILABLE, 'invalid_status')
      return false
    }
    this.status = status
    this.statusText = statusText
    this.resume = resume
    this.waitForBody()
    const out = forwardResponseHeaders(raw, this.state.via)
    if (this.job !== null) this.job.primaryHeaders(status, out.headers, out.contentLength)
    if (out.contentLength >= 0 && out.contentLength <= SMALL_BODY) {
      this.responseHeaders = out.headers
      this.chunks = []
      return true
    }
    if (!this.writeHead(out.headers)) return false
    return true
  }

  /** Sends the status line and headers; false (and a 502) when Node refuses what the primary sent. */
  writeHead (headers: string[]): boolean {
    try {
      this.res.writeHead(this.status, this.statusText, headers)
    } catch (err) {
      this.state.log.warn({ requestId: this.requestId, err: { code: (err as NodeJS.ErrnoException).code, message: (err as Error).message } }, 'primary sent a response header Node cannot forward')
      this.fail(PARITYGATE_ERR_PRIMARY_UNAVAILABLE, 'invalid_response')
      return false
    }
    if (!this.flushScheduled) {
      // Headers go out with the first chunk when it is already here; otherwise on their own, at once.
      this.flushScheduled = true
      queueMicrotask(this.flushHeaders)
    }
    return true
  }

  flushHeaders = (): void => {
    // write(), not flushHeaders(): Node sends a header block flushed on its own as UTF-8, and header values are latin1 bytes.
    if (!this.res.destroyed && !this.res.writableEnded && this.res.writableLength === 0) this.res.write(EMPTY)
  }

  /** The body deadline (silence between chunks) runs while the client keeps up; undici's is off. */
  waitForBody (): void {
    const body = this.state.bodyDeadlines
    if (body !== null) body.add(this)
    else this.deadlineList?.remove(this)
  }

  /** A deadline passed: no response headers (504), or a body gone silent (the client's connection is aborted). */
  expire (): void {
    const err = this.status === 0 ? new errors.HeadersTimeoutError() : new errors.BodyTimeoutError()
    if (this.abort !== null) this.abort(err)
    else this.onError(err)
  }

  onData (chunk: Buffer): boolean {
    if (this.res.destroyed) return false // the client left; the exchange is being aborted
    this.deadlineList?.touch(this)
    if (this.chunks !== null) {
      // A small body goes out whole in onComplete; the mirror copies it after that.
      this.chunks.push(chunk)
      return true
    }
    const more = this.res.write(chunk)
    if (this.job !== null) this.job.primaryData(chunk)
    if (more) return true
    // Paused for the client: its slowness is not the primary's silence, and has a watch of its own.
    this.deadlineList?.remove(this)
    this.res.once('drain', this.onDrain)
    this.watchClient(DOWNLOAD)
    return false
  }

  onDrain = (): void => {
    if (this.done) return
    this.stopWaiting()
    if (this.body !== null && !this.req.complete) this.watchClient(UPLOAD)
    this.waitForBody()
    this.resume?.()
  }

  onComplete (): void {
    this.deadlineList?.remove(this)
    this.stopWaiting()
    if (this.body !== null && !this.req.readableEnded) this.answeredBeforeBody()
    if (this.chunks !== null) {
      if (!this.writeHead(this.responseHeaders as string[])) return
      this.res.end(this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks))
    } else {
      this.res.end()
    }
    this.done = true
    const end = performance.now()
    const job = this.job
    if (job !== null) {
      if (this.chunks !== null) for (const chunk of this.chunks) job.primaryData(chunk)
      job.primaryEnd(end - this.dispatchedAt, null)
    }
    const state = this.state
    const route = this.routeName()
    state.metrics.recordExchange('primary', route, this.req.method as string, this.status, (end - this.dispatchedAt) / 1000)
    state.metrics.recordOverhead(Math.max(0, (this.dispatchedAt - this.startedAt) / 1000))
  }

  onError (err: Error & { code?: string }): void {
    this.deadlineList?.remove(this)
    if (this.done) return
    if (completeWithoutBody(err, this.status)) { this.onComplete(); return }
    const res = this.res
    if (this.chunks !== null && !res.headersSent && !res.destroyed && this.writeHead(this.responseHeaders as string[])) {
      // Cut short while buffering a small body: the client gets what a direct call gives, headers and
      // the bytes that came, then a reset; never a 502 for a request the primary may have acted on.
      for (const chunk of this.chunks) res.write(chunk)
      this.chunks = null
    }
    if (res.headersSent || res.destroyed) {
      // Cut short after the headers: abort the client's connection so a short body never looks complete.
      // setImmediate: Node corks the socket until the next tick, and destroying now would drop what was written.
      this.done = true
      setImmediate(destroyResponse, res)
      this.record('error', err)
      return
    }
    const code = err.code ?? ''
    if (!this.retried && this.body === null && STALE_SOCKET.has(code) && IDEMPOTENT.has(this.req.method as string) &&
        (err as { socket?: { bytesRead?: number } }).socket?.bytesRead !== 0) {
      this.retried = true
      this.status = 0
      this.chunks = null
      this.dispatch()
      return
    }
    this.fail(TIMEOUTS.has(code) ? PARITYGATE_ERR_PRIMARY_TIMEOUT : PARITYGATE_ERR_PRIMARY_UNAVAILABLE, code || err.name, err)
  }

  /**
   * The primary answered before it read the whole request body, and undici stops sending it. The
   * rest is dropped as it comes; if the client is still sending, the answer says `Connection: close`
   * and the connection closes after it (lingering), as a direct call to such a primary would. The
   * mirror's copy of the body will never be whole: its exchange is called off, not charged.
   */
  answeredBeforeBody (): void {
    const req = this.req
    req.removeAllListeners('data')
    req.resume()
    if (req.complete) return
    this.job?.clientGone()
    const socket = req.socket
    this.res.shouldKeepAlive = false
    socket.destroySoon = lingeringClose // Node calls it after a `Connection: close` answer
    if (this.res.headersSent) this.res.once('finish', () => lingeringClose.call(socket))
  }

  /** Answers the client with a gateway error, counts it, and logs one line. */
  fail (Err: ErrorCtor, reason: string, err?: Error): void {
    this.done = true
    this.deadlineList?.remove(this)
    this.abort?.()
    if (!this.res.headersSent && !this.res.destroyed) sendError(this.res, Err, this.requestId, this.body !== null && !this.req.complete)
    else this.res.destroy()
    this.record(reason, err)
  }

  routeName (): string {
    return this.route ?? (this.route = this.state.routes.name(this.req.method as string, this.req.url as string))
  }

  record (reason: string, err?: Error & { code?: string }): void {
    const state = this.state
    this.job?.primaryEnd(performance.now() - this.dispatchedAt, reason)
    const route = this.routeName()
    state.metrics.recordExchange('primary', route, this.req.method as string, 0, (performance.now() - this.dispatchedAt) / 1000)
    if (this.res.destroyed && err !== undefined && (err.code === 'UND_ERR_ABORTED' || this.req.destroyed)) return // the client left
    state.log.warn({ requestId: this.requestId, route, method: this.req.method, reason, err: err === undefined ? undefined : { code: err.code, message: err.message } }, 'primary request failed')
  }

  onClientClose = (): void => {
    if (this.closed) return
    this.closed = true
    const state = this.state
    untrackQueued(this.req.socket, this)
    this.stopWaiting()
    if (--state.inflight === 0 && state.onIdle !== null) state.onIdle()
    if (!this.done) {
      // The client went away mid-request or mid-response: stop the upstream exchange too, and count it.
      this.done = true
      this.deadlineList?.remove(this)
      this.abort?.()
      const elapsed = performance.now() - this.dispatchedAt
      this.job?.primaryEnd(elapsed, 'client_aborted')
      state.metrics.recordExchange('primary', this.routeName(), this.req.method as string, this.status, elapsed / 1000)
    }
    // Over: drop references (see MirrorJob.dispose; undici may keep this handler a while longer).
    this.job = null
    this.chunks = null
    this.responseHeaders = null
    this.headers = NO_HEADERS
  }
}
