/* The string formats of the schema (`format: 'hostport'`…), also used by the command line and the listeners. */

const METHOD_RE = /^(?:[A-Z]+|\*)$/

/** `HOST:PORT` with an IPv4 address, a name or a bracketed IPv6 address, and a port from 0 to 65535. */
export function isHostPort (value: string): boolean {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value)
  return m !== null && Number(m[2]) <= 65_535
}

/** `HOST:PORT` → listen options; IPv6 hosts come bracketed. */
export function parseHostPort (value: string): { host: string, port: number } {
  const i = value.lastIndexOf(':')
  const host = value.slice(0, i).replace(/^\[(.*)\]$/, '$1')
  return { host, port: Number(value.slice(i + 1)) }
}

/** An http(s) origin: no path beyond `/`, no query, no credentials. */
export function isOrigin (value: string): boolean {
  let url: URL
  try { url = new URL(value) } catch { return false }
  return (url.protocol === 'http:' || url.protocol === 'https:') && (url.pathname === '/' || url.pathname === '') &&
    url.search === '' && url.hash === '' && url.username === '' && url.password === ''
}

/** An http(s) URL (webhooks, links). */
export function isUrl (value: string): boolean {
  try {
    const url = new URL(value)
    return url.protocol === 'http:' || url.protocol === 'https:'
  } catch { return false }
}

/** `METHOD /path/:param/*`: one method (or `*`) and a path template starting with `/`. */
export function isRouteTemplate (value: string): boolean {
  const sp = value.indexOf(' ')
  if (sp === -1) return value.startsWith('/')
  return METHOD_RE.test(value.slice(0, sp)) && value.slice(sp + 1).startsWith('/')
}
