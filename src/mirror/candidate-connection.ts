/*
 * One keep-alive connection of the candidate client (candidate-client.ts) and the answer read on
 * it: 1xx interim answers passed over (101 refused: nothing was asked to upgrade); HEAD, 204 and
 * 304 without a body whatever Content-Length says; otherwise chunked, Content-Length or, without
 * either, until the connection closes (RFC 9112). A malformed status line, header, length or chunk
 * is a parse error (the connection is closed); headers beyond maxHeaderSize an overflow; a
 * connection closed before the answer's end a reset. Errors carry the codes undici gave for the
 * same faults, so mirror/errors.ts maps them to the same reasons.
 */
import { connect, type Socket } from 'node:net'
import { type CandidatePoolSettings } from './types.ts'

/** The part of undici's dispatch handler the mirror's jobs implement. */
export interface CandidateHandler {
  onConnect (abort: (err?: Error) => void): void
  onHeaders (status: number, headers: Array<Buffer | string>, resume: () => void, statusText: string): boolean
  onData (chunk: Buffer): boolean
  onComplete (trailers: string[] | null): void
  onError (err: Error): void
}

export interface CandidateRequest {
  path: string
  method: string
  headers: string[]
  body?: unknown
}

/** An error with the code undici would give for the same fault (mirror/errors.ts maps codes to reasons). */
export class ClientError extends Error {
  code: string
  constructor (code: string, message: string) {
    super(message)
    this.name = 'CandidateClientError'
    this.code = code
  }
}

/** What a connection needs of its pool. */
export interface ConnectionOwner {
  readonly settings: CandidatePoolSettings
  readonly hostname: string
  readonly port: number
  /** the exchange ended and the connection may carry another */
  release (c: Connection): void
  /** the connection closed */
  forget (c: Connection): void
}

const CRLF2 = Buffer.from('\r\n\r\n')
/** Idle connections older than this are closed (undici's keepAliveTimeout for this pool). */
const KEEP_ALIVE_MS = 4_000
/**
 * Taken off a server's `Keep-Alive: timeout=N` before trusting it (as undici's
 * keepAliveTimeoutThreshold): a connection the server is about to close must not carry a request,
 * or the candidate is charged a `reset` that was nobody's fault.
 */
const KEEP_ALIVE_MARGIN_MS = 1_000
/** The longest chunk-size line taken (size, extensions and CRLF). */
const MAX_CHUNK_LINE = 1024
/**
 * Every candidate connection reads into this one buffer (net's `onread`): no buffer is allocated
 * per read, as one is for a 'data' event. Each read is parsed whole before the next one lands
 * (its handler copies the body: CapturedResponse.append); bytes kept across reads are copied.
 */
const READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024)
const resumeNothing = (): void => {}

const enum Read { Head, Length, Chunked, UntilClose }
const enum Chunk { Size, Data, DataEnd, Trailers }

/** One keep-alive connection and the exchange on it, if any. */
export class Connection {
  client: ConnectionOwner
  socket: Socket
  handler: CandidateHandler | null
  method: string
  state: Read
  /** the head read so far (state Head), or a partial chunk-size or trailer line */
  pending: Buffer | null
  /** body bytes still expected (Length), or of the current chunk (Chunked) */
  remaining: number
  chunk: Chunk
  keepAlive: boolean
  /** how long this connection may stay idle and still be reused (the server's hint, less a margin) */
  keepAliveMs: number
  /** the current request's head is on its way */
  written: boolean
  idleSince: number
  error: Error | null
  closed: boolean

  constructor (client: ConnectionOwner) {
    this.client = client
    this.handler = null
    this.method = ''
    this.state = Read.Head
    this.pending = null
    this.remaining = 0
    this.chunk = Chunk.Size
    this.keepAlive = true
    this.keepAliveMs = KEEP_ALIVE_MS
    this.written = false
    this.idleSince = 0
    this.error = null
    this.closed = false
    const socket = this.socket = connect({
      port: client.port,
      host: client.hostname,
      onread: { buffer: READ_BUFFER, callback: (n: number, buf: Uint8Array) => { this.read((buf as Buffer).subarray(0, n)); return true } }
    })
    socket.setNoDelay(true)
    socket.setTimeout(client.settings.connectTimeoutMs, () => {
      this.fail(new ClientError('UND_ERR_CONNECT_TIMEOUT', `connect timed out after ${client.settings.connectTimeoutMs} ms`))
    })
    socket.once('connect', () => socket.setTimeout(0))
    socket.on('error', (err) => { this.error ??= err })
    socket.on('close', () => this.gone())
  }

  send (req: CandidateRequest, head: string, handler: CandidateHandler): void {
    this.handler = handler
    this.method = req.method
    this.state = Read.Head
    this.pending = null
    this.written = false
    handler.onConnect(this.abort)
    if (this.handler !== handler) return
    this.written = true
    this.socket.write(head, 'latin1')
  }

  /**
   * The handler's way to cut its exchange short: the connection goes with it once the request
   * was written (its answer may still come); before that, it serves the next request.
   */
  abort = (err?: Error): void => {
    const h = this.handler
    if (h === null) return
    this.handler = null
    if (this.written) this.socket.destroy()
    h.onError(err ?? new ClientError('UND_ERR_ABORTED', 'request aborted'))
    if (!this.written && !this.closed) this.client.release(this)
  }

  /** Idle too long to be reused at `now` (4 s, or the server's Keep-Alive hint less a margin). */
  expired (now: number): boolean {
    return now - this.idleSince >= this.keepAliveMs
  }

  /** Ends the exchange on a fault of the connection or of the answer: the connection is closed. */
  fail (err: Error): void {
    this.error ??= err
    const h = this.handler
    this.handler = null
    this.socket.destroy()
    h?.onError(err)
  }

  read (data: Buffer): void {
    while (data.length > 0) {
      const h = this.handler
      if (h === null) {
        // bytes nobody asked for (after an answer, or on an idle connection): not for the next request
        this.socket.destroy()
        return
      }
      switch (this.state) {
        case Read.Head: {
          const rest = this.readHead(h, data)
          if (rest === null) return
          data = rest
          break
        }
        case Read.Length: {
          const n = Math.min(this.remaining, data.length)
          this.remaining -= n
          if (!this.deliver(h, n === data.length ? data : data.subarray(0, n))) return
          data = data.subarray(n)
          if (this.remaining === 0) this.complete(h, data.length > 0)
          break
        }
        case Read.Chunked: {
          const rest = this.readChunked(h, data)
          if (rest === null) return
          data = rest
          break
        }
        case Read.UntilClose:
          this.deliver(h, data)
          return
      }
    }
  }

  /**
   * Body bytes to the handler; false when the exchange ended there. A handler that stops reading
   * without aborting (the mirror's never do) ends it all the same: this client does not pause.
   */
  deliver (h: CandidateHandler, chunk: Buffer): boolean {
    if (h.onData(chunk)) return this.handler === h
    if (this.handler === h) this.abort(new ClientError('UND_ERR_ABORTED', 'the handler stopped reading'))
    return false
  }

  /** The answer's head: interim answers passed over; the bytes after the head, or null (need more, or ended). */
  readHead (h: CandidateHandler, data: Buffer): Buffer | null {
    let buf = data
    let from = 0
    if (this.pending !== null) {
      from = Math.max(0, this.pending.length - 3)
      buf = Buffer.concat([this.pending, data])
      this.pending = null
    }
    const end = buf.indexOf(CRLF2, from)
    const max = this.client.settings.maxHeaderSize
    if (end === -1 || end > max) {
      if (buf.length > max) this.fail(new ClientError('UND_ERR_HEADERS_OVERFLOW', 'the answer\'s headers are too large'))
      else this.pending = buf === data ? Buffer.from(buf) : buf // the read buffer is the next read's
      return null
    }
    const text = buf.toString('latin1', 0, end)
    const rest = buf.subarray(end + 4)
    const lines = text.split('\r\n')
    const status = statusOf(lines[0])
    if (status < 0 || status === 101) {
      this.fail(new ClientError('HPE_INVALID_STATUS', 'invalid status line'))
      return null
    }
    const headers: string[] = []
    let length = -1
    let chunked = false
    let coded = false
    let keepAlive = lines[0].charCodeAt(7) === 0x31 // HTTP/1.1 keeps the connection unless told
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]
      const colon = line.indexOf(':')
      if (colon <= 0 || !isToken(line, colon)) {
        this.fail(new ClientError('HPE_INVALID_HEADER_TOKEN', 'invalid header line'))
        return null
      }
      const name = line.slice(0, colon)
      const value = line.slice(colon + 1).trim()
      headers.push(name, value)
      const n = name.length
      if (n !== 10 && n !== 14 && n !== 17) continue // connection, keep-alive; content-length; transfer-encoding
      const lower = name.toLowerCase()
      if (lower === 'content-length') {
        if (!/^\d{1,15}$/.test(value) || (length !== -1 && length !== Number(value))) {
          this.fail(new ClientError('HPE_INVALID_CONTENT_LENGTH', 'invalid Content-Length'))
          return null
        }
        length = Number(value)
      } else if (lower === 'transfer-encoding') {
        coded = true
        chunked = /(?:^|,)\s*chunked\s*$/i.test(value)
      } else if (lower === 'connection') {
        const v = value.toLowerCase()
        if (v.includes('close')) keepAlive = false
        else if (v.includes('keep-alive')) keepAlive = true
      } else if (lower === 'keep-alive') {
        const hint = /(?:^|[,;\s])timeout\s*=\s*(\d+)/i.exec(value)
        if (hint !== null) this.keepAliveMs = Math.min(KEEP_ALIVE_MS, Number(hint[1]) * 1000 - KEEP_ALIVE_MARGIN_MS)
      }
    }
    if (status < 200) return rest // interim: the real answer follows
    if (coded && length !== -1) {
      // RFC 9112 §6.3: both is a smuggling attempt or a broken server
      this.fail(new ClientError('HPE_UNEXPECTED_CONTENT_LENGTH', 'Content-Length with Transfer-Encoding'))
      return null
    }
    this.keepAlive = keepAlive
    if (!h.onHeaders(status, headers, resumeNothing, reasonOf(lines[0])) || this.handler !== h) return null
    if (this.method === 'HEAD' || status === 204 || status === 304) {
      this.complete(h, rest.length > 0)
      return rest
    }
    if (chunked) {
      this.state = Read.Chunked
      this.chunk = Chunk.Size
    } else if (coded || length === -1) {
      this.state = Read.UntilClose
      this.keepAlive = false
    } else {
      this.state = Read.Length
      this.remaining = length
      if (length === 0) this.complete(h, rest.length > 0)
    }
    return rest
  }

  /** Chunked body bytes; what follows the answer, or null (need more, or ended). */
  readChunked (h: CandidateHandler, data: Buffer): Buffer | null {
    while (data.length > 0) {
      if (this.chunk === Chunk.Data) {
        const n = Math.min(this.remaining, data.length)
        this.remaining -= n
        if (!this.deliver(h, n === data.length ? data : data.subarray(0, n))) return null
        data = data.subarray(n)
        if (this.remaining === 0) this.chunk = Chunk.DataEnd
        continue
      }
      // a line: chunk size, the CRLF after a chunk's data, or a trailer
      let buf = data
      if (this.pending !== null) {
        buf = Buffer.concat([this.pending, data])
        this.pending = null
      }
      const eol = buf.indexOf(0x0a)
      if (eol === -1) {
        if (buf.length > MAX_CHUNK_LINE) { this.fail(new ClientError('HPE_CHUNK_EXTENSIONS_OVERFLOW', 'chunk line too long')); return null }
        this.pending = buf === data ? Buffer.from(buf) : buf // the read buffer is the next read's
        return null
      }
      if (eol === 0 || buf[eol - 1] !== 0x0d) { this.fail(new ClientError('HPE_STRICT', 'a chunk line without CRLF')); return null }
      const line = buf.toString('latin1', 0, eol - 1)
      data = buf.subarray(eol + 1)
      if (this.chunk === Chunk.DataEnd) {
        if (line !== '') { this.fail(new ClientError('HPE_STRICT', 'no CRLF after chunk data')); return null }
        this.chunk = Chunk.Size
      } else if (this.chunk === Chunk.Size) {
        const size = /^([0-9a-fA-F]{1,12})[ \t]*(?:;.*)?$/.exec(line)
        if (size === null) { this.fail(new ClientError('HPE_INVALID_CHUNK_SIZE', 'invalid chunk size')); return null }
        this.remaining = parseInt(size[1], 16)
        this.chunk = this.remaining === 0 ? Chunk.Trailers : Chunk.Data
      } else if (line === '') {
        this.complete(h, data.length > 0)
        return data
      }
      // a trailer line: passed over (the comparison looks at headers, not trailers)
    }
    return null
  }

  /**
   * The answer is whole: the handler hears of it, the connection goes back to the pool, or is
   * closed when it may not be reused or bytes came after the answer (nobody asked for them; the
   * next request must not take them for its answer).
   */
  complete (h: CandidateHandler, more: boolean): void {
    this.handler = null
    this.state = Read.Head
    this.pending = null
    if (more) this.keepAlive = false
    if (!this.keepAlive) this.socket.destroy()
    h.onComplete(null)
    if (this.keepAlive && !this.closed) this.client.release(this)
  }

  /** The socket closed: an answer read until the close is whole; any other exchange on it failed. */
  gone (): void {
    if (this.closed) return
    this.closed = true
    const h = this.handler
    if (h !== null && this.state === Read.UntilClose && this.error === null) {
      this.handler = null
      h.onComplete(null)
    } else if (h !== null) {
      this.handler = null
      h.onError(this.error ?? new ClientError('UND_ERR_SOCKET', 'other side closed'))
    }
    this.client.forget(this)
  }
}

/** The status of `HTTP/1.x NNN reason`, or -1. */
function statusOf (line: string): number {
  if (line.length < 12 || !line.startsWith('HTTP/1.') || line.charCodeAt(8) !== 0x20 || (line.length > 12 && line.charCodeAt(12) !== 0x20)) return -1
  const v = line.charCodeAt(7)
  if (v !== 0x30 && v !== 0x31) return -1
  let status = 0
  for (let i = 9; i < 12; i++) {
    const d = line.charCodeAt(i) - 0x30
    if (d < 0 || d > 9) return -1
    status = status * 10 + d
  }
  return status >= 100 ? status : -1
}

function reasonOf (line: string): string {
  return line.length > 13 ? line.slice(13) : ''
}

/** Whether line[0, end) is a header name (an RFC 9110 token). */
function isToken (line: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const c = line.charCodeAt(i)
    if (c <= 0x20 || c >= 0x7f || c === 0x3a || c === 0x22 || c === 0x28 || c === 0x29 || c === 0x2c || c === 0x2f ||
      (c >= 0x3b && c <= 0x40) || (c >= 0x5b && c <= 0x5d) || c === 0x7b || c === 0x7d) return false
  }
  return true
}
