/* The live path: one node:http listener that streams every request to the primary and its answer back. */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { type Socket } from 'node:net'
import { type Duplex } from 'node:stream'
import { performance } from 'node:perf_hooks'
import { errors, type Dispatcher } from 'undici'
import { completeWithoutBody } from '../connector.ts'
import { type DeadlineList, WithDeadline } from '../deadlines.ts'
import {
  PARITYGATE_ERR_BAD_FRAMING, PARITYGATE_ERR_BAD_HOST, PARITYGATE_ERR_BAD_REQUEST_TARGET, PARITYGATE_ERR_CLIENT_TIMEOUT, PARITYGATE_ERR_METHOD_UNSUPPORTED,
  PARITYGATE_ERR_PRIMARY_TIMEOUT, PARITYGATE_ERR_PRIMARY_UNAVAILABLE, PARITYGATE_ERR_TOO_MANY_HEADERS, PARITYGATE_ERR_UPGRADE_UNSUPPORTED
} from '../errors.ts'
import { type Logger } from '../logger.ts'
import { type MirrorController } from '../mirror/controller.ts'
import { type MirrorJob } from '../mirror/mirror-job.ts'
import { type ClientRejection, type Metrics } from '../stats/registry.ts'
import { forwardRequestHeaders, forwardResponseHeaders, type ForwardingOptions } from './headers.ts'
import { type RouteNamer } from './routes.ts'
import { type Readable } from 'node:stream'

/** Bodies up to this size with a known Content-Length go to the client in one write: cheaper than streaming them (bench/JOURNAL.md). */
const SMALL_BODY = 64 * 1024
/** RFC 9110 §9.2.2: methods a client may repeat without changing the outcome. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])
/** Errors that mean the pooled connection was already closed by the primary when the request went out. */
const STALE_SOCKET = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'])
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])
const NO_HEADERS: string[] = []
const EMPTY = Buffer.alloc(0)
/** After an answer that did not wait for the whole request body: how long the rest is read and dropped before the connection closes. */
const LINGER_MS = 2000
/** The exchanges whose answers wait behind another on a pipelined connection (they have no socket of their own yet). */
const kQueued = Symbol('paritygate.proxy.queued')
const kLingering = Symbol('paritygate.proxy.lingering')
/** What the client-side watch is waiting for: the client's upload, or the client reading a paused answer. */
const UPLOAD = 1
const DOWNLOAD = 2

type TrackedSocket = Socket & { [kQueued]?: Set<PrimaryExchange>, [kLingering]?: boolean }

/** Everything the live path needs, built once at boot. */
export interface ProxyState {
  pool: Dispatcher
  /** null when no candidate is configured: then no mirroring work at all is done per request */
  mirror: MirrorController | null
  metrics: Metrics
  log: Logger
  routes: RouteNamer
  forwarding: ForwardingOptions
  requestIdHeader: string
  via: boolean
  /** primary.timeoutMs from dispatch to response headers (undici's own timeouts are off), or null */
  headersDeadlines: DeadlineList | null
  /** primary.bodyTimeoutMs of silence between body chunks while the client keeps up, or null */
  bodyDeadlines: DeadlineList | null
  /** the client-side watch: uploads and answers paused for the client, looked at every proxy.slowClientAfterMs */
  clientChecks: DeadlineList
  /** proxy.clientTimeoutMs: the longest one wait on a client may last */
  clientTimeoutMs: number
  /** bytes an upload must bring per check to count as keeping up (proxy.clientMinBytesPerSecond) */
  uploadMinBytes: number
  /** exchanges waiting on their client for longer than proxy.slowClientAfterMs now */
  slowClients: number
  /** how many slow exchanges may hold primary connections (proxy.slowClientShare of primary.connections) */
  slowClientCap: number
  /** proxy.maxHeaderCount */
  maxHeaderCount: number
  /** true from SIGTERM on: answers carry `Connection: close` */
  draining: boolean
  inflight: number
  onIdle: (() => void) | null
}

interface ErrorCtor { new (): Error & { code: string, statusCode: number } }

/** Writes the short JSON error body of DESIGN.md, `{error, code, message, requestId}`. */
function sendError (res: ServerResponse, Err: ErrorCtor, requestId: string | null, close: boolean): void {
  const err = new Err()
  const body = JSON.stringify({ error: httpReason(err.statusCode), code: err.code, message: err.message, requestId })
  if (close) res.shouldKeepAlive = false
  res.writeHead(err.statusCode, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

function destroyResponse (res: ServerResponse): void {
  res.destroy()
}

/** The reason phrase of a status, as Node writes it in a status line. */
function httpReason (status: number): string {
  return STATUS_CODES[status] ?? 'Error'
}

/**
 * Closes a connection after an answer that did not wait for the whole request body (RFC 9112 §9.6):
 * our side ends first, and what the client still sends is read and dropped for LINGER_MS, so that
 * its kernel does not answer our answer with a reset before the client has read it.
 */
function lingeringClose (this: TrackedSocket): void {
  if (this[kLingering] === true) return
  this[kLingering] = true
  this.end()
  const timer = setTimeout(destroySocket, LINGER_MS, this)
  timer.unref()
  this.once('close', () => clearTimeout(timer))
}

function destroySocket (socket: Socket): void {
  socket.destroy()
}

/** A client socket closed: its pipelined exchanges that never got the socket end with it. */
function onQueuedSocketClose (this: TrackedSocket): void {
  const queued = this[kQueued]
  if (queued === undefined) return
  for (const exchange of [...queued]) exchange.onClientClose()
  queued.clear()
}

/**
 * The watch over one exchange's client, in ProxyState.clientChecks (an exchange's own deadline
 * links serve the primary's deadlines). Allocated only for uploads and paused answers.
 */
class ClientWait extends WithDeadline {
  exchange: PrimaryExchange
  phase: number
  /** when the current wait on the client began */
  since: number
  /** the socket's bytesRead at the last look (uploads) */
  mark: number
  /** counted in ProxyState.slowClients */
  slow: boolean

  constructor (exchange: PrimaryExchange) {
    super()
    this.exchange = exchange
    this.phase = 0
    this.since = 0
    this.mark = 0
    this.slow = false
  }

  expire (): void {
    this.exchange.checkClient()
  }
}

/**
 * One client request and its exchange with the primary, as an undici dispatch handler (the legacy
 * callback API, which undici 7's core calls directly, without the wrapper the newer API needs).
 * Every field is assigned in the constructor so that V8 keeps one shape.
 */
class PrimaryExchange extends WithDeadline implements Dispatcher.DispatchHandler {
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
    const socket = req.socket as TrackedSocket
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
    const state = this.state;
    (this.req.socket as TrackedSocket | null)?.[kQueued]?.delete(this)
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

function onRequest (this: Server & { state: ProxyState }, req: IncomingMessage, res: ServerResponse): void {
  const startedAt = performance.now()
  const state = this.state
  const url = req.url as string
  const te = req.headers['transfer-encoding']
  if (url.charCodeAt(0) !== 47 /* / */ || (te !== undefined && te.toLowerCase() !== 'chunked')) {
    // Absolute-form (`http://169.254.169.254/`) or `*`: never contact a host the client names.
    // A Transfer-Encoding other than plain `chunked` (`xchunked`, `chunked, identity`): Node reports it
    // only once it reads the body, after this handler ran; refuse it here so nothing is forwarded.
    sendError(res, te !== undefined && url.charCodeAt(0) === 47 ? PARITYGATE_ERR_BAD_FRAMING : PARITYGATE_ERR_BAD_REQUEST_TARGET, null, true)
    return
  }
  if (req.rawHeaders.length > 2 * state.maxHeaderCount) {
    // Node keeps maxHeaderCount + 1 fields and drops the rest without a word: refuse rather than forward a cut request.
    state.metrics.clientRejections.labels('too_many_headers').inc()
    sendError(res, PARITYGATE_ERR_TOO_MANY_HEADERS, null, true)
    return
  }
  state.inflight++
  if (state.draining) res.shouldKeepAlive = false
  const fwd = forwardRequestHeaders(req.rawHeaders, req.socket.remoteAddress, state.forwarding)
  if (fwd.hosts > 1) {
    // Two Host fields: which one names the target is ambiguous (a smuggling shape); Node lets it through.
    state.inflight--
    state.metrics.clientRejections.labels('bad_request').inc()
    sendError(res, PARITYGATE_ERR_BAD_HOST, null, true)
    return
  }
  if (req.headers.host === undefined && state.forwarding.host === null) {
    // HTTP/1.0 without Host: the authority the client reached (this listener), never the primary's own address.
    const local = req.socket.localAddress ?? '127.0.0.1'
    fwd.headers.push('host', `${local.includes(':') ? `[${local}]` : local}:${req.socket.localPort ?? 80}`)
  }
  let requestId = fwd.requestId
  if (requestId === null) {
    requestId = randomUUID()
    fwd.headers.push(state.requestIdHeader, requestId)
  }
  const cl = req.headers['content-length']
  const hasBody = cl !== undefined ? cl !== '0' : te !== undefined
  let body: Readable | null = hasBody ? req : null
  let route: string | null = null
  let job: MirrorJob | null = null
  if (state.mirror !== null) {
    const match = state.routes.match(req.method as string, url)
    route = match.name
    const started = state.mirror.begin(req, match, fwd.headers, requestId, hasBody)
    if (started !== null) {
      job = started.job
      if (started.primaryBody !== null) body = started.primaryBody
    }
  }
  // The primary first, then the mirror, in the same tick: the candidate never delays the live request.
  const exchange = new PrimaryExchange(state, req, res, requestId, fwd.headers, body, route, job, startedAt)
  if (res.socket === null) trackQueued(req.socket as TrackedSocket, exchange)
  exchange.dispatch()
  if (job !== null) job.dispatch()
}

/**
 * A pipelined request whose answer waits behind another's has no socket yet, and Node never tells
 * its response that the client left: the socket's close ends it (one listener per connection).
 */
function trackQueued (socket: TrackedSocket, exchange: PrimaryExchange): void {
  let queued = socket[kQueued]
  if (queued === undefined) {
    queued = socket[kQueued] = new Set()
    socket.once('close', onQueuedSocketClose)
  }
  queued.add(exchange)
}

function rejectSocket (socket: Duplex, Err: ErrorCtor): void {
  const err = new Err()
  const body = JSON.stringify({ error: httpReason(err.statusCode), code: err.code, message: err.message })
  socket.on('error', () => {})
  socket.end(`HTTP/1.1 ${err.statusCode} ${httpReason(err.statusCode)}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
}

/** What the data port's listener is created with (proxy.* in the config; maxConnections already resolved). */
export interface ListenerSettings {
  maxHeaderBytes: number
  maxHeaderCount: number
  keepAliveTimeoutMs: number
  headersTimeoutMs: number
  maxConnections: number
}

const CLIENT_ERRORS: Record<string, [number, ClientRejection]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'headers_timeout'],
  HPE_HEADER_OVERFLOW: [431, 'header_overflow']
}

/**
 * A client's connection failed before a request reached onRequest: a head too slow (408), too
 * large (431), or malformed (400). Answers as Node would, and counts it.
 */
function onClientError (this: Server & { state: ProxyState }, err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE') { socket.destroy(); return }
  const [status, reason] = CLIENT_ERRORS[err.code ?? ''] ?? [400, 'bad_request']
  this.state.metrics.clientRejections.labels(reason).inc()
  // As Node does: answer only when no response of this connection has started (a pipelined one may be mid-way).
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
  if (socket.writable && (inFlight == null || !inFlight.headersSent)) {
    socket.end(`HTTP/1.1 ${status} ${httpReason(status)}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`)
  }
  socket.destroy()
}

/**
 * The data port's connection cap: proxy.maxConnections, or, when unset, what the process's
 * file-descriptor limit leaves once upstream connections, the admin port and files have theirs,
 * so that a flood of idle connections can never take the descriptors /healthz needs.
 */
export function connectionCap (configured: number | null, reserve: number, fdLimit: number | null = softFdLimit()): number {
  if (configured !== null) return configured
  if (fdLimit === null) return 16_384
  return Math.max(16, Math.min(65_536, fdLimit - reserve))
}

/** The soft limit of open files (/proc/self/limits), or null where it cannot be read or is unlimited. */
export function softFdLimit (): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'latin1').split('\n').find((l) => l.startsWith('Max open files'))
    const soft = line === undefined ? NaN : Number(line.slice(25).trim().split(/\s+/)[0])
    return Number.isFinite(soft) ? soft : null
  } catch {
    return null
  }
}

/**
 * Creates the proxy listener (not yet listening). A plain node:http server rather than fastify: the
 * live path needs no router, no body parsing and no reply wrapper, and each of those costs throughput.
 * Node's parser already answers 400 to smuggling-shaped requests (CL with TE, duplicate CL, obs-fold,
 * bad chunked framing, bare LF) before they reach this code.
 */
export function createProxyServer (state: ProxyState, settings: ListenerSettings): Server {
  const server = createServer({
    maxHeaderSize: settings.maxHeaderBytes,
    noDelay: true,
    keepAliveTimeout: settings.keepAliveTimeoutMs,
    // The whole request is never timed (uploads stream for as long as they keep up: see ClientWait);
    // its head is, and Node checks that on an interval, not with a timer per connection.
    requestTimeout: 0,
    headersTimeout: settings.headersTimeoutMs,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(settings.headersTimeoutMs / 4)))
  }) as Server & { state: ProxyState }
  server.state = state
  server.maxHeadersCount = settings.maxHeaderCount + 1
  server.maxConnections = settings.maxConnections
  server.on('drop', () => { state.metrics.clientRejections.labels('max_connections').inc() })
  server.on('clientError', onClientError)
  server.on('request', onRequest)
  server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => rejectSocket(socket, PARITYGATE_ERR_UPGRADE_UNSUPPORTED))
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => rejectSocket(socket, PARITYGATE_ERR_METHOD_UNSUPPORTED))
  return server
}
