/* Tests for the gate: the T50 verdict table, the latency check, the answer's shape, parseWindow and verdictToGauge. */
import { test } from 'node:test'
import { deepStrictEqual, match, ok, strictEqual, throws } from 'node:assert/strict'
import { defaultGateConfig, evaluateGate, parseWindow, verdictToGauge } from '../../src/gate/gate.ts'
import { type GateInput, type LatencyEvidence } from '../../src/gate/types.ts'
import { emptyCounts, type WindowCounts } from '../../src/stats/window.ts'

const steady: LatencyEvidence = { count: 1000, p95Ms: 40, p95LowerMs: 39.5, p95UpperMs: 40.5 }
const NOW = new Date('2026-11-26T10:00:00.000Z')

function input (counts: Partial<WindowCounts>, latency: Partial<GateInput['latency']> = {}): GateInput {
  return {
    window: '5m',
    counts: { ...emptyCounts(), ...counts },
    latency: { primary: steady, candidate: steady, ...latency },
    now: NOW
  }
}

test('T50 gate should pass 20,000 compared with 2 mismatches', () => {
  const result = evaluateGate(input({ match: 19_998, mismatch: 2, mirrored: 20_000 }), defaultGateConfig)
  strictEqual(result.verdict, 'pass')
  strictEqual(result.pass, true)
  const { mismatch } = result.checks
  strictEqual(mismatch.verdict, 'pass')
  strictEqual(mismatch.compared, 20_000)
  strictEqual(mismatch.mismatched, 2)
  strictEqual(mismatch.ratio, 0.0001)
  ok(mismatch.lower <= mismatch.ratio && mismatch.ratio <= mismatch.upper && mismatch.upper <= 0.001)
})

test('T50 gate should fail 10,000 compared with 40 mismatches', () => {
  const result = evaluateGate(input({ match: 9960, mismatch: 40, mirrored: 10_000 }))
  strictEqual(result.verdict, 'fail')
  strictEqual(result.pass, false)
  strictEqual(result.checks.mismatch.verdict, 'fail')
  ok(result.checks.mismatch.lower > 0.001)
  match(result.checks.mismatch.reason, /lower bound .* > budget 0.001/)
})

test('T50 gate should be inconclusive, never pass, with 50 compared and 0 mismatches', () => {
  const result = evaluateGate(input({ match: 50, mirrored: 50 }))
  strictEqual(result.verdict, 'inconclusive')
  strictEqual(result.pass, false)
  strictEqual(result.checks.mismatch.verdict, 'inconclusive')
  strictEqual(result.checks.mismatch.lower, 0)
  match(result.checks.mismatch.reason, /too few samples \(n=50\)/)
  strictEqual(evaluateGate(input({})).checks.mismatch.verdict, 'inconclusive', 'nothing compared')
  strictEqual(evaluateGate(input({})).checks.mismatch.ratio, 0)
})

test('T50 gate should never count dropped, skipped or errored mirrors as matches, and report them', () => {
  // 4,300 mirrors wanted, 30 % dropped. 3,000 clean matches alone are not enough evidence
  // for a 0.1 % budget; the same 4,300 counted as matches would have passed.
  const counts = { match: 3000, dropped: 1300, skipped: 40, error: 5, mirrored: 3005, errors: 5 }
  const result = evaluateGate(input(counts))
  const { mismatch } = result.checks
  strictEqual(mismatch.verdict, 'inconclusive')
  strictEqual(mismatch.compared, 3000)
  strictEqual(mismatch.dropped, 1300)
  strictEqual(mismatch.skipped, 40)
  strictEqual(mismatch.errored, 5)
  strictEqual(result.verdict, 'inconclusive')
  strictEqual(result.checks.errors.mirrored, 3005, 'dropped mirrors were never sent')
  const dropsAsMatches = evaluateGate(input({ ...counts, match: 4300, dropped: 0 }))
  strictEqual(dropsAsMatches.checks.mismatch.verdict, 'pass', 'the counterfactual shows what counting drops would hide')
})

test('gate should fail the errors check when candidate errors exceed the budget', () => {
  const result = evaluateGate(input({ match: 20_000, mirrored: 10_000, errors: 200 }))
  strictEqual(result.checks.errors.verdict, 'fail')
  strictEqual(result.checks.errors.ratio, 0.02)
  strictEqual(result.verdict, 'fail')
  const fine = evaluateGate(input({ match: 20_000, mirrored: 20_100, errors: 20 }))
  strictEqual(fine.checks.errors.verdict, 'pass')
  const few = evaluateGate(input({ match: 20_000, mirrored: 100, errors: 0 }))
  strictEqual(few.checks.errors.verdict, 'inconclusive')
  const racing = evaluateGate(input({ match: 20_000, mirrored: 0, errors: 3 }))
  strictEqual(racing.checks.errors.ratio, 1, 'errors counted before their mirrored event still count')
  strictEqual(evaluateGate(input({})).checks.errors.ratio, 0)
})

test('gate latency should fail a candidate p95 20 % slower with enough samples', () => {
  const candidate: LatencyEvidence = { count: 1000, p95Ms: 48, p95LowerMs: 47.4, p95UpperMs: 48.6 }
  const result = evaluateGate(input({ match: 20_000, mirrored: 20_000 }, { candidate }))
  const { latency } = result.checks
  strictEqual(latency.verdict, 'fail')
  strictEqual(latency.ratio, 1.2)
  strictEqual(latency.diffMs, 8)
  strictEqual(result.verdict, 'fail')
})

test('gate latency should pass when the candidate is slower by less than the slack', () => {
  const primary: LatencyEvidence = { count: 1000, p95Ms: 2, p95LowerMs: 1.9, p95UpperMs: 2.1 }
  const candidate: LatencyEvidence = { count: 1000, p95Ms: 4, p95LowerMs: 3.8, p95UpperMs: 4.2 }
  const result = evaluateGate(input({ match: 20_000, mirrored: 20_000 }, { primary, candidate }))
  strictEqual(result.checks.latency.verdict, 'pass')
  strictEqual(result.checks.latency.ratio, 2)
  match(result.checks.latency.reason, /within slack 5 ms/)
  strictEqual(result.verdict, 'pass')
})

test('gate latency should be inconclusive with too few samples or overlapping evidence', () => {
  const slow: LatencyEvidence = { count: 99, p95Ms: 400 }
  const few = evaluateGate(input({ match: 20_000, mirrored: 20_000 }, { candidate: slow }))
  strictEqual(few.checks.latency.verdict, 'inconclusive')
  match(few.checks.latency.reason, /too few latency samples/)
  // Point estimate 15 % slower, but the intervals overlap the budget line.
  const wide: LatencyEvidence = { count: 150, p95Ms: 46, p95LowerMs: 41, p95UpperMs: 60 }
  strictEqual(evaluateGate(input({}, { candidate: wide })).checks.latency.verdict, 'inconclusive')
  const none = evaluateGate(input({}, { primary: { count: 0, p95Ms: 0 }, candidate: { count: 0, p95Ms: 0 } }))
  strictEqual(none.checks.latency.verdict, 'inconclusive')
  strictEqual(none.checks.latency.ratio, null)
})

test('gate latency should compare point estimates when no intervals are given', () => {
  const primary: LatencyEvidence = { count: 500, p95Ms: 100 }
  strictEqual(evaluateGate(input({}, { primary, candidate: { count: 500, p95Ms: 109 } })).checks.latency.verdict, 'pass')
  strictEqual(evaluateGate(input({}, { primary, candidate: { count: 500, p95Ms: 111 } })).checks.latency.verdict, 'fail')
  strictEqual(evaluateGate(input({}, { primary, candidate: { count: 500, p95Ms: 80 } })).checks.latency.verdict, 'pass')
  // 20 % slower but only 4 ms: never a fail.
  const fast: LatencyEvidence = { count: 500, p95Ms: 20 }
  strictEqual(evaluateGate(input({}, { primary: fast, candidate: { count: 500, p95Ms: 24 } })).checks.latency.verdict, 'pass')
  // Bounds that do not bracket the estimate still cannot fail a difference under the slack.
  const odd: LatencyEvidence = { count: 500, p95Ms: 22, p95LowerMs: 40, p95UpperMs: 41 }
  strictEqual(evaluateGate(input({}, { primary: fast, candidate: odd })).checks.latency.verdict, 'inconclusive')
})

test('gate answer should have exactly the documented shape (docs/gate.md)', () => {
  const result = evaluateGate({ ...input({ match: 19_996, mismatch: 4, mirrored: 20_100, errors: 20 }), route: 'get-order' })
  deepStrictEqual(Object.keys(result), ['verdict', 'pass', 'window', 'route', 'checks', 'generatedAt'])
  deepStrictEqual(Object.keys(result.checks), ['mismatch', 'errors', 'latency'])
  for (const key of ['verdict', 'ratio', 'budget', 'compared', 'mismatched', 'upper', 'lower', 'dropped', 'skipped']) {
    ok(key in result.checks.mismatch, `mismatch.${key}`)
  }
  for (const key of ['verdict', 'ratio', 'budget', 'mirrored', 'errors']) ok(key in result.checks.errors, `errors.${key}`)
  for (const key of ['verdict', 'primaryP95Ms', 'candidateP95Ms', 'ratio', 'budget']) ok(key in result.checks.latency, `latency.${key}`)
  strictEqual(result.window, '5m')
  strictEqual(result.route, 'get-order')
  strictEqual(result.generatedAt, '2026-11-26T10:00:00.000Z')
  strictEqual(result.checks.mismatch.budget, 0.001)
  strictEqual(result.checks.errors.budget, 0.005)
  strictEqual(result.checks.latency.budget, 1.1)
  deepStrictEqual(JSON.parse(JSON.stringify(result)), result, 'plain JSON, no Infinity or NaN')
  const { now: _now, ...withoutNow } = input({})
  const fresh = evaluateGate(withoutNow)
  strictEqual(fresh.route, null)
  ok(Math.abs(Date.parse(fresh.generatedAt) - Date.now()) < 5000)
})

test('gate should combine checks: any fail fails, all pass passes, else inconclusive', () => {
  const slow: LatencyEvidence = { count: 1000, p95Ms: 80, p95LowerMs: 79, p95UpperMs: 81 }
  strictEqual(evaluateGate(input({ match: 50, mirrored: 50 }, { candidate: slow })).verdict, 'fail')
  strictEqual(evaluateGate(input({ match: 20_000, mirrored: 100 })).verdict, 'inconclusive')
})

test('gate should take partial configs over the defaults', () => {
  const counts = { match: 9960, mismatch: 40, mirrored: 10_000 }
  strictEqual(evaluateGate(input(counts), { mismatchBudget: 0.01 }).checks.mismatch.verdict, 'pass')
  strictEqual(evaluateGate(input(counts), { mismatchBudget: undefined }).checks.mismatch.budget, 0.001)
  const strict = evaluateGate(input({ match: 2000, mirrored: 2000 }), { confidence: 0.5 })
  strictEqual(strict.checks.mismatch.confidence, 0.5)
  ok(strict.checks.mismatch.upper < evaluateGate(input({ match: 2000, mirrored: 2000 })).checks.mismatch.upper)
  strictEqual(evaluateGate(input({}, { candidate: { count: 50, p95Ms: 40 } }), { minLatencySamples: 10 }).checks.latency.verdict, 'pass')
  ok(Object.isFrozen(defaultGateConfig))
})

test('parseWindow should turn durations into ms', () => {
  strictEqual(parseWindow('5m'), 300_000)
  strictEqual(parseWindow('30s'), 30_000)
  strictEqual(parseWindow('90s'), 90_000)
  strictEqual(parseWindow('1h'), 3_600_000)
  strictEqual(parseWindow('250ms'), 250)
  strictEqual(parseWindow('2h', 7_200_000), 7_200_000)
})

test('parseWindow should reject bad or too long windows with a TypeError that says why', () => {
  for (const bad of ['', '5', 'm5', '5d', '1.5m', ' 5m', '5 m', '-5m', '5M', '99999999s', 5, null, undefined]) {
    throws(() => parseWindow(bad), { name: 'TypeError', message: /window must be a positive integer with a unit/ }, String(bad))
  }
  throws(() => parseWindow('0s'), { name: 'TypeError', message: /longer than 0/ })
  throws(() => parseWindow('10m', 60_000), TypeError)
})

test('parseWindow should say a window over the maximum in the unit it was given', () => {
  throws(() => parseWindow('2h'), { name: 'TypeError', message: /^window 2h exceeds the maximum 1h \(gate\.maxWindow\)$/ })
  throws(() => parseWindow('90m'), { message: /window 90m exceeds the maximum 60m/ })
  throws(() => parseWindow('3601s'), { message: /window 3601s exceeds the maximum 3600s/ })
  throws(() => parseWindow('3600001ms'), { message: /window 3600001ms exceeds the maximum 3600000ms/ })
  throws(() => parseWindow('2m', 90_000), { message: /window 2m exceeds the maximum 1.5m/ })
  strictEqual(parseWindow('60m'), 3_600_000)
})

test('verdictToGauge should map pass 1, inconclusive 0, fail -1', () => {
  strictEqual(verdictToGauge('pass'), 1)
  strictEqual(verdictToGauge('inconclusive'), 0)
  strictEqual(verdictToGauge('fail'), -1)
})
