/* Where the investigation page is (its hash: view, argument, window), how it polls the admin API, and the bits every view shows. */
import { useEffect, useState } from 'preact/hooks'
import { ApiError } from './api.ts'

export const WINDOWS = ['1m', '5m', '15m', '1h']
export const REFRESH_MS = 2000

/** Where the page is: `#/`, `#/route/NAME`, `#/sample/ID`, each with `?w=WINDOW`. */
export interface Place { view: 'overview' | 'route' | 'sample', arg: string, window: string }

export function parseHash (hash: string): Place {
  const [path, query] = hash.replace(/^#/, '').split('?')
  const w = new URLSearchParams(query ?? '').get('w')
  const window = w !== null && WINDOWS.includes(w) ? w : '5m'
  const parts = (path ?? '').split('/').filter((p) => p !== '')
  if (parts[0] === 'route' && parts.length > 1) return { view: 'route', arg: decodeURIComponent(parts.slice(1).join('/')), window }
  if (parts[0] === 'sample' && parts.length > 1) return { view: 'sample', arg: decodeURIComponent(parts[1]), window }
  return { view: 'overview', arg: '', window }
}

export function href (view: Place['view'], arg: string, window: string): string {
  const base = view === 'overview' ? '#/' : `#/${view}/${encodeURIComponent(arg)}`
  return `${base}?w=${window}`
}

export function usePlace (): Place {
  const [place, setPlace] = useState(() => parseHash(location.hash))
  useEffect(() => {
    const on = () => setPlace(parseHash(location.hash))
    addEventListener('hashchange', on)
    return () => removeEventListener('hashchange', on)
  }, [])
  return place
}

/** Polls `load` every REFRESH_MS (when `live`), keeping the last good answer and the last error. */
export function usePoll<T> (load: () => Promise<T>, deps: unknown[], live = true): { data: T | null, error: ApiError | null, reload: () => void } {
  const [data, setData] = useState<T | null>(null)
  const [error, setError] = useState<ApiError | null>(null)
  const [tick, setTick] = useState(0)
  useEffect(() => {
    let stopped = false
    let timer: ReturnType<typeof setTimeout> | null = null
    const run = async () => {
      try {
        const d = await load()
        if (!stopped) { setData(d); setError(null) }
      } catch (err) {
        if (!stopped) setError(err instanceof ApiError ? err : new ApiError(0, (err as Error).message))
      }
      if (!stopped && live) timer = setTimeout(run, REFRESH_MS)
    }
    setData(null)
    run().catch(() => {})
    return () => { stopped = true; if (timer !== null) clearTimeout(timer) }
  }, [...deps, tick])
  return { data, error, reload: () => setTick((t) => t + 1) }
}

export const pct = (x: number | null | undefined, digits = 2) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(digits)} %`)
export const ms = (x: number) => `${x.toFixed(2)} ms`

export function WindowPicker (props: { place: Place }) {
  return (
    <nav class='windows' aria-label='window'>
      {WINDOWS.map((w) => <a key={w} href={href(props.place.view, props.place.arg, w)} aria-current={w === props.place.window ? 'page' : undefined}>{w}</a>)}
    </nav>
  )
}

export function Problem (props: { error: ApiError | null }) {
  if (props.error === null) return null
  return <p class='error' role='alert'>{props.error.status === 401 ? 'This needs the admin token.' : props.error.message}</p>
}
