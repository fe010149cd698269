// Scrapes paritygate's admin GET /metrics (Prometheus text) into samples, and sums or diffs them by label.
import { request } from 'undici'

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** Parses Prometheus text exposition: one sample per non-comment line (`name{a="b"} value`). */
export function parseMetrics (text: string): Sample[] {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line)
    if (m === null) continue
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2]
    out.push({ name: m[1], labels, value: Number(m[3]) })
  }
  return out
}

/** GET <adminUrl>/metrics; loopback only. */
export async function scrape (adminUrl: string): Promise<Sample[]> {
  if (!adminUrl.startsWith('http://127.0.0.1:')) throw new Error(`refusing non-loopback url ${adminUrl}`)
  const res = await request(`${adminUrl}/metrics`, { headersTimeout: 5000, bodyTimeout: 5000 })
  const text = await res.body.text()
  if (res.statusCode !== 200) throw new Error(`${adminUrl}/metrics answered ${res.statusCode}`)
  return parseMetrics(text)
}

/** Sum of the samples named `name` whose labels include `where`. */
export function total (samples: Sample[], name: string, where: Record<string, string> = {}): number {
  let sum = 0
  for (const s of samples) {
    if (s.name !== name) continue
    if (Object.entries(where).every(([k, v]) => s.labels[k] === v)) sum += s.value
  }
  return sum
}

/** `name` summed by the values of label `by` (e.g. decision → count). */
export function byLabel (samples: Sample[], name: string, by: string, where: Record<string, string> = {}): Record<string, number> {
  const out: Record<string, number> = {}
  for (const s of samples) {
    if (s.name !== name || s.labels[by] === undefined) continue
    if (!Object.entries(where).every(([k, v]) => s.labels[k] === v)) continue
    out[s.labels[by]] = (out[s.labels[by]] ?? 0) + s.value
  }
  return out
}

/** Per-label increase between two `byLabel` snapshots (counters only). */
export function delta (before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0)
    if (d !== 0) out[k] = d
  }
  return out
}
