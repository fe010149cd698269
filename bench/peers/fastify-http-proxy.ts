// Peer proxy for the macro benchmark: fastify 5 + @fastify/http-proxy with default options, logger off.
//
// Usage: UPSTREAM=http://127.0.0.1:N node --import tsx bench/peers/fastify-http-proxy.ts [port]
// Prints {"port":N} on stdout once listening. The bench pins it with `taskset -c 0`.
import fastify from 'fastify'
import proxy from '@fastify/http-proxy'

const upstream = process.env.UPSTREAM
if (upstream === undefined || !upstream.startsWith('http://127.0.0.1:')) {
  throw new TypeError('UPSTREAM must be http://127.0.0.1:<port>')
}
const port = Number(process.argv[2] ?? process.env.PORT ?? 0)

const app = fastify({ logger: false })
await app.register(proxy, { upstream })
await app.listen({ port, host: '127.0.0.1' })
const address = app.server.address()
process.stdout.write(JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : port }) + '\n')

function close (): void {
  app.close().catch(() => {})
}
process.once('SIGTERM', close)
process.once('SIGINT', close)
