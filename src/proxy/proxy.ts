/* The live path: one node:http listener that streams every request to the primary and its answer back. */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { type Duplex } from 'node:stream'
import { performance } from 'node:perf_hooks'
import { errors, type Dispatcher } from 'undici'
import { type DeadlineList, WithDeadline } from '../deadlines.ts'
import {
  PARITYGATE_ERR_BAD_FRAMING, PARITYGATE_ERR_BAD_REQUEST_TARGET, PARITYGATE_ERR_METHOD_UNSUPPORTED, PARITYGATE_ERR_PRIMARY_TIMEOUT,
  PARITYGATE_ERR_PRIMARY_UNAVAILABLE, PARITYGATE_ERR_UPGRADE_UNSUPPORTED
} from '../errors.ts'
import { type Logger } from '../logger.ts'
import { type MirrorController, type MirrorJob } from '../mirror/mirror.ts'
import { type Metrics } from '../stats/registry.ts'
import { forwardRequestHeaders, forwardResponseHeaders, type ForwardingOptions } from './headers.ts'
import { type RouteNamer } from './routes.ts'
import { type Readable } from 'node:stream'

/** Bodies up to this size with a known Content-Length go to the client in one write (1.7× faster than streaming). */
const SMALL_BODY = 64 * 1024
/** RFC 9110 §9.2.2: methods a client may repeat without changing the outcome. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])
/** Errors that mean the pooled connection was already closed by the primary when the request went out. */
const STALE_SOCKET = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'])
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])
const NO_HEADERS: string[] = []

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

function httpReason (status: number): string {
  switch (status) {
    case 400: return 'Bad Request'
    case 405: return 'Method Not Allowed'
    case 501: return 'Not Implemented'
    case 502: return 'Bad Gateway'
    case 503: return 'Service Unavailable'
    default: return 'Gateway Timeout'
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
    if (!this.res.destroyed && !this.res.writableEnded && this.res.writableLength === 0) this.res.flushHeaders()
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
    // Paused for the client: its slowness is not the primary's silence.
    this.deadlineList?.remove(this)
    this.res.once('drain', this.onDrain)
    return false
  }

  onDrain = (): void => {
    if (!this.done) this.waitForBody()
    this.resume?.()
  }

  onComplete (): void {
    this.deadlineList?.remove(this)
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
    const state = this.state
    if (--state.inflight === 0 && state.onIdle !== null) state.onIdle()
    if (!this.done) {
      // The client went away mid-request or mid-response: stop the upstream exchange too.
      this.done = true
      this.deadlineList?.remove(this)
      this.abort?.()
      this.job?.primaryEnd(performance.now() - this.dispatchedAt, 'client_aborted')
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
  state.inflight++
  const url = req.url as string
  const te = req.headers['transfer-encoding']
  if (url.charCodeAt(0) !== 47 /* / */ || (te !== undefined && te.toLowerCase() !== 'chunked')) {
    // Absolute-form (`http://169.254.169.254/`) or `*`: never contact a host the client names.
    // A Transfer-Encoding other than plain `chunked` (`xchunked`, `chunked, identity`): Node reports it
    // only once it reads the body, after this handler ran; refuse it here so nothing is forwarded.
    res.once('close', () => { if (--state.inflight === 0 && state.onIdle !== null) state.onIdle() })
    sendError(res, te !== undefined && url.charCodeAt(0) === 47 ? PARITYGATE_ERR_BAD_FRAMING : PARITYGATE_ERR_BAD_REQUEST_TARGET, null, true)
    return
  }
  if (state.draining) res.shouldKeepAlive = false
  const fwd = forwardRequestHeaders(req.rawHeaders, req.socket.remoteAddress, state.forwarding)
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
  new PrimaryExchange(state, req, res, requestId, fwd.headers, body, route, job, startedAt).dispatch()
  if (job !== null) job.dispatch()
}

function rejectSocket (socket: Duplex, Err: ErrorCtor): void {
  const err = new Err()
  const body = JSON.stringify({ error: httpReason(err.statusCode), code: err.code, message: err.message })
  socket.on('error', () => {})
  socket.end(`HTTP/1.1 ${err.statusCode} ${httpReason(err.statusCode)}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
}

/**
 * Creates the proxy listener (not yet listening). A plain node:http server rather than fastify: the
 * live path needs no router, no body parsing and no reply wrapper, and each of those costs throughput.
 * Node's parser already answers 400 to smuggling-shaped requests (CL with TE, duplicate CL, obs-fold,
 * bad chunked framing, bare LF) before they reach this code.
 */
export function createProxyServer (state: ProxyState, maxHeaderBytes: number, keepAliveTimeoutMs: number): Server {
  const server = createServer({ maxHeaderSize: maxHeaderBytes, noDelay: true, keepAliveTimeout: keepAliveTimeoutMs, requestTimeout: 0 }) as Server & { state: ProxyState }
  server.state = state
  server.on('request', onRequest)
  server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => rejectSocket(socket, PARITYGATE_ERR_UPGRADE_UNSUPPORTED))
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => rejectSocket(socket, PARITYGATE_ERR_METHOD_UNSUPPORTED))
  return server
}
