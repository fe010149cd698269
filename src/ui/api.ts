/* The page's calls to the admin API: same origin, the token (when one was asked for) kept in this tab only. */

const TOKEN_KEY = 'paritygate.token'

/** The admin token given in this tab, or null. */
export function token (): string | null {
  return sessionStorage.getItem(TOKEN_KEY)
}

export function setToken (value: string | null): void {
  if (value === null || value === '') sessionStorage.removeItem(TOKEN_KEY)
  else sessionStorage.setItem(TOKEN_KEY, value)
}

/** An answer the page cannot use: `status` 401 means the token is needed (or wrong). */
export class ApiError extends Error {
  status: number
  constructor (status: number, message: string) {
    super(message)
    this.status = status
  }
}

let onUnauthorized: (() => void) | null = null

/** Called when an endpoint answers 401: the page then asks for the token. */
export function whenUnauthorized (listener: () => void): void {
  onUnauthorized = listener
}

/** GET (or another method) of an API path, as JSON. @throws ApiError */
export async function api<T> (path: string, init: { method?: string, body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = {}
  const t = token()
  if (t !== null) headers.authorization = `Bearer ${t}`
  if (init.body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(path, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) })
  const text = await res.text()
  let body: unknown = null
  try { body = text === '' ? null : JSON.parse(text) } catch { body = text }
  if (!res.ok) {
    const message = typeof body === 'object' && body !== null && 'message' in body ? String((body as { message: unknown }).message) : `HTTP ${res.status}`
    if (res.status === 401) onUnauthorized?.()
    throw new ApiError(res.status, message)
  }
  return body as T
}

/** A value at a differing path, as the API shows it. */
export type ValueView = { json: unknown } | { text: string, truncated: boolean }

export interface Check {
  verdict: 'pass' | 'fail' | 'inconclusive'
  ratio: number | null
  budget: number
  lower?: number
  upper?: number
  needed: number | null
  etaSeconds: number | null
  reason: string
  [key: string]: unknown
}

export interface Gate {
  verdict: 'pass' | 'fail' | 'inconclusive'
  window: string
  route: string | null
  candidateVersion?: string | null
  checks: { mismatch: Check, errors: Check, latency: Check }
  generatedAt: string
}

export interface Percentiles { count: number, p50Ms: number, p95Ms: number, p99Ms: number }

export interface RouteRow {
  route: string
  counts: Record<string, number>
  mismatchRatio: number
  primary: Percentiles
  candidate: Percentiles
}

export interface History {
  start: number
  stepMs: number
  counts: Record<string, number[]>
  mismatchRatio: Array<number | null>
  mismatchBudget: number
  decisions: Record<string, number[]>
  latency: {
    start: number
    stepMs: number
    primary: { count: number[], p50Ms: number[], p95Ms: number[], p99Ms: number[] }
    candidate: { count: number[], p50Ms: number[], p95Ms: number[], p99Ms: number[] }
  }
}

export interface Field {
  route: string
  path: string
  count: number
  ratio: number
  kinds: Record<string, number>
  noisy: boolean
  noiseRate: number
  examples: Array<{ path: string, primary: ValueView | null, candidate: ValueView | null }>
}

export interface Signature {
  signature: string
  route: string
  seen: number
  lastAt: string
  samples: Array<{ id: string, requestId: string, at: string, path: string }>
}

export interface SampleSide {
  status: number
  headers: Record<string, string>
  body: unknown
  bodyKind: 'json' | 'text'
  bodyTruncated: boolean
  durationMs: number
  hash: string | null
}

export interface SampleDiff { path: string, kind: string, primary?: ValueView | null, candidate?: ValueView | null }

export interface Sample {
  id: string
  signature: string
  route: string
  method: string
  path: string
  requestId: string
  at: string
  diffs: SampleDiff[]
  primary: SampleSide
  candidate: SampleSide
}

export interface MirrorState { enabled: boolean, percent: number, inflight: number, breaker: string }
