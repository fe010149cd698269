/* What the admin listener reads and changes: the backend interface, and its implementation over one process's parts. */
import { type ComparisonEngine } from '../compare/engine.ts'
import { type FrozenConfig } from '../config/index.ts'
import { type ParityGate } from '../gate/parity.ts'
import { type MirrorController, type MirrorState } from '../mirror/controller.ts'
import { type ParityStats } from '../stats/parity.ts'
import { type Metrics } from '../stats/registry.ts'

/** One stored mismatch sample as the API shows it. */
export type SampleView = Record<string, unknown>

/** The mismatch signatures with their sample summaries. */
export interface MismatchList {
  signatures: Array<{ signature: string, route: string, seen: number, lastAt: string, samples: Array<{ id: string, requestId: string, at: string, path: string }> }>
  stored: number
  evicted: number
}

/**
 * What the admin listener reads and changes. One process implements it over its own app; the
 * primary of a `--workers` group implements it by asking every worker and merging the answers.
 * It never reaches into the live path.
 */
export interface AdminBackend {
  /** Prometheus exposition of everything (all workers, summed) */
  metrics: () => Promise<{ contentType: string, text: string }>
  /** false until listening, and again from SIGTERM on */
  isReady: () => boolean
  config: () => FrozenConfig
  /** null when no candidate is configured */
  mirrorState: () => Promise<MirrorState | null>
  setMirror: (change: { enabled?: boolean, percent?: number }) => Promise<MirrorState | null>
  parity: ParityStats
  /** the gate's answers over `parity` */
  gate: ParityGate
  fields: (route: string | null) => Promise<FieldReport[]>
  noise: (route: string | null) => Promise<NoiseReport[]>
  mismatches: (route: string | null, limit: number) => Promise<MismatchList>
  sample: (id: string) => Promise<SampleView | undefined>
  /** forget windows, field counts and samples (a new candidate version) */
  reset: () => Promise<void>
  /** when set, changing endpoints and the reads of samples and config need `Authorization: Bearer <token>`; when null, a loopback peer */
  adminToken: string | null
}

/** Field report rows of `GET /api/v1/fields`. */
export type FieldReport = ReturnType<ComparisonEngine['fieldReport']>[number]
/** Noise rows of `GET /api/v1/noise`. */
export type NoiseReport = ReturnType<ComparisonEngine['noiseReport']>[number]

/** The backend of one process over its app's parts. */
export function localBackend (parts: { metrics: Metrics, isReady: () => boolean, config: () => FrozenConfig, mirror: () => MirrorController | null, engine: () => ComparisonEngine | null, parity: ParityStats, gate: ParityGate, adminToken: string | null }): AdminBackend {
  return {
    metrics: async () => ({ contentType: parts.metrics.registry.contentType, text: await parts.metrics.registry.metrics() }),
    isReady: parts.isReady,
    config: parts.config,
    mirrorState: async () => parts.mirror()?.state ?? null,
    setMirror: async (change) => {
      const mirror = parts.mirror()
      if (mirror === null) return null
      mirror.setRuntime(change)
      return mirror.state
    },
    parity: parts.parity,
    gate: parts.gate,
    fields: async (route) => parts.engine()?.fieldReport(route) ?? [],
    noise: async (route) => parts.engine()?.noiseReport(route) ?? [],
    mismatches: async (route, limit) => {
      const engine = parts.engine()
      return { signatures: engine?.samples.groups(route, limit) ?? [], stored: engine?.samples.size ?? 0, evicted: engine?.samples.evicted ?? 0 }
    },
    sample: async (id) => parts.engine()?.samples.view(id),
    reset: async () => {
      // The engine first: mismatches it still holds are counted before the windows start afresh.
      parts.engine()?.reset()
      parts.parity.reset()
    },
    adminToken: parts.adminToken
  }
}
