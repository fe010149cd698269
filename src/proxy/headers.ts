/* Hop-by-hop filtering (RFC 9110 §7.6.1) and forwarding headers, both ways, on raw header lists. */

/** Fields that describe one connection, never forwarded (RFC 9110 §7.6.1, plus Proxy-Connection and `expect`, which Node answers itself). */
const REQUEST_DROP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authenticate', 'proxy-authorization', 'expect', 'http2-settings'
])
/**
 * `expect` is a request field; in a response it only makes Node send the header block at once, encoded as UTF-8
 * (obs-text bytes such as 0xE9 reach the client as C3 A9).
 */
const RESPONSE_DROP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authenticate', 'proxy-authorization', 'expect'
])

/**
 * The tokens a Connection field names beyond `close` and `keep-alive` (those fields are dropped
 * anyway), lowercased; null for the common plain values, so that nothing is allocated for them.
 */
function extraConnectionTokens (value: string, into: Set<string> | null): Set<string> | null {
  const plain = value.length <= 10 ? value.toLowerCase() : ''
  if (plain === 'keep-alive' || plain === 'close') return into
  for (const part of value.split(',')) {
    const token = part.trim().toLowerCase()
    if (token !== '' && token !== 'close' && token !== 'keep-alive') (into ??= new Set()).add(token)
  }
  return into
}

/** Removes the fields that a Connection header named (a second pass, only when one did). */
function dropNamed (headers: string[], named: Set<string>): string[] {
  const out: string[] = []
  for (let i = 0; i < headers.length; i += 2) if (!named.has(headers[i].toLowerCase())) out.push(headers[i], headers[i + 1])
  return out
}

/** What the request builder learned while copying the client's headers. */
export class ForwardedRequest {
  headers: string[]
  requestId: string | null
  /** Host fields the client sent (RFC 9112 §3.2: more than one is a bad request) */
  hosts: number
  constructor () {
    this.headers = []
    this.requestId = null
    this.hosts = 0
  }
}

export interface ForwardingOptions {
  /** lowercased name of the request-id header */
  requestIdHeader: string
  /** replacement Host, or null to keep the client's */
  host: string | null
  xForwarded: boolean
  via: boolean
}

/**
 * Copies the client's raw headers for the upstream: hop-by-hop fields and those named by Connection
 * are dropped, X-Forwarded-For/-Proto/-Host appended to, Host kept or rewritten, the request id kept.
 * @param raw `req.rawHeaders`: name, value, name, value…
 */
export function forwardRequestHeaders (raw: string[], remoteAddress: string | undefined, opts: ForwardingOptions): ForwardedRequest {
  const out = new ForwardedRequest()
  let headers = out.headers
  let named: Set<string> | null = null
  let xff: string | null = null
  let xfp: string | null = null
  let xfh: string | null = null
  let host: string | null = null
  let sawHost = false
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]
    const lower = name.toLowerCase()
    const value = raw[i + 1]
    if (REQUEST_DROP.has(lower)) {
      if (lower === 'connection') named = extraConnectionTokens(value, named)
      continue
    }
    if (lower === 'host') {
      // The first Host only, as Node's req.headers.host: undici refuses a second one (the proxy answers 400 to such a request).
      out.hosts++
      if (sawHost) continue
      sawHost = true
      host = value
      if (opts.host !== null) continue
    } else if (opts.xForwarded && lower.startsWith('x-forwarded-')) {
      if (lower === 'x-forwarded-for') { xff = xff === null ? value : `${xff}, ${value}`; continue }
      if (lower === 'x-forwarded-proto') { xfp = xfp === null ? value : `${xfp}, ${value}`; continue }
      if (lower === 'x-forwarded-host') { xfh = xfh === null ? value : `${xfh}, ${value}`; continue }
    } else if (lower === opts.requestIdHeader) {
      if (out.requestId !== null) continue
      out.requestId = value
    }
    headers.push(name, value)
  }
  // Host is for every recipient, never a connection option: naming it must not send the primary's own address instead.
  if (named !== null && named.delete('host') && named.size === 0) named = null
  if (named !== null) {
    headers = out.headers = dropNamed(headers, named)
    if (out.requestId !== null && named.has(opts.requestIdHeader)) out.requestId = null
    if (named.has('x-forwarded-for')) xff = null
    if (named.has('x-forwarded-proto')) xfp = null
    if (named.has('x-forwarded-host')) xfh = null
  }
  if (opts.host !== null) headers.push('host', opts.host)
  if (opts.xForwarded) {
    const addr = remoteAddress ?? 'unknown'
    headers.push('x-forwarded-for', xff === null ? addr : `${xff}, ${addr}`)
    headers.push('x-forwarded-proto', xfp === null ? 'http' : `${xfp}, http`)
    if (host !== null) headers.push('x-forwarded-host', xfh === null ? host : `${xfh}, ${host}`)
    else if (xfh !== null) headers.push('x-forwarded-host', xfh)
  }
  if (opts.via) headers.push('via', '1.1 paritygate')
  return out
}

/** The upstream's response headers as the client will get them, and what the proxy needs of them. */
export class ForwardedResponse {
  headers: string[]
  /** the upstream's Content-Length, or -1 when absent */
  contentLength: number
  constructor () {
    this.headers = []
    this.contentLength = -1
  }
}

/**
 * Converts undici's raw response headers (Buffers, latin1) for `res.writeHead`, dropping hop-by-hop fields.
 * Values keep their bytes: latin1 in, latin1 out.
 */
export function forwardResponseHeaders (raw: Buffer[], via: boolean): ForwardedResponse {
  const out = new ForwardedResponse()
  let named: Set<string> | null = null
  const headers = out.headers
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toString('latin1')
    const lower = name.toLowerCase()
    if (RESPONSE_DROP.has(lower)) {
      if (lower === 'connection') named = extraConnectionTokens(raw[i + 1].toString('latin1'), named)
      continue
    }
    const value = raw[i + 1].toString('latin1')
    if (lower === 'content-length') {
      out.contentLength = /^\d{1,15}$/.test(value) ? Number(value) : -1
    }
    headers.push(name, value)
  }
  if (named !== null) {
    out.headers = dropNamed(headers, named)
    if (named.has('content-length')) out.contentLength = -1
  }
  if (via) out.headers.push('via', '1.1 paritygate')
  return out
}
