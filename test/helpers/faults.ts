/*
 * Faults for the tests, on loopback only: upstreams that reset after N bytes, hold, drip, answer
 * before reading the request, or send interim answers; and clients that pipeline, upload slowly,
 * read slowly or say nothing. Everything is closed in `t.after` and bounded in time.
 */
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { type TestContext } from 'node:test'
import { createTcpUpstream } from './upstream.ts'

/** How a fault upstream answers one request, given the socket once the request head is in. */
export type FaultScript = (socket: Socket, head: string) => void

/**
 * A raw TCP upstream that reads each request head (up to the blank line) and hands the socket to
 * `script`. Request bodies are NOT read unless the script reads them: what a server that answers
 * early does. Counts connections.
 */
export async function createFaultUpstream (t: TestContext, script: FaultScript): Promise<{ url: string, port: number, connections: () => number, open: () => number }> {
  let open = 0
  const upstream = await createTcpUpstream(t, (socket) => {
    open++
    socket.once('close', () => { open-- })
    let head = ''
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1')
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      socket.off('data', onData)
      socket.pause()
      const rest = Buffer.from(head.slice(end + 4), 'latin1')
      if (rest.length > 0) socket.unshift(rest)
      script(socket, head.slice(0, end))
    }
    socket.on('data', onData)
  })
  return { url: upstream.url, port: upstream.port, connections: upstream.connections, open: () => open }
}

/** A JSON answer with Content-Length, as raw bytes. */
export function rawAnswer (body: string | Buffer, status = 200, extra = ''): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body
  return Buffer.concat([Buffer.from(`HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\ncontent-length: ${b.length}\r\n${extra}\r\n`, 'latin1'), b])
}

/** Fault scripts. */
export const faults = {
  /** answers at once and never reads the request body */
  earlyAnswer: (body = '{"early":true}'): FaultScript => (socket) => { socket.write(rawAnswer(body)) },
  /** says nothing */
  hold: (): FaultScript => () => {},
  /** sends `bytes` of a larger answer, then resets the connection */
  resetAfter: (bytes: number, total = bytes * 2): FaultScript => (socket) => {
    socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${total}\r\n\r\n`, 'latin1'), Buffer.alloc(bytes, 97)]), () => socket.resetAndDestroy())
  },
  /** drips one byte every `everyMs` of a `total`-byte answer (stops when the socket closes) */
  drip: (total: number, everyMs: number): FaultScript => (socket) => {
    socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${total}\r\n\r\n`)
    let sent = 0
    const timer = setInterval(() => {
      if (socket.destroyed || ++sent > total) { clearInterval(timer); return }
      socket.write('a')
    }, everyMs)
    socket.once('close', () => clearInterval(timer))
  },
  /** an unsolicited interim answer (`100 Continue`, `103 Early Hints`) before the final one, which closes the connection */
  interim: (status: number, body = '{"ok":true}'): FaultScript => (socket) => {
    socket.write(`HTTP/1.1 ${status} Interim\r\n\r\n`)
    setTimeout(() => { if (!socket.destroyed) socket.end(rawAnswer(body, 200, 'connection: close\r\n')) }, 20)
  }
}

/** A raw client socket to `port`, errors swallowed, destroyed in `t.after`. */
export async function rawClient (t: TestContext, port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  t.after(() => socket.destroy())
  await once(socket, 'connect')
  return socket
}

/** Resolves when `socket` closes, or with false after `ms`. */
export async function closedWithin (socket: Socket, ms: number): Promise<boolean> {
  if (socket.destroyed || socket.readyState === 'closed') return true
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    socket.once('close', () => { clearTimeout(timer); resolve(true) })
  })
}

/** Everything `socket` receives until it closes or `ms` pass. */
export async function readAll (socket: Socket, ms: number): Promise<string> {
  let out = ''
  socket.on('data', (d: Buffer) => { out += d.toString('latin1') })
  await closedWithin(socket, ms)
  return out
}

/** Writes `total` bytes of body in `chunk`-byte pieces every `everyMs` until done or the socket closes. */
export function dripUpload (socket: Socket, total: number, chunk: number, everyMs: number): NodeJS.Timeout {
  let sent = 0
  const timer = setInterval(() => {
    if (socket.destroyed || sent >= total) { clearInterval(timer); return }
    const n = Math.min(chunk, total - sent)
    sent += n
    socket.write(Buffer.alloc(n, 98))
  }, everyMs)
  socket.once('close', () => clearInterval(timer))
  return timer
}
