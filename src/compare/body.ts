/*
 * Turns one response body into something comparable: decoded content-coding (capped),
 * classified by media type, and either a canonical JSON tree or a sha256 of the bytes.
 *
 * Policies:
 * - Content-Encoding (RFC 9110 §8.4): gzip / x-gzip, deflate (zlib, or raw deflate as some
 *   servers send), br and identity; decoded in reverse order of application; more than 2
 *   codings -> skipped `too_many_encodings`; any other coding -> skipped `unsupported_encoding`.
 * - The decoded size is capped through zlib's `maxOutputLength`, so a decompression bomb stops
 *   at `maxBodyBytes`: skipped `too_large`. A raw body over the cap is skipped the same way.
 * - A body that fails to decode is compared by the sha256 of its raw bytes, with the anomaly
 *   `decode_error` (identical broken bodies still match).
 * - JSON is `application/json` or any `*\/*+json` (RFC 6839 §3.1). Charset: UTF-8 when absent;
 *   others decoded with TextDecoder (fatal); an unknown charset means compare bytes.
 * - Anything else is compared by the sha256 of its (decoded) bytes.
 */
import { createHash } from 'node:crypto'
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib'
import { type CanonicalReason, type JsonNode, canonicalize } from './canonical.ts'

/** Media type of a Content-Type header (lower-cased) and its charset parameter. */
export interface MediaType {
  type: string
  charset: string | null
  json: boolean
}

/**
 * Parse a Content-Type header (RFC 9110 §8.3.1): type/subtype lower-cased, charset lower-cased.
 * @param header header value; arrays use their first element
 */
export function parseContentType (header: string | string[] | undefined): MediaType {
  const value = Array.isArray(header) ? header[0] : header
  if (value === undefined || value === '') return { type: '', charset: null, json: false }
  const parts = value.split(';')
  const type = parts[0].trim().toLowerCase()
  let charset: string | null = null
  for (let k = 1; k < parts.length; k++) {
    const eq = parts[k].indexOf('=')
    if (eq < 0) continue
    if (parts[k].slice(0, eq).trim().toLowerCase() !== 'charset') continue
    charset = parts[k].slice(eq + 1).trim().replace(/^"(.*)"$/, '$1').toLowerCase()
  }
  const json = type === 'application/json' || (type.endsWith('+json') && type.indexOf('/') > 0)
  return { type, charset, json }
}

/** Why a body is not compared. */
export type SkipReason = 'too_large' | 'too_deep' | 'unsupported_encoding' | 'too_many_encodings'

/** Result of {@link decodeContent}. */
export type DecodeResult =
  | { ok: true, body: Buffer }
  | { ok: false, reason: SkipReason | 'decode_error', detail: string }

/** Most content-codings accepted on one body. */
export const MAX_CODINGS = 2

/**
 * Undo the content-codings of a body, never producing more than maxBytes.
 * @param body raw body bytes
 * @param contentEncoding Content-Encoding header value(s)
 * @param maxBytes cap on raw and decoded size @default 4194304
 */
export function decodeContent (body: Buffer, contentEncoding: string | string[] | undefined, maxBytes = 4 * 1024 * 1024): DecodeResult {
  if (body.length > maxBytes) return { ok: false, reason: 'too_large', detail: `body of ${body.length} bytes over the ${maxBytes} byte cap` }
  if (contentEncoding === undefined) return { ok: true, body }
  const codings = (Array.isArray(contentEncoding) ? contentEncoding.join(',') : contentEncoding)
    .split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '' && c !== 'identity')
  if (codings.length > MAX_CODINGS) {
    return { ok: false, reason: 'too_many_encodings', detail: `${codings.length} content-codings (at most ${MAX_CODINGS})` }
  }
  let out = body
  for (let k = codings.length - 1; k >= 0; k--) {
    const coding = codings[k]
    const opts = { maxOutputLength: maxBytes }
    try {
      if (coding === 'gzip' || coding === 'x-gzip') out = gunzipSync(out, opts)
      else if (coding === 'br') out = brotliDecompressSync(out, opts)
      else if (coding === 'deflate') out = inflateDeflate(out, opts)
      else return { ok: false, reason: 'unsupported_encoding', detail: `content-coding ${JSON.stringify(coding)}` }
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
        return { ok: false, reason: 'too_large', detail: `${coding} output over the ${maxBytes} byte cap` }
      }
      return { ok: false, reason: 'decode_error', detail: `${coding}: ${e.message}` }
    }
  }
  return { ok: true, body: out }
}

function inflateDeflate (body: Buffer, opts: { maxOutputLength: number }): Buffer {
  // RFC 9110 §8.4.1.2 says zlib format; some servers send raw deflate, so try both.
  try {
    return inflateSync(body, opts)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) throw err
    return inflateRawSync(body, opts)
  }
}

/** Anomaly of a body that is compared by bytes although it should have been JSON. */
export type BodyAnomaly = Exclude<CanonicalReason, 'too_deep'> | 'decode_error' | 'invalid_charset'

/**
 * A comparable view of one body. `kind` is `json` (tree set), `bytes` (compared by hash of
 * bytes; `anomaly` says why when the body claimed to be JSON or failed to decode) or `skipped`.
 */
export class BodyView {
  kind: 'json' | 'bytes' | 'skipped'
  tree: JsonNode | null
  hash: string | null
  bytes: Buffer | null
  skipReason: SkipReason | null
  anomaly: BodyAnomaly | null
  detail: string | null

  constructor (kind: 'json' | 'bytes' | 'skipped', tree: JsonNode | null, hash: string | null, bytes: Buffer | null,
    skipReason: SkipReason | null, anomaly: BodyAnomaly | null, detail: string | null) {
    this.kind = kind
    this.tree = tree
    this.hash = hash
    this.bytes = bytes
    this.skipReason = skipReason
    this.anomaly = anomaly
    this.detail = detail
  }
}

/** Options of {@link readBody}. */
export interface ReadBodyOptions {
  /** Cap on raw and decoded size. @default 4194304 */
  maxBodyBytes?: number
  /** Deepest JSON nesting. @default 1000 */
  maxDepth?: number
}

/**
 * sha256 hex of bytes.
 * @param bytes data
 */
export function sha256 (bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex')
}

function asBytes (body: Buffer, anomaly: BodyAnomaly | null, detail: string | null): BodyView {
  return new BodyView('bytes', null, sha256(body), body, null, anomaly, detail)
}

/**
 * Decode and classify one body.
 * @param headers response headers (lower-case names)
 * @param body raw body bytes
 * @param opts limits
 */
export function readBody (headers: Record<string, string | string[] | undefined>, body: Buffer, opts: ReadBodyOptions = {}): BodyView {
  const decoded = decodeContent(body, headers['content-encoding'], opts.maxBodyBytes)
  if (!decoded.ok) {
    if (decoded.reason === 'decode_error') return asBytes(body, 'decode_error', decoded.detail)
    return new BodyView('skipped', null, null, null, decoded.reason, null, decoded.detail)
  }
  const bytes = decoded.body
  const media = parseContentType(headers['content-type'])
  if (!media.json) return asBytes(bytes, null, null)
  let input: Buffer | string = bytes
  const charset = media.charset
  if (charset !== null && charset !== 'utf-8' && charset !== 'utf8') {
    let decoder: TextDecoder
    try {
      decoder = new TextDecoder(charset, { fatal: true })
    } catch {
      return asBytes(bytes, null, `unsupported charset ${charset}`)
    }
    try {
      input = decoder.decode(bytes)
    } catch {
      return asBytes(bytes, 'invalid_charset', `body is not valid ${charset}`)
    }
  }
  const result = canonicalize(input, { maxDepth: opts.maxDepth })
  if (result.ok) return new BodyView('json', result.value, result.hash, bytes, null, null, null)
  if (result.reason === 'too_deep') return new BodyView('skipped', null, null, null, 'too_deep', null, result.detail)
  return asBytes(bytes, result.reason, result.detail)
}
