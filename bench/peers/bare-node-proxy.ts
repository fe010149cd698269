// The barest proxy node:http and undici make, as a ceiling for paritygate's own cost (issue 16): one undici Pool,
// a dispatch handler streaming the answer back, hop-by-hop headers dropped, nothing else (no routes, limits,
// metrics, deadlines or mirror). Not a proxy to use: a yardstick.
//
// Usage: UPSTREAM=http://127.0.0.1:N node --import tsx bench/peers/bare-node-proxy.ts [port]
// Prints {"port":N} on stdout once listening. The bench pins it with `taskset -c 0`.
import { createServer } from 'node:http'
import { type AddressInfo } from 'node:net'
import { Pool } from 'undici'

const upstream = process.env.UPSTREAM
if (upstream === undefined || !upstream.startsWith('http://127.0.0.1:')) {
  throw new TypeError('UPSTREAM must be http://127.0.0.1:<port>')
}
const port = Number(process.argv[2] ?? process.env.PORT ?? 0)
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection'])
const pool = new Pool(upstream, { connections: 128 })

const server = createServer((req, res) => {
  pool.dispatch({ path: req.url ?? '/', method: req.method as 'GET', headers: req.headers.host === undefined ? {} : { host: req.headers.host } }, {
    onConnect () {},
    onHeaders (status, raw) {
      const headers: string[] = []
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i].toString('latin1')
        if (!HOP.has(name.toLowerCase())) headers.push(name, raw[i + 1].toString('latin1'))
      }
      res.writeHead(status, headers)
      return true
    },
    onData (chunk) { return res.write(chunk) },
    onComplete () { res.end() },
    onError (err) { res.destroy(err) }
  })
})
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n')
})

function close (): void {
  server.close()
  pool.close().catch(() => {})
}
process.once('SIGTERM', close)
process.once('SIGINT', close)
