/*
 * The docs cannot drift from the code: every key of the config schema has a `#### ` heading in
 * docs/configuration.md (and every heading names a real key), every config example in the docs
 * passes `paritygate check-config`, and every link and repository path in README.md and docs/*.md
 * points to something that exists.
 */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { test } from 'node:test'
import { parse as parseYaml } from 'yaml'
import { schema } from '../src/config/index.ts'
import { ROOT, runCli } from './helpers/cli.ts'

const DOCS = join(ROOT, 'docs')
const FILES = [join(ROOT, 'README.md'), ...readdirSync(DOCS).filter((f) => f.endsWith('.md')).map((f) => join(DOCS, f))]
const read = (file: string): string => readFileSync(file, 'utf8')
const name = (file: string): string => relative(ROOT, file)

interface SchemaNode { properties?: Record<string, SchemaNode>, items?: SchemaNode, anyOf?: SchemaNode[], oneOf?: SchemaNode[], allOf?: SchemaNode[] }

/** The properties of an object node, its alternatives' included (a nullable object is an anyOf). */
function propertiesOf (node: SchemaNode): Record<string, SchemaNode> | undefined {
  const all = [node, ...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])].filter((n) => n.properties !== undefined)
  return all.length === 0 ? undefined : Object.assign({}, ...all.map((n) => n.properties))
}

/**
 * Every key of the schema as a dotted path (`primary.url`, `routes[].compare.ignore`): `leaves`
 * are the keys that hold a value (objects without declared properties, like
 * `compare.tolerances`, included), `all` adds the objects and arrays of objects around them.
 */
function schemaKeys (node: SchemaNode, prefix = '', out = { leaves: new Set<string>(), all: new Set<string>() }): typeof out {
  for (const [key, child] of Object.entries(propertiesOf(node) ?? {})) {
    const path = prefix === '' ? key : `${prefix}.${key}`
    out.all.add(path)
    const items = child.items !== undefined && propertiesOf(child.items) !== undefined ? child.items : undefined
    if (items !== undefined) {
      out.leaves.add(path) // an array of objects (routes) is documented itself, then each of its keys
      schemaKeys(items, `${path}[]`, out)
    } else if (propertiesOf(child) !== undefined) {
      schemaKeys(child, path, out)
    } else {
      out.leaves.add(path)
    }
  }
  return out
}

/**
 * The keys that `#### ` headings document: every `backquoted` key of the heading, so that a
 * grouped heading ("`compare.ignore`, `compare.unordered` (arrays of JSON paths)") documents
 * each of its keys. `named` leaves out what stands inside parentheses (types such as `auto`).
 */
function headingKeys (markdown: string): { documented: Set<string>, named: Set<string> } {
  const documented = new Set<string>()
  const named = new Set<string>()
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('#### ')) continue
    for (const m of line.matchAll(/`([^`]+)`/g)) documented.add(m[1])
    for (const m of line.replace(/\([^)]*\)/g, '').matchAll(/`([^`]+)`/g)) named.add(m[1])
  }
  return { documented, named }
}

test('schemaKeys should find nested, array and rule keys (the walk the next test relies on)', () => {
  const { leaves, all } = schemaKeys(schema as unknown as SchemaNode)
  for (const key of ['primary.url', 'candidate.breaker.failures', 'compare.samples.maxBodyChars', 'gate.notify.webhooks', 'routes', 'routes[].match', 'routes[].mirror.percent', 'routes[].compare.ignore', 'compare.tolerances']) {
    ok(leaves.has(key), key)
  }
  ok(!leaves.has('primary') && all.has('primary'), 'objects are not leaves')
  ok(leaves.size > 100, `${leaves.size} keys`)
})

test('docs/configuration.md should document every config key of the schema under a #### heading', () => {
  const { leaves } = schemaKeys(schema as unknown as SchemaNode)
  const { documented } = headingKeys(read(join(DOCS, 'configuration.md')))
  deepStrictEqual([...leaves].filter((key) => !documented.has(key)), [])
})

test('docs/configuration.md headings should name only keys that exist', () => {
  const { all } = schemaKeys(schema as unknown as SchemaNode)
  const { named } = headingKeys(read(join(DOCS, 'configuration.md')))
  deepStrictEqual([...named].filter((key) => !all.has(key)), [])
})

/** A fenced block of a markdown file. */
interface Block { file: string, line: number, lang: string, text: string, marked: boolean }

/** Fenced blocks; `marked` when the line before the fence (blank lines aside) is `<!-- check-config -->`. */
function fencedBlocks (file: string): Block[] {
  const lines = read(file).split('\n')
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i])
    if (open === null) continue
    let end = i + 1
    while (end < lines.length && !lines[end].startsWith('```')) end++
    let before = i - 1
    while (before >= 0 && lines[before].trim() === '') before--
    blocks.push({ file, line: i + 1, lang: open[1], text: lines.slice(i + 1, end).join('\n') + '\n', marked: before >= 0 && lines[before].trim() === '<!-- check-config -->' })
    i = end
  }
  return blocks
}

/** True when a YAML or JSON block reads as a paritygate config: an object with a top-level `primary`. */
function looksLikeConfig (block: Block): boolean {
  if (!['yaml', 'yml', 'json'].includes(block.lang)) return false
  try {
    const value: unknown = parseYaml(block.text)
    return value !== null && typeof value === 'object' && !Array.isArray(value) && 'primary' in value
  } catch {
    return false
  }
}

test('every config example in the docs should pass check-config', async () => {
  const examples = FILES.flatMap(fencedBlocks).filter((b) => b.marked || looksLikeConfig(b))
  ok(examples.length >= 6, `found ${examples.length} examples`)
  for (const b of examples) ok(['yaml', 'yml', 'json'].includes(b.lang), `${name(b.file)}:${b.line}: a config example is a yaml or json block`)
  const dir = mkdtempSync(join(tmpdir(), 'paritygate-docs-'))
  try {
    const failures: string[] = []
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < examples.length) {
        const b = examples[next++]
        const file = join(dir, `${name(b.file).replaceAll('/', '_')}-${b.line}.${b.lang === 'json' ? 'json' : 'yaml'}`)
        writeFileSync(file, b.text)
        const { code, stdout, stderr } = await runCli(['check-config', file])
        if (code !== 0 || !stdout.includes('valid')) failures.push(`${name(b.file)}:${b.line}: exit ${String(code)}\n${stderr}`)
      }
    }
    await Promise.all([worker(), worker()])
    deepStrictEqual(failures, [])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

/** GitHub's anchor of a heading: lowercased, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchors (markdown: string): Set<string> {
  const out = new Set<string>()
  const seen = new Map<string, number>()
  let fence = false
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fence = !fence
    const m = fence ? null : /^#{1,6}\s+(.*?)\s*#*$/.exec(line)
    if (m === null) continue
    const base = m[1].toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-')
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${n}`)
  }
  return out
}

/** Markdown outside fenced blocks and inline code. */
function prose (markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```\s*$/gm, '').replace(/`[^`\n]*`/g, '')
}

test('anchors should follow GitHub\'s rules (the link check relies on them)', () => {
  deepStrictEqual([...anchors('## All cores: `--workers`\n## Admin endpoints (port 9000)\n### Bodies\n### Bodies\n```\n# not a heading\n```\n')],
    ['all-cores---workers', 'admin-endpoints-port-9000', 'bodies', 'bodies-1'])
})

test('every relative link in README.md and docs/*.md should point to a file (and heading) that exists', () => {
  const broken: string[] = []
  for (const file of FILES) {
    for (const m of prose(read(file)).matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)) {
      const target = m[1]
      if (/^[a-z][a-z+.-]*:/i.test(target)) continue // http:, https:, mailto:
      const [path, anchor] = target.split('#') as [string, string | undefined]
      const resolved = path === '' ? file : join(dirname(file), decodeURIComponent(path))
      if (!existsSync(resolved)) { broken.push(`${name(file)}: ${target}: no such file`); continue }
      if (anchor !== undefined && resolved.endsWith('.md') && !anchors(read(resolved)).has(anchor)) broken.push(`${name(file)}: ${target}: no such heading`)
    }
  }
  deepStrictEqual(broken, [])
})

test('every repository path the docs name in backquotes should exist', () => {
  const top = readdirSync(ROOT).filter((f) => !f.startsWith('.') && f !== 'node_modules' && f !== 'dist')
  const pattern = new RegExp(`\`((?:${['.ci', ...top].map((d) => d.replace('.', '\\.')).join('|')})/[\\w./-]*)\``, 'g')
  const missing: string[] = []
  for (const file of FILES) {
    for (const m of read(file).matchAll(pattern)) {
      if (!existsSync(join(ROOT, m[1]))) missing.push(`${name(file)}: ${m[1]}`)
    }
  }
  deepStrictEqual(missing, [])
})

test('README.md and docs/*.md should not refer to internal working files', () => {
  for (const file of FILES) {
    const text = read(file)
    // spelled apart, so that this file names none of them either
    for (const word of ['DESIGN' + '.md', 'STYLE' + '.md', 'TEST' + '-MATRIX']) strictEqual(text.includes(word), false, `${name(file)} mentions ${word}`)
  }
})
