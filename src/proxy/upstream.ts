/* One undici Pool per upstream, created once at boot with explicit timeouts and caps. */
import { Pool } from 'undici'
import { type PrimaryConfig } from '../config/index.ts'

/**
 * The pool for the primary. Timeouts come from config, never undici's 300 s defaults; response
 * headers up to `maxHeaderBytes` pass (undici's default is 16 KiB).
 */
export function createPrimaryPool (primary: Readonly<PrimaryConfig>, maxHeaderBytes: number): Pool {
  return new Pool(primary.url, {
    connections: primary.connections,
    pipelining: 1,
    headersTimeout: primary.timeoutMs,
    bodyTimeout: primary.bodyTimeoutMs,
    connectTimeout: primary.connectTimeoutMs,
    keepAliveTimeout: primary.keepAliveTimeoutMs,
    keepAliveMaxTimeout: Math.max(primary.keepAliveTimeoutMs, 600_000),
    maxHeaderSize: maxHeaderBytes + 4096,
    strictContentLength: true
  })
}
