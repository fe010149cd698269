/*
 * canonicalize()+sha256 throughput against the baseline JSON.parse + fast-json-stable-stringify
 * + sha256, on realistic API bodies of 1 KiB, 64 KiB and 4 MiB (H15). Prints mitata's table,
 * then one JSON line per size with the ratio and MB/s of both variants.
 * Run: node --import tsx bench/micro/canonical.bench.ts
 */
import { createHash } from 'node:crypto'
import { bench, do_not_optimize as doNotOptimize, group, run } from 'mitata'
import stringify from 'fast-json-stable-stringify'
import { canonicalize } from '../../src/compare/canonical.ts'

/** A deterministic, order-API-like body of at least `size` bytes, keys in service order. */
function makeBody (size: number): Buffer {
  const orders: string[] = []
  let total = 2
  for (let i = 0; total < size; i++) {
    const items = []
    for (let k = 0; k < 1 + (i % 4); k++) {
      items.push({ sku: `SKU-${(i * 7 + k) % 9973}`, qty: 1 + ((i + k) % 5), price: Number(((i * 13 + k * 7) % 10000 / 100).toFixed(2)), updatedAt: `2026-01-0${1 + (k % 9)}T10:0${k % 10}:00Z` })
    }
    const order = JSON.stringify({
      id: 100000 + i,
      status: ['paid', 'shipped', 'pending'][i % 3],
      customer: { name: `Customer ${i}`, email: `c${i}@example.com`, vip: i % 7 === 0 },
      items,
      total: items.reduce((s, it) => s + it.price * it.qty, 0).toFixed(2),
      createdAt: '2026-01-01T00:00:00.000Z',
      note: i % 5 === 0 ? 'Livraison prévue “demain” \u2013 merci' : null,
      tags: ['a', 'b', 'c'].slice(0, i % 4)
    })
    orders.push(order)
    total += order.length + 1
  }
  return Buffer.from(`{"orders":[${orders.join(',')}],"count":${orders.length}}`)
}

function baseline (body: Buffer): string {
  const text = stringify(JSON.parse(body.toString('utf8')))
  return createHash('sha256').update(text).digest('hex')
}

function ours (body: Buffer): string {
  const r = canonicalize(body)
  if (!r.ok) throw new Error(r.reason)
  return r.hash
}

const sizes = [['1 KiB', 1024], ['64 KiB', 64 * 1024], ['4 MiB', 4 * 1024 * 1024]] as const
const bodies = new Map<string, Buffer>()
for (const [name, size] of sizes) {
  const body = makeBody(size)
  if (baseline(body) !== ours(body)) throw new Error(`canonical forms differ for ${name}`)
  bodies.set(name, body)
}

for (const [name] of sizes) {
  const body = bodies.get(name) as Buffer
  group(`${name} (${body.length} bytes)`, () => {
    bench(`baseline JSON.parse+stable-stringify+sha256 ${name}`, () => doNotOptimize(baseline(body))).baseline(true)
    bench(`canonicalize+sha256 ${name}`, () => doNotOptimize(ours(body)))
  })
}

const { benchmarks } = await run()
const avg = new Map<string, number>()
for (const trial of benchmarks) {
  const stats = trial.runs[0].stats
  if (stats !== undefined) avg.set(trial.alias, stats.avg)
}
for (const [name] of sizes) {
  const bytes = (bodies.get(name) as Buffer).length
  const base = avg.get(`baseline JSON.parse+stable-stringify+sha256 ${name}`) as number
  const mine = avg.get(`canonicalize+sha256 ${name}`) as number
  const mbps = (ns: number): number => Number((bytes / (ns / 1e9) / 1e6).toFixed(1))
  console.log(JSON.stringify({ size: name, bytes, baselineUs: Number((base / 1e3).toFixed(1)), canonicalUs: Number((mine / 1e3).toFixed(1)), ratio: Number((mine / base).toFixed(2)), baselineMBps: mbps(base), canonicalMBps: mbps(mine) }))
}
