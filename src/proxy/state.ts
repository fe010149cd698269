/* What the live path shares across requests: built once at boot by app.ts, read by every exchange. */
import { type Dispatcher } from 'undici'
import { type DeadlineList } from '../deadlines.ts'
import { type Logger } from '../logger.ts'
import { type MirrorController } from '../mirror/controller.ts'
import { type Metrics } from '../stats/registry.ts'
import { type ForwardingOptions } from './headers.ts'
import { type RouteNamer } from './routes.ts'

/** Everything the live path needs, built once at boot. */
export interface ProxyState {
  pool: Dispatcher
  /** null when no candidate is configured: then no mirroring work at all is done per request */
  mirror: MirrorController | null
  metrics: Metrics
  log: Logger
  routes: RouteNamer
  forwarding: ForwardingOptions
  requestIdHeader: string
  via: boolean
  /** primary.timeoutMs from dispatch to response headers (undici's own timeouts are off), or null */
  headersDeadlines: DeadlineList | null
  /** primary.bodyTimeoutMs of silence between body chunks while the client keeps up, or null */
  bodyDeadlines: DeadlineList | null
  /** the client-side watch: uploads and answers paused for the client, looked at every proxy.slowClientAfterMs */
  clientChecks: DeadlineList
  /** proxy.clientTimeoutMs: the longest one wait on a client may last */
  clientTimeoutMs: number
  /** bytes an upload must bring per check to count as keeping up (proxy.clientMinBytesPerSecond) */
  uploadMinBytes: number
  /** exchanges waiting on their client for longer than proxy.slowClientAfterMs now */
  slowClients: number
  /** how many slow exchanges may hold primary connections (proxy.slowClientShare of primary.connections) */
  slowClientCap: number
  /** proxy.maxHeaderCount */
  maxHeaderCount: number
  /** true from SIGTERM on: answers carry `Connection: close` */
  draining: boolean
  inflight: number
  onIdle: (() => void) | null
}
