/*
 * The comparison's common path: identical answers (the byte-identical shortcut, sameAnswer) and
 * re-serialized 1 KiB JSON answers (analyze: decode, canonicalize, hash), with the header list a
 * real upstream sends. Prints mitata's table, then one JSON line per case with its mean.
 * Run: node --import tsx bench/micro/compare-path.bench.ts
 */
import { bench, do_not_optimize as doNotOptimize, run } from 'mitata'
import { analyze, sameAnswer, type SideData } from '../../src/compare/analyze.ts'
import { Redactor } from '../../src/compare/redact.ts'
import { RuleSet } from '../../src/compare/rule-set.ts'

const value = {
  id: 100123,
  status: 'shipped',
  customer: { name: 'Customer 1', email: 'c1@example.com', vip: false },
  items: Array.from({ length: 10 }, (_, k) => ({ sku: `SKU-${k * 7}`, qty: 1 + k, price: 9.99 + k, updatedAt: `2026-01-0${1 + k}T10:00:00Z` })),
  total: '123.45',
  createdAt: '2026-01-01T00:00:00.000Z',
  note: 'Livraison prévue “demain” – merci',
  tags: ['a', 'b', 'c']
}
const compact = Buffer.from(JSON.stringify(value))
/** The same value with every object's keys in reverse order. */
function reversed (v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reversed)
  if (v === null || typeof v !== 'object') return v
  return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)]))
}
const pretty = Buffer.from(JSON.stringify(reversed(value), null, 1))

function side (body: Buffer, headers: string[]): SideData {
  return { status: 200, headers, body, truncated: false, error: null, durationMs: 1 }
}

const h = (length: number): string[] => [
  'Content-Type', 'application/json; charset=utf-8', 'Content-Length', String(length), 'Date', 'Mon, 05 Jan 2026 10:00:00 GMT',
  'Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'ETag', 'W/"400-abc"', 'Vary', 'Accept-Encoding', 'X-Request-Id', 'f3b1c2'
]
const primary = side(compact, h(compact.length))
const twin = side(Buffer.from(compact), h(compact.length))
const reserialized = side(pretty, h(pretty.length))
const rules = new RuleSet({ global: {}, routes: {} })
const redactor = new Redactor([], [])
const names = rules.get('r').headers
const task = (c: SideData) => ({ route: 'r', primary, candidate: c, secondary: null, render: false, maxBodyChars: 1000 })

if (!sameAnswer(primary, twin, names)) throw new Error('identical answers should be the same')
if (analyze(task(reserialized), rules, redactor).outcome !== 'match') throw new Error('re-serialized answers should match')

bench(`sameAnswer identical ${compact.length} B`, () => doNotOptimize(sameAnswer(primary, twin, names)))
bench(`analyze identical ${compact.length} B`, () => doNotOptimize(analyze(task(twin), rules, redactor)))
bench(`analyze re-serialized ${compact.length}/${pretty.length} B`, () => doNotOptimize(analyze(task(reserialized), rules, redactor)))

const { benchmarks } = await run()
for (const trial of benchmarks) {
  const stats = trial.runs[0].stats
  if (stats !== undefined) console.log(JSON.stringify({ case: trial.alias, avgNs: Math.round(stats.avg), p99Ns: Math.round(stats.p99) }))
}
