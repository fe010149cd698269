/* A small demo service (v1): orders and users as JSON, to put the proxy in front of. */
import { createServer, type Server } from 'node:http'

function order (id: number) {
  return { id, status: id % 5 === 0 ? 'shipped' : 'open', total: Math.round(id * 13.37 * 100) / 100, currency: 'EUR', items: [{ sku: `sku-${id % 7}`, qty: 1 + (id % 3) }] }
}

/** Starts the demo primary on 127.0.0.1 and an ephemeral port. */
export async function startDemoPrimary (): Promise<{ server: Server, url: string }> {
  const server = createServer((req, res) => {
    const url = req.url ?? '/'
    let status = 200
    let body: unknown
    const m = /^\/orders\/(\d+)$/.exec(url)
    if (req.method === 'GET' && m !== null) body = order(Number(m[1]))
    else if (req.method === 'GET' && url.startsWith('/users/')) body = { id: url.slice(7), name: 'Ada', plan: 'pro' }
    else if (req.method === 'POST' && url === '/orders') {
      status = 201
      body = { id: 1000 + Math.floor(Math.random() * 1000), status: 'open' }
    } else if (url === '/health') body = { ok: true }
    else { status = 404; body = { error: 'not found' } }
    const text = JSON.stringify(body)
    req.resume()
    req.on('end', () => res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address() as { port: number }
  return { server, url: `http://127.0.0.1:${address.port}` }
}
