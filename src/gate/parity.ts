/* The gate over one process's evidence (stats/parity.ts): verdicts from the windows, with what the mirror's state says for the reasons. */
import { type EvidenceSettings, type ParityStats } from '../stats/parity.ts'
import { evaluateGate } from './gate.ts'
import { collectGateInput } from './input.ts'
import { annotate, type GateNotes } from './notes.ts'
import { type GateConfig, type GateResult } from './types.ts'

/** The `gate` config section, as far as the evidence and the gate need it. */
export interface ParitySettings extends GateConfig, EvidenceSettings {}

/** The gate's answers over the evidence of a {@link ParityStats}, whose settings carry the budgets. */
export class ParityGate {
  readonly stats: ParityStats<ParitySettings>
  /** what the reasons say about the mirror (nothing mirrored, candidate unreachable) */
  #notes: (() => GateNotes | null) | null

  constructor (stats: ParityStats<ParitySettings>) {
    this.stats = stats
    this.#notes = null
  }

  /** Where the gate's answers learn about the mirror, for their reasons (see gate/notes.ts). */
  setNotes (notes: () => GateNotes | null): void {
    this.#notes = notes
  }

  /** The gate's answer over a window, for a route or for all. @throws TypeError on a bad window */
  evaluate (windowText?: string, route: string | null = null): GateResult {
    const stats = this.stats
    const settings = stats.settings
    const window = windowText ?? settings.window
    const input = collectGateInput(stats.window, stats.latency, { window, windowMs: stats.windowMs(window), route, confidence: settings.confidence, since: stats.since })
    return { ...annotate(evaluateGate(input, settings), this.#notes?.() ?? null), candidateVersion: stats.candidateVersion }
  }
}
