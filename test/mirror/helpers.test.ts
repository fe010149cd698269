/* The metrics helper: a misspelt series never reads as 0. */
import { rejects, strictEqual } from 'node:assert/strict'
import { test } from 'node:test'
import { request } from 'undici'
import { startProxy } from '../helpers/proxy.ts'
import { createRecordingUpstream } from '../helpers/upstream.ts'
import { metric, metricOrZero } from './helpers.ts'

test('metric should throw on a series that is not there, and metricOrZero only on a metric name that is not', async (t) => {
  const primary = await createRecordingUpstream(t)
  const proxy = await startProxy(t, { primary: { url: primary.url } })
  await (await request(`${proxy.url}/a`)).body.dump()
  strictEqual(await metric(proxy, 'paritygate_requests_total{target="primary",route="GET /a",method="GET",status="2xx"}'), 1)
  await rejects(metric(proxy, 'paritygate_requests_total{target="primary",route="GET /a",method="GET",status="5xx"}'), /no series .* \(its family exists/)
  await rejects(metric(proxy, 'paritygate_request_total{target="primary",route="GET /a",method="GET",status="2xx"}'), /no such metric/)
  strictEqual(await metricOrZero(proxy, 'paritygate_requests_total{target="primary",route="GET /a",method="GET",status="5xx"}'), 0)
  await rejects(metricOrZero(proxy, 'paritygate_candidate_errorz_total{reason="timeout"}'), /no metric paritygate_candidate_errorz_total/)
  strictEqual(await metricOrZero(proxy, 'paritygate_candidate_errors_total{reason="timeout"}'), 0, 'a family without children yet')
})
