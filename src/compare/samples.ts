/*
 * Example pairs per mismatch signature: a reservoir of a few per signature (every mismatch has
 * the same chance to be kept), under a total cap in entries and bytes. When a cap is reached the
 * least recently seen signature loses its samples; evictions are counted. Samples arrive already
 * redacted and truncated: nothing here sees a secret.
 */
import { randomUUID } from 'node:crypto'

/** One side of a stored sample. */
export interface SampleSide {
  status: number
  headers: Record<string, string>
  /** redacted text: the JSON rendering of a JSON body (see bodyJson), a form, or a one-line description */
  body: string
  /** the body is a JSON body rendered as canonical JSON text (possibly cut, see bodyTruncated) */
  bodyJson?: boolean
  bodyTruncated: boolean
  durationMs: number
}

/** A value at a differing path, as stored: redacted JSON text, cut at a bound. */
export interface StoredValue {
  text: string
  truncated: boolean
}

/**
 * One difference of a stored sample: where, what kind, and the values each side has there
 * (null: the side has nothing at that path; absent: no value was kept, e.g. a non-JSON body).
 */
export interface SampleDiff {
  path: string
  kind: string
  primary?: StoredValue | null
  candidate?: StoredValue | null
}

/** A stored value as the API shows it: the JSON value when its text is whole and reads back exactly, the text otherwise. */
export type ValueView = { json: unknown } | { text: string, truncated: boolean }

/**
 * The JSON value of redacted JSON text, when the text is whole and the value prints back to the
 * same text (numbers beyond double precision, or integer-like keys that JavaScript reorders,
 * would not): exact, or not at all.
 */
export function exactJson (text: string): { value: unknown } | null {
  try {
    const value: unknown = JSON.parse(text)
    return JSON.stringify(value) === text ? { value } : null
  } catch {
    return null
  }
}

/** A stored value for the API (see {@link ValueView}). */
export function valueView (v: StoredValue): ValueView {
  const exact = v.truncated ? null : exactJson(v.text)
  return exact === null ? { text: v.text, truncated: v.truncated } : { json: exact.value }
}

/** A stored difference for the API: its values as {@link ValueView}s. */
export function diffView (d: SampleDiff): Record<string, unknown> {
  const out: Record<string, unknown> = { path: d.path, kind: d.kind }
  if (d.primary !== undefined) out.primary = d.primary === null ? null : valueView(d.primary)
  if (d.candidate !== undefined) out.candidate = d.candidate === null ? null : valueView(d.candidate)
  return out
}

/**
 * One side for the API: a JSON body as JSON (`bodyKind: 'json'`) when it is whole and exact; a
 * cut JSON body, a form or a description as a string (`bodyKind: 'text'`), `bodyTruncated` saying
 * whether it was cut at compare.samples.maxBodyChars.
 */
export function sideView (side: SampleSide): Record<string, unknown> {
  const { body, bodyJson, ...rest } = side
  const exact = bodyJson === true && !side.bodyTruncated ? exactJson(body) : null
  return exact === null ? { ...rest, body, bodyKind: 'text' } : { ...rest, body: exact.value, bodyKind: 'json' }
}

/** A stored example of a mismatch. */
export class Sample {
  id: string
  signature: string
  route: string
  method: string
  /** path with query values redacted */
  path: string
  requestId: string
  at: string
  outcome: string
  diffs: SampleDiff[]
  primary: SampleSide
  candidate: SampleSide
  /** sha256 of each side's canonical JSON body (of its bytes when not JSON), when computed */
  primaryHash: string | null
  candidateHash: string | null
  bytes: number

  constructor (signature: string, route: string, method: string, path: string, requestId: string, outcome: string,
    diffs: SampleDiff[], primary: SampleSide, candidate: SampleSide, hashes: { primary: string | null, candidate: string | null } = { primary: null, candidate: null }) {
    this.id = randomUUID()
    this.signature = signature
    this.route = route
    this.method = method
    this.path = path
    this.requestId = requestId
    this.at = new Date().toISOString()
    this.outcome = outcome
    this.diffs = diffs
    this.primary = primary
    this.candidate = candidate
    this.primaryHash = hashes.primary
    this.candidateHash = hashes.candidate
    this.bytes = 512 + primary.body.length * 2 + candidate.body.length * 2 + JSON.stringify(diffs).length * 2 +
      JSON.stringify(primary.headers).length * 2 + JSON.stringify(candidate.headers).length * 2
  }
}

class SignatureGroup {
  signature: string
  route: string
  seen: number
  samples: Sample[]
  lastAt: string
  constructor (signature: string, route: string) {
    this.signature = signature
    this.route = route
    this.seen = 0
    this.samples = []
    this.lastAt = ''
  }
}

/** Options of {@link SampleStore}. */
export interface SampleStoreOptions {
  /** samples kept per signature @default 5 */
  perSignature?: number
  /** samples kept in all @default 500 */
  maxEntries?: number
  /** approximate memory of all samples @default 16 MiB */
  maxBytes?: number
  /** signatures tracked (their counts survive eviction of their samples) @default 1000 */
  maxSignatures?: number
}

/** Reservoirs of samples per signature, bounded in entries and bytes. */
export class SampleStore {
  readonly perSignature: number
  readonly maxEntries: number
  readonly maxBytes: number
  readonly maxSignatures: number
  /** samples dropped to keep within the caps */
  evicted: number
  #groups: Map<string, SignatureGroup>
  #byId: Map<string, Sample>
  #bytes: number

  constructor (opts: SampleStoreOptions = {}) {
    this.perSignature = opts.perSignature ?? 5
    this.maxEntries = opts.maxEntries ?? 500
    this.maxBytes = opts.maxBytes ?? 16 * 1024 * 1024
    this.maxSignatures = opts.maxSignatures ?? 1000
    this.evicted = 0
    this.#groups = new Map()
    this.#byId = new Map()
    this.#bytes = 0
  }

  get size (): number { return this.#byId.size }
  get bytes (): number { return this.#bytes }

  /**
   * Counts one occurrence of a signature and says whether its sample should be made and kept
   * (reservoir sampling: the n-th occurrence is kept with probability perSignature / n).
   * Call {@link add} with the sample only when this returns true.
   */
  offer (signature: string, route: string): boolean {
    let group = this.#groups.get(signature)
    if (group === undefined) {
      if (this.#groups.size >= this.maxSignatures) this.#dropGroup(this.#groups.keys().next().value as string)
      group = new SignatureGroup(signature, route)
    } else {
      this.#groups.delete(signature)
    }
    this.#groups.set(signature, group)
    group.seen++
    group.lastAt = new Date().toISOString()
    return group.samples.length < this.perSignature || Math.random() * group.seen < this.perSignature
  }

  /** Stores a sample after a true {@link offer}, replacing a random one when the reservoir is full. */
  add (sample: Sample): void {
    const group = this.#groups.get(sample.signature)
    if (group === undefined) return
    if (group.samples.length >= this.perSignature) {
      const i = Math.floor(Math.random() * group.samples.length)
      this.#forget(group.samples[i])
      group.samples[i] = sample
      this.evicted++
    } else {
      group.samples.push(sample)
    }
    this.#byId.set(sample.id, sample)
    this.#bytes += sample.bytes
    for (const key of this.#groups.keys()) {
      if (this.#byId.size <= this.maxEntries && this.#bytes <= this.maxBytes) break
      if (key === sample.signature) continue
      const victim = this.#groups.get(key) as SignatureGroup
      for (const s of victim.samples) { this.#forget(s); this.evicted++ }
      victim.samples = []
    }
  }

  #forget (sample: Sample): void {
    this.#byId.delete(sample.id)
    this.#bytes -= sample.bytes
  }

  #dropGroup (signature: string): void {
    const group = this.#groups.get(signature)
    if (group === undefined) return
    for (const s of group.samples) { this.#forget(s); this.evicted++ }
    this.#groups.delete(signature)
  }

  /** One sample by id. */
  get (id: string): Sample | undefined {
    return this.#byId.get(id)
  }

  /** One sample by id as the API shows it: bodies as JSON when they are, differences with their values (see {@link sideView}, {@link diffView}). */
  view (id: string): Record<string, unknown> | undefined {
    const s = this.#byId.get(id)
    if (s === undefined) return undefined
    return {
      id: s.id,
      signature: s.signature,
      route: s.route,
      method: s.method,
      path: s.path,
      requestId: s.requestId,
      at: s.at,
      outcome: s.outcome,
      diffs: s.diffs.map(diffView),
      primary: { ...sideView(s.primary), hash: s.primaryHash },
      candidate: { ...sideView(s.candidate), hash: s.candidateHash }
    }
  }

  /** Signatures, most recently seen first, with their counts and sample summaries. */
  groups (route: string | null, limit: number): Array<{ signature: string, route: string, seen: number, lastAt: string, samples: Array<{ id: string, requestId: string, at: string, path: string }> }> {
    const out = []
    const all = [...this.#groups.values()].reverse()
    for (const g of all) {
      if (route !== null && g.route !== route) continue
      out.push({ signature: g.signature, route: g.route, seen: g.seen, lastAt: g.lastAt, samples: g.samples.map((s) => ({ id: s.id, requestId: s.requestId, at: s.at, path: s.path })) })
      if (out.length >= limit) break
    }
    return out
  }

  reset (): void {
    this.#groups.clear()
    this.#byId.clear()
    this.#bytes = 0
  }
}
