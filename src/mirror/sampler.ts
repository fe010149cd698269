/* Which requests to mirror: random sampling, or sticky on a header or cookie so one user is all in or all out. */

/** FNV-1a, 32 bits: a fast, well-spread hash of a short key; the same key always lands in the same bucket. */
export function fnv1a (key: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** True when a key's bucket (one of 1,000,000) falls under `percent`. */
export function stickyPick (key: string, percent: number): boolean {
  return (fnv1a(key) % 1_000_000) < percent * 10_000
}

/** True with probability `percent` / 100. */
export function randomPick (percent: number): boolean {
  return percent >= 100 || (percent > 0 && Math.random() * 100 < percent)
}

/** The value of cookie `name` in a Cookie header, or null. */
export function cookieValue (header: string | undefined, name: string): string | null {
  if (header === undefined) return null
  let at = 0
  while (at < header.length) {
    while (header.charCodeAt(at) === 32 || header.charCodeAt(at) === 59) at++
    const eq = header.indexOf('=', at)
    if (eq === -1) return null
    let end = header.indexOf(';', eq)
    if (end === -1) end = header.length
    if (header.slice(at, eq).trim() === name) return header.slice(eq + 1, end).trim()
    at = end + 1
  }
  return null
}
