/* Shared set-up for mirror tests: a primary and a candidate that count what they see. */
import { type ServerResponse } from 'node:http'
import { type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { type StartedProxy } from '../helpers/proxy.ts'
import { createRecordingUpstream, type Received } from '../helpers/upstream.ts'

/** A primary answering a fixed JSON body. */
export async function jsonPrimary (t: TestContext, body = '{"id":1,"name":"primary"}') {
  return createRecordingUpstream(t, (_r: Received, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
  })
}

/** Polls until `check()` is true or `ms` pass. */
export async function eventually (check: () => boolean | Promise<boolean>, ms = 3000): Promise<boolean> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (await check()) return true
    await sleep(10)
  }
  return check()
}

/** The value of one series in the admin /metrics text, or 0. */
export async function metric (proxy: StartedProxy, series: string): Promise<number> {
  const text = await (await request(`${proxy.admin}/metrics`)).body.text()
  for (const line of text.split('\n')) if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1))
  return 0
}
