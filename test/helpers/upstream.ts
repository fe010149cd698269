/* Real upstreams on ephemeral loopback ports, closed after each test. */
import { once } from 'node:events'
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerOptions, type ServerResponse } from 'node:http'
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net'
import { type TestContext } from 'node:test'

/** Starts a node:http server with `handler` on 127.0.0.1:0 and returns its URL; closed in `t.after`. */
export async function createUpstream (t: TestContext, handler: RequestListener, options: ServerOptions = {}, configure?: (server: Server) => void): Promise<string> {
  const server = createServer(options, handler)
  configure?.(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => {
    server.closeAllConnections()
    server.close()
  })
  const { port } = server.address() as AddressInfo
  return `http://127.0.0.1:${port}`
}

/** A raw TCP listener that counts connections and lets the test script the bytes; closed in `t.after`. */
export async function createTcpUpstream (t: TestContext, onConnection: (socket: Socket) => void = () => {}): Promise<{ url: string, port: number, connections: () => number, server: NetServer }> {
  let count = 0
  const sockets = new Set<Socket>()
  const server = createNetServer((socket) => {
    count++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    onConnection(socket)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => {
    for (const s of sockets) s.destroy()
    server.close()
  })
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, port, connections: () => count, server }
}

/** What an upstream saw of one request. */
export interface Received {
  method: string
  url: string
  headers: IncomingMessage['headers']
  rawHeaders: string[]
  body: Buffer
}

/** An upstream that records every request and answers with `respond` (default: 200, JSON echo of the method and url). */
export async function createRecordingUpstream (t: TestContext, respond?: (req: Received, res: ServerResponse) => void, options: ServerOptions = {}): Promise<{ url: string, received: Received[] }> {
  const received: Received[] = []
  const url = await createUpstream(t, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const r: Received = { method: req.method as string, url: req.url as string, headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks) }
      received.push(r)
      if (respond !== undefined) respond(r, res)
      else {
        const body = JSON.stringify({ method: r.method, url: r.url })
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
      }
    })
  }, options)
  return { url, received }
}

/**
 * Listens on a port that was given up a moment ago (an upstream brought back at the same address).
 * While it was free, an outgoing connection on this machine may have taken it as its own ephemeral
 * port for a moment (even a mirror connecting to it: TCP's self-connect): EADDRINUSE is retried.
 */
export async function listenAgain (server: NetServer, port: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      server.listen(port, '127.0.0.1')
      await once(server, 'listening')
      return
    } catch (err) {
      if ((err as { code?: string }).code !== 'EADDRINUSE' || attempt === 40) throw err
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}
