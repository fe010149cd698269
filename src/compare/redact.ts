/*
 * Redaction before anything is stored or logged (samples, the mismatch file, log lines):
 * - names: a JSON key, a form field or a header is secret when its normalized name (lowercased,
 *   every character but letters and digits removed: `User_Password`, `user-password`,
 *   `cc.number`) is one of the credential or personal-data names below, or contains one of the
 *   longer fragments; configured header names and JSON paths (`redact.*`) are added;
 * - values: card numbers (13 to 19 digits, single spaces or dashes allowed, Luhn-valid) anywhere
 *   in any string: JSON values and keys, header values, form values, paths;
 * - bodies: JSON re-rendered with the above, forms redacted field by field, anything else not
 *   stored at all unless `redact.storeNonJsonBodies` (then text with the same rules, best effort);
 * - request targets: every query value, card numbers and token-like path segments.
 * A redacted value becomes `[redacted:xxxxxxxx]`, an HMAC prefix under a key made at start-up:
 * two equal secrets show as equal (useful when they differ), and nothing outside the process can
 * turn a placeholder back into the value, not even for a low-entropy value such as an e-mail.
 */
import { canonicalText, Kind, type JsonNode } from './canonical.ts'
import { isIgnored, stepRules, type PathNode } from './json-path.ts'
import { compileRules } from './rules.ts'
import { digest8, isSecretField, isSecretHeader, luhn, placeholder, placeholderKey, scrubCards, usePlaceholderKey } from '../secrets.ts'

/** Header names redacted whatever the config says (besides the name patterns). */
export const DEFAULT_REDACTED_HEADERS = ['authorization', 'cookie', 'set-cookie', 'proxy-authorization', 'x-api-key']

/** The `redact` settings a Redactor is made from; plain data, so that it can cross to a comparison worker. */
export interface RedactSettings {
  headers: readonly string[]
  fields: readonly string[]
  storeNonJsonBodies?: boolean
  /** the placeholder key (hex): workers use the main thread's, so that a secret has one placeholder everywhere */
  key?: string
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'])

/** The settings of a config's `redact` key, with this thread's placeholder key. */
export function redactSettings (redact: { headers: readonly string[], fields: readonly string[], storeNonJsonBodies?: boolean }): RedactSettings {
  return { headers: [...redact.headers], fields: [...redact.fields], storeNonJsonBodies: redact.storeNonJsonBodies ?? false, key: placeholderKey() }
}

/** Path segments that look like bearer tokens: JWTs, long mixed-case tokens with digits, long hex (ids such as integers and UUIDs stay). */
const JWT = /^[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}$/
const MIXED_TOKEN = /^(?=[^]*\d)(?=[^]*[a-z])(?=[^]*[A-Z])[A-Za-z0-9_~+=.-]{20,}$/
const LONG_HEX = /^[0-9a-fA-F]{40,}$/

function decodeSegment (segment: string): string {
  if (!segment.includes('%')) return segment
  try { return decodeURIComponent(segment) } catch { return segment }
}

/** One path segment for display: token-like segments, card numbers and matrix parameter values (`;jsessionid=…`) replaced. */
function redactSegment (segment: string): string {
  if (segment === '') return segment
  const semi = segment.indexOf(';')
  if (semi !== -1) {
    const params = segment.slice(semi + 1).split(';').map((p) => {
      const eq = p.indexOf('=')
      return eq === -1 ? placeholder(p) : `${p.slice(0, eq)}=${placeholder(p.slice(eq + 1))}`
    })
    return `${redactSegment(segment.slice(0, semi))};${params.join(';')}`
  }
  const decoded = decodeSegment(segment)
  if (JWT.test(decoded) || MIXED_TOKEN.test(decoded) || LONG_HEX.test(decoded)) return placeholder(decoded)
  return scrubCards(decoded) === decoded ? segment : placeholder(decoded)
}

/**
 * A request target (`/path?query#fragment`) for display: every query value replaced (a query
 * value may be a token, an e-mail, a search), card numbers and token-like path segments replaced.
 */
export function redactTarget (target: string): string {
  const hash = target.indexOf('#')
  const fragment = hash === -1 ? '' : `#${placeholder(target.slice(hash + 1))}`
  const rest = hash === -1 ? target : target.slice(0, hash)
  const q = rest.indexOf('?')
  const path = (q === -1 ? rest : rest.slice(0, q)).split('/').map(redactSegment).join('/')
  if (q === -1) return path + fragment
  const params = rest.slice(q + 1).split('&').map((kv) => {
    const eq = kv.indexOf('=')
    return eq === -1 ? (kv === '' ? kv : placeholder(kv)) : `${scrubCards(kv.slice(0, eq))}=${placeholder(kv.slice(eq + 1))}`
  })
  return `${path}?${params.join('&')}${fragment}`
}

const ABSOLUTE = /^[a-z][a-z0-9+.-]*:\/\//i

/** A header value that is a URL or a target (`location`, `referer`): credentials, query values and tokens in the path replaced. */
function redactLink (value: string): string {
  if (!ABSOLUTE.test(value)) return value.startsWith('/') ? redactTarget(value) : scrubCards(value)
  const start = value.indexOf('//') + 2
  let end = value.slice(start).search(/[/?#]/)
  end = end === -1 ? value.length : start + end
  let authority = value.slice(start, end)
  const at = authority.lastIndexOf('@')
  if (at !== -1) authority = `${placeholder(authority.slice(0, at))}@${authority.slice(at + 1)}`
  const target = value.slice(end)
  return `${value.slice(0, start)}${authority}${target === '' ? '' : redactTarget(target)}`
}

/** Path segments of a configured URL shown as they are: plain lowercase words and versions (`services`, `api`, `v1`). */
const PLAIN_SEGMENT = /^(?:[a-z]{1,16}(?:[-_][a-z]{1,16}){0,3}|v\d{1,2})$/

/**
 * A configured URL (webhooks, links) for display: scheme and host kept; credentials, every path
 * segment from the first one that is not a plain lowercase word on (a Slack webhook's
 * `T…/B…/…` are its credential), every query value and the fragment replaced by `[redacted]`.
 * A URL with nothing to hide is returned as is.
 */
export function redactUrl (value: string): string {
  let url: URL
  try { url = new URL(value) } catch { return '[redacted]' }
  const credentials = url.username !== '' || url.password !== ''
  let hidden = false
  const path = url.pathname.split('/').map((s) => {
    if (s === '' || (!hidden && PLAIN_SEGMENT.test(s))) return s
    hidden = true
    return '[redacted]'
  }).join('/')
  if (!credentials && !hidden && url.search === '' && url.hash === '') return value
  const params = url.search.slice(1).split('&').map((kv) => {
    const eq = kv.indexOf('=')
    return eq === -1 ? '[redacted]' : `${kv.slice(0, eq)}=[redacted]`
  })
  const query = url.search === '' ? '' : `?${params.join('&')}`
  return `${url.protocol}//${credentials ? '[redacted]@' : ''}${url.host}${path}${query}${url.hash === '' ? '' : '#[redacted]'}`
}

/** True for a string that reads as an absolute URL (`scheme://…`). */
export function looksLikeUrl (value: string): boolean {
  return ABSOLUTE.test(value)
}

/** `+` and percent-decoding of one form component; the raw text when it does not decode. */
function formDecode (raw: string): string {
  const spaced = raw.replaceAll('+', ' ')
  try { return decodeURIComponent(spaced) } catch { return spaced }
}

const ENCODED_PLACEHOLDER = /%5Bredacted%3A([0-9a-f]{8})%5D/g

function formEncode (text: string): string {
  return encodeURIComponent(text).replace(ENCODED_PLACEHOLDER, '[redacted:$1]')
}

/** An `application/x-www-form-urlencoded` body for display: values of secret-named fields and card numbers replaced. */
export function redactForm (text: string): string {
  return text.split('&').map((pair) => {
    const eq = pair.indexOf('=')
    const rawName = eq === -1 ? pair : pair.slice(0, eq)
    const name = formDecode(rawName)
    const shownName = scrubCards(name) === name ? rawName : formEncode(scrubCards(name))
    if (eq === -1) return shownName
    const value = formDecode(pair.slice(eq + 1))
    if (isSecretField(name)) return `${shownName}=${placeholder(value)}`
    const scrubbed = scrubCards(value)
    return scrubbed === value ? `${shownName}=${pair.slice(eq + 1)}` : `${shownName}=${formEncode(scrubbed)}`
  }).join('&')
}

/** `name: value`, `name=value`, `"name": "value"` in free text; the value may start with an auth scheme. */
const ASSIGNMENT = /([A-Za-z_][\w.-]{0,63})(["']?\s*[:=]\s*["']?)((?:(?:Bearer|Basic|Digest|Token)\s+)?[^\s"'&,;<>]+)/g
/** `<name>value</name>` in XML or HTML. */
const ELEMENT = /<([A-Za-z_][\w.:-]{0,63})>([^<]*)<\/\1>/g

/** Free text for display (only with `redact.storeNonJsonBodies`): card numbers and the values of secret-named assignments and elements replaced; best effort. */
export function redactText (text: string): string {
  return scrubCards(text)
    .replace(ASSIGNMENT, (all, name: string, sep: string, value: string) => isSecretField(name) ? `${name}${sep}${placeholder(value)}` : all)
    .replace(ELEMENT, (all, name: string, value: string) => isSecretField(name) ? `<${name}>${placeholder(value)}</${name}>` : all)
}

/** A cut text must not end in the first digits of a card number: a trailing run of digits goes. */
const TRAILING_DIGITS = /[\d -]+$/

/** Where to cut a body for display: about `maxChars` characters, a cut card's digits removed. */
function cut (text: string, maxChars: number, whole: boolean): { text: string, truncated: boolean } {
  if (whole && text.length <= maxChars) return { text, truncated: false }
  return { text: text.slice(0, maxChars).replace(TRAILING_DIGITS, ''), truncated: true }
}

/** The first 8 hex digits of the HMAC of some bytes: tells equal bodies apart from different ones, reveals nothing. */

/** Header values shown as links: their query values, credentials and path tokens are replaced. */
const LINK_HEADERS = new Set(['location', 'content-location', 'referer', 'refresh'])

/** The text a secret JSON value is hashed from: a string's value, any other node's canonical text. */
function secretText (node: JsonNode): string {
  if (node.kind === Kind.String) return JSON.parse(node.canonical as string) as string
  return node.kind === Kind.Object || node.kind === Kind.Array ? canonicalText(node) : node.canonical as string
}

/** A quoted JSON string (a value, or a key followed by `:`) with its card numbers replaced. */
function scrubQuoted (quoted: string, raw: () => string, suffix: string): string {
  if (quoted.length < 15) return quoted
  if (!quoted.includes('\\')) return scrubCards(quoted)
  const value = raw()
  const scrubbed = scrubCards(value)
  return scrubbed === value ? quoted : JSON.stringify(scrubbed) + suffix
}

const CARD_NUMBER = /^\d{13,19}$/

/** A scalar JSON node for display: card numbers in strings, and numbers that are card numbers, replaced. */
function scalarText (node: JsonNode): string {
  const text = node.canonical as string
  if (node.kind === Kind.String) return scrubQuoted(text, () => JSON.parse(text) as string, '')
  if (node.kind === Kind.Number && CARD_NUMBER.test(text) && luhn(text)) return JSON.stringify(placeholder(text))
  return text
}

/** Compiled redaction: configured header names, configured JSON paths (a path trie), the name patterns and the body policy. */
export class Redactor {
  readonly headers: ReadonlySet<string>
  readonly root: readonly PathNode[]
  readonly storeNonJsonBodies: boolean

  /**
   * @param headers header names to redact (defaults and the name patterns always apply)
   * @param fields JSON paths to redact (the name patterns always apply)
   * @param storeNonJsonBodies keep text bodies (redacted, best effort) rather than only their size and digest @default false
   */
  constructor (headers: readonly string[] = [], fields: readonly string[] = [], storeNonJsonBodies = false) {
    this.headers = new Set([...DEFAULT_REDACTED_HEADERS, ...headers].map((h) => h.toLowerCase()))
    this.root = compileRules({ ignore: [...fields] }).rootActive
    this.storeNonJsonBodies = storeNonJsonBodies
  }

  /** A Redactor of settings made by {@link redactSettings} (in a worker: adopts the main thread's placeholder key). */
  static from (settings: RedactSettings): Redactor {
    if (settings.key !== undefined) usePlaceholderKey(settings.key)
    return new Redactor(settings.headers, settings.fields, settings.storeNonJsonBodies ?? false)
  }

  /** Whether a header's value is replaced whole: configured or default names, or the name patterns. */
  isSecretHeader (name: string): boolean {
    return this.headers.has(name) || isSecretHeader(name)
  }

  /** Header pairs (name, value, …) as an object: secret headers' values replaced, card numbers and link query values replaced in the others. */
  headerObject (flat: readonly string[]): Record<string, string> {
    const out: Record<string, string> = Object.create(null)
    for (let i = 0; i < flat.length; i += 2) {
      const name = flat[i].toLowerCase()
      if (HOP_BY_HOP.has(name)) continue
      const raw = flat[i + 1]
      const value = this.isSecretHeader(name) ? placeholder(raw) : LINK_HEADERS.has(name) ? redactLink(raw) : scrubCards(raw)
      out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`
    }
    return out
  }

  /**
   * A body that is not a parsed JSON tree, for display, cut to about `maxChars`. A form is
   * redacted field by field; anything else (text, HTML, XML, binary, JSON that does not parse) is
   * shown as one line with its size, type and digest, unless `storeNonJsonBodies` (then as text
   * with card numbers and secret-named assignments replaced). Never throws.
   * @param mediaType the body's media type, lowercased, without parameters
   */
  body (decoded: Buffer | null, mediaType: string, maxChars: number): { text: string, truncated: boolean } {
    if (decoded === null || decoded.length === 0) return { text: '', truncated: false }
    const whole = decoded.length <= maxChars * 4
    const head = () => decoded.subarray(0, maxChars * 4).toString('utf8')
    if (mediaType === 'application/x-www-form-urlencoded') {
      let text = head()
      // A pair cut in the middle could be a cut secret: it goes whole.
      if (!whole) text = text.slice(0, Math.max(0, text.lastIndexOf('&')))
      return cut(redactForm(text), maxChars, whole)
    }
    if (!this.storeNonJsonBodies) {
      return { text: `[non-JSON body not stored: ${decoded.length} bytes of ${mediaType === '' ? 'unknown type' : mediaType}, digest ${digest8(decoded)}]`, truncated: false }
    }
    return cut(redactText(head()), maxChars, whole)
  }

  /**
   * Canonical JSON text of a tree with secret values replaced; stops after about `maxChars`.
   * @param active the configured paths active at `node` @default the root's
   */
  render (node: JsonNode, maxChars: number, active: readonly PathNode[] = this.root): string {
    const parts: string[] = []
    let size = 0
    const stack: Array<{ node: JsonNode, active: readonly PathNode[], k: number, secret: boolean }> = [{ node, active, k: -1, secret: false }]
    const push = (s: string) => { parts.push(s); size += s.length }
    while (stack.length > 0) {
      if (size > maxChars) break
      const top = stack[stack.length - 1]
      const n = top.node
      if (top.k === -1 && (top.secret || isIgnored(top.active))) {
        push(JSON.stringify(placeholder(secretText(n))))
        stack.pop()
        continue
      }
      if (n.kind !== Kind.Object && n.kind !== Kind.Array) {
        push(scalarText(n))
        stack.pop()
        continue
      }
      if (top.k === -1) push(n.kind === Kind.Object ? '{' : '[')
      top.k++
      const children = n.children as JsonNode[]
      if (top.k >= children.length) {
        push(n.kind === Kind.Object ? '}' : ']')
        stack.pop()
        continue
      }
      if (top.k > 0) push(',')
      const k = top.k
      const key = n.kind === Kind.Object ? (n.keys as string[])[k] : null
      if (key !== null) push(scrubQuoted((n.keyTexts as string[])[k], () => key, ':'))
      stack.push({ node: children[k], active: stepRules(top.active, key, k), k: -1, secret: key !== null && isSecretField(key) })
    }
    return parts.join('')
  }

  /**
   * The value at a differing path, redacted as it is inside the rendered body: a placeholder when
   * a key on the way is a secret name or a configured path covers it, card numbers replaced
   * beneath. Array steps count as any index (an element of an unordered array may sit at another
   * index on the other side): a configured path naming one index redacts that member of every
   * element here, never less than the body shows. Cut at `maxChars` (the text is then not JSON).
   * @param steps member names and array indices from the root to the node
   */
  value (node: JsonNode, steps: ReadonlyArray<string | number>, maxChars: number): { text: string, truncated: boolean } {
    let active: readonly PathNode[] = this.root
    let secret = false
    for (const step of steps) {
      if (typeof step === 'string') {
        active = stepRules(active, step, -1)
        if (isSecretField(step)) secret = true
      } else {
        active = anyIndex(active)
      }
      if (isIgnored(active)) secret = true
      if (secret) break
    }
    if (secret) return { text: JSON.stringify(placeholder(secretText(node))), truncated: false }
    const text = this.render(node, maxChars + 1, active)
    return text.length > maxChars ? { text: text.slice(0, maxChars), truncated: true } : { text, truncated: false }
  }
}

/** The configured paths active at an element of an array, whatever its index (every index a path names, and `[*]`). */
function anyIndex (active: readonly PathNode[]): readonly PathNode[] {
  const out: PathNode[] = [...stepRules(active, null, -1)]
  for (const node of active) {
    if (node.indices === null) continue
    for (const i of node.indices.keys()) for (const n of stepRules([node], null, i)) if (!out.includes(n)) out.push(n)
  }
  return out
}
