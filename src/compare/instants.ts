/* RFC 3339 date-times as exact instants, for the `timestamps` rule. */

const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/
const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/**
 * The instant an RFC 3339 date-time names, in nanoseconds since the epoch, or null when the
 * text is not one (RFC 3339 §5.6; digits beyond nanoseconds are dropped). Years 0000-9999 of
 * the proleptic Gregorian calendar, offsets up to ±23:59 (`-00:00` is UTC). A leap second
 * (`:60`, accepted in any minute) names the same instant as the next minute's `:00`, as in
 * POSIX time (which has no leap seconds): `23:59:60.5Z` is `00:00:00.5Z` of the next day.
 * @param text decoded string value
 */
export function parseInstant (text: string): bigint | null {
  if (text.length < 20 || text.length > 64) return null
  const m = RFC3339_RE.exec(text)
  if (m === null) return null
  const year = Number(m[1])
  const month = Number(m[2])
  const day = Number(m[3])
  const hour = Number(m[4])
  const minute = Number(m[5])
  const second = Number(m[6])
  if (month < 1 || month > 12 || day < 1 || day > DAYS[month - 1] || hour > 23 || minute > 59 || second > 60) return null
  if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return null
  let offset = 0
  if (m[8] === undefined) {
    const oh = Number(m[10])
    const om = Number(m[11])
    if (oh > 23 || om > 59) return null
    offset = (oh * 60 + om) * 60 * (m[9] === '-' ? -1 : 1)
  }
  // Not Date.UTC: it reads years 0-99 as 1900-1999, and year 0001 is the zero time of Go and .NET.
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset
  const frac = BigInt(((m[7] ?? '') + '000000000').slice(0, 9))
  return BigInt(seconds) * 1_000_000_000n + frac
}

/**
 * Days from 1970-01-01 to a date of the proleptic Gregorian calendar (year 0 is 1 BC, a leap
 * year), exact for any year (H. Hinnant's days_from_civil).
 * @param year full year
 * @param month 1-12
 * @param day 1-31
 */
export function daysFromCivil (year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}
