/* Raw bytes over TCP, for what an HTTP client library refuses to send (smuggling shapes, obs-fold, absolute-form). */
import { connect } from 'node:net'

/** Sends `bytes`, returns everything received until the peer closes or `idleMs` pass without data. */
export async function rawRequest (port: number, bytes: string | Buffer, idleMs = 500): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let out = ''
    let timer = setTimeout(() => socket.destroy(), idleMs)
    socket.on('data', (d) => {
      out += d.toString('latin1')
      clearTimeout(timer)
      timer = setTimeout(() => socket.destroy(), idleMs)
    })
    socket.on('error', () => {})
    socket.on('close', () => { clearTimeout(timer); resolve(out) })
    socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes)
  })
}
