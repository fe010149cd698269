/*
 * Gate windows (`30s`, `5m`, `1h`): one pattern and one parser, for the schema (`gate.window`,
 * `gate.maxWindow`, through the `window` keyword), the gate's `?window=` queries and the command
 * line's `--window`. See docs/gate.md.
 */

/** A window: a whole number of `ms`, `s`, `m` or `h`. */
export const WINDOW_PATTERN = /^(\d{1,7})(ms|s|m|h)$/

/** Longest window `parseWindow` accepts unless told otherwise: 1 h, the stats' default ring. */
export const MAX_WINDOW_MS = 3_600_000

/** Longest `gate.maxWindow`: a day. */
export const LONGEST_MAX_WINDOW_MS = 24 * 3_600_000

const UNIT_MS: Readonly<Record<string, number>> = Object.freeze({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 })

/** What is wrong with a window, or null when it is one of at most `maxMs`; `limit` names the maximum. */
export function windowError (text: unknown, maxMs: number = MAX_WINDOW_MS, limit = 'gate.maxWindow'): string | null {
  const match = typeof text === 'string' ? WINDOW_PATTERN.exec(text) : null
  if (match === null) return `window must be a positive integer with a unit ms, s, m or h (like 30s, 5m, 1h), got ${JSON.stringify(text)}`
  const ms = Number(match[1]) * UNIT_MS[match[2]]
  if (ms <= 0) return `window must be longer than 0, got ${JSON.stringify(text)}`
  if (ms > maxMs) return `window ${String(text)} exceeds the maximum ${inUnit(maxMs, match[2])} (${limit})`
  return null
}

/**
 * Parse a window such as `30s`, `90s`, `5m` or `1h` into milliseconds.
 * @param text a positive integer followed by `ms`, `s`, `m` or `h`
 * @param maxMs longest window allowed
 * @default maxMs 3_600_000 (1 h)
 * @throws {TypeError} when the text is not such a duration, is zero, or exceeds maxMs
 */
export function parseWindow (text: unknown, maxMs: number = MAX_WINDOW_MS): number {
  const error = windowError(text, maxMs)
  if (error !== null) throw new TypeError(error)
  const match = WINDOW_PATTERN.exec(text as string) as RegExpExecArray
  return Number(match[1]) * UNIT_MS[match[2]]
}

/** A duration in ms written in `unit` (`3_600_000` in `m` is `60m`), to three decimals at most. */
function inUnit (ms: number, unit: string): string {
  return `${+(ms / UNIT_MS[unit]).toFixed(3)}${unit}`
}
