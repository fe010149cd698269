/*
 * The connector of every upstream pool (primary, candidate, noise baseline): undici's own, with
 * one mend. RFC 9110 §15.2: a client must parse 1xx answers it did not ask for. undici destroys
 * the connection on a `100 Continue` (it never sends Expect, so it takes one as a broken server),
 * and the user got a 502 for an answer the primary was about to give. Here the connection drops
 * such an interim answer where a response starts; other 1xx answers undici already passes over.
 */
import { type Socket } from 'node:net'
import { buildConnector } from 'undici'

const kAwaiting = Symbol('paritygate.connector.awaitingStatus')
const kPending = Symbol('paritygate.connector.pending')
const EMPTY = Buffer.alloc(0)
/** `HTTP/1.1 100` or `HTTP/1.0 100`, the start of the only interim answer undici refuses */
const CONTINUE = /^HTTP\/1\.[01] 100[ \r]/

type WatchedSocket = Socket & { [kAwaiting]?: boolean, [kPending]?: Buffer | null }

/** True when a string undici writes is a request head (`METHOD target HTTP/1.1\r\n…`). */
function isRequestHead (chunk: unknown): boolean {
  if (typeof chunk !== 'string') return false
  const eol = chunk.indexOf('\r\n')
  return eol > 9 && chunk.startsWith(' HTTP/1.1', eol - 9)
}

/**
 * Takes `100 Continue` answers off the front of what a socket received after a request head went
 * out; null when more bytes are needed to tell (they are kept for the next read).
 */
export function stripContinue (socket: WatchedSocket, chunk: Buffer): Buffer {
  let buf = chunk
  const pending = socket[kPending]
  // Every upstream answer passes here: a status not starting with 1 (`HTTP/1.1 2…`) is told by one
  // byte, without a string or a regular expression.
  if (pending == null && chunk.length >= 13 && chunk[9] !== 0x31) {
    socket[kAwaiting] = false
    return chunk
  }
  if (pending != null) {
    buf = Buffer.concat([pending, chunk])
    socket[kPending] = null
  }
  let off = 0
  for (;;) {
    const head = buf.toString('latin1', off, Math.min(buf.length, off + 13))
    if (head.length < 13 && 'HTTP/1.1 100 '.startsWith(head.replace('HTTP/1.0', 'HTTP/1.1'))) {
      socket[kPending] = buf.subarray(off) // too short to tell yet
      return EMPTY
    }
    if (!CONTINUE.test(head)) {
      socket[kAwaiting] = false
      return off === 0 ? buf : buf.subarray(off)
    }
    const end = buf.indexOf('\r\n\r\n', off, 'latin1')
    if (end === -1) {
      if (buf.length - off > 16 * 1024) { socket[kAwaiting] = false; return buf.subarray(off) } // not an interim answer after all: let undici judge it
      socket[kPending] = buf.subarray(off)
      return EMPTY
    }
    off = end + 4
  }
}

/** Wraps one socket: request heads arm the check, reads strip `100 Continue` while it is armed. */
function watch (socket: WatchedSocket): void {
  socket[kAwaiting] = false
  socket[kPending] = null
  const write = socket.write
  const read = socket.read
  socket.write = function (this: WatchedSocket, chunk: unknown, ...rest: unknown[]): boolean {
    if (isRequestHead(chunk)) this[kAwaiting] = true
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest)
  } as Socket['write']
  socket.read = function (this: WatchedSocket, size?: number): Buffer | null {
    const chunk = read.call(this, size) as Buffer | null
    if (chunk === null || this[kAwaiting] !== true) return chunk
    return stripContinue(this, chunk)
  }
}

/**
 * undici's connector for `connectTimeoutMs`, with interim `100 Continue` answers dropped.
 * @param connectTimeoutMs the connect timeout (undici ignores the pool's own when `connect` is a function)
 */
export function upstreamConnector (connectTimeoutMs: number): buildConnector.connector {
  const connect = buildConnector({ timeout: connectTimeoutMs })
  return (options, callback) => connect(options, (...args) => {
    if (args[0] === null) watch(args[1] as WatchedSocket)
    callback(...args)
  })
}

/**
 * undici checks a response's Content-Length against its body even on a 204 or 304, which carry
 * no body whatever Content-Length says (RFC 9110 §8.6: a 304 may announce the representation's
 * length). True for that complaint: the answer is complete.
 */
export function completeWithoutBody (err: Error & { code?: string }, status: number): boolean {
  return err.code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' && (status === 204 || status === 304)
}
