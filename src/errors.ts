/* Every error paritygate raises, coded PARITYGATE_ERR_* with the HTTP status a client should see. */
import createError from '@fastify/error'

export const PARITYGATE_ERR_CONFIG_INVALID = createError('PARITYGATE_ERR_CONFIG_INVALID', 'Invalid configuration: %s', 500, TypeError)
export const PARITYGATE_ERR_CONFIG_READ = createError('PARITYGATE_ERR_CONFIG_READ', 'Cannot read configuration file %s: %s', 500, TypeError)
export const PARITYGATE_ERR_USAGE = createError('PARITYGATE_ERR_USAGE', 'Usage: %s', 500, TypeError)
export const PARITYGATE_ERR_PRIMARY_TIMEOUT = createError('PARITYGATE_ERR_PRIMARY_TIMEOUT', 'Primary upstream timed out', 504)
export const PARITYGATE_ERR_PRIMARY_UNAVAILABLE = createError('PARITYGATE_ERR_PRIMARY_UNAVAILABLE', 'Primary upstream unavailable', 502)
export const PARITYGATE_ERR_BAD_REQUEST_TARGET = createError('PARITYGATE_ERR_BAD_REQUEST_TARGET', 'Request target must be a path (origin-form)', 400)
export const PARITYGATE_ERR_BAD_FRAMING = createError('PARITYGATE_ERR_BAD_FRAMING', 'Transfer-Encoding must be exactly "chunked"', 400)
export const PARITYGATE_ERR_UPGRADE_UNSUPPORTED = createError('PARITYGATE_ERR_UPGRADE_UNSUPPORTED', 'Protocol upgrades (WebSocket) are not proxied', 501)
export const PARITYGATE_ERR_CLIENT_TIMEOUT = createError('PARITYGATE_ERR_CLIENT_TIMEOUT', 'The request body stopped arriving (proxy.clientTimeoutMs) or the client is one slow client too many (proxy.slowClientShare)', 408)
export const PARITYGATE_ERR_BAD_HOST = createError('PARITYGATE_ERR_BAD_HOST', 'A request must carry exactly one Host field (RFC 9112 §3.2)', 400)
export const PARITYGATE_ERR_TOO_MANY_HEADERS = createError('PARITYGATE_ERR_TOO_MANY_HEADERS', 'Too many request header fields (proxy.maxHeaderCount)', 431)
export const PARITYGATE_ERR_METHOD_UNSUPPORTED = createError('PARITYGATE_ERR_METHOD_UNSUPPORTED', 'CONNECT is not supported by a reverse proxy', 405)
export const PARITYGATE_ERR_UNKNOWN_ROUTE = createError('PARITYGATE_ERR_UNKNOWN_ROUTE', 'Unknown route %s: not configured and not seen since start', 404)
export const PARITYGATE_ERR_BAD_WINDOW = createError('PARITYGATE_ERR_BAD_WINDOW', '%s', 400)
export const PARITYGATE_ERR_BAD_JSON = createError('PARITYGATE_ERR_BAD_JSON', 'Request body must be JSON (with or without a Content-Type): %s', 400)
