/* The candidate's connection pool, the same on the main thread and in the I/O thread. */
import { Pool } from 'undici'
import { upstreamConnector } from '../connector.ts'
import { CandidateClient, type CandidateDispatcher } from './candidate-client.ts'
import { type CandidatePoolSettings } from './types.ts'

/**
 * The candidate's connection pool. undici's headers and body timeouts are off: the job's own
 * deadline covers both (see src/deadlines.ts). A candidate's misbehaviour is counted by the job;
 * the pool's own events must not throw.
 */
export function candidatePool (origin: string, s: CandidatePoolSettings): Pool {
  const pool = new Pool(origin, {
    connections: s.connections,
    pipelining: 1,
    headersTimeout: 0,
    bodyTimeout: 0,
    connect: upstreamConnector(s.connectTimeoutMs),
    maxHeaderSize: s.maxHeaderSize,
    keepAliveTimeout: 4_000
  })
  pool.on('connectionError', () => {})
  return pool
}

/**
 * What the main thread's mirror dispatches on: the candidate client (candidate-client.ts) for an
 * http origin, with an undici pool for what it does not take; the undici pool alone for https.
 */
export function candidateDispatcher (origin: string, s: CandidatePoolSettings): CandidateDispatcher {
  const pool = candidatePool(origin, s)
  // undici's handler contract is this one with Buffers for header strings; its options take the request as is
  return CandidateClient.takes(origin) ? new CandidateClient(origin, s, pool) : pool as unknown as CandidateDispatcher
}
