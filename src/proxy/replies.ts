/* The proxy's own answers: the short JSON error body, and refusals written straight to a socket. */
import { STATUS_CODES, type ServerResponse } from 'node:http'
import { type Duplex } from 'node:stream'

export interface ErrorCtor { new (): Error & { code: string, statusCode: number } }

/** Writes the short JSON error body (docs/operations.md, "Errors"): `{error, code, message, requestId}`. */
export function sendError (res: ServerResponse, Err: ErrorCtor, requestId: string | null, close: boolean): void {
  const err = new Err()
  const body = JSON.stringify({ error: httpReason(err.statusCode), code: err.code, message: err.message, requestId })
  if (close) res.shouldKeepAlive = false
  res.writeHead(err.statusCode, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

export function destroyResponse (res: ServerResponse): void {
  res.destroy()
}

/** The reason phrase of a status, as Node writes it in a status line. */
export function httpReason (status: number): string {
  return STATUS_CODES[status] ?? 'Error'
}

/** Answers an upgrade or CONNECT on its raw socket, then closes it. */
export function rejectSocket (socket: Duplex, Err: ErrorCtor): void {
  const err = new Err()
  const body = JSON.stringify({ error: httpReason(err.statusCode), code: err.code, message: err.message })
  socket.on('error', () => {})
  socket.end(`HTTP/1.1 ${err.statusCode} ${httpReason(err.statusCode)}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
}
