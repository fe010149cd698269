/*
 * `paritygate report`: what a running instance knows, read from its admin API and printed for a
 * person (or as JSON for a script), with the verdict as the exit status: 0 pass, 1 fail,
 * 3 inconclusive; 2 when it cannot say (bad usage, admin unreachable or refusing, unknown route).
 * The demo prints its final report with the same code.
 */
import { type GateResult, type Verdict } from '../gate/types.ts'
import { type RouteReport } from '../stats/parity.ts'

/** What the report reads: the gate, the routes, the differing fields, the mirroring state. */
export interface ReportData {
  admin: string
  window: string
  route: string | null
  gate: GateResult
  routes: RouteReport[]
  /** null when the admin refused them (they need the token) */
  fields: ReportField[] | null
  fieldsRefused: string | null
  mirror: { enabled: boolean, percent: number } | null
}

interface ValueView { json?: unknown, text?: string, truncated?: boolean }

/** A field row of `GET /api/v1/fields`, as far as the report uses it. */
export interface ReportField {
  route: string
  path: string
  count: number
  ratio: number
  noisy: boolean
  noiseRate: number
  examples?: Array<{ path: string, primary: ValueView | null, candidate: ValueView | null }>
}

/** The exit status of a verdict. */
export function exitCodeOf (verdict: Verdict): number {
  return verdict === 'pass' ? 0 : verdict === 'fail' ? 1 : 3
}

/** Why the report could not be made: the message says what to do; the exit status is 2. */
export class ReportError extends Error {}

/** `HOST:PORT` (0.0.0.0 and :: mean this host) or a URL, as the base URL of the admin API. */
export function adminBase (admin: string): string {
  if (/^https?:\/\//.test(admin)) return admin.replace(/\/+$/, '')
  const at = admin.lastIndexOf(':')
  let host = admin.slice(0, at).replace(/^\[|\]$/g, '')
  const port = admin.slice(at + 1)
  if (host === '0.0.0.0' || host === '::' || host === '') host = '127.0.0.1'
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}

async function getJson (base: string, path: string, token: string | null): Promise<{ status: number, body: unknown }> {
  let res: Response
  try {
    res = await fetch(`${base}${path}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) })
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message
    throw new ReportError(`cannot reach the admin API at ${base}: ${cause} (is paritygate running? --admin HOST:PORT)`)
  }
  const text = await res.text()
  let body: unknown = null
  try { body = JSON.parse(text) } catch { body = text }
  return { status: res.status, body }
}

function messageOf (body: unknown): string {
  return typeof body === 'object' && body !== null && 'message' in body ? String((body as { message: unknown }).message) : String(body)
}

/** Reads everything the report shows from the admin API at `base`. @throws ReportError */
export async function fetchReport (base: string, opts: { window?: string, route?: string | null, token?: string | null }): Promise<ReportData> {
  const token = opts.token ?? null
  const q = new URLSearchParams()
  if (opts.window !== undefined) q.set('window', opts.window)
  if (opts.route != null) q.set('route', opts.route)
  const query = q.size === 0 ? '' : `?${q.toString()}`
  const gate = await getJson(base, `/api/v1/gate${query}`, token)
  if (gate.status !== 200) throw new ReportError(`${base}/api/v1/gate answered ${gate.status}: ${messageOf(gate.body)}`)
  const routes = await getJson(base, `/api/v1/routes${query}`, token)
  const fields = await getJson(base, `/api/v1/fields${opts.route == null ? '' : `?route=${encodeURIComponent(opts.route)}`}`, token)
  const mirror = await getJson(base, '/api/v1/mirror', token)
  const g = gate.body as GateResult
  return {
    admin: base,
    window: g.window,
    route: opts.route ?? null,
    gate: g,
    routes: routes.status === 200 ? (routes.body as { routes: RouteReport[] }).routes : [],
    fields: fields.status === 200 ? (fields.body as { fields: ReportField[] }).fields : null,
    fieldsRefused: fields.status === 200 ? null : `${fields.status}: ${messageOf(fields.body)}`,
    mirror: mirror.status === 200 ? (mirror.body as { mirror: ReportData['mirror'] }).mirror : null
  }
}

const pct = (x: number) => `${(x * 100).toFixed(2)} %`

/** A value of an example, short: JSON as JSON, cut text with an ellipsis, `(none)` for a side without one. */
export function shortValue (v: ValueView | null | undefined, max = 40): string {
  if (v === null || v === undefined) return '(none)'
  const text = 'json' in v ? JSON.stringify(v.json) : `${v.text ?? ''}${v.truncated === true ? '…' : ''}`
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** What an inconclusive or failing check waits for, in words. */
function waitsFor (check: { verdict: Verdict, needed: number | null, etaSeconds: number | null }, unit: string): string {
  if (check.verdict === 'pass') return ''
  if (check.needed === null) return check.verdict === 'fail' ? '' : `; waits for ${unit} (no estimate)`
  const eta = check.etaSeconds === null ? '' : `, about ${check.etaSeconds < 90 ? `${Math.ceil(check.etaSeconds)} s` : `${Math.ceil(check.etaSeconds / 60)} min`} at the recent rate`
  return `; needs ${check.needed} more ${unit}${eta}`
}

/** The report as text lines: routes, outcomes, p95s, top differing fields with example values, noise, verdict and reasons. */
export function formatReport (data: ReportData, opts: { topFields?: number } = {}): string {
  const lines: string[] = []
  const g = data.gate
  lines.push(`paritygate report: ${data.admin}, window ${data.window}${data.route === null ? '' : `, route ${data.route}`}${g.candidateVersion != null ? `, candidate ${g.candidateVersion}` : ''}`)
  if (data.mirror !== null) lines.push(`mirroring ${data.mirror.enabled ? `on at ${data.mirror.percent} %` : 'OFF (kill switch)'}`)
  lines.push('')
  lines.push('route                      mirrored  match  mismatch  noise  error  skipped  mismatch%   p95 v1 / v2 ms')
  for (const r of data.routes) {
    const c = r.counts
    lines.push(`  ${r.route.padEnd(24)} ${String(c.mirrored).padStart(8)} ${String(c.match).padStart(6)} ${String(c.mismatch).padStart(9)} ${String(c.noise).padStart(6)} ${String(c.error).padStart(6)} ${String(c.skipped).padStart(8)}  ${pct(r.mismatchRatio).padStart(9)}   ${r.primary.p95Ms.toFixed(2)} / ${r.candidate.p95Ms.toFixed(2)}`)
  }
  if (data.routes.length === 0) lines.push('  (no traffic in the window)')
  lines.push('')
  if (data.fields === null) {
    lines.push(`differing fields: not shown (${data.fieldsRefused ?? 'refused'}; set PARITYGATE_ADMIN_TOKEN)`)
  } else {
    const top = data.fields.slice(0, opts.topFields ?? 8)
    lines.push(top.length === 0 ? 'differing fields: none' : 'top differing fields:')
    for (const f of top) {
      const e = f.examples?.[0]
      const example = e === undefined ? '' : `  e.g. ${shortValue(e.primary)} → ${shortValue(e.candidate)}`
      lines.push(`  ${f.route.padEnd(20)} ${f.path.padEnd(22)} ${String(f.count).padStart(6)} ×  ${pct(f.ratio).padStart(8)} of compared  ${f.noisy ? `noise (v1 differs from itself ${pct(f.noiseRate)})` : 'REAL DIFFERENCE'}${example}`)
    }
  }
  lines.push('')
  lines.push(`verdict over ${g.window}: ${g.verdict.toUpperCase()}`)
  const m = g.checks.mismatch
  const e = g.checks.errors
  const l = g.checks.latency
  lines.push(`  mismatch  ${m.verdict.padEnd(12)} ${m.reason}${waitsFor(m, 'comparisons')}`)
  lines.push(`  errors    ${e.verdict.padEnd(12)} ${e.reason}${waitsFor(e, 'mirrored requests')}`)
  lines.push(`  latency   ${l.verdict.padEnd(12)} ${l.reason}${waitsFor(l, 'latency samples')}`)
  return lines.join('\n')
}

/**
 * Runs the report: prints it (text or JSON) and returns the exit status.
 * @param out where the report goes @default process.stdout
 */
export async function runReport (opts: { admin: string, window?: string, route?: string | null, json?: boolean, token?: string | null }, out: (text: string) => void = (t) => { process.stdout.write(t) }): Promise<number> {
  const data = await fetchReport(adminBase(opts.admin), opts)
  out(opts.json === true ? `${JSON.stringify(data, null, 2)}\n` : `${formatReport(data)}\n`)
  return exitCodeOf(data.gate.verdict)
}
