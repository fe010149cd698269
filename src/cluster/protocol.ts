/* The messages between the primary of a `--workers` group and its workers (over the cluster IPC channel). */
import { type Target } from '../stats/latency.ts'
import { type Counter } from '../stats/window.ts'

/** Worker → primary: listening, with the proxy's address. */
export interface ReadyMessage { pg: 'ready', proxy: string }

/**
 * Worker → primary: outcome counts and latencies since the last batch, each with the candidate
 * version of its answer ('' when unknown), and the candidate versions seen in the batch, in order.
 */
export interface StatsMessage {
  pg: 'stats'
  counts: Array<[string, Counter, number, string]>
  times: Array<[string, Target, number, string]>
  versions: string[]
  /** mirror decisions since the last batch: route, decision, how many (absent from an earlier build) */
  decisions?: Array<[string, string, number]>
}

/** Worker → primary: the answer to a query. */
export interface AnswerMessage { pg: 'answer', id: number, result: unknown, error?: string }

export type WorkerMessage = ReadyMessage | StatsMessage | AnswerMessage

/** What the primary may ask of every worker. */
export type QueryOp = 'mirrorState' | 'setMirror' | 'fields' | 'noise' | 'mismatches' | 'sample' | 'reset' | 'reload'

export type PrimaryMessage =
  | { pg: 'query', id: number, op: QueryOp, args: unknown }
  | { pg: 'drain' }
