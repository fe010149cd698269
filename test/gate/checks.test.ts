/* The gate's checks (issue 12): a candidate 5xx is an error, and an inconclusive check says how much more evidence it waits for. */
import { ok, match, strictEqual } from 'node:assert/strict'
import { test } from 'node:test'
import { defaultGateConfig, evaluateGate, wilson } from '../../src/gate/index.ts'
import { cleanTrialsToPass, trialsToFailAt, trialsToPassAt } from '../../src/gate/needed.ts'
import { type GateInput, type LatencyEvidence } from '../../src/gate/types.ts'
import { emptyCounts, type WindowCounts } from '../../src/stats/window.ts'

const steady: LatencyEvidence = { count: 1000, p95Ms: 40, p95LowerMs: 39.5, p95UpperMs: 40.5 }

function input (counts: Partial<WindowCounts>, extra: Partial<GateInput> = {}): GateInput {
  return { window: '5m', counts: { ...emptyCounts(), ...counts }, latency: { primary: steady, candidate: steady }, now: new Date(0), ...extra }
}

test('errors check should count a candidate 5xx where the primary was not 5xx, and report both parts', () => {
  // 1000 mirrored, all answered: 20 of them 500 where the primary answered 200 (2 %, budget 0.5 %)
  const result = evaluateGate(input({ match: 980, mismatch: 20, mirrored: 1000, serverErrors: 20 }), { ...defaultGateConfig, mismatchBudget: 0.05 })
  const { errors } = result.checks
  strictEqual(errors.transport, 0)
  strictEqual(errors.serverErrors, 20)
  strictEqual(errors.errors, 20)
  strictEqual(errors.ratio, 0.02)
  strictEqual(errors.verdict, 'fail')
  match(errors.reason, /0 without an answer, 20 5xx where the primary was not/)
  strictEqual(result.checks.mismatch.verdict, 'pass', 'the same pairs are mismatches, within this budget')
  strictEqual(result.verdict, 'fail')
})

test('errors check should add transport failures and 5xx answers', () => {
  const { errors } = evaluateGate(input({ match: 9990, mirrored: 10_000, errors: 4, serverErrors: 6 })).checks
  strictEqual(errors.transport, 4)
  strictEqual(errors.serverErrors, 6)
  strictEqual(errors.errors, 10)
  strictEqual(errors.ratio, 0.001)
  strictEqual(errors.verdict, 'pass')
  // a racing count never makes errors exceed the requests
  const racing = evaluateGate(input({ mirrored: 3, errors: 2, serverErrors: 2 })).checks.errors
  ok(racing.ratio <= 1)
})

test('an inconclusive mismatch check should say how many more matching comparisons pass it', () => {
  const n = 2698
  const result = evaluateGate(input({ match: n, mirrored: n }))
  const m = result.checks.mismatch
  strictEqual(m.verdict, 'inconclusive')
  // smallest n' with Wilson upper(0, n') <= 0.001 at 95 %: z^2 (1 - b) / b = 3837.6 -> 3838
  strictEqual(m.needed, 3838 - n)
  strictEqual(m.neededIfClean, 3838 - n)
  strictEqual(m.neededToFail, null, 'a clean candidate never fails')
  match(m.reason, /too few samples \(n=2698\): passes after 1140 more matching comparisons/)
  // and that many more do pass, one fewer does not
  strictEqual(evaluateGate(input({ match: 3838, mirrored: 3838 })).checks.mismatch.verdict, 'pass')
  strictEqual(evaluateGate(input({ match: 3837, mirrored: 3837 })).checks.mismatch.verdict, 'inconclusive')
  // nothing compared yet: the whole amount
  strictEqual(evaluateGate(input({})).checks.mismatch.needed, 3838)
  // a passing check needs nothing more
  strictEqual(evaluateGate(input({ match: 20_000, mirrored: 20_000 })).checks.mismatch.needed, 0)
})

test('an inconclusive mismatch check with mismatches should give the amount at the current ratio and if clean', () => {
  const m = evaluateGate(input({ match: 4998, mismatch: 2, mirrored: 5000 })).checks.mismatch
  strictEqual(m.verdict, 'inconclusive')
  ok(m.needed !== null && m.neededIfClean !== null)
  ok(m.needed > m.neededIfClean, `at ratio 0.0004 (${m.needed}) more are needed than if all match (${m.neededIfClean})`)
  // neededIfClean is exact: the first n' at which 2 mismatches pass
  ok(wilson(2, 5000 + m.neededIfClean).upper <= 0.001)
  ok(wilson(2, 5000 + m.neededIfClean - 1).upper > 0.001)
  // at the current ratio, about: 2 in 5000 stays 0.04 %
  const total = 5000 + m.needed
  ok(wilson(Math.round(total * 0.0004), total).upper <= 0.00101)
  match(m.reason, new RegExp(`passes after ${m.needed} more comparisons at the current ratio 0.0004 \\(${m.neededIfClean} more if they are all matching comparisons\\)`))
})

test('an inconclusive check whose ratio is over budget should say it never passes at that ratio', () => {
  // 3 in 2000 is 0.15 %: over the 0.1 % budget, but the interval still reaches below it
  const m = evaluateGate(input({ match: 1997, mismatch: 3, mirrored: 2000 })).checks.mismatch
  strictEqual(m.verdict, 'inconclusive')
  strictEqual(m.needed, null)
  ok(m.neededToFail !== null && m.neededToFail > 0)
  ok(m.neededIfClean !== null && m.neededIfClean > 0)
  match(m.reason, /never passes at the current ratio 0.0015 \(budget 0.001\); fails after \d+ more comparisons at this ratio; would pass after \d+ more matching comparisons/)
  strictEqual(m.etaSeconds, null)
})

test('errors and latency checks should say what they wait for, with an estimate from the recent rate', () => {
  const result = evaluateGate(input({ match: 40, mirrored: 40 }, {
    latency: { primary: { count: 40, p95Ms: 10 }, candidate: { count: 38, p95Ms: 10 } },
    rates: { compared: 10, mirrored: 10 },
    windowMs: 300_000
  }))
  const { errors, latency, mismatch } = result.checks
  strictEqual(errors.verdict, 'inconclusive')
  // smallest n' with upper(0, n') <= 0.005: z^2 (1 - b) / b = 764.4 -> 765
  strictEqual(errors.needed, 765 - 40)
  strictEqual(errors.etaSeconds, Math.ceil((765 - 40) / 10))
  match(errors.reason, /passes after 725 more error-free mirrored requests; about 73 s at 10\/s/)
  strictEqual(latency.needed, 62)
  strictEqual(latency.etaSeconds, 7)
  match(latency.reason, /need 100 each\): 62 more compared pairs \(about 7 s at 10\/s\)/)
  strictEqual(mismatch.etaSeconds, Math.ceil(mismatch.needed! / 10))
  // 3838 comparisons at 10/s take 384 s: more than a 5m window holds
  match(mismatch.reason, /more than the 5m window holds at that rate: ask a longer window/)
  strictEqual(evaluateGate(input({ match: 40, mirrored: 40 })).checks.mismatch.etaSeconds, null, 'no rate, no estimate')
})

test('the needed-evidence helpers should agree with the Wilson interval', () => {
  for (const [events, n, budget] of [[0, 0, 0.001], [0, 100, 0.01], [5, 1000, 0.01], [1, 50, 0.005], [40, 10_000, 0.005]]) {
    const clean = cleanTrialsToPass(events, n, budget, 0.95)
    ok(clean !== null)
    ok(wilson(events, n + clean, 0.95).upper <= budget, `${events}/${n}+${clean}`)
    if (n + clean > Math.max(1, events)) ok(wilson(events, n + clean - 1, 0.95).upper > budget, `${events}/${n}+${clean} is the smallest`)
  }
  strictEqual(cleanTrialsToPass(0, 10, 0, 0.95), null, 'a zero budget is never reached')
  strictEqual(trialsToPassAt(0.002, 1000, 0.001, 0.95), null)
  strictEqual(trialsToFailAt(0.0005, 1000, 0.001, 0.95), null)
  const toFail = trialsToFailAt(0.002, 1000, 0.001, 0.95)
  ok(toFail !== null && toFail > 0)
  const total = 1000 + toFail
  ok(wilson(Math.round(total * 0.002), total).lower > 0.00099)
})
