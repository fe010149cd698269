/* One undici Pool per upstream, created once at boot with explicit timeouts and caps. */
import { Pool } from 'undici'
import { type PrimaryConfig } from '../config/index.ts'
import { upstreamConnector } from '../connector.ts'

/**
 * The pool for the primary. Timeouts come from config, never undici's 300 s defaults: connect here,
 * headers and body in the proxy's own deadline lists (src/deadlines.ts), because undici's allocate
 * a timer per request that lives on for a second. Response headers up to `maxHeaderBytes` pass
 * (undici's default is 16 KiB).
 */
export function createPrimaryPool (primary: Readonly<PrimaryConfig>, maxHeaderBytes: number): Pool {
  return new Pool(primary.url, {
    connections: primary.connections,
    pipelining: 1,
    headersTimeout: 0,
    bodyTimeout: 0,
    connect: upstreamConnector(primary.connectTimeoutMs),
    keepAliveTimeout: primary.keepAliveTimeoutMs,
    keepAliveMaxTimeout: Math.max(primary.keepAliveTimeoutMs, 600_000),
    maxHeaderSize: maxHeaderBytes + 4096,
    strictContentLength: true
  })
}
