// A flapping candidate for bench/soak.ts: every PHASE_MS it moves on, healthy → down (closed port) → slow (past the
// candidate timeout) → resetting mid-body → healthy…, for as long as it runs.
//
// Usage: node --import tsx bench/lib/flapping.ts    env PHASE_MS (default 10000), SLOW_MS (1500), PORT (0)
// Healthy, it answers what bench/upstream.ts answers (the same 1 KiB JSON body), so comparisons match. Down, its
// listener is closed and its connections destroyed (connections are refused). Slow, it answers after SLOW_MS.
// Resetting, it sends the headers and half the body, then resets the connection (RST).
// Prints {"port":N,"startedAt":epochMs} once listening; phase k runs from startedAt + k × PHASE_MS.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { type AddressInfo, type Socket } from 'node:net'
import { pathToFileURL } from 'node:url'

export const PHASES = ['healthy', 'down', 'slow', 'reset'] as const
export type Phase = typeof PHASES[number]

/** The phase `elapsedMs` after the candidate started. */
export function phaseAt (elapsedMs: number, phaseMs: number): Phase {
  return PHASES[Math.floor(Math.max(0, elapsedMs) / phaseMs) % PHASES.length]
}

/** bench/upstream.ts's default body: a JSON document of exactly 1 KiB. */
function makeBody (size = 1024): Buffer {
  const doc = { id: 42, service: 'paritygate-bench', ok: true, tags: ['a', 'b', 'c'], pad: '' }
  doc.pad = 'x'.repeat(size - Buffer.byteLength(JSON.stringify(doc)))
  return Buffer.from(JSON.stringify(doc))
}

function main (): void {
  const phaseMs = Number(process.env.PHASE_MS ?? 10_000)
  const slowMs = Number(process.env.SLOW_MS ?? 1500)
  const wanted = Number(process.env.PORT ?? 0)
  if (!(phaseMs >= 100) || !(slowMs >= 0)) throw new TypeError(`invalid PHASE_MS ${phaseMs} or SLOW_MS ${slowMs}`)
  const body = makeBody()
  const headers = { 'content-type': 'application/json', 'content-length': String(body.length) }
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  let phase: Phase = 'healthy'
  let port = wanted
  let stopping = false

  function handle (req: IncomingMessage, res: ServerResponse): void {
    req.resume()
    if (phase === 'slow') {
      const timer = setTimeout(() => {
        timers.delete(timer)
        if (!res.destroyed) res.writeHead(200, headers).end(body)
      }, slowMs)
      timers.add(timer)
      res.once('close', () => { clearTimeout(timer); timers.delete(timer) })
    } else if (phase === 'reset') {
      res.writeHead(200, headers)
      res.write(body.subarray(0, body.length >> 1), () => req.socket.resetAndDestroy())
    } else if (phase === 'down') {
      req.socket.destroy() // accepted just before the listener closed
    } else {
      res.writeHead(200, headers).end(body)
    }
  }

  const server = createServer(handle)
  server.keepAliveTimeout = 65_000
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })

  function listen (onListening?: () => void): void {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE' || stopping) throw err
      const retry = setTimeout(() => { timers.delete(retry); listen(onListening) }, 100)
      timers.add(retry)
    })
    server.listen(port, '127.0.0.1', () => {
      server.removeAllListeners('error')
      port = (server.address() as AddressInfo).port
      onListening?.()
    })
  }

  let startedAt = 0
  let next: NodeJS.Timeout | null = null
  function advance (k: number): void {
    const previous = phase
    phase = PHASES[k % PHASES.length]
    if (phase === 'down') {
      server.close()
      for (const socket of sockets) socket.destroy()
    } else if (previous === 'down') {
      listen()
    }
    next = setTimeout(advance, startedAt + (k + 1) * phaseMs - Date.now(), k + 1)
  }

  listen(() => {
    if (startedAt !== 0) return
    startedAt = Date.now()
    process.stdout.write(JSON.stringify({ port, startedAt }) + '\n')
    next = setTimeout(advance, phaseMs, 1)
  })

  function stop (): void {
    stopping = true
    if (next !== null) clearTimeout(next)
    for (const timer of timers) clearTimeout(timer)
    server.close()
    for (const socket of sockets) socket.destroy()
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main()
