/*
 * Turns one response body into something comparable: decoded content-coding (capped),
 * classified by media type, and either a canonical JSON tree or a sha256 of the bytes.
 *
 * Policies:
 * - Codings (RFC 9110 §8.4): the body's coding chain is Content-Encoding's codings, then
 *   Transfer-Encoding's other than `chunked` (the HTTP client undoes chunked framing and nothing
 *   else), normalised: lower case, trimmed, `x-gzip` is `gzip`, `x-compress` is `compress`,
 *   `identity` and empty entries dropped. gzip, deflate (zlib, or raw deflate as some servers
 *   send) and br are decoded in reverse order of application; more than 2 codings -> skipped
 *   `too_many_encodings`; any other coding -> skipped `unsupported_encoding`. An empty body is
 *   empty content whatever its coding (HEAD, 204 and 304 answers carry coding headers and no body).
 * - The decoded size is capped through zlib's `maxOutputLength`, so a decompression bomb stops
 *   at `maxBodyBytes`: skipped `too_large`. A raw body over the cap is skipped the same way.
 * - A body that fails to decode keeps its raw bytes, with the anomaly `decode_error`; compare.ts
 *   finds it equal only to the same raw bytes under the same coding chain.
 * - JSON is `application/json` or any `*\/*+json` (RFC 6839 §3.1). Charset: UTF-8 when absent;
 *   others decoded with TextDecoder (fatal); an unknown charset means compare bytes.
 * - Anything else is compared by the sha256 of its (decoded) bytes. `charset` on the view is the
 *   WHATWG name of the declared charset (`utf8` and `UTF-8` are `utf-8`, `latin1` and
 *   `iso-8859-1` are `windows-1252`), UTF-8 for JSON without one, null for other types without
 *   one, `?label` for a label TextDecoder does not know: compare.ts reads the bytes as text when
 *   the two sides' charsets differ.
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

/** Parsed Content-Type values, by value: a service sends few, and each pair parses two or more. */
const mediaTypes = new Map<string, MediaType>()
/** More distinct values than this (a service putting ids in its Content-Type) empties the cache: bounded. */
const MEDIA_TYPES_MAX = 64
const NO_MEDIA_TYPE: MediaType = Object.freeze({ type: '', charset: null, json: false })

/**
 * Parse a Content-Type header (RFC 9110 §8.3.1): type/subtype lower-cased, charset lower-cased.
 * The result is shared (frozen): callers read it.
 * @param header header value; arrays use their first element
 */
export function parseContentType (header: string | string[] | undefined): MediaType {
  const value = Array.isArray(header) ? header[0] : header
  if (value === undefined || value === '') return NO_MEDIA_TYPE
  let media = mediaTypes.get(value)
  if (media === undefined) {
    media = Object.freeze(mediaType(value))
    if (mediaTypes.size >= MEDIA_TYPES_MAX) mediaTypes.clear()
    mediaTypes.set(value, media)
  }
  return media
}

function mediaType (value: string): MediaType {
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

function codingName (coding: string): string {
  const c = coding.trim().toLowerCase()
  return c === 'x-gzip' ? 'gzip' : c === 'x-compress' ? 'compress' : c
}

/** The normalised codings of a Content-Encoding (or, `transfer` true, Transfer-Encoding) value, in order of application. */
function codingList (value: string | string[] | undefined, transfer: boolean): string[] {
  if (value === undefined) return []
  const out: string[] = []
  for (const part of (Array.isArray(value) ? value.join(',') : value).split(',')) {
    const c = codingName(part)
    if (c !== '' && c !== 'identity' && !(transfer && c === 'chunked')) out.push(c)
  }
  return out
}

/**
 * The codings applied to a body, in order of application, normalised: Content-Encoding's,
 * then Transfer-Encoding's other than `chunked`; `identity` dropped, `x-gzip` is `gzip`.
 * @param headers response headers (lower-case names)
 */
export function codingChain (headers: Record<string, string | string[] | undefined>): string[] {
  const content = codingList(headers['content-encoding'], false)
  const te = headers['transfer-encoding']
  return te === undefined ? content : [...content, ...codingList(te, true)]
}

const charsetNames = new Map<string, string>()

/**
 * The WHATWG encoding name of a charset label (`UTF8` → `utf-8`, `latin1` → `windows-1252`),
 * or `?label` when TextDecoder does not know the label.
 * @param label a charset parameter, lower-cased
 */
export function charsetName (label: string): string {
  let name = charsetNames.get(label)
  if (name === undefined) {
    try {
      name = new TextDecoder(label).encoding
    } catch {
      name = '?' + label
    }
    if (charsetNames.size < 256) charsetNames.set(label, name)
  }
  return name
}

/**
 * The charset the text of a body is read in: the declared one (see {@link charsetName}),
 * UTF-8 for JSON without one, null for other media types without one.
 * @param media parsed Content-Type
 */
export function effectiveCharset (media: MediaType): string | null {
  if (media.charset === null || media.charset === '') return media.json ? 'utf-8' : null
  return charsetName(media.charset)
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
  if (contentEncoding === undefined || body.length === 0) return { ok: true, body }
  const codings = codingList(contentEncoding, false)
  if (codings.length > MAX_CODINGS) {
    return { ok: false, reason: 'too_many_encodings', detail: `${codings.length} content-codings (at most ${MAX_CODINGS})` }
  }
  let out = body
  for (let k = codings.length - 1; k >= 0; k--) {
    const coding = codings[k]
    const opts = { maxOutputLength: maxBytes }
    try {
      if (coding === 'gzip') out = gunzipSync(out, opts)
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
 * `bytes` are the decoded bytes, or the raw ones when decoding failed (`decode_error`);
 * `coding` is the normalised coding chain (`gzip,br`, '' for none) and `charset` the one the
 * bytes are read in (see {@link effectiveCharset}).
 */
export class BodyView {
  kind: 'json' | 'bytes' | 'skipped'
  tree: JsonNode | null
  hash: string | null
  bytes: Buffer | null
  skipReason: SkipReason | null
  anomaly: BodyAnomaly | null
  detail: string | null
  coding: string
  charset: string | null

  constructor (kind: 'json' | 'bytes' | 'skipped', tree: JsonNode | null, hash: string | null, bytes: Buffer | null,
    skipReason: SkipReason | null, anomaly: BodyAnomaly | null, detail: string | null, coding = '', charset: string | null = null) {
    this.kind = kind
    this.tree = tree
    this.hash = hash
    this.bytes = bytes
    this.skipReason = skipReason
    this.anomaly = anomaly
    this.detail = detail
    this.coding = coding
    this.charset = charset
  }
}

function isAscii (bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] >= 0x80) return false
  return true
}

/**
 * The text a client reads from a decoded body: its bytes in its charset; without a declared
 * charset (not JSON) only ASCII bytes read the same everywhere. Null when the text cannot be
 * known: an undeclared charset over non-ASCII bytes, an unknown charset, bytes invalid in the
 * charset, or a body that failed to decode.
 * @param view a view from {@link readBody}
 */
export function bodyText (view: BodyView): string | null {
  const bytes = view.bytes
  if (bytes === null || view.anomaly === 'decode_error') return null
  const charset = view.charset
  if (charset === null) return isAscii(bytes) ? bytes.toString('latin1') : null
  if (charset.charCodeAt(0) === 0x3f) return null
  try {
    return new TextDecoder(charset, { fatal: true }).decode(bytes)
  } catch {
    return null
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

function asBytes (body: Buffer, anomaly: BodyAnomaly | null, detail: string | null, coding: string, charset: string | null): BodyView {
  return new BodyView('bytes', null, sha256(body), body, null, anomaly, detail, coding, charset)
}

/**
 * Decode and classify one body.
 * @param headers response headers (lower-case names)
 * @param body raw body bytes
 * @param opts limits
 */
export function readBody (headers: Record<string, string | string[] | undefined>, body: Buffer, opts: ReadBodyOptions = {}): BodyView {
  const chain = codingChain(headers)
  const coding = chain.length === 0 ? '' : chain.join(',')
  const media = parseContentType(headers['content-type'])
  const charsetKey = effectiveCharset(media)
  const decoded = decodeContent(body, chain.length === 0 ? undefined : chain, opts.maxBodyBytes)
  if (!decoded.ok) {
    if (decoded.reason === 'decode_error') return asBytes(body, 'decode_error', decoded.detail, coding, charsetKey)
    return new BodyView('skipped', null, null, null, decoded.reason, null, decoded.detail, coding, charsetKey)
  }
  const bytes = decoded.body
  if (!media.json) return asBytes(bytes, null, null, coding, charsetKey)
  let input: Buffer | string = bytes
  const charset = media.charset
  if (charsetKey !== 'utf-8') {
    let decoder: TextDecoder
    try {
      decoder = new TextDecoder(charset as string, { fatal: true })
    } catch {
      return asBytes(bytes, null, `unsupported charset ${charset as string}`, coding, charsetKey)
    }
    try {
      input = decoder.decode(bytes)
    } catch {
      return asBytes(bytes, 'invalid_charset', `body is not valid ${charset as string}`, coding, charsetKey)
    }
  }
  const result = canonicalize(input, { maxDepth: opts.maxDepth })
  if (result.ok) return new BodyView('json', result.value, result.hash, bytes, null, null, null, coding, charsetKey)
  if (result.reason === 'too_deep') return new BodyView('skipped', null, null, null, 'too_deep', null, result.detail, coding, charsetKey)
  return asBytes(bytes, result.reason, result.detail, coding, charsetKey)
}
