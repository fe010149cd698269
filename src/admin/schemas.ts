/*
 * Fastify schemas of the admin routes: fastify validates queries, params and bodies with them,
 * and fast-json-stringify writes the replies. A reply schema drops what it does not list, so every
 * object here also keeps unlisted properties (additionalProperties: true): a field added to an
 * answer later is never lost, only written the slower way until it is listed.
 */

/** An object schema whose listed properties are typed and whose other properties are kept. */
function object (properties: Record<string, unknown>, required: string[] = []): Record<string, unknown> {
  return { type: 'object', properties, ...(required.length > 0 ? { required } : {}), additionalProperties: true }
}

const nullable = (type: string): { type: string[] } => ({ type: [type, 'null'] })
const numbers = { type: 'array', items: { type: 'number' } }

/** Every error answer of the admin port: the catalogue's code (src/errors.ts) with its message. */
export const errorReply = object({ error: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } }, ['error', 'code', 'message'])

/** An unknown route's 404 also lists the routes the API knows. */
const unknownRouteReply = object({ error: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' }, routes: { type: 'array', items: { type: 'string' } } }, ['error', 'code', 'message'])

const status = object({ status: { type: 'string' } }, ['status'])

/** MirrorState (mirror/controller.ts), with `workers` in a --workers group; null without a candidate. */
const mirrorState = {
  type: ['object', 'null'],
  properties: {
    enabled: { type: 'boolean' },
    percent: { type: 'number' },
    inflight: { type: 'number' },
    breaker: { type: 'string' },
    lagMs: { type: 'number' },
    workers: { type: 'number' },
    unreachable: object({ since: { type: 'string' }, reason: { type: 'string' } })
  },
  additionalProperties: true
}

const needed = { needed: nullable('number'), etaSeconds: nullable('number'), neededIfClean: nullable('number'), neededToFail: nullable('number') }
const numberFields = (...names: string[]): Record<string, unknown> => Object.fromEntries(names.map((n) => [n, { type: 'number' }]))

/** GateResult (gate/types.ts). */
const gateResult = object({
  verdict: { type: 'string' },
  pass: { type: 'boolean' },
  window: { type: 'string' },
  route: nullable('string'),
  checks: object({
    mismatch: object({ verdict: { type: 'string' }, reason: { type: 'string' }, ...needed, ...numberFields('ratio', 'budget', 'compared', 'mismatched', 'upper', 'lower', 'confidence', 'noise', 'errored', 'skipped', 'dropped') }),
    errors: object({ verdict: { type: 'string' }, reason: { type: 'string' }, ...needed, ...numberFields('ratio', 'budget', 'mirrored', 'errors', 'transport', 'serverErrors', 'upper', 'lower', 'confidence') }),
    latency: object({
      verdict: { type: 'string' },
      reason: { type: 'string' },
      ratio: nullable('number'),
      ...needed,
      ...numberFields('primaryP95Ms', 'candidateP95Ms', 'budget', 'diffMs', 'slackMs', 'primaryP95LowerMs', 'primaryP95UpperMs', 'candidateP95LowerMs', 'candidateP95UpperMs', 'primarySamples', 'candidateSamples', 'minSamples')
    })
  }),
  candidateVersion: nullable('string'),
  generatedAt: { type: 'string' }
})

const percentiles = object(numberFields('count', 'p50Ms', 'p95Ms', 'p99Ms'))
const percentileSeries = object({ count: numbers, p50Ms: numbers, p95Ms: numbers, p99Ms: numbers })

/** RouteReport (stats/parity.ts). */
const routeReport = object({
  route: { type: 'string' },
  counts: { type: 'object', additionalProperties: { type: 'number' } },
  mismatchRatio: { type: 'number' },
  primary: percentiles,
  candidate: percentiles
})

/** HistoryReport (stats/parity.ts). */
const historyReport = object({
  window: { type: 'string' },
  route: nullable('string'),
  start: { type: 'number' },
  stepMs: { type: 'number' },
  counts: { type: 'object', additionalProperties: numbers },
  mismatchRatio: { type: 'array', items: nullable('number') },
  mismatchBudget: { type: 'number' },
  decisions: { type: 'object', additionalProperties: numbers },
  latency: object({ start: { type: 'number' }, stepMs: { type: 'number' }, primary: percentileSeries, candidate: percentileSeries })
})

/** A value of a difference, as samples and field examples show it (open-ended: any JSON). */
const valueView = { type: ['object', 'null'], additionalProperties: true }

/** FieldReport (compare/engine.ts fieldReport). */
const fieldReport = object({
  route: { type: 'string' },
  path: { type: 'string' },
  count: { type: 'number' },
  ratio: { type: 'number' },
  kinds: { type: 'object', additionalProperties: { type: 'number' } },
  noisy: { type: 'boolean' },
  noiseRate: { type: 'number' },
  examples: { type: 'array', items: object({ path: { type: 'string' }, primary: valueView, candidate: valueView }) }
})

const noiseReport = object({ route: { type: 'string' }, path: { type: 'string' }, rate: { type: 'number' }, noisy: { type: 'boolean' } })

const mismatchList = object({
  route: nullable('string'),
  signatures: {
    type: 'array',
    items: object({
      signature: { type: 'string' },
      route: { type: 'string' },
      seen: { type: 'number' },
      lastAt: { type: 'string' },
      samples: { type: 'array', items: object({ id: { type: 'string' }, requestId: { type: 'string' }, at: { type: 'string' }, path: { type: 'string' } }) }
    })
  },
  stored: { type: 'number' },
  evicted: { type: 'number' }
})

/** `?window=&route=` of the gate, routes and history; an empty value means the default. */
const windowRouteQuery = { type: 'object', properties: { window: { type: 'string' }, route: { type: 'string' } }, additionalProperties: true }
const routeQuery = { type: 'object', properties: { route: { type: 'string' } }, additionalProperties: true }
const noQuery = { type: 'object', additionalProperties: true }

/** The guard's refusals (401, 403) and a body that is not JSON (400). */
const refusals = { 400: errorReply, 401: errorReply, 403: errorReply }
/** A malformed or too long window (400), an unknown route (404). */
const queryErrors = { 400: errorReply, 404: unknownRouteReply }

export const schemas = {
  live: { querystring: noQuery, response: { 200: status } },
  ready: { querystring: noQuery, response: { 200: status, 503: status } },
  metrics: { querystring: noQuery },
  page: { querystring: noQuery },
  config: { querystring: noQuery, response: { 200: object({ config: { type: 'object', additionalProperties: true }, mirror: mirrorState }), ...refusals } },
  mirror: { querystring: noQuery, response: { 200: object({ mirror: mirrorState }) } },
  setMirror: {
    querystring: noQuery,
    body: { type: 'object', properties: { percent: { type: 'number', minimum: 0, maximum: 100 }, enabled: { type: 'boolean' } }, additionalProperties: false, minProperties: 1 },
    response: { 200: object({ mirror: mirrorState }), ...refusals, 409: errorReply }
  },
  gate: { querystring: windowRouteQuery, response: { 200: gateResult, ...queryErrors } },
  flagger: {
    querystring: windowRouteQuery,
    // Flagger's webhook payload: name, namespace, phase, checksum and string metadata; only metadata is read.
    body: { type: ['object', 'null'], properties: { metadata: { type: 'object', additionalProperties: true } }, additionalProperties: true },
    response: { 200: object({ verdict: { type: 'string' }, pass: { type: 'boolean' }, reason: { type: 'string' }, gate: gateResult }), 403: object({ verdict: { type: 'string' }, pass: { type: 'boolean' }, reason: { type: 'string' }, gate: gateResult }), ...queryErrors }
  },
  routes: { querystring: windowRouteQuery, response: { 200: object({ window: { type: 'string' }, routes: { type: 'array', items: routeReport } }), ...queryErrors } },
  history: { querystring: windowRouteQuery, response: { 200: historyReport, ...queryErrors } },
  reset: { querystring: noQuery, response: { 200: object({ reset: { type: 'boolean' }, at: { type: 'string' } }), ...refusals } },
  fields: { querystring: routeQuery, response: { 200: object({ route: nullable('string'), fields: { type: 'array', items: fieldReport } }), ...refusals, 404: unknownRouteReply } },
  noise: { querystring: routeQuery, response: { 200: object({ route: nullable('string'), paths: { type: 'array', items: noiseReport } }), 404: unknownRouteReply } },
  mismatches: {
    querystring: { type: 'object', properties: { route: { type: 'string' }, limit: { type: 'string', pattern: '^0*(?:[1-9][0-9]{0,2}|1000)$' } }, additionalProperties: true },
    response: { 200: mismatchList, ...refusals, 404: unknownRouteReply }
  },
  sample: {
    querystring: noQuery,
    params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
    // a sample is open-ended (both answers, differences, headers): kept whole
    response: { 200: { type: 'object', additionalProperties: true }, ...refusals, 404: errorReply }
  }
} as const
