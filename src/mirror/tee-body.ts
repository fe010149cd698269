/* The request body's copy for the mirror, taken without slowing the live upload. */
import { type IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { CLIENT_GONE, TOO_LARGE } from './errors.ts'
import { type MirrorDecision } from './types.ts'
import { type MirrorJob } from './mirror-job.ts'

/**
 * Copies a request body for the mirror without ever pausing the live upload for it: the primary
 * gets a stream with the client's own backpressure; the mirror gets the same chunks up to
 * `maxBodyBytes`, beyond which it is skipped (`body_too_large`) and the copy released.
 */
export function teeBody (req: IncomingMessage, job: MirrorJob, maxBodyBytes: number, countDecision: boolean): Readable {
  const primary = new Readable({ read () { req.resume() } })
  let mirror: Readable | null = new Readable({ read () {} })
  let size = 0
  // A chunked upload's decision waits for its end, its size limit or its abort: exactly one of them.
  let undecided = countDecision
  const decide = (decision: MirrorDecision): void => {
    if (!undecided) return
    undecided = false
    job.controller.observer.decision(job.route, decision)
  }
  // Called off before its request is sent (sendLater), the copy is destroyed with the reason and nobody
  // reads it yet: its error must not be an uncaught one. Once sent, the candidate's request hears it too.
  mirror.on('error', () => {})
  job.body = mirror
  req.on('data', (chunk: Buffer) => {
    if (mirror !== null) {
      size += chunk.length
      if (size > maxBodyBytes) {
        mirror = null
        // Called off unless the candidate has answered already (then it was mirrored all the same).
        if (undecided && job.withdraw()) {
          undecided = false
          job.controller.bodyTooLarge(job.route)
        } else {
          job.cancel(TOO_LARGE)
          decide('mirrored')
        }
      } else {
        mirror.push(chunk)
      }
    }
    if (!primary.push(chunk)) req.pause()
  })
  req.on('end', () => {
    primary.push(null)
    if (mirror !== null) mirror.push(null)
    decide('mirrored')
  })
  req.on('close', () => {
    if (!req.complete) {
      primary.destroy(new Error('client aborted the upload'))
      job.cancel(CLIENT_GONE)
      // Sent to the candidate in part: mirrored, and its comparison is `skipped` (client_aborted).
      decide('mirrored')
    }
  })
  req.on('error', () => {})
  return primary
}
