// Benchmark upstream: a keep-alive node:http server on 127.0.0.1 answering a fixed 1 KiB JSON body.
//
// Usage: node --import tsx bench/upstream.ts [port] [--delay-ms N]
//   port      PORT env or first positional argument; 0 (default) picks an ephemeral port
//   DELAY_MS  env or --delay-ms; answer after N ms (default 0), for slow-candidate mirror benchmarks
// Prints {"port":N} on stdout once listening. The bench pins it with `taskset -c 1`.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { type AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'

const BODY_BYTES = 1024

/** A JSON document of exactly `size` bytes, padded with a string field. */
function makeBody (size: number = BODY_BYTES): Buffer {
  const doc = { id: 42, service: 'paritygate-bench', ok: true, tags: ['a', 'b', 'c'], pad: '' }
  doc.pad = 'x'.repeat(size - Buffer.byteLength(JSON.stringify(doc)))
  const body = Buffer.from(JSON.stringify(doc))
  if (body.length !== size) throw new Error(`body is ${body.length} bytes, expected ${size}`)
  return body
}

const body = makeBody()
const headers = { 'content-type': 'application/json', 'content-length': String(body.length) }

function send (res: ServerResponse): void {
  res.writeHead(200, headers)
  res.end(body)
}

function main (): void {
  const { values, positionals } = parseArgs({
    options: { port: { type: 'string' }, 'delay-ms': { type: 'string' } },
    allowPositionals: true
  })
  const port = Number(values.port ?? positionals[0] ?? process.env.PORT ?? 0)
  const delayMs = Number(values['delay-ms'] ?? process.env.DELAY_MS ?? 0)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`invalid port: ${port}`)
  if (!Number.isFinite(delayMs) || delayMs < 0) throw new TypeError(`invalid DELAY_MS: ${delayMs}`)

  const handle = delayMs > 0
    ? function delayed (req: IncomingMessage, res: ServerResponse) { req.resume(); setTimeout(send, delayMs, res) }
    : function immediate (req: IncomingMessage, res: ServerResponse) { req.resume(); send(res) }

  const server = createServer(handle)
  // longer than any proxy's idle pool timeout, so the proxy never races a server-side close
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000
  server.listen(port, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n')
  })

  function close (): void {
    server.closeAllConnections()
    server.close()
  }
  process.once('SIGTERM', close)
  process.once('SIGINT', close)
}

main()
