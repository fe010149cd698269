/* JSON pretty-printed line by line, each line knowing its path, so that differing paths can be highlighted. */
import { type ValueView } from './api.ts'

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/** A member segment as the comparison writes paths: `.name`, or `["a.b"]`. */
export function memberPath (parent: string, key: string): string {
  return IDENT.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`
}

interface Line { path: string, indent: number, text: string }

/** The lines of a pretty-printed value, each with the path of the value it belongs to. */
export function jsonLines (value: unknown, path = '$', indent = 0, prefix = '', suffix = '', out: Line[] = []): Line[] {
  if (Array.isArray(value)) {
    if (value.length === 0) { out.push({ path, indent, text: `${prefix}[]${suffix}` }); return out }
    out.push({ path, indent, text: `${prefix}[` })
    value.forEach((v, i) => jsonLines(v, `${path}[${i}]`, indent + 1, '', i < value.length - 1 ? ',' : '', out))
    out.push({ path, indent, text: `]${suffix}` })
  } else if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
    if (entries.length === 0) { out.push({ path, indent, text: `${prefix}{}${suffix}` }); return out }
    out.push({ path, indent, text: `${prefix}{` })
    entries.forEach(([k, v], i) => jsonLines(v, memberPath(path, k), indent + 1, `${JSON.stringify(k)}: `, i < entries.length - 1 ? ',' : '', out))
    out.push({ path, indent, text: `}${suffix}` })
  } else {
    out.push({ path, indent, text: `${prefix}${JSON.stringify(value)}${suffix}` })
  }
  return out
}

/** Whether `path` is `target` or lies beneath it. */
function within (path: string, target: string): boolean {
  return path === target || (path.startsWith(target) && (path[target.length] === '.' || path[target.length] === '['))
}

/** A body, pretty-printed when it is JSON, with the lines under a differing path marked. */
export function Body (props: { body: unknown, kind: 'json' | 'text', truncated: boolean, marked: string[], label: string }) {
  if (props.kind === 'text') {
    return (
      <pre class='body' aria-label={props.label}>
        {String(props.body)}{props.truncated ? <span class='cut'>{' … (cut at compare.samples.maxBodyChars)'}</span> : null}
      </pre>
    )
  }
  const lines = jsonLines(props.body)
  return (
    <pre class='body' aria-label={props.label}>
      {lines.map((l) => {
        const hit = props.marked.some((m) => within(l.path, m))
        return <div key={l.path + l.text} class={hit ? 'line diff' : 'line'} data-path={l.path}>{'  '.repeat(l.indent)}{l.text}</div>
      })}
    </pre>
  )
}

/** A value at a differing path, short and readable: JSON as JSON, text as text, `—` when the side has none. */
export function Value (props: { value: ValueView | null | undefined }) {
  const v = props.value
  if (v === undefined) return <span class='muted'>not kept</span>
  if (v === null) return <span class='muted'>— (absent)</span>
  if ('json' in v) return <code class='value'>{JSON.stringify(v.json)}</code>
  return <code class='value'>{v.text}{v.truncated ? '…' : ''}</code>
}
