// Loopback helpers for the benchmark: free ports and readiness polling.
import { createServer, type AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'

/** An ephemeral port on 127.0.0.1 that was free a moment ago (for programs that need a port up front). */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * Polls `url` until it answers `status`, or throws after `timeoutMs`.
 * `alive` is checked between attempts so a crashed child fails fast.
 */
export async function waitForStatus (url: string, timeoutMs: number, alive: () => boolean, status = 200): Promise<void> {
  if (!url.startsWith('http://127.0.0.1:')) throw new Error(`refusing non-loopback url ${url}`)
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`process exited while waiting for ${url}`)
    try {
      const res = await request(url, { headersTimeout: 1000, bodyTimeout: 1000 })
      await res.body.dump()
      if (res.statusCode === status) return
      last = `status ${res.statusCode}`
    } catch (err) {
      last = (err as Error).message
    }
    await sleep(100)
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms (last: ${last})`)
}
