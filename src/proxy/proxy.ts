/* The live path: one node:http listener that streams every request to the primary and its answer back. */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { type Socket } from 'node:net'
import { type Duplex, type Readable } from 'node:stream'
import { performance } from 'node:perf_hooks'
import {
  PARITYGATE_ERR_BAD_FRAMING, PARITYGATE_ERR_BAD_HOST, PARITYGATE_ERR_BAD_REQUEST_TARGET, PARITYGATE_ERR_METHOD_UNSUPPORTED,
  PARITYGATE_ERR_TOO_MANY_HEADERS, PARITYGATE_ERR_UPGRADE_UNSUPPORTED
} from '../errors.ts'
import { type MirrorJob } from '../mirror/mirror-job.ts'
import { type ClientRejection } from '../stats/registry.ts'
import { trackQueued } from './connections.ts'
import { forwardRequestHeaders } from './headers.ts'
import { PrimaryExchange } from './primary-exchange.ts'
import { httpReason, rejectSocket, sendError } from './replies.ts'
import { type ProxyState } from './state.ts'

export { connectionCap, softFdLimit } from './connections.ts'
export type { ProxyState } from './state.ts'

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
  // The primary now; the candidate's request once this turn's I/O is done (sendLater): it never delays a live request.
  const exchange = new PrimaryExchange(state, req, res, requestId, fwd.headers, body, route, job, startedAt)
  if (res.socket === null) trackQueued(req.socket, exchange)
  exchange.dispatch()
  if (job !== null) job.controller.sendLater(job)
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
