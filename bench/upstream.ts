// Benchmark upstream: a keep-alive node:http server on 127.0.0.1 answering a fixed 1 KiB JSON body (and optionally a big one on /big).
//
// Usage: node --import tsx bench/upstream.ts [port] [--delay-ms N]
//   port       PORT env or first positional argument; 0 (default) picks an ephemeral port
//   DELAY_MS   env or --delay-ms; answer after N ms (default 0), for slow-candidate mirror benchmarks
//   BIG        env, `primary` or `candidate`: GET /big answers a JSON document of about BIG_BYTES (default
//              5,000,000) bytes, a list of rows; the candidate's differs from the primary's in 1 % of the rows
//              (every 100th row has another price). Every other path keeps the 1 KiB body.
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

/** One row of the big document; `candidate` changes the price of every 100th row. */
function row (i: number, variant: 'primary' | 'candidate'): string {
  const price = (i % 997) + 0.25 + (variant === 'candidate' && i % 100 === 7 ? 1 : 0)
  return JSON.stringify({ id: i, sku: `SKU-${String(i).padStart(7, '0')}`, name: `item ${i}`, price, qty: i % 50, active: i % 3 !== 0, tags: ['bench', `g${i % 16}`] })
}

/**
 * The /big document: as many rows as it takes the primary's to reach `bytes`, so that both variants have
 * the same rows (the candidate's may be a few bytes longer).
 */
export function makeBigBody (variant: 'primary' | 'candidate', bytes: number): Buffer {
  const rows: string[] = []
  let size = 0
  for (let i = 0; size < bytes; i++) {
    const primary = row(i, 'primary')
    size += primary.length + 1
    rows.push(variant === 'primary' ? primary : row(i, variant))
  }
  return Buffer.from(`{"version":1,"count":${rows.length},"rows":[${rows.join(',')}]}`)
}

const body = makeBody()
const headers = { 'content-type': 'application/json', 'content-length': String(body.length) }
const bigVariant = process.env.BIG
if (bigVariant !== undefined && bigVariant !== '' && bigVariant !== 'primary' && bigVariant !== 'candidate') {
  throw new TypeError(`BIG must be primary or candidate, got ${bigVariant}`)
}
const big = bigVariant === 'primary' || bigVariant === 'candidate' ? makeBigBody(bigVariant, Number(process.env.BIG_BYTES ?? 5_000_000)) : null
const bigHeaders = big === null ? null : { 'content-type': 'application/json', 'content-length': String(big.length) }

function send (res: ServerResponse, req: IncomingMessage): void {
  if (big !== null && bigHeaders !== null && req.url === '/big') {
    res.writeHead(200, bigHeaders)
    res.end(big)
    return
  }
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
    ? function delayed (req: IncomingMessage, res: ServerResponse) { req.resume(); setTimeout(send, delayMs, res, req) }
    : function immediate (req: IncomingMessage, res: ServerResponse) { req.resume(); send(res, req) }

  const server = createServer(handle)
  // longer than any proxy's idle pool timeout, so the proxy never races a server-side close
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000
  server.listen(port, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port, bigBytes: big?.length ?? 0 }) + '\n')
  })

  function close (): void {
    server.closeAllConnections()
    server.close()
  }
  process.once('SIGTERM', close)
  process.once('SIGINT', close)
}

main()
