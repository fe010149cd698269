/*
 * Client connections of the data port: pipelined exchanges that end with their socket, the
 * lingering close after an early answer, and the connection cap from the descriptor limit.
 */
import { readFileSync } from 'node:fs'
import { type Socket } from 'node:net'

/** After an answer that did not wait for the whole request body: how long the rest is read and dropped before the connection closes. */
const LINGER_MS = 2000
/** The exchanges whose answers wait behind another on a pipelined connection (they have no socket of their own yet). */
const kQueued = Symbol('paritygate.proxy.queued')
const kLingering = Symbol('paritygate.proxy.lingering')

/** What a queued exchange must offer: ending when its client leaves. */
export interface ClientBound { onClientClose: () => void }

type TrackedSocket = Socket & { [kQueued]?: Set<ClientBound>, [kLingering]?: boolean }

/**
 * Closes a connection after an answer that did not wait for the whole request body (RFC 9112 §9.6):
 * our side ends first, and what the client still sends is read and dropped for LINGER_MS, so that
 * its kernel does not answer our answer with a reset before the client has read it.
 */
export function lingeringClose (this: Socket): void {
  const socket = this as TrackedSocket
  if (socket[kLingering] === true) return
  socket[kLingering] = true
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
 * A pipelined request whose answer waits behind another's has no socket yet, and Node never tells
 * its response that the client left: the socket's close ends it (one listener per connection).
 */
export function trackQueued (socket: Socket, exchange: ClientBound): void {
  const tracked = socket as TrackedSocket
  let queued = tracked[kQueued]
  if (queued === undefined) {
    queued = tracked[kQueued] = new Set()
    tracked.once('close', onQueuedSocketClose)
  }
  queued.add(exchange)
}

/** The exchange ended (its response closed): the socket no longer has to end it. */
export function untrackQueued (socket: Socket | null, exchange: ClientBound): void {
  (socket as TrackedSocket | null)?.[kQueued]?.delete(exchange)
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
