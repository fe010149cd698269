/* Tests for collectGateInput: the gate fed from real rolling stats with an injected clock. */
import { test } from 'node:test'
import { ok, strictEqual, throws } from 'node:assert/strict'
import { collectGateInput, evaluateGate, parseWindow } from '../../src/gate/index.ts'
import { LatencyHistograms } from '../../src/stats/latency.ts'
import { RollingWindow } from '../../src/stats/window.ts'

function stats (): { window: RollingWindow, latency: LatencyHistograms, advance: (ms: number) => void } {
  let t = 1_700_000_000_000
  const now = (): number => t
  return { window: new RollingWindow({ now }), latency: new LatencyHistograms({ now }), advance: (ms) => { t += ms } }
}

function feed (s: ReturnType<typeof stats>, route: string, slowdown: number, extraMicros = 0): void {
  for (let i = 1; i <= 1000; i++) {
    s.latency.record(route, 'primary', i * 100) // 0.1 .. 100 ms, uniform
    s.latency.record(route, 'candidate', i * 100 * slowdown + extraMicros)
  }
  s.window.add(route, 'mirrored', 20_000)
  s.window.add(route, 'match', 20_000)
}

test('collectGateInput should fail a candidate whose p95 is 20 % slower', () => {
  const s = stats()
  feed(s, 'get-order', 1.2)
  const input = collectGateInput(s.window, s.latency, { window: '5m', windowMs: parseWindow('5m'), route: 'get-order' })
  const { primary, candidate } = input.latency
  strictEqual(primary.count, 1000)
  strictEqual(candidate.count, 1000)
  ok(primary.p95LowerMs! < primary.p95Ms && primary.p95Ms < primary.p95UpperMs!, 'p95 bracketed')
  const result = evaluateGate(input)
  strictEqual(result.checks.latency.verdict, 'fail')
  strictEqual(result.checks.mismatch.verdict, 'pass')
  strictEqual(result.verdict, 'fail')
  strictEqual(result.route, 'get-order')
  ok(Math.abs(result.checks.latency.ratio! - 1.2) < 0.01)
})

test('collectGateInput should pass a candidate slower by less than the slack', () => {
  const s = stats()
  for (let i = 1; i <= 1000; i++) {
    s.latency.record('r', 'primary', 2000 + i) // 2 .. 3 ms
    s.latency.record('r', 'candidate', 4000 + i) // 2 ms slower: 2x, but under 5 ms
  }
  s.window.add('r', 'mirrored', 20_000)
  s.window.add('r', 'match', 20_000)
  const result = evaluateGate(collectGateInput(s.window, s.latency, { window: '1m', windowMs: 60_000, confidence: 0.95 }))
  strictEqual(result.checks.latency.verdict, 'pass')
  strictEqual(result.route, null)
  strictEqual(result.verdict, 'pass')
})

test('collectGateInput should let old evidence age out of the window', () => {
  const s = stats()
  feed(s, 'r', 1.2)
  s.window.add('r', 'mismatch', 100)
  s.advance(10 * 60_000)
  const result = evaluateGate(collectGateInput(s.window, s.latency, { window: '5m', windowMs: 300_000, route: 'r', now: new Date(0) }))
  strictEqual(result.checks.mismatch.compared, 0)
  strictEqual(result.checks.latency.primarySamples, 0)
  strictEqual(result.verdict, 'inconclusive')
  strictEqual(result.generatedAt, '1970-01-01T00:00:00.000Z')
  throws(() => collectGateInput(s.window, s.latency, { window: '2h', windowMs: 7_200_000 }), RangeError)
})
