/* The pino logger: JSON lines, secrets redacted by default wherever headers are logged. */
import { pino, type Logger, type DestinationStream } from 'pino'
import { isSecretField, isSecretHeader, scrubCards } from './secrets.ts'

const CENSOR = '[redacted]'
/** Logged values are walked this deep, no deeper: log objects are small and flat. */
const MAX_DEPTH = 4

function isPlain (value: object): boolean {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null || Array.isArray(value)
}

/**
 * A logged value with secrets replaced, the same object when there are none: values of
 * secret-named keys (the name patterns of redact.ts; header patterns inside a `headers`
 * object) censored, card numbers in strings replaced (hashes are left alone). Only plain objects
 * and arrays are walked: errors and other instances go to their serializers untouched.
 */
export function scrubLogValue (value: unknown, key: string, depth: number): unknown {
  if (typeof value === 'string') return key.endsWith('Hash') ? value : scrubCards(value)
  if (value === null || typeof value !== 'object' || depth >= MAX_DEPTH || !isPlain(value)) return value
  const array = Array.isArray(value)
  const headers = key.toLowerCase() === 'headers'
  let out: Record<string, unknown> | null = null
  for (const [k, v] of Object.entries(value)) {
    const secret = !array && v !== undefined && v !== null && (headers ? isSecretHeader(k) : isSecretField(k))
    const next = secret ? CENSOR : scrubLogValue(v, array ? key : k, depth + 1)
    if (next === v) continue
    out ??= (array ? [...value] : { ...value }) as Record<string, unknown>
    out[k] = next
  }
  return out ?? value
}

/**
 * Creates the process logger. Every logged object goes through {@link scrubLogValue} first.
 * @param level pino level @default 'info'
 * @param redactHeaders lowercased header names censored in any logged `headers` object
 * @param stream destination (tests pass a sink) @default stdout
 */
export function createLogger (level: string, redactHeaders: readonly string[], stream?: DestinationStream): Logger {
  const paths: string[] = []
  for (const h of redactHeaders) {
    const key = `["${h.toLowerCase()}"]`
    paths.push(`headers${key}`, `*.headers${key}`, `*.*.headers${key}`)
  }
  return pino({
    level,
    base: { name: 'paritygate' },
    redact: { paths, censor: CENSOR },
    formatters: {
      level: (label) => ({ level: label }),
      log: (obj) => scrubLogValue(obj, '', 0) as Record<string, unknown>
    }
  }, stream)
}

export type { Logger }
