/* The demo's v1 and v2: the same orders service, with v2 differing in known ways. */
import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'

/** What v2 gets wrong (and right) compared with v1. */
export const DEMO_DIFFERENCES = [
  'GET /orders/:id  v2 rounds totals differently for every 25th order ($.total): a real regression',
  'GET /orders/:id  both versions stamp a fresh $.traceId: noise, learned from v1 answering twice',
  'GET /orders/:id  both versions stamp $.generatedAt a moment apart: equal under the route\'s timestamp rule (1 s tolerance)',
  'GET /orders/:id  v2 lists $.items in another order: equal under the route\'s unordered rule',
  'GET /users/:id   v2 writes numbers as 1.0 where v1 writes 1: equal, numbers compare by value'
]

function order (id: number, v2: boolean) {
  const items = [{ sku: `sku-${id % 7}`, qty: 1 + (id % 3) }, { sku: 'gift-wrap', qty: 1 }]
  const total = id * 13.37
  return {
    id,
    status: id % 5 === 0 ? 'shipped' : 'open',
    total: v2 && id % 25 === 0 ? Math.round(total * 10) / 10 : Math.round(total * 100) / 100,
    currency: 'EUR',
    items: v2 ? items.reverse() : items,
    generatedAt: new Date().toISOString(),
    traceId: randomUUID()
  }
}

/** Starts the demo service on 127.0.0.1 and an ephemeral port; `v2` makes it the candidate. */
export async function startDemoService (v2: boolean): Promise<{ server: Server, url: string }> {
  const server = createServer((req, res) => {
    const url = req.url ?? '/'
    let status = 200
    let text: string
    const m = /^\/orders\/(\d+)$/.exec(url)
    if (req.method === 'GET' && m !== null) text = JSON.stringify(order(Number(m[1]), v2))
    else if (req.method === 'GET' && url.startsWith('/users/')) text = `{"id":"${url.slice(7)}","name":"Ada","plan":"pro","seats":${v2 ? '1.0' : '1'}}`
    else if (req.method === 'POST' && url === '/orders') {
      status = 201
      text = JSON.stringify({ id: 1000 + Math.floor(Math.random() * 1000), status: 'open' })
    } else {
      status = 404
      text = '{"error":"not found"}'
    }
    req.resume()
    req.on('end', () => res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` }
}
