/* Builds the effective config from defaults < file < environment (PARITYGATE_*) < flags, then validates it once. */
import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { ConfigErrors, validateConfig } from './validate.ts'
import { type FrozenConfig } from './types.ts'

/** Overrides that the command line and the environment can set, by dotted config key. */
export interface Overrides {
  primary?: string
  candidate?: string
  mirrorPercent?: string
  workers?: string
  listen?: string
  admin?: string
  logLevel?: string
  noisePercent?: string
  /** `--ignore PATH`, repeatable: appended to compare.ignore */
  ignore?: string[]
}

/** Environment variables read at start-up, and the config key each one sets. */
export const ENV_KEYS = {
  PARITYGATE_PRIMARY: 'primary.url',
  PARITYGATE_CANDIDATE: 'candidate.url',
  PARITYGATE_MIRROR_PERCENT: 'mirror.percent',
  PARITYGATE_WORKERS: 'workers',
  PARITYGATE_LISTEN: 'listen',
  PARITYGATE_ADMIN: 'admin',
  PARITYGATE_LOG_LEVEL: 'log.level',
  PARITYGATE_NOISE_PERCENT: 'noise.percent'
} as const

const FLAG_KEYS: Record<Exclude<keyof Overrides, 'ignore'>, { key: string, flag: string }> = {
  primary: { key: 'primary.url', flag: '--primary' },
  candidate: { key: 'candidate.url', flag: '--candidate' },
  mirrorPercent: { key: 'mirror.percent', flag: '--mirror-percent' },
  workers: { key: 'workers', flag: '--workers' },
  listen: { key: 'listen', flag: '--listen' },
  admin: { key: 'admin', flag: '--admin' },
  logLevel: { key: 'log.level', flag: '--log-level' },
  noisePercent: { key: 'noise.percent', flag: '--noise-percent' }
}

/**
 * Where a YAML or JSON parse error is, shown as the offending line with a caret under the column:
 * `FILE: line 2, column 8: not valid YAML: WHAT`, then the line, then the caret.
 */
function syntaxError (file: string, kind: 'YAML' | 'JSON', text: string, err: Error): string[] {
  let message = err.message.split('\n')[0]
  let line = 0
  let col = 0
  const pos = (err as { linePos?: Array<{ line: number, col: number }> }).linePos?.[0]
  if (pos !== undefined) {
    line = pos.line
    col = pos.col
    message = message.replace(/ at line \d+, column \d+:?\s*$/, '')
  } else {
    const at = /at position (\d+)/.exec(message)
    if (at !== null) {
      const before = text.slice(0, Number(at[1]))
      line = before.split('\n').length
      col = Number(at[1]) - before.lastIndexOf('\n')
    }
  }
  if (line === 0) return [`${file}: not valid ${kind}: ${message}`]
  const lines = text.split(/\r?\n/)
  // A parser that ran off the end points past the last line: show the last line that has text.
  if (line > lines.length || (lines[line - 1] === '' && line === lines.length)) {
    line = lines.length
    while (line > 1 && lines[line - 1].trim() === '') line--
    col = lines[line - 1].length + 1
  }
  const source = lines[line - 1].replace(/\t/g, ' ').slice(0, 200)
  const gutter = `  ${line} | `
  return [
    `${file}: line ${line}, column ${col}: not valid ${kind}: ${message}`,
    `${gutter}${source}`,
    `${' '.repeat(gutter.length - 2)}| ${' '.repeat(Math.max(0, Math.min(col - 1, source.length)))}^`
  ]
}

/**
 * Reads and parses a YAML or JSON config file (YAML is a superset of JSON; duplicate keys are errors).
 * @throws ConfigErrors naming the file and what is wrong with it
 */
export function readConfigFile (file: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigErrors([`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`], 'PARITYGATE_ERR_CONFIG_READ')
  }
  let data: unknown
  try {
    data = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text, { uniqueKeys: true, prettyErrors: true })
  } catch (err) {
    throw new ConfigErrors(syntaxError(file, /\.json$/i.test(file) ? 'JSON' : 'YAML', text, err as Error), 'PARITYGATE_ERR_CONFIG_READ')
  }
  if (data === null || data === undefined) data = {}
  if (typeof data !== 'object' || Array.isArray(data)) throw new ConfigErrors([`${file}: must hold a mapping of config keys at the top level`])
  return data as Record<string, unknown>
}

/** Keys whose values arrive as text from flags and the environment but are numbers in the schema. */
const NUMERIC_KEYS = new Set(['mirror.percent', 'noise.percent', 'workers'])

/** Numeric text becomes a number; anything else stays text, so that validation names the key. */
function fromText (key: string, value: string): unknown {
  return NUMERIC_KEYS.has(key) && /^\s*-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?\s*$/i.test(value) ? Number(value) : value
}

function setPath (target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.')
  let node = target
  for (let i = 0; i < parts.length - 1; i++) {
    const next = node[parts[i]]
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[parts[i]] = {}
    node = node[parts[i]] as Record<string, unknown>
  }
  node[parts[parts.length - 1]] = value
}

/**
 * The effective configuration: defaults < file < environment < flags, validated and frozen.
 * Every error names its key and where the bad value came from.
 * @param opts.file config file path (flag `--config`, else `PARITYGATE_CONFIG`)
 * @param opts.env the environment to read `PARITYGATE_*` from
 * @param opts.flags values from the command line
 */
export function loadConfig (opts: { file?: string, env?: NodeJS.ProcessEnv, flags?: Overrides } = {}): FrozenConfig {
  const env = opts.env ?? {}
  const file = opts.file ?? (env.PARITYGATE_CONFIG || undefined)
  const raw: Record<string, unknown> = file !== undefined ? readConfigFile(file) : {}
  const origin = new Map<string, string>()
  if (file !== undefined) origin.set('', `file ${file}`)

  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const value = env[name]
    if (value !== undefined && value !== '') {
      setPath(raw, key, fromText(key, value))
      origin.set(key, `environment ${name}`)
    }
  }
  for (const [name, spec] of Object.entries(FLAG_KEYS)) {
    const value = opts.flags?.[name as keyof typeof FLAG_KEYS]
    if (value !== undefined) {
      setPath(raw, spec.key, fromText(spec.key, value))
      origin.set(spec.key, `flag ${spec.flag}`)
    }
  }
  const ignore = opts.flags?.ignore ?? []
  if (ignore.length > 0) {
    raw.compare ??= {}
    const compare = raw.compare as Record<string, unknown>
    // A compare or compare.ignore of the wrong type stays as it is, for the schema to name.
    if (compare !== null && typeof compare === 'object' && !Array.isArray(compare) && (compare.ignore === undefined || Array.isArray(compare.ignore))) {
      const list = [...(compare.ignore as unknown[] | undefined) ?? []]
      for (const path of ignore) {
        origin.set(`compare.ignore[${list.length}]`, 'flag --ignore')
        list.push(path)
      }
      compare.ignore = list
    }
  }
  try {
    return validateConfig(raw)
  } catch (err) {
    if (!(err instanceof ConfigErrors)) throw err
    throw new ConfigErrors(err.errors.map((line) => {
      const key = line.slice(0, line.indexOf(':'))
      const from = origin.get(key) ?? origin.get('')
      if ((key === 'primary.url' || key === 'primary') && line.endsWith('is required')) return 'primary.url: is required (set primary.url in the config file, PARITYGATE_PRIMARY or --primary)'
      return from !== undefined ? `${line} (from ${from})` : line
    }))
  }
}
