/* The investigation page: verdict, routes, charts, fields and samples of one paritygate, live, with deep links (#/route/NAME, #/sample/ID). */
import { render } from 'preact'
import { useCallback, useEffect, useState } from 'preact/hooks'
import 'uplot/dist/uPlot.min.css'
import './app.css'
import { api, setToken, token, whenUnauthorized, type Check, type Field, type Gate, type History, type MirrorState, type RouteRow, type Sample, type Signature } from './api.ts'
import { HistoryCharts } from './charts.tsx'
import { Body, Value } from './json.tsx'
import { href, ms, pct, Problem, usePlace, usePoll, WindowPicker, type Place } from './place.tsx'

function Verdict (props: { verdict: string }) {
  return <span class={`verdict ${props.verdict}`}>{props.verdict.toUpperCase()}</span>
}

function eta (seconds: number | null): string {
  if (seconds === null) return ''
  return seconds < 90 ? `, about ${Math.ceil(seconds)} s at the recent rate` : `, about ${Math.ceil(seconds / 60)} min at the recent rate`
}

/** What an inconclusive check waits for, or why it fails, in a sentence. */
function waits (c: Check, unit: string): string {
  if (c.verdict === 'pass') return ''
  if (c.needed === null) return c.verdict === 'inconclusive' ? `Waits for more ${unit}; how many cannot be told yet.` : ''
  return `Needs ${c.needed} more ${unit}${eta(c.etaSeconds)}.`
}

function CheckCard (props: { name: string, check: Check, figure: string, budget: string, interval: string, unit: string }) {
  const c = props.check
  return (
    <section class={`check ${c.verdict}`} aria-label={`${props.name} check`}>
      <h3>{props.name} <Verdict verdict={c.verdict} /></h3>
      <dl>
        <dt>figure</dt><dd>{props.figure}</dd>
        <dt>budget</dt><dd>{props.budget}</dd>
        <dt>interval</dt><dd>{props.interval}</dd>
      </dl>
      <p class='reason'>{c.reason}</p>
      {waits(c, props.unit) !== '' ? <p class='waits'>{waits(c, props.unit)}</p> : null}
    </section>
  )
}

function GateView (props: { gate: Gate }) {
  const { mismatch: m, errors: e, latency: l } = props.gate.checks
  const conf = typeof m.confidence === 'number' ? ` at ${Math.round(m.confidence * 100)} %` : ''
  return (
    <div class='gate'>
      <div class='gate-head'>
        <h2>Verdict over {props.gate.window}{props.gate.route === null ? '' : ` for ${props.gate.route}`}: <Verdict verdict={props.gate.verdict} /></h2>
        {props.gate.candidateVersion != null ? <span class='muted'>candidate {props.gate.candidateVersion}</span> : null}
      </div>
      <div class='checks'>
        <CheckCard name='Mismatch' check={m} figure={`${pct(m.ratio as number, 3)} of ${String(m.compared)} compared`} budget={pct(m.budget, 3)} interval={`[${pct(m.lower, 3)}, ${pct(m.upper, 3)}]${conf}`} unit='comparisons' />
        <CheckCard name='Errors' check={e} figure={`${pct(e.ratio as number, 3)} of ${String(e.mirrored)} mirrored`} budget={pct(e.budget, 3)} interval={`[${pct(e.lower, 3)}, ${pct(e.upper, 3)}]${conf}`} unit='mirrored requests' />
        <CheckCard
          name='Latency p95' check={l}
          figure={`v1 ${ms(l.primaryP95Ms as number)} / v2 ${ms(l.candidateP95Ms as number)}`}
          budget={`× ${String(l.budget)} + ${String(l.slackMs)} ms`}
          interval={`v1 [${ms(l.primaryP95LowerMs as number)}, ${ms(l.primaryP95UpperMs as number)}], v2 [${ms(l.candidateP95LowerMs as number)}, ${ms(l.candidateP95UpperMs as number)}]`}
          unit='latency samples'
        />
      </div>
    </div>
  )
}

function MirrorControls (props: { reloadAll: () => void }) {
  const { data, error, reload } = usePoll(() => api<{ mirror: MirrorState | null }>('/api/v1/mirror'), [])
  const [percent, setPercent] = useState('')
  const [message, setMessage] = useState('')
  const change = async (body: unknown, what: string) => {
    try {
      await api('/api/v1/mirror', { method: 'PUT', body })
      setMessage(`${what}: done`)
      reload()
    } catch (err) {
      setMessage(`${what}: ${(err as Error).message}`)
    }
  }
  const reset = async () => {
    if (!confirm('Forget the gate windows, field counts and samples (a new candidate version)?')) return
    try {
      await api('/api/v1/reset', { method: 'POST', body: {} })
      setMessage('reset: done')
      props.reloadAll()
    } catch (err) {
      setMessage(`reset: ${(err as Error).message}`)
    }
  }
  const m = data?.mirror ?? null
  return (
    <section class='mirror' aria-label='mirroring'>
      <h3>Mirroring</h3>
      {error !== null ? <p class='error'>{error.message}</p> : null}
      {m === null
        ? <p class='muted'>{data === null ? '…' : 'no candidate configured'}</p>
        : (
          <div class='controls'>
            <span class={m.enabled ? 'state on' : 'state off'} data-testid='mirror-state'>{m.enabled ? `on at ${m.percent} %` : 'OFF'}</span>
            <span class='muted'>in flight {m.inflight}, breaker {m.breaker}</span>
            <button type='button' class={m.enabled ? 'danger' : ''} onClick={() => { change({ enabled: !m.enabled }, m.enabled ? 'kill switch' : 'resume').catch(() => {}) }}>
              {m.enabled ? 'Stop mirroring (kill switch)' : 'Resume mirroring'}
            </button>
            <form onSubmit={(ev) => { ev.preventDefault(); change({ percent: Number(percent) }, 'percent').catch(() => {}) }}>
              <label>percent <input type='number' min='0' max='100' step='any' value={percent} placeholder={String(m.percent)} onInput={(ev) => setPercent((ev.target as HTMLInputElement).value)} /></label>
              <button type='submit' disabled={percent === ''}>Set</button>
            </form>
            <button type='button' onClick={() => { reset().catch(() => {}) }}>Reset windows</button>
          </div>
          )}
      {message !== '' ? <p class='muted' role='status'>{message}</p> : null}
    </section>
  )
}

type SortKey = 'route' | 'mirrored' | 'compared' | 'mismatchRatio' | 'p95'

function RoutesTable (props: { routes: RouteRow[], budget: number, window: string }) {
  const [sort, setSort] = useState<{ key: SortKey, desc: boolean }>({ key: 'mismatchRatio', desc: true })
  const compared = (r: RouteRow) => r.counts.match + r.counts.mismatch + r.counts.noise
  const value = (r: RouteRow): number | string => sort.key === 'route' ? r.route : sort.key === 'mirrored' ? r.counts.mirrored : sort.key === 'compared' ? compared(r) : sort.key === 'p95' ? r.candidate.p95Ms - r.primary.p95Ms : r.mismatchRatio
  const rows = [...props.routes].sort((a, b) => {
    const x = value(a)
    const y = value(b)
    const c = x < y ? -1 : x > y ? 1 : 0
    return sort.desc ? -c : c
  })
  const head = (key: SortKey, label: string) => (
    <th aria-sort={sort.key === key ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
      <button type='button' class='sort' onClick={() => setSort({ key, desc: sort.key === key ? !sort.desc : key !== 'route' })}>{label}{sort.key === key ? (sort.desc ? ' ▼' : ' ▲') : ''}</button>
    </th>
  )
  return (
    <table class='routes'>
      <thead>
        <tr>
          {head('route', 'Route')}{head('mirrored', 'Mirrored')}{head('compared', 'Compared')}{head('mismatchRatio', 'Mismatch')}
          <th>Outcomes (match / mismatch / noise / error / skipped / dropped)</th>
          {head('p95', 'p50 / p95 / p99 v1 → v2')}
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 ? <tr><td colSpan={6} class='muted'>No traffic in the window yet.</td></tr> : null}
        {rows.map((r) => (
          <tr key={r.route}>
            <td><a href={href('route', r.route, props.window)}>{r.route}</a></td>
            <td class='num'>{r.counts.mirrored}</td>
            <td class='num'>{compared(r)}</td>
            <td class={`num ${r.mismatchRatio > props.budget ? 'over' : ''}`}>{pct(r.mismatchRatio)} <span class='muted'>/ {pct(props.budget, 2)}</span></td>
            <td class='num outcomes'>{r.counts.match} / {r.counts.mismatch} / {r.counts.noise} / {r.counts.error} / {r.counts.skipped} / {r.counts.dropped}</td>
            <td class='num'>{r.primary.p50Ms.toFixed(1)} / {r.primary.p95Ms.toFixed(1)} / {r.primary.p99Ms.toFixed(1)} → {r.candidate.p50Ms.toFixed(1)} / {r.candidate.p95Ms.toFixed(1)} / {r.candidate.p99Ms.toFixed(1)} ms</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

function Overview (props: { place: Place }) {
  const w = props.place.window
  const gate = usePoll(() => api<Gate>(`/api/v1/gate?window=${w}`), [w])
  const routes = usePoll(() => api<{ routes: RouteRow[] }>(`/api/v1/routes?window=${w}`), [w])
  const history = usePoll(() => api<History>(`/api/v1/history?window=${w}`), [w])
  const reloadAll = useCallback(() => { gate.reload(); routes.reload(); history.reload() }, [])
  return (
    <main>
      <Problem error={gate.error} />
      {gate.data !== null ? <GateView gate={gate.data} /> : <p class='muted'>Loading the verdict…</p>}
      <MirrorControls reloadAll={reloadAll} />
      <h2>Routes</h2>
      {routes.data !== null ? <RoutesTable routes={routes.data.routes} budget={gate.data?.checks.mismatch.budget ?? 0} window={w} /> : <p class='muted'>…</p>}
      <h2>Over time</h2>
      {history.data !== null ? <HistoryCharts history={history.data} /> : <p class='muted'>…</p>}
    </main>
  )
}

interface TreeNode { name: string, path: string, children: Map<string, TreeNode>, field: Field | null }

/** Paths split at members and `[*]`, as a tree. */
function fieldTree (fields: Field[]): TreeNode {
  const root: TreeNode = { name: '$', path: '$', children: new Map(), field: null }
  for (const f of fields) {
    const parts = f.path.startsWith('@') ? [f.path] : f.path.slice(1).match(/\.[^.[]+|\[[^\]]*\]/g) ?? []
    let node = root
    let path = f.path.startsWith('@') ? '' : '$'
    for (const part of parts) {
      path += part
      let next = node.children.get(part)
      if (next === undefined) { next = { name: part, path, children: new Map(), field: null }; node.children.set(part, next) }
      node = next
    }
    node.field = f
  }
  return root
}

function FieldRow (props: { node: TreeNode, depth: number, sampleFor: (path: string) => string | null, window: string }) {
  const { node, depth } = props
  const f = node.field
  const sample = f === null ? null : props.sampleFor(f.path)
  return (
    <>
      <tr class={f?.noisy === true ? 'noisy' : ''}>
        <td style={{ paddingLeft: `${0.5 + depth * 1.1}rem` }}>
          {f !== null && sample !== null ? <a href={href('sample', sample, props.window)} title='open a sample with this difference'>{node.name}</a> : <span>{node.name}</span>}
        </td>
        <td class='num'>{f?.count ?? ''}</td>
        <td class='num'>{f === null ? '' : pct(f.ratio)}</td>
        <td>{f === null ? '' : Object.entries(f.kinds).map(([k, n]) => `${k} ${n}`).join(', ')}</td>
        <td class='num'>{f === null ? '' : `${pct(f.noiseRate, 1)}${f.noisy ? ' noise' : ''}`}</td>
        <td class='examples'>{f?.examples.map((e) => <div key={e.path + JSON.stringify(e.candidate)}><Value value={e.primary} /> → <Value value={e.candidate} /></div>)}</td>
      </tr>
      {[...node.children.values()].map((c) => <FieldRow key={c.path} node={c} depth={depth + 1} sampleFor={props.sampleFor} window={props.window} />)}
    </>
  )
}

function RouteView (props: { place: Place }) {
  const { arg: route, window: w } = props.place
  const q = `route=${encodeURIComponent(route)}`
  const gate = usePoll(() => api<Gate>(`/api/v1/gate?window=${w}&${q}`), [w, route])
  const history = usePoll(() => api<History>(`/api/v1/history?window=${w}&${q}`), [w, route])
  const fields = usePoll(() => api<{ fields: Field[] }>(`/api/v1/fields?${q}`), [route])
  const mismatches = usePoll(() => api<{ signatures: Signature[] }>(`/api/v1/mismatches?${q}&limit=100`), [route])
  const signatures = mismatches.data?.signatures ?? []
  const sampleFor = (path: string): string | null => {
    for (const s of signatures) if (s.samples.length > 0 && s.signature.split(' ').includes(path)) return s.samples[s.samples.length - 1].id
    return null
  }
  const tree = fields.data === null ? null : fieldTree(fields.data.fields)
  return (
    <main>
      <p><a href={href('overview', '', w)}>← all routes</a></p>
      <h2>Route {route}</h2>
      <Problem error={gate.error} />
      {gate.data !== null ? <GateView gate={gate.data} /> : null}
      {history.data !== null ? <HistoryCharts history={history.data} /> : null}
      <h2>Differing fields</h2>
      <Problem error={fields.error} />
      {tree === null || tree.children.size === 0
        ? <p class='muted'>{fields.data === null ? '…' : 'No differing field yet.'}</p>
        : (
          <table class='fields'>
            <thead><tr><th>Path</th><th>Count</th><th>Of compared</th><th>Kinds</th><th>Noise</th><th>Examples (v1 → v2)</th></tr></thead>
            <tbody>{[...tree.children.values()].map((c) => <FieldRow key={c.path} node={c} depth={0} sampleFor={sampleFor} window={w} />)}</tbody>
          </table>
          )}
      <h2>Signatures</h2>
      <Problem error={mismatches.error} />
      {signatures.length === 0
        ? <p class='muted'>{mismatches.data === null ? '…' : 'No mismatch sample yet.'}</p>
        : (
          <ul class='signatures'>
            {signatures.map((s) => (
              <li key={s.signature}>
                <span class='count'>{s.seen} ×</span> <code>{s.signature.slice(s.route.length + 1) || '(status or headers)'}</code>
                {' '}{s.samples.map((x, i) => <a key={x.id} href={href('sample', x.id, w)} class='sample-link'>sample {i + 1}</a>)}
              </li>
            ))}
          </ul>
          )}
    </main>
  )
}

function Headers (props: { headers: Record<string, string>, marked: string[] }) {
  return (
    <table class='headers'>
      <tbody>
        {Object.entries(props.headers).map(([k, v]) => <tr key={k} class={props.marked.includes(`@headers.${k}`) ? 'diff' : ''}><th>{k}</th><td>{v}</td></tr>)}
      </tbody>
    </table>
  )
}

function SampleView (props: { place: Place }) {
  const { data, error } = usePoll(() => api<Sample>(`/api/v1/mismatches/${encodeURIComponent(props.place.arg)}`), [props.place.arg], false)
  if (error !== null) return <main><Problem error={error} /><p><a href={href('overview', '', props.place.window)}>← overview</a></p></main>
  if (data === null) return <main><p class='muted'>Loading the sample…</p></main>
  const s = data
  const primaryMarks = s.diffs.filter((d) => d.kind !== 'extra').map((d) => d.path)
  const candidateMarks = s.diffs.filter((d) => d.kind !== 'missing').map((d) => d.path)
  const side = (name: string, x: Sample['primary'], marks: string[]) => (
    <section class='side' aria-label={name}>
      <h3>{name}</h3>
      <p class={marks.includes('@status') ? 'meta diff' : 'meta'}>status <b>{x.status}</b> · {x.durationMs.toFixed(2)} ms</p>
      <p class='meta muted'>hash <code>{x.hash ?? '–'}</code></p>
      <Headers headers={x.headers} marked={marks} />
      <Body body={x.body} kind={x.bodyKind} truncated={x.bodyTruncated} marked={marks} label={`${name} body`} />
    </section>
  )
  return (
    <main>
      <p><a href={href('route', s.route, props.place.window)}>← route {s.route}</a></p>
      <h2>Sample: {s.method} <code>{s.path}</code></h2>
      <p class='meta'>request id <code>{s.requestId}</code> · at {new Date(s.at).toLocaleString()} · route {s.route}</p>
      <table class='diffs'>
        <thead><tr><th>Differing path</th><th>Kind</th><th>Primary (v1)</th><th>Candidate (v2)</th></tr></thead>
        <tbody>
          {s.diffs.map((d) => <tr key={d.path}><td><code>{d.path}</code></td><td>{d.kind}</td><td><Value value={d.primary} /></td><td><Value value={d.candidate} /></td></tr>)}
        </tbody>
      </table>
      <div class='sides'>
        {side('Primary (v1)', s.primary, primaryMarks)}
        {side('Candidate (v2)', s.candidate, candidateMarks)}
      </div>
    </main>
  )
}

function TokenPrompt (props: { onDone: () => void }) {
  const [value, setValue] = useState('')
  return (
    <div class='modal' role='dialog' aria-modal='true' aria-labelledby='token-title'>
      <form onSubmit={(ev) => { ev.preventDefault(); setToken(value); props.onDone() }}>
        <h2 id='token-title'>Admin token</h2>
        <p>This instance needs its admin token (PARITYGATE_ADMIN_TOKEN) for samples, field values and changes. It is kept in this tab only.</p>
        <input type='password' autoFocus aria-label='admin token' value={value} onInput={(ev) => setValue((ev.target as HTMLInputElement).value)} />
        <div class='controls'><button type='submit'>Use token</button><button type='button' onClick={props.onDone}>Cancel</button></div>
      </form>
    </div>
  )
}

function App () {
  const place = usePlace()
  const [asking, setAsking] = useState(false)
  const [generation, setGeneration] = useState(0)
  useEffect(() => whenUnauthorized(() => setAsking(true)), [])
  const done = () => { setAsking(false); setGeneration((g) => g + 1) }
  return (
    <>
      <header>
        <h1><a href={href('overview', '', place.window)}>paritygate</a></h1>
        <WindowPicker place={place} />
        <span class='spacer' />
        {token() !== null ? <button type='button' onClick={() => { setToken(null); setGeneration((g) => g + 1) }}>Forget token</button> : <button type='button' onClick={() => setAsking(true)}>Token…</button>}
      </header>
      <div key={`${generation}`}>
        {place.view === 'overview' ? <Overview place={place} /> : place.view === 'route' ? <RouteView place={place} /> : <SampleView place={place} />}
      </div>
      {asking ? <TokenPrompt onDone={done} /> : null}
    </>
  )
}

const root = document.getElementById('app') as HTMLElement
root.textContent = ''
render(<App />, root)
