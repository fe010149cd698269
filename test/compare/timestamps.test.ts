/* RFC 3339 instants under `timestamps` (issue 12, item 2): years 0000-9999, leap seconds, offsets, nanoseconds. */
import { test } from 'node:test'
import { deepStrictEqual, strictEqual } from 'node:assert/strict'
import { compareExchanges } from '../../src/compare/compare.ts'
import { daysFromCivil, parseInstant } from '../../src/compare/instants.ts'
import { type RuleConfig, compileRules } from '../../src/compare/rules.ts'

const NS = 1_000_000_000n

function outcome (a: string, b: string, rules: RuleConfig = { timestamps: true }): string {
  const ex = (t: string) => ({ status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ at: t })) })
  const compiled = compileRules(rules)
  const r = compareExchanges(ex(a), ex(b), compiled)
  strictEqual(compareExchanges(ex(b), ex(a), compiled).outcome, r.outcome, 'symmetric')
  return r.outcome
}

test('parseInstant should not read years 0-99 as 1900-1999', () => {
  strictEqual(outcome('0001-01-01T00:00:00Z', '1901-01-01T00:00:00Z'), 'mismatch')
  strictEqual(outcome('0099-06-15T12:00:00Z', '1999-06-15T12:00:00Z'), 'mismatch')
  strictEqual(outcome('0000-01-01T00:00:00Z', '1900-01-01T00:00:00Z'), 'mismatch')
  // known instants: year 1 is Go's and .NET's zero time, year 0 is a leap year before it
  strictEqual(parseInstant('0001-01-01T00:00:00Z'), -62135596800n * NS)
  strictEqual(parseInstant('0000-01-01T00:00:00Z'), (-62135596800n - 366n * 86400n) * NS)
  strictEqual(parseInstant('0000-02-29T00:00:00Z'), (-62135596800n - 366n * 86400n + 59n * 86400n) * NS)
  strictEqual(parseInstant('0100-02-29T00:00:00Z'), null, '0100 is not a leap year')
  strictEqual(parseInstant('0400-02-29T00:00:00Z') !== null, true, '0400 is')
  strictEqual(parseInstant('1970-01-01T00:00:00Z'), 0n)
  strictEqual(parseInstant('9999-12-31T23:59:59.999999999Z'), 253402300799n * NS + 999999999n)
  // consecutive seconds across the year boundaries 0099/0100 and 0000/0001
  strictEqual((parseInstant('0100-01-01T00:00:00Z') as bigint) - (parseInstant('0099-12-31T23:59:59Z') as bigint), NS)
  strictEqual((parseInstant('0001-01-01T00:00:00Z') as bigint) - (parseInstant('0000-12-31T23:59:59Z') as bigint), NS)
  strictEqual(outcome('0100-01-01T00:00:00Z', '0099-12-31T23:59:59Z', { timestamps: true, timestampToleranceMs: 1000 }), 'match')
  strictEqual(outcome('0100-01-01T00:00:00Z', '0099-12-31T23:59:59Z', { timestamps: true, timestampToleranceMs: 999 }), 'mismatch')
})

test('daysFromCivil should agree with Date.UTC wherever Date.UTC reads the year literally', () => {
  for (const [y, m, d] of [[100, 1, 1], [1582, 10, 15], [1600, 2, 29], [1969, 12, 31], [1970, 1, 1], [2000, 3, 1], [2024, 2, 29], [9999, 12, 31]]) {
    strictEqual(daysFromCivil(y, m, d) * 86400000, Date.UTC(y, m - 1, d), `${y}-${m}-${d}`)
  }
  for (let days = -800_000; days <= 800_000; days += 997) {
    const date = new Date(days * 86400000)
    if (date.getUTCFullYear() < 100) continue
    strictEqual(daysFromCivil(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()), days)
  }
})

test('a leap second should name the next minute\'s :00, one second after :59', () => {
  strictEqual(outcome('1998-12-31T23:59:60Z', '1999-01-01T00:00:00Z'), 'match')
  strictEqual(outcome('1998-12-31T23:59:60.5Z', '1999-01-01T00:00:00.5Z'), 'match')
  strictEqual(outcome('2016-12-31T23:59:60Z', '2016-12-31T23:59:59Z'), 'mismatch')
  strictEqual((parseInstant('2016-12-31T23:59:60Z') as bigint) - (parseInstant('2016-12-31T23:59:59Z') as bigint), NS)
  // in a local offset the leap second is in that offset's minute
  strictEqual(outcome('1998-12-31T15:59:60-08:00', '1999-01-01T00:00:00Z'), 'match')
  strictEqual(outcome('9999-12-31T23:59:60Z', '9999-12-31T23:59:59Z', { timestamps: true, timestampToleranceMs: 1000 }), 'match')
  strictEqual(parseInstant('2016-12-31T23:59:61Z'), null)
})

test('offsets should move the instant, from +14:00 to -12:00', () => {
  strictEqual(outcome('2026-01-01T14:00:00+14:00', '2026-01-01T00:00:00Z'), 'match')
  strictEqual(outcome('2025-12-31T12:00:00-12:00', '2026-01-01T00:00:00Z'), 'match')
  strictEqual(outcome('2026-01-01T14:00:00+14:00', '2025-12-31T12:00:00-12:00'), 'match')
  strictEqual(outcome('2026-01-01T00:00:00-00:00', '2026-01-01T00:00:00z'), 'match')
  strictEqual(outcome('2026-01-01T05:30:00+05:30', '2026-01-01T00:00:00Z'), 'match')
  strictEqual(outcome('2026-01-01T14:00:00+14:00', '2026-01-01T14:00:00Z'), 'mismatch')
  strictEqual(outcome('0001-01-01T00:00:00+01:00', '0000-12-31T23:00:00Z'), 'match')
})

test('fractional seconds should be exact to the nanosecond', () => {
  strictEqual(outcome('2026-01-01T00:00:00.123456789Z', '2026-01-01T00:00:00.123456780Z'), 'mismatch')
  strictEqual(outcome('2026-01-01T00:00:00.123456789Z', '2026-01-01T00:00:00.123456780Z', { timestamps: true, timestampToleranceMs: 0.00001 }), 'match')
  strictEqual(outcome('2026-01-01T00:00:00.123456789Z', '2026-01-01T00:00:00.123456778Z', { timestamps: true, timestampToleranceMs: 0.00001 }), 'mismatch')
  strictEqual(outcome('2026-01-01T00:00:00.1Z', '2026-01-01T00:00:00.100000000Z'), 'match')
  strictEqual(outcome('2026-01-01T00:00:00Z', '2026-01-01T00:00:00.000Z'), 'match')
  strictEqual(outcome('0001-01-01T00:00:00.000000001Z', '0001-01-01T00:00:00Z'), 'mismatch')
  deepStrictEqual([parseInstant('2026-01-01T00:00:00.1234567891Z'), parseInstant('2026-01-01T00:00:00.123456789Z')].map(String), [String(parseInstant('2026-01-01T00:00:00.123456789Z')), String(parseInstant('2026-01-01T00:00:00.123456789Z'))])
})

test('timestamps off, or a path list that does not cover the field, should compare the text', () => {
  strictEqual(outcome('1998-12-31T23:59:60Z', '1999-01-01T00:00:00Z', {}), 'mismatch')
  strictEqual(outcome('2026-01-01T14:00:00+14:00', '2026-01-01T00:00:00Z', { timestamps: ['$.other'] }), 'mismatch')
  strictEqual(outcome('2026-01-01T14:00:00+14:00', '2026-01-01T00:00:00Z', { timestamps: ['$.at'] }), 'match')
})
