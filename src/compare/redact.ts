/*
 * Redaction before anything is stored or logged: header values by name, JSON values by path
 * (the same path language as the comparison rules, so `$..password` works), and truncation.
 * A redacted value becomes `[redacted:xxxxxxxx]`, an HMAC prefix under a key made at start-up:
 * two equal secrets show as equal (useful when they differ), and nothing outside the process can
 * turn a placeholder back into the value, not even for a low-entropy value such as an e-mail.
 */
import { createHmac, randomBytes } from 'node:crypto'
import { canonicalize, Kind, type JsonNode } from './canonical.ts'
import { compileRules, isIgnored, stepRules, type PathNode } from './rules.ts'

/** JSON paths redacted whatever the config says: credentials and personal data. */
export const DEFAULT_REDACTED_FIELDS = ['$..password', '$..passwd', '$..secret', '$..token', '$..accessToken', '$..access_token',
  '$..refreshToken', '$..refresh_token', '$..apiKey', '$..api_key', '$..authorization', '$..email', '$..cardNumber', '$..card_number']

/** Header names redacted whatever the config says. */
export const DEFAULT_REDACTED_HEADERS = ['authorization', 'cookie', 'set-cookie', 'proxy-authorization', 'x-api-key']

const KEY = randomBytes(32)
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'])

/** The placeholder of one secret value. */
export function placeholder (value: string): string {
  return `[redacted:${createHmac('sha256', KEY).update(value).digest('hex').slice(0, 8)}]`
}

/** Compiled redaction: header names and a path trie. */
export class Redactor {
  readonly headers: ReadonlySet<string>
  readonly root: readonly PathNode[]

  /**
   * @param headers header names to redact (defaults are always added)
   * @param fields JSON paths to redact (defaults are always added)
   */
  constructor (headers: readonly string[] = [], fields: readonly string[] = []) {
    this.headers = new Set([...DEFAULT_REDACTED_HEADERS, ...headers].map((h) => h.toLowerCase()))
    this.root = compileRules({ ignore: [...DEFAULT_REDACTED_FIELDS, ...fields] }).rootActive
  }

  /** Header pairs (name, value, …) as an object, redacted values replaced. */
  headerObject (flat: readonly string[]): Record<string, string> {
    const out: Record<string, string> = Object.create(null)
    for (let i = 0; i < flat.length; i += 2) {
      const name = flat[i].toLowerCase()
      if (HOP_BY_HOP.has(name)) continue
      const value = this.headers.has(name) ? placeholder(flat[i + 1]) : flat[i + 1]
      out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`
    }
    return out
  }

  /**
   * A body for display: JSON re-rendered with redacted paths replaced, anything else as text
   * (invalid UTF-8 replaced), cut to `maxChars`. Never throws.
   */
  body (decoded: Buffer | null, isJson: boolean, maxChars: number): { text: string, truncated: boolean } {
    if (decoded === null) return { text: '', truncated: false }
    let text: string
    if (isJson) {
      const parsed = canonicalize(decoded, { hash: false })
      text = parsed.ok ? this.render(parsed.value, maxChars + 1) : `[unparsable JSON: ${parsed.reason}; not shown]`
    } else {
      text = decoded.subarray(0, maxChars * 4).toString('utf8')
      if (this.root.length > 0 && /"(?:password|secret|token|authorization)"/i.test(text)) text = '[non-JSON body that may carry secrets; not shown]'
    }
    return text.length > maxChars ? { text: text.slice(0, maxChars), truncated: true } : { text, truncated: false }
  }

  /** Canonical JSON text of a tree with redacted values replaced; stops after about `maxChars`. */
  render (node: JsonNode, maxChars: number): string {
    const parts: string[] = []
    let size = 0
    const stack: Array<{ node: JsonNode, active: readonly PathNode[], k: number }> = [{ node, active: this.root, k: -1 }]
    const push = (s: string) => { parts.push(s); size += s.length }
    while (stack.length > 0) {
      if (size > maxChars) break
      const top = stack[stack.length - 1]
      const n = top.node
      if (n.kind !== Kind.Object && n.kind !== Kind.Array) {
        push(isIgnored(top.active) ? JSON.stringify(placeholder(n.canonical as string)) : n.canonical as string)
        stack.pop()
        continue
      }
      if (top.k === -1) {
        if (isIgnored(top.active)) {
          push(JSON.stringify(placeholder('object')))
          stack.pop()
          continue
        }
        push(n.kind === Kind.Object ? '{' : '[')
      }
      top.k++
      const children = n.children as JsonNode[]
      if (top.k >= children.length) {
        push(n.kind === Kind.Object ? '}' : ']')
        stack.pop()
        continue
      }
      if (top.k > 0) push(',')
      if (n.kind === Kind.Object) push((n.keyTexts as string[])[top.k])
      const key = n.kind === Kind.Object ? (n.keys as string[])[top.k] : null
      stack.push({ node: children[top.k], active: stepRules(top.active, key, top.k), k: -1 })
    }
    return parts.join('')
  }
}
