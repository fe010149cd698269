/* The pino logger: JSON lines, secrets redacted by default wherever headers are logged. */
import { pino, type Logger, type DestinationStream } from 'pino'

/**
 * Creates the process logger.
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
    redact: { paths, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) }
  }, stream)
}

export type { Logger }
