/*
 * Fuzzing the header handling with fast-check (issue 11, "Proof"): forwardRequestHeaders and forwardResponseHeaders
 * against a model of RFC 9110 §7.6.1 on random raw header lists (hop-by-hop names in any case, Connection naming
 * other fields, duplicates, obs-text and odd but legal bytes), then the same lists through a real proxy over sockets.
 *
 * Seeded and bounded: FUZZ_SEED and FUZZ_RUNS (a multiplier) replay or widen a run; fast-check prints the seed and
 * the counterexample's path on failure.
 */
import { test } from 'node:test'
import { deepStrictEqual, match, ok, strictEqual } from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import fc from 'fast-check'
import { forwardRequestHeaders, forwardResponseHeaders, type ForwardingOptions } from '../../src/proxy/headers.ts'
import { startProxy } from '../helpers/proxy.ts'
import { rawRequest } from '../helpers/raw.ts'
import { createRecordingUpstream, createTcpUpstream } from '../helpers/upstream.ts'
import { metric, metricOrZero } from '../mirror/helpers.ts'

const SEED = Number(process.env.FUZZ_SEED ?? 0x11f022)
const SCALE = Number(process.env.FUZZ_RUNS ?? 1)

function params (numRuns: number): fc.Parameters<unknown> {
  return { seed: SEED, numRuns: Math.max(1, Math.round(numRuns * SCALE)), includeErrorInReport: true }
}

const HOP_REQUEST = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authenticate', 'proxy-authorization', 'expect', 'http2-settings']
const HOP_RESPONSE = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authenticate', 'proxy-authorization', 'expect']
const FORWARDING = ['host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id', 'x-correlation-id', 'via', 'forwarded']
const END_TO_END = ['accept', 'cookie', 'authorization', 'content-type', 'x-foo', 'x-bar', 'x-baz', '__proto__', 'constructor', 'date', 'content-length']
const TCHAR = [..."!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"]
/** field-vchar and obs-text: every byte a field value may hold besides interior SP and HTAB (RFC 9110 §5.5). */
const VCHAR: string[] = []
for (let c = 0x21; c <= 0xff; c++) if (c !== 0x7f) VCHAR.push(String.fromCharCode(c))

type Pair = [string, string]

/** `name` with the letters whose bit is set in `bits` flipped to the other case. */
function recase (name: string, bits: number): string {
  let out = ''
  for (let i = 0; i < name.length; i++) out += (bits >>> (i % 31)) & 1 ? name[i].toUpperCase() : name[i].toLowerCase()
  return out
}

const nameArb = fc.tuple(fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOP_REQUEST) },
  { weight: 2, arbitrary: fc.constantFrom(...FORWARDING) },
  { weight: 3, arbitrary: fc.constantFrom(...END_TO_END) },
  { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom(...TCHAR), minLength: 1, maxLength: 10 }) }
), fc.nat()).map(([name, bits]) => recase(name, bits))

/** A legal field value: vchar/obs-text with interior spaces and tabs, no leading or trailing whitespace. */
const valueArb = fc.string({ unit: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...VCHAR) }, { weight: 1, arbitrary: fc.constantFrom(' ', '\t') }), maxLength: 12 })
  .map((v) => v.replace(/^[ \t]+|[ \t]+$/g, ''))

/** Random fields, then Connection fields naming some of them (in any case), `close`, `keep-alive` or others. */
const headerList: fc.Arbitrary<Pair[]> = fc.array(fc.tuple(nameArb, valueArb), { maxLength: 14 }).chain((pairs) => {
  const named = pairs.length === 0 ? [] : [fc.tuple(fc.constantFrom(...pairs.map(([n]) => n)), fc.nat()).map(([n, bits]) => recase(n, bits))]
  const token = fc.oneof(...named, fc.constantFrom('close', 'keep-alive', 'Close', 'Keep-Alive', 'x-foo', 'X-Forwarded-For', 'x-request-id', 'content-length'))
  const connection = fc.record({
    tokens: fc.array(token, { minLength: 1, maxLength: 4 }),
    sep: fc.constantFrom(', ', ',', ' , ', ',\t', ',,'),
    at: fc.nat(),
    bits: fc.nat()
  })
  return fc.array(connection, { maxLength: 2 }).map((conns) => {
    const out: Pair[] = pairs.map(([n, v]) => [n, v])
    for (const c of conns) out.splice(c.at % (out.length + 1), 0, [recase('connection', c.bits), c.tokens.join(c.sep)])
    return out
  })
})

/** The lowercased tokens the Connection fields name, besides close and keep-alive. */
function connectionNamed (pairs: Pair[]): Set<string> {
  const named = new Set<string>()
  for (const [n, v] of pairs) {
    if (n.toLowerCase() !== 'connection') continue
    for (const part of v.split(',')) {
      const token = part.trim().toLowerCase()
      if (token !== '' && token !== 'close' && token !== 'keep-alive') named.add(token)
    }
  }
  return named
}

interface ModelRequest { kept: Pair[], appended: Pair[], requestId: string | null }

/**
 * What the upstream should get, by the rules: hop-by-hop fields and those named by Connection dropped (but never
 * Host, which is for every recipient), the first Host only, client X-Forwarded-* values joined then appended to,
 * the first request id; every other field in order with its value untouched.
 */
function modelRequest (pairs: Pair[], remote: string | undefined, opts: ForwardingOptions): ModelRequest {
  const named = connectionNamed(pairs)
  named.delete('host')
  const kept: Pair[] = []
  const xf = new Map<string, string[]>([['x-forwarded-for', []], ['x-forwarded-proto', []], ['x-forwarded-host', []]])
  let host: string | null = null
  let requestId: string | null = null
  for (const [name, value] of pairs) {
    const lower = name.toLowerCase()
    if (HOP_REQUEST.includes(lower) || named.has(lower)) continue
    if (lower === 'host') {
      if (host !== null) continue
      host = value
      if (opts.host !== null) continue
    } else if (opts.xForwarded && xf.has(lower)) {
      xf.get(lower)?.push(value)
      continue
    } else if (lower === opts.requestIdHeader) {
      if (requestId !== null) continue
      requestId = value
    }
    kept.push([name, value])
  }
  const appended: Pair[] = []
  if (opts.host !== null) appended.push(['host', opts.host])
  if (opts.xForwarded) {
    const joined = (name: string, last: string | null): string[] => [...xf.get(name) ?? [], ...(last === null ? [] : [last])]
    appended.push(['x-forwarded-for', joined('x-forwarded-for', remote ?? 'unknown').join(', ')])
    appended.push(['x-forwarded-proto', joined('x-forwarded-proto', 'http').join(', ')])
    const hosts = joined('x-forwarded-host', host)
    if (hosts.length > 0) appended.push(['x-forwarded-host', hosts.join(', ')])
  }
  if (opts.via) appended.push(['via', '1.1 paritygate'])
  return { kept, appended, requestId }
}

function pairsOf (flat: string[]): Pair[] {
  const out: Pair[] = []
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i], flat[i + 1]])
  return out
}

const optionsArb: fc.Arbitrary<ForwardingOptions> = fc.record({
  requestIdHeader: fc.constantFrom('x-request-id', 'x-correlation-id'),
  host: fc.constantFrom(null, 'orders.internal'),
  xForwarded: fc.boolean(),
  via: fc.boolean()
})

test('forwardRequestHeaders should drop hop-by-hop and Connection-named fields, keep the rest in order, append X-Forwarded-*', () => {
  fc.assert(fc.property(headerList, optionsArb, fc.constantFrom('127.0.0.1', '::1', undefined), (pairs, opts, remote) => {
    const raw = pairs.flat()
    const frozen = [...raw]
    const out = forwardRequestHeaders(raw, remote, opts)
    deepStrictEqual(raw, frozen, 'the input is not modified')
    const model = modelRequest(pairs, remote, opts)
    const got = pairsOf(out.headers)
    deepStrictEqual(got, [...model.kept, ...model.appended])
    strictEqual(out.requestId, model.requestId)
    // The same, said without the model: nothing hop-by-hop, nothing the client named (bar what the proxy adds).
    const named = connectionNamed(pairs)
    const ours = new Set(['host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'via'])
    for (const [name] of got.slice(0, model.kept.length)) {
      const lower = name.toLowerCase()
      ok(!HOP_REQUEST.includes(lower), `hop-by-hop ${name} forwarded`)
      ok(!named.has(lower) || lower === 'host', `${name} forwarded though Connection names it`)
    }
    for (const [name] of got.slice(model.kept.length)) ok(ours.has(name), `${name} appended`)
    strictEqual(got.filter(([n]) => n.toLowerCase() === 'host').length, pairs.some(([n]) => n.toLowerCase() === 'host') || opts.host !== null ? 1 : 0)
  }), params(2000))
})

interface ModelResponse { headers: Pair[], contentLength: number }

function modelResponse (pairs: Pair[], via: boolean): ModelResponse {
  const named = connectionNamed(pairs)
  const headers: Pair[] = []
  let contentLength = -1
  for (const [name, value] of pairs) {
    const lower = name.toLowerCase()
    if (HOP_RESPONSE.includes(lower) || named.has(lower)) continue
    if (lower === 'content-length') contentLength = /^\d{1,15}$/.test(value) ? Number(value) : -1
    headers.push([name, value])
  }
  if (via) headers.push(['via', '1.1 paritygate'])
  return { headers, contentLength }
}

test('forwardResponseHeaders should drop hop-by-hop and Connection-named fields and keep every other byte and order', () => {
  const withLength = fc.tuple(headerList, fc.constantFrom('0', '2', '123456789012345', '1234567890123456', '-1', '1e3', ' 7'), fc.nat())
    .map(([pairs, cl, at]): Pair[] => { const out = [...pairs]; out.splice(at % (out.length + 1), 0, ['Content-Length', cl]); return out })
  fc.assert(fc.property(fc.oneof(headerList, withLength), fc.boolean(), (pairs, via) => {
    const raw = pairs.flat().map((s) => Buffer.from(s, 'latin1'))
    const out = forwardResponseHeaders(raw, via)
    const model = modelResponse(pairs, via)
    deepStrictEqual(pairsOf(out.headers), model.headers)
    strictEqual(out.contentLength, model.contentLength)
    for (const [name, value] of pairsOf(out.headers).slice(0, via ? -1 : undefined)) {
      ok(!HOP_RESPONSE.includes(name.toLowerCase()), `hop-by-hop ${name} forwarded`)
      ok(!connectionNamed(pairs).has(name.toLowerCase()), `${name} forwarded though Connection names it`)
      ok(Buffer.from(value, 'latin1').toString('latin1') === value, 'values stay latin1')
    }
  }), params(2000))
})

// Through a real proxy over sockets.

interface RawResponse { status: number, headers: Pair[], body: Buffer }

/** Reads one HTTP/1.1 response (Content-Length framed) from the socket; rejects after `ms`. */
async function readResponse (socket: Socket, ms = 5000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0)
    const timer = setTimeout(() => done(new Error(`no complete response within ${ms} ms: ${JSON.stringify(buf.toString('latin1'))}`)), ms)
    function done (err: Error | null, res?: RawResponse): void {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('close', onClose)
      if (err !== null) reject(err)
      else resolve(res as RawResponse)
    }
    function onClose (): void { done(new Error(`connection closed after ${JSON.stringify(buf.toString('latin1'))}`)) }
    function onData (chunk: Buffer): void {
      buf = Buffer.concat([buf, chunk])
      const end = buf.indexOf('\r\n\r\n')
      if (end < 0) return
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n')
      const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(lines[0])?.[1])
      const headers: Pair[] = lines.slice(1).map((line) => {
        const colon = line.indexOf(':')
        return [line.slice(0, colon), line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '')] // not trim(): it would strip obs-text 0xA0
      })
      const length = Number(headers.find(([n]) => n.toLowerCase() === 'content-length')?.[1] ?? NaN)
      if (!Number.isInteger(length)) { done(new Error(`response without Content-Length: ${lines.join(' | ')}`)); return }
      if (buf.length < end + 4 + length) return
      done(null, { status, headers, body: buf.subarray(end + 4, end + 4 + length) })
    }
    socket.on('data', onData)
    socket.on('close', onClose)
  })
}

async function exchange (port: number, head: string): Promise<RawResponse> {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  try {
    const response = readResponse(socket)
    socket.write(Buffer.from(head, 'latin1'))
    return await response
  } finally {
    socket.destroy()
  }
}

/**
 * A request a client may legally send: one Host, no body framing (no Content-Length or Transfer-Encoding), no
 * Expect (Node answers it itself) and no upgrade (answered 501 on purpose; test/proxy/smuggling.test.ts).
 */
const clientRequest = fc.tuple(headerList, fc.constantFrom('app.example', 'a:8080', '[::1]:9', 'x'), fc.nat(), fc.nat()).map(([pairs, host, at, bits]) => {
  const out: Pair[] = pairs.filter(([n]) => !['host', 'content-length', 'transfer-encoding', 'expect'].includes(n.toLowerCase()))
    .map(([n, v]): Pair => n.toLowerCase() === 'connection' ? [n, v.split(',').filter((t) => t.trim().toLowerCase() !== 'upgrade').join(',')] : [n, v])
  out.splice(at % (out.length + 1), 0, [recase('host', bits), host])
  return out
})

test('a real proxy should forward random legal request headers exactly as the model says, and never answer 5xx', async (t) => {
  const upstream = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: upstream.url } })
  const opts: ForwardingOptions = { requestIdHeader: 'x-request-id', host: null, xForwarded: true, via: false }
  let n = 0
  await fc.assert(fc.asyncProperty(clientRequest, async (pairs) => {
    const path = `/fuzz/${n++}`
    const res = await exchange(proxy.port, `GET ${path} HTTP/1.1\r\n${pairs.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`)
    strictEqual(res.status, 200, `answered ${res.status}: ${res.body.toString()}`)
    const received = upstream.received.at(-1)
    strictEqual(received?.url, path)
    const model = modelRequest(pairs, '127.0.0.1', opts)
    const host = model.kept.find(([k]) => k.toLowerCase() === 'host') as Pair
    // undici writes Host (lowercased) first, then its own Connection, then the rest in order.
    const expected: Pair[] = [['host', host[1]], ['connection', 'keep-alive'], ...model.kept.filter((p) => p !== host), ...model.appended]
    const got = pairsOf(received.rawHeaders)
    if (model.requestId === null) {
      const last = got.pop() as Pair
      strictEqual(last[0], 'x-request-id')
      match(last[1], /^[0-9a-f-]{36}$/)
    }
    deepStrictEqual(got, expected)
  }), params(100))
  strictEqual(await metricOrZero(proxy, 'paritygate_requests_total{target="primary",route="",method="GET",status="error"}'), 0)
})

/** Response fields an upstream may legally send, without framing fields of its own and without Date (Node adds one). */
const upstreamResponse = headerList.map((pairs) => pairs
  .filter(([n]) => !['content-length', 'transfer-encoding', 'date'].includes(n.toLowerCase()))
  .map(([n, v]): Pair => n.toLowerCase() === 'connection' ? [n, v.split(',').filter((tok) => !['content-length', 'transfer-encoding'].includes(tok.trim().toLowerCase())).join(',')] : [n, v]))

test('a real proxy should relay random legal response headers exactly as the model says, and never answer 5xx', async (t) => {
  let current: Pair[] = []
  const upstream = await createTcpUpstream(t, (socket) => {
    let pending = ''
    socket.on('data', (d: Buffer) => {
      pending += d.toString('latin1')
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        pending = pending.slice(end + 4)
        socket.write(Buffer.from(`HTTP/1.1 200 OK\r\n${current.map(([k, v]) => `${k}: ${v}\r\n`).join('')}Content-Length: 2\r\n\r\nok`, 'latin1'))
      }
    })
  })
  const proxy = await startProxy(t, { primary: { url: upstream.url }, proxy: { via: true } })
  await fc.assert(fc.asyncProperty(upstreamResponse, async (pairs) => {
    current = pairs
    const res = await exchange(proxy.port, 'GET /r HTTP/1.1\r\nHost: a\r\n\r\n')
    strictEqual(res.status, 200, `answered ${res.status}: ${res.body.toString()}`)
    strictEqual(res.body.toString(), 'ok')
    const model = modelResponse([...pairs, ['Content-Length', '2']], true)
    // Node adds its own Date, Connection and Keep-Alive after the fields it was given.
    deepStrictEqual(res.headers.filter(([n]) => !['date', 'connection', 'keep-alive'].includes(n.toLowerCase())), model.headers)
  }), params(100))
})

// Regressions found by the fuzzing above.

test('a request with two Host fields should get 400 (RFC 9112 §3.2), reach neither upstream, and never be charged to them as a 502', async (t) => {
  const upstream = await createRecordingUpstream(t)
  const candidate = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: upstream.url }, candidate: { url: candidate.url }, mirror: { percent: 100 } })
  const res = await rawRequest(proxy.port, 'GET /two-hosts HTTP/1.1\r\nHost: first.example\r\nX-A: 1\r\nhost: second.example\r\nConnection: close\r\n\r\n')
  match(res, /^HTTP\/1\.1 400 /)
  ok(res.includes('PARITYGATE_ERR_BAD_HOST'))
  strictEqual(upstream.received.length, 0)
  strictEqual(candidate.received.length, 0)
  strictEqual(await metricOrZero(proxy, 'paritygate_requests_total{target="primary",route="GET /two-hosts",method="GET",status="error"}'), 0)
  strictEqual(await metric(proxy, 'paritygate_client_rejections_total{reason="bad_request"}'), 1)
  // forwardRequestHeaders itself keeps the first Host only.
  const fwd = forwardRequestHeaders(['Host', 'first.example', 'host', 'second.example'], '127.0.0.1', { requestIdHeader: 'x-request-id', host: null, xForwarded: false, via: false })
  strictEqual(fwd.hosts, 2)
  deepStrictEqual(fwd.headers, ['Host', 'first.example'])
})

test('Connection naming Host should not strip the Host the primary gets', async (t) => {
  const upstream = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: upstream.url } })
  const res = await rawRequest(proxy.port, 'GET /named-host HTTP/1.1\r\nHost: app.example\r\nConnection: Host, close\r\n\r\n')
  match(res, /^HTTP\/1\.1 200 /)
  strictEqual(upstream.received[0].headers.host, 'app.example')
  strictEqual(upstream.received[0].headers['x-forwarded-host'], 'app.example')
})

test('an Expect field in a response should not make the proxy re-encode the header block as UTF-8', async (t) => {
  const upstream = await createTcpUpstream(t, (socket) => socket.once('data', () => {
    socket.write(Buffer.from('HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename="caf\xe9.txt"\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok', 'latin1'))
  }))
  const proxy = await startProxy(t, { primary: { url: upstream.url } })
  const res = await exchange(proxy.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n')
  strictEqual(res.status, 200)
  deepStrictEqual(res.headers.find(([n]) => n === 'Content-Disposition'), ['Content-Disposition', 'attachment; filename="caf\xe9.txt"'])
  strictEqual(res.headers.find(([n]) => n.toLowerCase() === 'expect'), undefined)
})

test('response header bytes should reach the client unchanged when the body comes later', async (t) => {
  const upstream = await createTcpUpstream(t, (socket) => socket.once('data', () => {
    // Unknown length: the answer streams, and its headers leave on their own before the body.
    socket.write(Buffer.from('HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename="caf\xe9.txt"\r\nTransfer-Encoding: chunked\r\n\r\n', 'latin1'))
    setTimeout(() => socket.write('2\r\nok\r\n0\r\n\r\n'), 100)
  }))
  const proxy = await startProxy(t, { primary: { url: upstream.url } })
  const raw = await rawRequest(proxy.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', 2000)
  ok(raw.includes('\r\nContent-Disposition: attachment; filename="caf\xe9.txt"\r\n'), JSON.stringify(raw))
  ok(raw.endsWith('2\r\nok\r\n0\r\n\r\n'), JSON.stringify(raw))
})
