/* Shared set-up for mirror tests: a primary and a candidate that count what they see. */
import { type ServerResponse } from 'node:http'
import { type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { type MirrorObserver } from '../../src/mirror/types.ts'
import { type StartedProxy } from '../helpers/proxy.ts'
import { createRecordingUpstream, type Received } from '../helpers/upstream.ts'

/** A primary answering a fixed JSON body. */
export async function jsonPrimary (t: TestContext, body = '{"id":1,"name":"primary"}') {
  return createRecordingUpstream(t, (_r: Received, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
  })
}

/**
 * Polls until `check()` is true or `ms` pass. A check that throws (a metric series not there yet)
 * counts as false while polling; the last check's error is thrown.
 */
export async function eventually (check: () => boolean | Promise<boolean>, ms = 3000): Promise<boolean> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    try {
      if (await check()) return true
    } catch {}
    await sleep(10)
  }
  return check()
}

/** The family a series belongs to: its name without labels, and without a histogram's `_bucket`, `_sum` or `_count`. */
function familyOf (series: string): string[] {
  const name = series.split('{')[0]
  const base = name.replace(/_(bucket|sum|count)$/, '')
  return base === name ? [name] : [name, base]
}

async function lookup (proxy: StartedProxy, series: string): Promise<{ value: number | undefined, familyExists: boolean }> {
  const text = await (await request(`${proxy.admin}/metrics`)).body.text()
  for (const line of text.split('\n')) if (line.startsWith(series + ' ')) return { value: Number(line.slice(series.length + 1)), familyExists: true }
  const families = familyOf(series)
  const familyExists = text.split('\n').some((line) => families.some((f) => line.startsWith(`# TYPE ${f} `)))
  return { value: undefined, familyExists }
}

/**
 * The value of one series in the admin /metrics text. Throws when the series is not there, so that
 * a misspelt name or label never reads as 0; use {@link metricOrZero} for a counter child that was
 * never incremented.
 */
export async function metric (proxy: StartedProxy, series: string): Promise<number> {
  const { value, familyExists } = await lookup(proxy, series)
  if (value === undefined) throw new Error(`no series ${series} in /metrics${familyExists ? ' (its family exists: metricOrZero reads a child never incremented as 0)' : ': no such metric'}`)
  return value
}

/** Like {@link metric}, but 0 for a child its family does not have yet; still throws on an unknown metric name. */
export async function metricOrZero (proxy: StartedProxy, series: string): Promise<number> {
  const { value, familyExists } = await lookup(proxy, series)
  if (value !== undefined) return value
  if (!familyExists) throw new Error(`no metric ${series.split('{')[0]} in /metrics`)
  return 0
}

/**
 * A MirrorController observer that counts what it hears: each candidate exchange's end reason, and
 * the pairs handed on (released at once). `fetch` is the I/O thread hand-off (none by default).
 */
export function countingObserver (fetch: MirrorObserver['fetch'] = () => null): MirrorObserver & { candidates: Array<string | null>, pairs: number } {
  const o = {
    candidates: [] as Array<string | null>,
    pairs: 0,
    decision: () => {},
    candidate: (_route: string, _method: string, _status: number, _seconds: number, reason: string | null) => { o.candidates.push(reason) },
    inflight: () => {},
    pair: (pair: { release: () => void }) => { o.pairs++; pair.release() },
    room: () => true,
    fetch
  }
  return o as unknown as MirrorObserver & { candidates: Array<string | null>, pairs: number }
}
