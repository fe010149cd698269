/* The admin listener (its own port): health, readiness, metrics, and later the JSON API. */
import { fastify, LogController, type FastifyInstance } from 'fastify'
import { type Logger } from '../logger.ts'
import { type Metrics } from '../stats/registry.ts'

/** What the admin listener reads; it never reaches into the live path. */
export interface AdminState {
  metrics: Metrics
  /** false until listening, and again from SIGTERM on */
  isReady: () => boolean
}

/** Builds the admin fastify instance (not yet listening). */
export function buildAdmin (state: AdminState, log: Logger): FastifyInstance {
  const admin = fastify({ loggerInstance: log.child({ component: 'admin' }, { level: log.isLevelEnabled('warn') ? 'warn' : log.level }), logController: new LogController({ disableRequestLogging: true }), return503OnClosing: false })

  admin.get('/healthz/live', async () => ({ status: 'live' }))

  admin.get('/healthz/ready', async (_req, reply) => {
    if (state.isReady()) return { status: 'ready' }
    return reply.code(503).send({ status: 'not ready' })
  })

  admin.get('/metrics', async (_req, reply) => {
    const text = await state.metrics.registry.metrics()
    return reply.type(state.metrics.registry.contentType).send(text)
  })

  return admin as unknown as FastifyInstance
}
