/*
 * Shared by the rollout-integration tests: reading the shipped files, a small evaluator for the
 * subset of Argo Rollouts' analysis language those files use, and metric names in PromQL.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'

export const CONFIG = fileURLToPath(new URL('../../config/', import.meta.url))

/** Every YAML document of a file under config/, as plain objects; throws on any parse error. */
export function loadDocuments (relative: string): Array<Record<string, any>> {
  const docs = parseAllDocuments(readFileSync(CONFIG + relative, 'utf8'))
  if (!Array.isArray(docs)) throw new Error(`${relative}: empty`)
  return docs.map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${relative} document ${i}: ${doc.errors.map((e) => e.message).join('; ')}`)
    return doc.toJS() as Record<string, any>
  })
}

/** The one document of `kind` in a file (fails when there is not exactly one). */
export function documentOf (relative: string, kind: string): Record<string, any> {
  const found = loadDocuments(relative).filter((d) => d?.kind === kind)
  if (found.length !== 1) throw new Error(`${relative}: expected one ${kind}, found ${found.length}`)
  return found[0]
}

/**
 * A metric of an AnalysisTemplate with `{{args.NAME}}` resolved as Argo Rollouts does: from
 * `overrides`, else the template's default value; an arg without a value is an error.
 */
export function resolveMetric (template: Record<string, any>, metricName: string, overrides: Record<string, string> = {}): Record<string, any> {
  const defaults: Record<string, string> = {}
  for (const arg of template.spec.args ?? []) if (arg.value !== undefined) defaults[arg.name] = String(arg.value)
  const values = { ...defaults, ...overrides }
  const metric = template.spec.metrics.find((m: { name: string }) => m.name === metricName)
  if (metric === undefined) throw new Error(`no metric ${metricName}`)
  const text = JSON.stringify(metric).replace(/\{\{\s*args\.([\w-]+)\s*\}\}/g, (_all, name: string) => {
    if (values[name] === undefined) throw new Error(`args.${name} has no value`)
    return JSON.stringify(values[name]).slice(1, -1)
  })
  return JSON.parse(text)
}

/** The web provider's jsonPath subset used here: `{$.a.b}`. */
export function jsonPath (path: string, body: unknown): unknown {
  const m = /^\{\$((?:\.[\w-]+)*)\}$/.exec(path)
  if (m === null) throw new Error(`unsupported jsonPath ${path}`)
  let value: any = body
  for (const key of m[1].split('.').slice(1)) value = value?.[key]
  return value
}

type Node =
  | { t: 'lit', v: unknown }
  | { t: 'id', name: string }
  | { t: 'not', e: Node }
  | { t: 'bin', op: string, l: Node, r: Node }
  | { t: 'idx', e: Node, i: Node }
  | { t: 'call', name: string, args: Node[] }

const TOKEN = /\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|([A-Za-z_]\w*)|(==|!=|<=|>=|&&|\|\||[<>!()[\],]))/y

function tokenize (source: string): string[] {
  const tokens: string[] = []
  TOKEN.lastIndex = 0
  while (TOKEN.lastIndex < source.length) {
    if (/^\s*$/.test(source.slice(TOKEN.lastIndex))) break
    const at = TOKEN.lastIndex
    const m = TOKEN.exec(source)
    if (m === null) throw new Error(`cannot read condition at ${at}: ${source}`)
    tokens.push(m[1] ?? m[2] ?? m[3] ?? m[4])
  }
  return tokens
}

/**
 * Parses a condition in the subset of expr (Argo Rollouts' condition language) that the shipped
 * templates use: literals, `result`, `result[0]`, `len()`, `isNaN()`, `!`, comparisons, `&&`, `||`.
 */
export function parseCondition (source: string): Node {
  const tokens = tokenize(source)
  let pos = 0
  const peek = () => tokens[pos]
  const take = (want?: string) => {
    const token = tokens[pos++]
    if (want !== undefined && token !== want) throw new Error(`expected ${want}, got ${token} in ${source}`)
    return token
  }
  const primary = (): Node => {
    const token = take()
    if (token === undefined) throw new Error(`unexpected end of ${source}`)
    if (token === '(') {
      const e = or()
      take(')')
      return e
    }
    if (/^\d/.test(token)) return { t: 'lit', v: Number(token) }
    if (/^["']/.test(token)) return { t: 'lit', v: JSON.parse('"' + token.slice(1, -1).replace(/"/g, '\\"') + '"') }
    if (token === 'true' || token === 'false') return { t: 'lit', v: token === 'true' }
    if (/^[A-Za-z_]/.test(token)) {
      if (peek() === '(') {
        take('(')
        const args: Node[] = []
        while (peek() !== ')') {
          args.push(or())
          if (peek() === ',') take(',')
        }
        take(')')
        return { t: 'call', name: token, args }
      }
      return { t: 'id', name: token }
    }
    throw new Error(`unexpected ${token} in ${source}`)
  }
  const postfix = (): Node => {
    let e = primary()
    while (peek() === '[') {
      take('[')
      e = { t: 'idx', e, i: or() }
      take(']')
    }
    return e
  }
  const unary = (): Node => {
    if (peek() === '!') {
      take('!')
      return { t: 'not', e: unary() }
    }
    return postfix()
  }
  const comparison = (): Node => {
    const l = unary()
    if (['==', '!=', '<', '<=', '>', '>='].includes(peek())) return { t: 'bin', op: take(), l, r: unary() }
    return l
  }
  const and = (): Node => {
    let l = comparison()
    while (peek() === '&&') l = { t: 'bin', op: take(), l, r: comparison() }
    return l
  }
  const or = (): Node => {
    let l = and()
    while (peek() === '||') l = { t: 'bin', op: take(), l, r: and() }
    return l
  }
  const tree = or()
  if (pos !== tokens.length) throw new Error(`trailing ${tokens.slice(pos).join(' ')} in ${source}`)
  return tree
}

function evaluate (node: Node, env: Record<string, unknown>): unknown {
  switch (node.t) {
    case 'lit': return node.v
    case 'id':
      if (!(node.name in env)) throw new Error(`unknown name ${node.name}`)
      return env[node.name]
    case 'not': return !(evaluate(node.e, env) as boolean)
    case 'idx': {
      const list = evaluate(node.e, env) as unknown[]
      const i = evaluate(node.i, env) as number
      if (!Array.isArray(list) || i < 0 || i >= list.length) throw new Error(`index ${i} out of range`)
      return list[i]
    }
    case 'call': {
      const args = node.args.map((a) => evaluate(a, env))
      if (node.name === 'len') return (args[0] as unknown[]).length
      if (node.name === 'isNaN') return Number.isNaN(args[0])
      throw new Error(`unknown function ${node.name}`)
    }
    case 'bin': {
      // && and || short-circuit, as expr does: `len(result) > 0 && result[0] ...` never indexes an empty result
      if (node.op === '&&') return (evaluate(node.l, env) as boolean) && (evaluate(node.r, env) as boolean)
      if (node.op === '||') return (evaluate(node.l, env) as boolean) || (evaluate(node.r, env) as boolean)
      const l = evaluate(node.l, env) as number
      const r = evaluate(node.r, env) as number
      switch (node.op) {
        case '==': return l === r
        case '!=': return l !== r
        case '<': return l < r
        case '<=': return l <= r
        case '>': return l > r
        default: return l >= r
      }
    }
  }
}

export type Phase = 'Successful' | 'Failed' | 'Inconclusive' | 'Error'

/**
 * One measurement's phase as Argo Rollouts assigns it: failure condition true → Failed, else
 * success condition true → Successful, else Inconclusive; an evaluation error → Error.
 */
export function assess (metric: { successCondition?: string, failureCondition?: string }, result: unknown): Phase {
  try {
    const env = { result }
    const success = metric.successCondition !== undefined ? evaluate(parseCondition(metric.successCondition), env) === true : undefined
    const failure = metric.failureCondition !== undefined ? evaluate(parseCondition(metric.failureCondition), env) === true : undefined
    if (failure ?? (success === false)) return 'Failed'
    if (success ?? true) return 'Successful'
    return 'Inconclusive'
  } catch {
    return 'Error'
  }
}

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan', 'atan2'])

/** Metric names (and recording-rule names) that a PromQL expression, or a Grafana label_values() query, reads. */
export function metricNames (expr: string): string[] {
  const labelValues = /^\s*label_values\(\s*([a-zA-Z_:][\w:]*)/.exec(expr)
  if (labelValues !== null) return [labelValues[1]]
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ')
    .replace(/(?<![\w:])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?:ms|[smhdwy])?/g, ' ')
  const names = new Set<string>()
  for (const m of s.matchAll(/[a-zA-Z_:][\w:]*/g)) {
    if (s.slice((m.index ?? 0) + m[0].length).trimStart().startsWith('(')) continue
    if (PROMQL_KEYWORDS.has(m[0].toLowerCase())) continue
    names.add(m[0])
  }
  return [...names]
}

/** Series names a Prometheus text exposition offers: sample names, plus _bucket/_sum/_count of histograms and summaries. */
export function exposedNames (text: string): Set<string> {
  const names = new Set<string>()
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\w+)/.exec(line)
    if (type !== null) {
      names.add(type[1])
      if (type[2] === 'histogram' || type[2] === 'summary') for (const suffix of ['_bucket', '_sum', '_count']) names.add(type[1] + suffix)
    } else if (line !== '' && !line.startsWith('#')) {
      names.add(/^[a-zA-Z_:][\w:]*/.exec(line)?.[0] ?? '')
    }
  }
  names.delete('')
  return names
}
