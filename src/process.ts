/*
 * What one process and the primary of a --workers group share: the gate's gauges, the notes the
 * gate's reasons take from the mirror's state, the start-up line, and the listen errors.
 */
import { Gauge, type Registry } from 'prom-client'
import { type FrozenConfig } from './config/index.ts'
import { verdictToGauge } from './gate/gate.ts'
import { gateNotes, type GateNotes } from './gate/notes.ts'
import { type ParityGate } from './gate/parity.ts'
import { type GateResult } from './gate/types.ts'
import { type MirrorState } from './mirror/controller.ts'

const LISTEN_ERRORS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this host',
  EACCES: 'permission denied (ports under 1024 need privileges)',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed'
}

/** `admin listener 0.0.0.0:9000: address already in use`, keeping the system's code for the exit status. */
export function listenError (listener: 'proxy' | 'admin', address: string, err: NodeJS.ErrnoException): Error {
  const what = err.code !== undefined && LISTEN_ERRORS[err.code] !== undefined ? LISTEN_ERRORS[err.code] : err.message
  return Object.assign(new Error(`${listener} listener ${address}: ${what}`), { code: err.code })
}

/** `paritygate_gate_verdict{check}` and `paritygate_mismatch_ratio{window}`, computed at scrape time over the default window. */
export function registerGateGauges (registry: Registry, gate: ParityGate): Gauge[] {
  let cached: { at: number, result: GateResult } | null = null
  const current = (): GateResult => {
    const now = Date.now()
    if (cached === null || now - cached.at > 1000) cached = { at: now, result: gate.evaluate() }
    return cached.result
  }
  const verdict = new Gauge({
    name: 'paritygate_gate_verdict',
    help: 'Gate verdict over the default window: 1 pass, 0 inconclusive, -1 fail (check="overall" combines the three)',
    labelNames: ['check'],
    registers: [registry],
    collect () {
      const r = current()
      this.set({ check: 'overall' }, verdictToGauge(r.verdict))
      for (const check of ['mismatch', 'errors', 'latency'] as const) this.set({ check }, verdictToGauge(r.checks[check].verdict))
    }
  })
  const ratio = new Gauge({
    name: 'paritygate_mismatch_ratio',
    help: 'mismatch / (match + mismatch + noise) over the window',
    labelNames: ['window'],
    registers: [registry],
    collect () {
      const r = current()
      this.set({ window: r.window }, r.checks.mismatch.ratio)
    }
  })
  return [verdict, ratio]
}

/** What the gate's reasons say about the mirror, from the config and the mirror's state in force (null state: no candidate). */
export function notesFor (config: FrozenConfig, state: MirrorState | null): GateNotes {
  return gateNotes({
    candidate: config.candidate.url !== null && state !== null,
    enabled: state?.enabled ?? config.mirror.enabled,
    enabledAtRuntime: state !== null && state.enabled !== config.mirror.enabled,
    percent: state?.percent ?? config.mirror.percent,
    percentAtRuntime: state !== null && state.percent !== config.mirror.percent,
    routePercents: config.routes.map((r) => r.mirror?.percent ?? 0),
    unreachable: state?.unreachable ?? null
  })
}

/**
 * Everything that decides the verdict, for the one start-up line: where traffic goes, how much is
 * mirrored and compared, the budgets, where to ask, whether changes need a token (never the token).
 * `warnings` are the settings under which the gate cannot judge (logged at warn).
 */
export function startupSummary (config: FrozenConfig, addresses: { proxy: string, admin: string }, tokenSet: boolean): { summary: Record<string, unknown>, warnings: string[] } {
  const m = config.mirror
  const n = config.noise
  const candidate = config.candidate.url
  const safe = m.methods.filter((method) => ['GET', 'HEAD', 'OPTIONS'].includes(method))
  const noiseOn = candidate !== null && n.percent > 0 && safe.length > 0
  const summary = {
    proxy: addresses.proxy,
    admin: addresses.admin,
    primary: config.primary.url,
    candidate,
    mirror: { enabled: m.enabled, percent: m.percent, methods: m.methods },
    noise: {
      percent: noiseOn ? n.percent : 0,
      baseline: n.secondary ?? 'primary',
      // a second call for noise.percent of the mirrored safe requests (and each route's first few)
      extraPrimaryLoad: noiseOn && n.secondary === null ? `${+(n.percent * m.percent / 100).toFixed(3)} % of ${safe.join('/')} requests` : 'none'
    },
    gate: { window: config.gate.window, confidence: config.gate.confidence, mismatchBudget: config.gate.mismatchBudget, errorBudget: config.gate.errorBudget, latencyP95Ratio: config.gate.latencyP95Ratio, latencySlackMs: config.gate.latencySlackMs },
    adminChanges: tokenSet ? 'need the admin token (set)' : 'from loopback peers only (no PARITYGATE_ADMIN_TOKEN)'
  }
  const warnings: string[] = []
  const note = notesFor(config, candidate === null ? null : { enabled: m.enabled, percent: m.percent, inflight: 0, breaker: 'closed', lagMs: 0 }).nothingMirrored
  if (note !== null && candidate !== null) warnings.push(note)
  if (candidate === null) warnings.push('no candidate is configured (candidate.url, --candidate): paritygate only proxies, and the gate has nothing to judge')
  return { summary, warnings }
}
