/*
 * The parts of src/ import only downward. What this checks, for every `import`, `export … from`
 * and `import()` of a relative module under src/ (type-only ones too: a reader follows them):
 * - each file belongs to a part (a folder under src/, or a file at its top), and each part has a
 *   rank; a part imports only parts of a lower rank (never one above, never a sibling);
 * - the graph of parts has no cycle, allowed exceptions included;
 * - the browser page (src/ui) imports nothing of src/ outside itself;
 * - every exception below is still needed (an allowed edge that no import uses any more fails,
 *   so that the list only shrinks).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { test } from 'node:test'
import { deepStrictEqual, ok } from 'node:assert/strict'

const SRC = resolve(import.meta.dirname, '../src')

/**
 * Ranks, bottom first. Shared helpers sit below everything; the process wiring (app) and the
 * commands above it. Parts of one rank are siblings and import nothing of each other.
 */
const RANKS: string[][] = [
  // shared low-level helpers: deadlines, connections, error codes, what is secret, threads
  ['deadlines.ts', 'connector.ts', 'errors.ts', 'secrets.ts', 'version.ts', 'threads'],
  // logging, which redacts secrets
  ['logger.ts'],
  ['config'],
  ['stats'],
  ['compare'],
  ['gate'],
  // finishes check-config by compiling the comparison rules
  ['config-check.ts'],
  ['mirror'],
  ['proxy'],
  ['admin'],
  // what one process and a group's primary share (gate gauges, start-up line, listen errors), and
  // how one process wires the mirror and the comparison to the stats
  ['process.ts', 'wiring.ts'],
  // one process: the live path, the mirror, the comparison, the gate and the admin listener
  ['app.ts'],
  // what runs processes and commands: one process (server), a --workers group (cluster), a report
  ['server.ts', 'cluster', 'report'],
  ['demo'],
  ['cli.ts']
]

/**
 * Imports allowed against the ranks, each with why and when it goes. Keys are `from -> to`
 * (files, relative to src/).
 */
const ALLOWED = new Map<string, string>([])

/**
 * Imports forbidden although the ranks allow them, each with why: the primary of a --workers
 * group runs no app, so it should not reach into app.ts for helpers.
 */
const FORBIDDEN = new Map<string, string>([
  ['cluster/primary.ts -> app.ts', 'the primary runs no app: what it shares with app.ts belongs in a lower part']
])

/**
 * Forbidden imports still present, each with why and when it goes.
 */
const FORBIDDEN_ALLOWED = new Map<string, string>([])

function files (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return files(p)
    return /\.tsx?$/.test(e.name) ? [p] : []
  })
}

/** The relative modules a file imports (static, re-exports and dynamic). */
function importsOf (file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const out: string[] = []
  const re = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"](\.[^'"]+)['"]/g
  for (const m of text.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3])
  return out
}

function partOf (rel: string): string {
  const [first] = rel.split('/')
  return first
}

function rankOf (part: string): number {
  const i = RANKS.findIndex((r) => r.includes(part))
  return i
}

interface Edge { from: string, to: string, fromPart: string, toPart: string }

function edges (): Edge[] {
  const out: Edge[] = []
  for (const file of files(SRC)) {
    const from = relative(SRC, file)
    for (const spec of importsOf(file)) {
      const to = relative(SRC, resolve(dirname(file), spec))
      if (to.startsWith('..')) continue
      const fromPart = partOf(from)
      const toPart = partOf(to)
      if (fromPart !== toPart) out.push({ from, to, fromPart, toPart })
    }
  }
  return out
}

test('every part of src/ has a rank', () => {
  const parts = new Set(files(SRC).map((f) => partOf(relative(SRC, f))))
  parts.delete('ui')
  deepStrictEqual([...parts].filter((p) => rankOf(p) === -1), [])
})

test('the import scan sees the imports it must judge', () => {
  const all = edges()
  // A known downward import of each kind: static, type-only and dynamic.
  ok(all.some((e) => e.from === 'app.ts' && e.to === 'proxy/proxy.ts'))
  ok(all.some((e) => e.from === 'mirror/io-thread.ts' && e.to === 'compare/worker-pool.ts'))
  ok(all.some((e) => e.from === 'cli.ts' && e.to === 'server.ts'))
})

test('parts import only downward (upward and sideways imports are listed)', () => {
  const bad: string[] = []
  const used = new Set<string>()
  for (const e of edges()) {
    const key = `${e.from} -> ${e.to}`
    if (e.fromPart === 'ui' || e.toPart === 'ui') {
      bad.push(`${key} (the page imports nothing of src/ outside src/ui, nor is imported)`)
      continue
    }
    const downward = rankOf(e.toPart) < rankOf(e.fromPart)
    const forbidden = FORBIDDEN.has(key)
    if (downward && !forbidden) continue
    if (ALLOWED.has(key) || FORBIDDEN_ALLOWED.has(key)) {
      used.add(key)
      continue
    }
    bad.push(forbidden ? `${key} (${FORBIDDEN.get(key) as string})` : `${key} (${e.fromPart} may not import ${e.toPart})`)
  }
  deepStrictEqual(bad, [])
  deepStrictEqual([...ALLOWED.keys(), ...FORBIDDEN_ALLOWED.keys()].filter((k) => !used.has(k)), [], 'an allowed exception no import uses any more: remove it')
})

test('the graph of parts has no cycle', () => {
  const graph = new Map<string, Set<string>>()
  for (const e of edges()) {
    if (!graph.has(e.fromPart)) graph.set(e.fromPart, new Set())
    graph.get(e.fromPart)?.add(e.toPart)
  }
  const cycles: string[] = []
  const state = new Map<string, 'open' | 'done'>()
  const visit = (part: string, path: string[]): void => {
    if (state.get(part) === 'done') return
    if (state.get(part) === 'open') {
      cycles.push([...path.slice(path.indexOf(part)), part].join(' -> '))
      return
    }
    state.set(part, 'open')
    for (const next of graph.get(part) ?? []) visit(next, [...path, part])
    state.set(part, 'done')
  }
  for (const part of graph.keys()) visit(part, [])
  deepStrictEqual(cycles, [])
})
