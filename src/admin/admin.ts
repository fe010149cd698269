/* The admin listener (its own port): health, readiness, metrics, run-time mirror control and the effective config. */
import { createHash, timingSafeEqual } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fastify, LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifySchemaValidationError } from 'fastify'
import { looksLikeUrl, redactUrl } from '../compare/redact.ts'
import { type FrozenConfig } from '../config/index.ts'
import { type Logger } from '../logger.ts'
import {
  PARITYGATE_ERR_BAD_ADMIN_REQUEST, PARITYGATE_ERR_BAD_JSON, PARITYGATE_ERR_BAD_WINDOW, PARITYGATE_ERR_FORBIDDEN,
  PARITYGATE_ERR_NO_CANDIDATE, PARITYGATE_ERR_NO_SAMPLE, PARITYGATE_ERR_UNAUTHORIZED, PARITYGATE_ERR_UNKNOWN_ROUTE
} from '../errors.ts'
import { type AdminBackend } from './backend.ts'
import { schemas } from './schemas.ts'

export { localBackend, type AdminBackend, type FieldReport, type MismatchList, type NoiseReport, type SampleView } from './backend.ts'

const REDACTED = '[redacted]'

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopback (address: string | undefined): boolean {
  if (address === undefined) return false
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address
  return v4.startsWith('127.') || address === '::1'
}

function digest (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/** Who may use a guarded endpoint: `allowed`, `unauthorized` (a token is set and not given) or `forbidden` (no token set, a peer that is not loopback). */
export type Access = 'allowed' | 'unauthorized' | 'forbidden'

/**
 * The one rule of the guarded endpoints: the admin token when one is set (compared in constant
 * time, whatever the peer), otherwise loopback peers only.
 * @param authorization the request's Authorization header
 * @param remoteAddress the peer's address
 */
export function access (adminToken: string | null, authorization: string | undefined, remoteAddress: string | undefined): Access {
  if (adminToken !== null) {
    const given = authorization ?? ''
    return given.startsWith('Bearer ') && timingSafeEqual(digest(given.slice(7)), digest(adminToken)) ? 'allowed' : 'unauthorized'
  }
  return isLoopback(remoteAddress) ? 'allowed' : 'forbidden'
}

/** Sends an error of the catalogue as the admin port answers every error: `{error, code, message}` and its status. */
function sendError (reply: FastifyReply, err: FastifyError, extra: Record<string, unknown> = {}): FastifyReply {
  const status = err.statusCode ?? 500
  return reply.code(status).send({ error: STATUS_CODES[status] ?? 'Error', code: err.code, message: err.message, ...extra })
}

/** Sends the 401 or 403 of a refused {@link access}; `what` says what the endpoint is. */
function refuse (verdict: Exclude<Access, 'allowed'>, what: string, reply: FastifyReply): FastifyReply {
  if (verdict === 'unauthorized') return sendError(reply.header('www-authenticate', 'Bearer'), new PARITYGATE_ERR_UNAUTHORIZED(what))
  return sendError(reply, new PARITYGATE_ERR_FORBIDDEN(what))
}

/** What a schema error says, in the words the endpoints used before they had schemas. */
const FIELD_MESSAGES: Readonly<Record<string, string>> = {
  body: 'body must be a JSON object such as {"percent": 10} or {"enabled": false}',
  'body/percent': 'percent: must be a number from 0 to 100',
  'body/enabled': 'enabled: must be true or false',
  'querystring/limit': 'limit: must be an integer from 1 to 1000'
}

/** One line for the first schema error of a request (`percent: must be a number from 0 to 100`). */
function schemaMessage (errors: FastifySchemaValidationError[], dataVar: string): string {
  const e = errors[0]
  const at = `${dataVar}${e.instancePath}`
  if (e.keyword === 'additionalProperties') return `${String((e.params as { additionalProperty?: unknown }).additionalProperty)}: is not a known key`
  if (e.keyword === 'minProperties' && at === 'body') return 'give percent, enabled, or both'
  return FIELD_MESSAGES[at] ?? `${at.replaceAll('/', '.')} ${e.message ?? 'is not valid'}`
}

/**
 * Guards the endpoints that change state, so that an exposed admin port cannot be used to steer
 * traffic (see {@link access}).
 */
function authorizeChange (state: AdminBackend, req: FastifyRequest, reply: FastifyReply): boolean {
  const verdict = access(state.adminToken, req.headers.authorization, req.socket.remoteAddress)
  if (verdict === 'allowed') return true
  refuse(verdict, 'changes', reply)
  return false
}

/**
 * Reads that show recorded traffic (samples: both answers, their paths; fields: example values)
 * or the effective config: guarded like changes, by one onRequest hook. Health, metrics, the
 * gate, routes, history, the mirroring state and noise (paths and counts, no values) stay open
 * to probes and dashboards, and so does the page itself (it holds no data).
 */
export const GUARDED_READS: ReadonlySet<string> = new Set(['/api/v1/config', '/api/v1/fields', '/api/v1/mismatches', '/api/v1/mismatches/:id'])

/** Every absolute URL in a config value redacted (see redactUrl), at any depth. */
function redactUrls (value: unknown): unknown {
  if (typeof value === 'string') return looksLikeUrl(value) ? redactUrl(value) : value
  if (Array.isArray(value)) return value.map(redactUrls)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = redactUrls(v)
    return out
  }
  return value
}

/**
 * The effective config with secrets replaced: candidate header values, and in every URL
 * (webhooks, pageUrl, origins) credentials, token-like path segments, query values and fragments.
 */
export function redactConfig (config: FrozenConfig): unknown {
  const copy = redactUrls(config) as { candidate: { setHeaders: Record<string, string> } }
  for (const key of Object.keys(copy.candidate.setHeaders)) copy.candidate.setHeaders[key] = REDACTED
  return copy
}

/** Where `npm run build` puts the page (dist/ui), from src/admin or dist/admin alike. */
export const PAGE_DIR = fileURLToPath(new URL('../../dist/ui/', import.meta.url))

const PAGE_FILES: Readonly<Record<string, string>> = { '/': 'index.html', '/ui/app.js': 'app.js', '/ui/app.css': 'app.css' }
const PAGE_TYPES: Readonly<Record<string, string>> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' }
/** The page loads nothing from elsewhere and runs no inline script. */
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/**
 * The investigation page: its three files, read once from {@link PAGE_DIR}. No data is in them
 * (the page asks the API, whose guards apply), so they are open like the gate.
 */
function servePage (admin: FastifyInstance): void {
  const cache = new Map<string, Buffer>()
  for (const [url, file] of Object.entries(PAGE_FILES)) {
    admin.get(url, { schema: schemas.page }, async (_req, reply) => {
      let body = cache.get(file)
      if (body === undefined) {
        try {
          body = await readFile(join(PAGE_DIR, file))
        } catch {
          return reply.code(404).type('text/plain; charset=utf-8').send('The page is not built: run `npm run build` (the API under /api/v1 works without it).\n')
        }
        cache.set(file, body)
      }
      return reply.type(PAGE_TYPES[file.slice(file.lastIndexOf('.') + 1)]).header('content-security-policy', PAGE_CSP)
        .header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache').send(body)
    })
  }
}

/** Connections the admin port takes at once: far more than probes, scrapes and a few pages need, far fewer than descriptors. */
const ADMIN_MAX_CONNECTIONS = 512

/** Builds the admin fastify instance (not yet listening). */
export function buildAdmin (state: AdminBackend, log: Logger): FastifyInstance {
  const admin = fastify({
    loggerInstance: log.child({ component: 'admin' }, { level: log.isLevelEnabled('warn') ? 'warn' : log.level }),
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: false,
    bodyLimit: 64 * 1024,
    // The admin port must answer probes whatever its clients do: a head within 10 s (fastify's
    // requestTimeout 0 would make Node's headersTimeout 0), a whole request within 30 s, idle
    // keep-alive connections closed after 10 s, and at most ADMIN_MAX_CONNECTIONS at once.
    requestTimeout: 30_000,
    keepAliveTimeout: 10_000,
    http: { headersTimeout: 10_000, connectionsCheckingInterval: 1000 },
    // Bodies are checked as they are: no '5' read as 5, no unknown key dropped in silence.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allowUnionTypes: true } },
    schemaErrorFormatter: (errors, dataVar) => new PARITYGATE_ERR_BAD_ADMIN_REQUEST(schemaMessage(errors, dataVar))
  })
  admin.server.maxConnections = ADMIN_MAX_CONNECTIONS

  // Bodies are JSON whatever they are labelled: `curl -X PUT -d '{"enabled":false}'` sends them as
  // a form, other clients with no Content-Type at all. Within the same bodyLimit; not JSON: a 400.
  // (application/json too: its body, empty or not JSON, gets the same answers as any other.)
  admin.removeContentTypeParser(['application/json', 'text/plain'])
  admin.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim()
    if (text === '') { done(null, undefined); return }
    try {
      done(null, JSON.parse(text))
    } catch (err) {
      done(new PARITYGATE_ERR_BAD_JSON((err as Error).message), undefined)
    }
  })

  // Every error the routes do not answer themselves (a schema's, a body that is not JSON) in the
  // same shape; others (a body over bodyLimit, say) as fastify answers them.
  admin.setErrorHandler((err: FastifyError, _req, reply) => {
    if (err.code?.startsWith('PARITYGATE_ERR_') === true) return sendError(reply, err)
    return reply.send(err)
  })

  admin.addHook('onRequest', async (req, reply) => {
    if (!GUARDED_READS.has(req.routeOptions.url ?? '')) return
    const verdict = access(state.adminToken, req.headers.authorization, req.socket.remoteAddress)
    if (verdict !== 'allowed') return refuse(verdict, 'samples, field values and the effective config', reply)
  })

  admin.get('/healthz/live', { schema: schemas.live }, async () => ({ status: 'live' }))

  admin.get('/healthz/ready', { schema: schemas.ready }, async (_req, reply) => {
    if (state.isReady()) return { status: 'ready' }
    return reply.code(503).send({ status: 'not ready' })
  })

  admin.get('/metrics', { schema: schemas.metrics }, async (_req, reply) => {
    const { contentType, text } = await state.metrics()
    return reply.type(contentType).send(text)
  })

  admin.get('/api/v1/config', { schema: schemas.config }, async () => ({ config: redactConfig(state.config()), mirror: await state.mirrorState() }))

  admin.get('/api/v1/mirror', { schema: schemas.mirror }, async () => ({ mirror: await state.mirrorState() }))

  admin.put('/api/v1/mirror', { schema: schemas.setMirror }, async (req, reply) => {
    if (!authorizeChange(state, req, reply)) return reply
    const change = req.body as { enabled?: boolean, percent?: number }
    const mirror = await state.setMirror(change)
    if (mirror === null) return sendError(reply, new PARITYGATE_ERR_NO_CANDIDATE())
    log.info({ change, mirror }, 'mirroring changed at run time')
    return { mirror }
  })

  const routeOf = (q: unknown) => {
    const r = (q as { route?: unknown }).route
    return typeof r === 'string' && r !== '' ? r : null
  }

  const windowOf = (q: unknown) => {
    const w = (q as { window?: unknown }).window
    return typeof w === 'string' && w !== '' ? w : undefined
  }

  /** Route names the API knows: configured (name, or match when unnamed) or seen since start. */
  const configuredRoutes = (): string[] => state.config().routes.map((r) => r.name ?? r.match)

  /** Answers 404 (with the known routes) for a route that is neither configured nor seen; true when it did. */
  const unknownRoute = (route: string | null, reply: FastifyReply): boolean => {
    const configured = configuredRoutes()
    if (state.parity.isKnownRoute(route, configured)) return false
    sendError(reply, new PARITYGATE_ERR_UNKNOWN_ROUTE(JSON.stringify(route)), { routes: state.parity.knownRoutes(configured) })
    return true
  }

  /** A malformed window, or one over gate.maxWindow: the caller's mistake, a 400. */
  const badWindow = (cause: unknown, reply: FastifyReply): FastifyReply => {
    return sendError(reply, new PARITYGATE_ERR_BAD_WINDOW((cause as Error).message))
  }

  // 200 with the verdict in the body: a non-2xx is an error to Argo, not a failure. A malformed
  // window (400) or an unknown route (404) is the template's mistake, and must not read as "wait".
  admin.get('/api/v1/gate', { schema: schemas.gate }, async (req, reply) => {
    const route = routeOf(req.query)
    if (unknownRoute(route, reply)) return reply
    try {
      return state.gate.evaluate(windowOf(req.query), route)
    } catch (err) {
      return badWindow(err, reply)
    }
  })

  // Flagger webhook (confirm-promotion, pre-rollout or rollout): 200 on pass, 403 otherwise.
  // Window and route may come in the webhook's metadata, or in the query string.
  admin.post('/api/v1/gate/flagger', { schema: schemas.flagger }, async (req, reply) => {
    const metadata = (req.body as { metadata?: Record<string, unknown> } | null | undefined)?.metadata ?? {}
    const window = typeof metadata.window === 'string' ? metadata.window : windowOf(req.query)
    const route = typeof metadata.route === 'string' && metadata.route !== '' ? metadata.route : routeOf(req.query)
    if (unknownRoute(route, reply)) return reply
    let result
    try {
      result = state.gate.evaluate(window, route)
    } catch (err) {
      return badWindow(err, reply)
    }
    const reasons = Object.entries(result.checks).filter(([, c]) => c.verdict !== 'pass').map(([name, c]) => `${name}: ${c.verdict}: ${c.reason}`)
    return reply.code(result.pass ? 200 : 403).send({ verdict: result.verdict, pass: result.pass, reason: result.pass ? 'all checks pass' : reasons.join('; '), gate: result })
  })

  admin.get('/api/v1/routes', { schema: schemas.routes }, async (req, reply) => {
    const route = routeOf(req.query)
    if (unknownRoute(route, reply)) return reply
    try {
      return { window: windowOf(req.query) ?? state.parity.settings.window, routes: state.parity.routes(windowOf(req.query), route) }
    } catch (err) {
      return badWindow(err, reply)
    }
  })

  // Time series for charts: bounded in points, from the windows the gate keeps (in a worker
  // group, the primary's: every worker's counts).
  admin.get('/api/v1/history', { schema: schemas.history }, async (req, reply) => {
    const route = routeOf(req.query)
    if (unknownRoute(route, reply)) return reply
    try {
      return state.parity.history(windowOf(req.query), route)
    } catch (err) {
      return badWindow(err, reply)
    }
  })

  servePage(admin as unknown as FastifyInstance)

  admin.post('/api/v1/reset', { schema: schemas.reset }, async (req, reply) => {
    if (!authorizeChange(state, req, reply)) return reply
    await state.reset()
    log.info('gate windows, field counts and samples reset for a new candidate version')
    return { reset: true, at: new Date().toISOString() }
  })

  admin.get('/api/v1/fields', { schema: schemas.fields }, async (req, reply) => {
    const route = routeOf(req.query)
    if (unknownRoute(route, reply)) return reply
    return { route, fields: await state.fields(route) }
  })

  admin.get('/api/v1/noise', { schema: schemas.noise }, async (req, reply) => {
    const route = routeOf(req.query)
    if (unknownRoute(route, reply)) return reply
    return { route, paths: await state.noise(route) }
  })

  admin.get('/api/v1/mismatches', { schema: schemas.mismatches }, async (req, reply) => {
    const raw = (req.query as { limit?: string }).limit
    const limit = raw === undefined ? 50 : Number(raw) // 1 to 1000, by the schema
    const route = routeOf(req.query)
    if (unknownRoute(route, reply)) return reply
    return { route, ...await state.mismatches(route, limit) }
  })

  admin.get('/api/v1/mismatches/:id', { schema: schemas.sample }, async (req, reply) => {
    const sample = await state.sample((req.params as { id: string }).id)
    if (sample === undefined) return sendError(reply, new PARITYGATE_ERR_NO_SAMPLE())
    return sample
  })

  return admin as unknown as FastifyInstance
}
