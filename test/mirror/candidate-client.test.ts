/*
 * The candidate's HTTP/1.1 client (src/mirror/candidate-client.ts) against upstreams that write
 * raw bytes: keep-alive reuse, answers split across reads, chunked bodies, interim answers,
 * bodiless answers, bodies read until close, every malformed answer it must refuse, aborts,
 * the wait for a connection, close and destroy, the server's keep-alive hint, and what it leaves to
 * undici.
 */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { createServer } from 'node:http'
import { type AddressInfo, type Socket } from 'node:net'
import { test, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool } from 'undici'
import { CandidateClient, type CandidateHandler } from '../../src/mirror/candidate-client.ts'
import { candidateErrorReason } from '../../src/mirror/errors.ts'
import { createTcpUpstream } from '../helpers/upstream.ts'

const SETTINGS = { connections: 4, connectTimeoutMs: 2_000, maxHeaderSize: 4096 }

/** What a handler heard, in order. */
class Recorder implements CandidateHandler {
  events: string[] = []
  status = 0
  headers: string[] = []
  body = ''
  error: (Error & { code?: string }) | null = null
  abort: ((err?: Error) => void) | null = null
  done: Promise<void>
  #resolve!: () => void
  onDataResult = true

  constructor () {
    this.done = new Promise((resolve) => { this.#resolve = resolve })
  }

  onConnect (abort: (err?: Error) => void): void { this.abort = abort; this.events.push('connect') }
  onHeaders (status: number, headers: Array<Buffer | string>): boolean {
    this.events.push(`headers ${status}`)
    this.status = status
    this.headers = headers.map(String)
    return true
  }

  onData (chunk: Buffer): boolean { this.body += chunk.toString('latin1'); return this.onDataResult }
  onComplete (): void { this.events.push('complete'); this.#resolve() }
  onError (err: Error): void { this.events.push('error'); this.error = err; this.#resolve() }

  get reason (): string { return this.error === null ? 'none' : candidateErrorReason(this.error) }
}

/**
 * A raw upstream that calls `answer` for every request head on every connection (several per
 * connection), with the request's index over the whole upstream.
 */
async function scripted (t: TestContext, answer: (socket: Socket, head: string, index: number) => void): Promise<{ url: string, connections: () => number, heads: string[] }> {
  const heads: string[] = []
  const up = await createTcpUpstream(t, (socket) => {
    let buf = ''
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1')
      for (let end = buf.indexOf('\r\n\r\n'); end !== -1; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end)
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0)
        if (buf.length < end + 4 + length) return // the body is still coming
        buf = buf.slice(end + 4 + length)
        heads.push(head)
        answer(socket, head, heads.length - 1)
      }
    })
  })
  return { url: up.url, connections: up.connections, heads }
}

function client (t: TestContext, url: string, settings = SETTINGS): CandidateClient {
  const c = new CandidateClient(url, settings, new Pool(url, { connections: 1 }))
  t.after(async () => { await c.destroy() })
  return c
}

async function get (c: CandidateClient, path = '/a', headers: string[] = ['x-id', '1'], method = 'GET'): Promise<Recorder> {
  const r = new Recorder()
  c.dispatch({ path, method, headers }, r)
  await r.done
  return r
}

/** Writes the bytes one piece at a time, a turn apart, so that the client reads them split. */
async function dribble (socket: Socket, text: string, piece: number): Promise<void> {
  for (let i = 0; i < text.length; i += piece) {
    socket.write(Buffer.from(text.slice(i, i + piece), 'latin1'))
    await sleep(1)
  }
}

test('keeps one connection alive for answers one after another, with the head it was given', async (t) => {
  const up = await scripted(t, (s, _h, i) => s.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 7\r\n\r\n{"i":${i}}`))
  const c = client(t, up.url)
  for (let i = 0; i < 3; i++) {
    const r = await get(c, `/a?i=${i}`)
    deepStrictEqual(r.events, ['connect', 'headers 200', 'complete'])
    strictEqual(r.body, `{"i":${i}}`)
    deepStrictEqual(r.headers, ['content-type', 'application/json', 'content-length', '7'])
  }
  strictEqual(up.connections(), 1)
  const head = up.heads[2].split('\r\n')
  strictEqual(head[0], 'GET /a?i=2 HTTP/1.1')
  ok(head.includes('x-id: 1') && head.includes(`host: ${new URL(up.url).host}`) && head.includes('connection: keep-alive'), up.heads[2])
  // a Host of the caller's own is kept, not doubled
  await get(c, '/h', ['Host', 'candidate.example'])
  deepStrictEqual(up.heads[3].split('\r\n').filter((l) => /^host:/i.test(l)), ['Host: candidate.example'])
})

test('reads answers split at every byte: head, length body, chunked body with extensions and trailers', async (t) => {
  const up = await scripted(t, (s, head) => {
    const text = head.startsWith('GET /chunked')
      ? 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4;ext=1\r\n{"a"\r\nB \r\n:[1,2,3,4]}\r\n0\r\nx-trailer: 1\r\n\r\n'
      : 'HTTP/1.1 201 Created\r\ncontent-length: 11\r\nx-a:  spaced value \r\n\r\n{"b":true}\n'
    dribble(s, text, 1).catch(() => {})
  })
  const c = client(t, up.url)
  const plain = await get(c, '/plain')
  strictEqual(plain.status, 201)
  strictEqual(plain.body, '{"b":true}\n')
  deepStrictEqual(plain.headers, ['content-length', '11', 'x-a', 'spaced value'])
  const chunked = await get(c, '/chunked')
  deepStrictEqual(chunked.events, ['connect', 'headers 200', 'complete'])
  strictEqual(chunked.body, '{"a":[1,2,3,4]}')
  strictEqual(up.connections(), 1, 'both answers on one connection')
})

test('passes over interim answers; refuses 101, which nothing asked for', async (t) => {
  const up = await scripted(t, (s, head) => {
    if (head.startsWith('GET /upgrade')) s.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\n\r\n')
    else s.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}')
  })
  const c = client(t, up.url)
  const r = await get(c, '/interim')
  deepStrictEqual(r.events, ['connect', 'headers 200', 'complete'])
  strictEqual(r.body, '{}')
  const u = await get(c, '/upgrade')
  strictEqual(u.reason, 'parse')
})

test('HEAD, 204 and 304 have no body whatever Content-Length says, and the connection is kept', async (t) => {
  const up = await scripted(t, (s, head) => {
    if (head.startsWith('HEAD')) s.write('HTTP/1.1 200 OK\r\ncontent-length: 500\r\n\r\n')
    else if (head.startsWith('GET /204')) s.write('HTTP/1.1 204 No Content\r\ncontent-length: 9\r\n\r\n')
    else s.write('HTTP/1.1 304 Not Modified\r\ncontent-length: 5000\r\n\r\n')
  })
  const c = client(t, up.url)
  for (const [method, path, status] of [['HEAD', '/h', 200], ['GET', '/204', 204], ['GET', '/304', 304]] as const) {
    const r = await get(c, path, [], method)
    deepStrictEqual(r.events, ['connect', `headers ${status}`, 'complete'], `${method} ${path}`)
    strictEqual(r.body, '')
  }
  strictEqual(up.connections(), 1)
})

test('an answer without length is read until the close; Connection: close and HTTP/1.0 are not reused', async (t) => {
  const up = await scripted(t, (s, head) => {
    if (head.startsWith('GET /eof')) s.end('HTTP/1.1 200 OK\r\n\r\n{"until":"close"}')
    else if (head.startsWith('GET /close')) s.write('HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}')
    else s.write('HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\n[]')
  })
  const c = client(t, up.url)
  const eof = await get(c, '/eof')
  deepStrictEqual(eof.events, ['connect', 'headers 200', 'complete'])
  strictEqual(eof.body, '{"until":"close"}')
  await get(c, '/close')
  const old = await get(c, '/old')
  strictEqual(old.body, '[]')
  await get(c, '/old')
  strictEqual(up.connections(), 4, 'each of those answers ended its connection')
})

test('refuses malformed answers, each as the reason undici would give, and closes their connection', async (t) => {
  const answers: Record<string, string> = {
    '/garbage': 'NOT HTTP AT ALL\r\n\r\n',
    '/status': 'HTTP/1.1 2x0 OK\r\n\r\n',
    '/version': 'HTTP/2.0 200 OK\r\n\r\n',
    '/header': 'HTTP/1.1 200 OK\r\nbad header\r\n\r\n',
    '/name': 'HTTP/1.1 200 OK\r\nba d: x\r\n\r\n',
    '/length': 'HTTP/1.1 200 OK\r\ncontent-length: abc\r\n\r\n',
    '/lengths': 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}',
    '/both': 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
    '/chunk': 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
    '/chunk-end': 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n',
    '/bare-lf': 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\n{}\r\n0\r\n\r\n'
  }
  const up = await scripted(t, (s, head) => s.write(answers[head.split(' ')[1]]))
  const c = client(t, up.url)
  for (const path of Object.keys(answers)) {
    const r = await get(c, path)
    strictEqual(r.reason, 'parse', `${path}: ${r.error?.message ?? 'no error'}`)
  }
  strictEqual(up.connections(), Object.keys(answers).length, 'no connection reused after a malformed answer')
})

test('headers over maxHeaderSize, a close mid-body and a refused connection: other, reset, connect', async (t) => {
  const up = await scripted(t, (s, head) => {
    if (head.startsWith('GET /big')) s.write(`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(5000)}\r\n\r\n`)
    else s.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"short"')
  })
  const c = client(t, up.url)
  const big = await get(c, '/big')
  strictEqual(big.error?.code, 'UND_ERR_HEADERS_OVERFLOW')
  const cut = await get(c, '/cut')
  strictEqual(cut.reason, 'reset')
  strictEqual(cut.body, '{"short"')
  const dead = await createTcpUpstream(t)
  dead.server.close()
  await sleep(20)
  const refused = await get(client(t, dead.url), '/x')
  strictEqual(refused.reason, 'connect')
})

test('bytes after an answer are nobody\'s: the connection is closed, the next request gets its own answer', async (t) => {
  const up = await scripted(t, (s, _h, i) => s.write(`HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n[${i}]HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n[9]`))
  const c = client(t, up.url)
  strictEqual((await get(c)).body, '[0]')
  strictEqual((await get(c)).body, '[1]')
  strictEqual(up.connections(), 2)
})

test('aborts: at connect, in the body, and while waiting for a connection', async (t) => {
  const up = await scripted(t, (s, head) => {
    if (head.startsWith('GET /slow')) setTimeout(() => s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}'), 100)
    else s.write(`HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n${'x'.repeat(10)}`)
  })
  const c = client(t, up.url, { ...SETTINGS, connections: 1 })
  const early = new Recorder()
  early.onConnect = function (abort) { this.events.push('connect'); abort(new Error('called off')) }
  c.dispatch({ path: '/a', method: 'GET', headers: [] }, early)
  await early.done
  deepStrictEqual(early.events, ['connect', 'error'])
  strictEqual(early.error?.message, 'called off')
  const mid = new Recorder()
  mid.onData = function () { this.abort?.(new Error('too large')); return false }
  c.dispatch({ path: '/a', method: 'GET', headers: [] }, mid)
  await mid.done
  deepStrictEqual(mid.events, ['connect', 'headers 200', 'error'])
  // a handler that stops reading without aborting ends its exchange the same way
  const stop = new Recorder()
  stop.onDataResult = false
  c.dispatch({ path: '/a', method: 'GET', headers: [] }, stop)
  await stop.done
  deepStrictEqual(stop.events, ['connect', 'headers 200', 'error'])
  // one connection: a request waits for it, and hears onConnect only when it is sent (as undici's do);
  // aborting it there leaves the connection to the next one
  const first = new Recorder()
  const waiting = new Recorder()
  waiting.onConnect = function (abort) { this.events.push('connect'); abort(new Error('not needed')) }
  const third = new Recorder()
  c.dispatch({ path: '/slow', method: 'GET', headers: [] }, first)
  c.dispatch({ path: '/a', method: 'GET', headers: [] }, waiting)
  c.dispatch({ path: '/a', method: 'GET', headers: [] }, third)
  strictEqual(waiting.events.length, 0, 'nothing heard while waiting')
  await third.done
  deepStrictEqual(first.events, ['connect', 'headers 200', 'complete'])
  deepStrictEqual(waiting.events, ['connect', 'error'])
  deepStrictEqual(third.events, ['connect', 'headers 200', 'complete'])
  strictEqual(third.body, 'x'.repeat(10))
  strictEqual(up.heads.filter((h) => h.startsWith('GET /a ')).length, 3, 'the requests aborted before they were sent never reached the upstream')
  strictEqual(up.connections(), 3, 'only the aborts in the body closed a connection')
})

test('a connection the upstream closed while idle is replaced', async (t) => {
  const up = await scripted(t, (s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}'))
  const c = client(t, up.url)
  for (let i = 0; i < 3; i++) {
    const r = await get(c)
    deepStrictEqual(r.events, ['connect', 'headers 200', 'complete'])
    await sleep(20) // the close reaches the client before the next request
  }
  strictEqual(up.connections(), 3)
})

test('leaves requests with a body, and heads with CR or LF, to undici', async (t) => {
  const up = await scripted(t, (s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}'))
  const c = client(t, up.url)
  const r = new Recorder()
  c.dispatch({ path: '/post', method: 'POST', headers: ['content-type', 'application/json'], body: '{"a":1}' }, r)
  await r.done
  strictEqual(r.status, 200)
  ok(up.heads.some((h) => h.startsWith('POST /post') && /content-length: 7/i.test(h)), 'undici sent it with its length')
  const injected = new Recorder()
  let threw = false
  try { c.dispatch({ path: '/x', method: 'GET', headers: ['x-a', 'b\r\nx-injected: 1'] }, injected) } catch { threw = true }
  if (!threw) await injected.done
  ok(threw || injected.error !== null, 'undici refuses the header')
  ok(!up.heads.some((h) => /x-injected/i.test(h)), 'nothing injected reached the upstream')
  // an absolute-form target is undici's to judge too (it sends it as it is)
  const absolute = new Recorder()
  client(t, up.url).dispatch({ path: `${up.url}/abs`, method: 'GET', headers: [] }, absolute)
  await absolute.done
  strictEqual(absolute.status, 200)
  ok(up.heads.some((h) => h.startsWith(`GET ${up.url}/abs HTTP/1.1`) && /\r\nhost: /.test(h)), up.heads.join('|'))
})

test('close waits for exchanges in progress; destroy ends them with an error', async (t) => {
  const up = await scripted(t, (s) => setTimeout(() => s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}'), 80))
  const c = client(t, up.url)
  const r = new Recorder()
  c.dispatch({ path: '/a', method: 'GET', headers: [] }, r)
  await sleep(10)
  await c.close()
  deepStrictEqual(r.events, ['connect', 'headers 200', 'complete'])
  const d = client(t, up.url)
  const s = new Recorder()
  d.dispatch({ path: '/a', method: 'GET', headers: [] }, s)
  await sleep(10)
  await d.destroy()
  await s.done
  deepStrictEqual(s.events, ['connect', 'error'])
})

test('a connection is not reused past the server\'s Keep-Alive hint (less a second): no reset charged to the candidate', async (t) => {
  // Node closes idle connections after keepAliveTimeout and says so: `Keep-Alive: timeout=2`.
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'))
  server.keepAliveTimeout = 2_000
  let connections = 0
  server.on('connection', () => { connections++ })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => { server.closeAllConnections(); server.close() })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const c = client(t, url)
  strictEqual((await get(c)).status, 200)
  strictEqual((await get(c)).status, 200)
  strictEqual(connections, 1, 'reused while young')
  await sleep(1_200) // past 2 s − 1 s, before the server's own close
  const late = await get(c)
  deepStrictEqual(late.events, ['connect', 'headers 200', 'complete'])
  strictEqual(connections, 2, 'a new connection rather than one about to close')
})
