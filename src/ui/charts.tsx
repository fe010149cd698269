/* Charts over time (uPlot, bundled): mismatch ratio with its budget, latency percentiles of both sides, mirror decisions. */
import { useEffect, useRef } from 'preact/hooks'
import UPlot from 'uplot'
import { type History } from './api.ts'

interface SeriesSpec { label: string, color: string, dash?: number[], width?: number }

/** One uPlot chart, its data replaced in place on every update and its width following its box. */
export function Chart (props: { title: string, x: number[], ys: Array<Array<number | null>>, series: SeriesSpec[], unit: string }) {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<UPlot | null>(null)
  const data = [props.x, ...props.ys] as UPlot.AlignedData
  useEffect(() => {
    const el = box.current
    if (el === null) return
    const opts: UPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: 180,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
      axes: [
        { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.2)' }, ticks: { stroke: 'rgba(128,128,128,0.3)' } },
        { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.2)' }, ticks: { stroke: 'rgba(128,128,128,0.3)' }, size: 60, values: (_u, ticks) => ticks.map((t) => `${+t.toPrecision(3)}${props.unit}`) }
      ],
      series: [{}, ...props.series.map((s) => ({ label: s.label, stroke: s.color, width: s.width ?? 1.5, dash: s.dash, spanGaps: false, points: { show: s.label !== 'budget', size: 5, fill: s.color } }))]
    }
    plot.current = new UPlot(opts, data, el)
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(280, el.clientWidth), height: 180 }))
    resize.observe(el)
    return () => {
      resize.disconnect()
      plot.current?.destroy()
      plot.current = null
    }
  }, [props.series.length, props.unit])
  useEffect(() => { plot.current?.setData(data) })
  return (
    <figure class='chart'>
      <figcaption>{props.title}</figcaption>
      <div ref={box} />
    </figure>
  )
}

const times = (start: number, step: number, n: number): number[] => Array.from({ length: n }, (_, k) => (start + k * step) / 1000)

const DECISION_COLORS: Record<string, string> = {
  mirrored: '#2f7d32',
  sampled_out: '#8a8f98',
  unsafe_method: '#7a5af8',
  body_too_large: '#c27c0e',
  overloaded: '#d92d20',
  circuit_open: '#b42318',
  disabled: '#475467',
  shutdown: '#98a2b3'
}

/** The three charts of a history answer. */
export function HistoryCharts (props: { history: History }) {
  const h = props.history
  const x = times(h.start, h.stepMs, h.mismatchRatio.length)
  const lx = times(h.latency.start, h.latency.stepMs, h.latency.primary.p50Ms.length)
  const nz = (xs: number[], counts: number[]) => xs.map((v, k) => (counts[k] === 0 ? null : v))
  const pc = h.latency.primary.count
  const cc = h.latency.candidate.count
  const decisions = Object.keys(h.decisions).filter((d) => h.decisions[d].some((v) => v > 0))
  return (
    <div class='charts'>
      <Chart
        title='Mismatch ratio (budget dashed)' unit='%' x={x}
        ys={[h.mismatchRatio.map((r) => (r === null ? null : r * 100)), x.map(() => h.mismatchBudget * 100)]}
        series={[{ label: 'mismatch %', color: '#d92d20', width: 2 }, { label: 'budget', color: '#8a8f98', dash: [6, 4] }]}
      />
      <Chart
        title='Latency, primary (v1) vs candidate (v2)' unit=' ms' x={lx}
        ys={[nz(h.latency.primary.p50Ms, pc), nz(h.latency.primary.p95Ms, pc), nz(h.latency.primary.p99Ms, pc), nz(h.latency.candidate.p50Ms, cc), nz(h.latency.candidate.p95Ms, cc), nz(h.latency.candidate.p99Ms, cc)]}
        series={[
          { label: 'v1 p50', color: '#1570ef', dash: [2, 3] }, { label: 'v1 p95', color: '#1570ef', width: 2 }, { label: 'v1 p99', color: '#1570ef', dash: [8, 3] },
          { label: 'v2 p50', color: '#e04f16', dash: [2, 3] }, { label: 'v2 p95', color: '#e04f16', width: 2 }, { label: 'v2 p99', color: '#e04f16', dash: [8, 3] }
        ]}
      />
      <Chart
        title='Mirror decisions per bucket' unit='' x={x}
        ys={(decisions.length === 0 ? ['mirrored'] : decisions).map((d) => h.decisions[d])}
        series={(decisions.length === 0 ? ['mirrored'] : decisions).map((d) => ({ label: d, color: DECISION_COLORS[d] ?? '#667085' }))}
      />
    </div>
  )
}
