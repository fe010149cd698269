// Summarises V8 .cpuprofile files (node --cpu-prof) by area of paritygate's code: where a mirrored exchange's CPU goes.
//
// Usage: node --import tsx bench/lib/profile-summary.ts [--all] [--per N] [--cpu-us U] [--base FILE --base-per N --base-cpu-us U]
//          [--top 15] FILE...
//   FILE        .cpuprofile files; each is summarised on its own (the main thread's and each worker thread's)
//   --per N     divide times by N (e.g. the exchanges mirrored over the profile, from /metrics) to print µs per exchange
//   --cpu-us U  the CPU µs per exchange measured from /proc (bench:mirror's table): every area is then shown as its
//               share of the busy samples times U. On a shared core the sampled busy time also counts the time the
//               thread waited for the CPU, so the shares are the profile's and the µs come from /proc.
//   --base FILE a profile of the same load without mirroring, with --base-per N its requests and --base-cpu-us U its CPU
//               µs per request: adds its µs per request per area and the difference, what mirroring adds per exchange
//   --top N     how many functions to list by self time (default 15)
// Prints markdown. Each sample's time is the delta to the next sample (as Chrome DevTools counts it); `(idle)` samples
// are left out of every total, and so is everything before the first sample in the live path (src/proxy/), i.e. the
// start-up (module loading, config schema compilation), whose fixed cost would otherwise be spread over the exchanges
// (`--all` keeps it). Worker-thread profiles have no live path and are summarised whole.
//
// Three views per profile:
// - self by area: the area of the function the sample was in (node internals and natives under their own names);
// - by owner: the sample charged to the nearest frame (leaf to root) of paritygate's code or of a named dependency
//   (undici, prom-client, hdr-histogram-js, pino); node internals and natives (crypto's digest, a socket write,
//   Buffer.compare) count for whoever called them; samples with no such frame keep their self area;
// - inclusive: each area counted once per sample if any of its frames is on the stack (areas overlap, so the column
//   does not add up).
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'

interface CallFrame { functionName: string, url: string, lineNumber: number, columnNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, children?: number[] }
export interface CpuProfile { nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }

/** Areas of paritygate's code (src/ or the dist/ built from it) by path below src/, first match wins. */
const PROJECT_AREAS: Array<[RegExp, string]> = [
  [/^compare\/canonical\./, 'canonicalization (compare/canonical)'],
  [/^compare\/json-diff\./, 'diff (compare/json-diff)'],
  [/^compare\/field-stats\./, 'field statistics (compare/field-stats)'],
  [/^compare\/(samples|redact|mismatch-log)\./, 'samples, redaction, mismatch log'],
  [/^compare\/noise\./, 'noise learning (compare/noise)'],
  [/^compare\//, 'comparison: engine, analyze, body, rules'],
  [/^(stats\/(window|latency)|gate\/)/, 'windows and histograms (stats/window, stats/latency, gate/)'],
  [/^stats\//, 'metrics (stats/registry, fast-metrics)'],
  [/^mirror\/(types|captured-response|capture-budget|tee-body)\./, 'mirror: capture (CapturedResponse, budget)'],
  [/^mirror\//, 'mirror: decide, dispatch, job (mirror/)'],
  [/^(proxy\/|connector\.|deadlines\.|server\.)/, 'live path (proxy/, connector, deadlines)'],
  [/^app\./, 'app.ts wiring (outcome hooks)'],
  [/^(admin|ui|report)\//, 'admin'],
  [/^cluster\//, 'cluster IPC']
]

/** Dependencies that are areas of their own. */
const DEPENDENCY_AREAS: Array<[RegExp, string]> = [
  [/\/node_modules\/undici\//, 'undici (candidate and primary requests)'],
  [/\/node_modules\/prom-client\//, 'metrics: prom-client'],
  [/\/node_modules\/hdr-histogram-js\//, 'windows and histograms (stats/window, stats/latency, gate/)'],
  [/\/node_modules\/(pino|thread-stream|sonic-boom)/, 'logging (pino)']
]

/** Node's own JavaScript, by module. */
const NODE_AREAS: Array<[RegExp, string]> = [
  [/^node:(_http_|http$|internal\/http)/, 'node: http server (node:_http_*)'],
  [/^node:(net|internal\/stream_base_commons|internal\/net|internal\/dns)/, 'node: net, sockets'],
  [/^node:(internal\/streams|stream)/, 'node: streams'],
  [/^node:(internal\/crypto|crypto)/, 'node: crypto'],
  [/^node:(internal\/worker|worker_threads|internal\/per_context\/messageport)/, 'node: worker messages'],
  [/^node:internal\/(timers|process\/task_queues|async_hooks)|^node:timers/, 'node: timers, microtasks'],
  [/^node:internal\/(modules|main)|^node:internal\/bootstrap/, 'node: module loading (start-up)'],
  [/^node:/, 'node: other']
]

export const OTHER = 'other'

/** Whether an area is paritygate's or a named dependency's (an owner in the "by owner" view). */
function isOwner (area: string): boolean {
  return !area.startsWith('node:') && area !== 'GC' && area !== 'V8: (program)' && area !== 'native (no JS frame)' && area !== OTHER
}

/** The area of one frame. */
export function areaOf (frame: CallFrame): string {
  const { functionName: fn, url } = frame
  if (fn === '(garbage collector)') return 'GC'
  if (fn === '(program)') return 'V8: (program)'
  if (fn === '(idle)') return '(idle)'
  if (url === '') return 'native (no JS frame)'
  const src = /\/(?:src|dist)\/(.+)$/.exec(url)
  if (src !== null && !url.includes('/node_modules/')) {
    for (const [re, area] of PROJECT_AREAS) if (re.test(src[1])) return area
    return 'paritygate: other (cli, config, logger)'
  }
  for (const [re, area] of DEPENDENCY_AREAS) if (re.test(url)) return area
  const dep = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
  if (dep !== null) return `dependency: ${dep[1]}`
  for (const [re, area] of NODE_AREAS) if (re.test(url)) return area
  return OTHER
}

function shortUrl (url: string): string {
  const src = /\/((?:src|dist)\/.+)$/.exec(url)
  if (src !== null && !url.includes('/node_modules/')) return src[1]
  const mod = /\/node_modules\/(.+)$/.exec(url)
  return mod !== null ? mod[1] : url
}

export interface Summary {
  /** µs of non-idle samples */
  busyUs: number
  idleUs: number
  /** µs before the first request (start-up), left out */
  skippedUs: number
  samples: number
  self: Map<string, number>
  owner: Map<string, number>
  inclusive: Map<string, number>
  /** `function (file:line)` → self µs */
  functions: Map<string, number>
}

function add (map: Map<string, number>, key: string, us: number): void {
  map.set(key, (map.get(key) ?? 0) + us)
}

export const LIVE = 'live path (proxy/, connector, deadlines)'

/** `fromFirstRequest`: leave out the samples before the first one with the live path on its stack (start-up). */
export function summarise (profile: CpuProfile, fromFirstRequest = true): Summary {
  const byId = new Map<number, ProfileNode>()
  const parent = new Map<number, number>()
  for (const node of profile.nodes) byId.set(node.id, node)
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const areaCache = new Map<number, string>()
  const area = (id: number): string => {
    let a = areaCache.get(id)
    if (a === undefined) {
      a = areaOf((byId.get(id) as ProfileNode).callFrame)
      areaCache.set(id, a)
    }
    return a
  }
  // per leaf node: its owner area and the set of areas on its stack, computed once
  const stackCache = new Map<number, { owner: string, areas: string[] }>()
  const stack = (leaf: number): { owner: string, areas: string[] } => {
    let s = stackCache.get(leaf)
    if (s !== undefined) return s
    let owner: string | null = null
    const areas = new Set<string>()
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id) as ProfileNode
      if (node.callFrame.functionName === '(root)' && node.callFrame.url === '') continue
      const a = area(id)
      areas.add(a)
      if (owner === null && isOwner(a)) owner = a
    }
    s = { owner: owner ?? area(leaf), areas: [...areas] }
    stackCache.set(leaf, s)
    return s
  }
  const sum: Summary = { busyUs: 0, idleUs: 0, skippedUs: 0, samples: 0, self: new Map(), owner: new Map(), inclusive: new Map(), functions: new Map() }
  const { samples, timeDeltas } = profile
  let first = 0
  if (fromFirstRequest) {
    while (first < samples.length && !stack(samples[first]).areas.includes(LIVE)) first++
    if (first === samples.length) first = 0 // no live path at all (a worker thread): keep everything
  }
  for (let i = 0; i < first; i++) sum.skippedUs += i + 1 < timeDeltas.length ? Math.max(0, timeDeltas[i + 1]) : 0
  for (let i = first; i < samples.length; i++) {
    const us = i + 1 < timeDeltas.length ? Math.max(0, timeDeltas[i + 1]) : 0
    const leaf = samples[i]
    const a = area(leaf)
    if (a === '(idle)') { sum.idleUs += us; continue }
    sum.busyUs += us
    sum.samples++
    add(sum.self, a, us)
    const s = stack(leaf)
    add(sum.owner, s.owner, us)
    for (const x of s.areas) add(sum.inclusive, x, us)
    const f = (byId.get(leaf) as ProfileNode).callFrame
    add(sum.functions, `${f.functionName === '' ? '(anonymous)' : f.functionName} (${shortUrl(f.url) || 'native'}${f.url === '' ? '' : `:${f.lineNumber + 1}`})`, us)
  }
  return sum
}

function fmt (us: number, per: number): string {
  return (us / per).toFixed(1)
}

/** The markdown tables of one profile, with `per` exchanges (1 = totals in µs) and an optional baseline. */
export interface Scaled { summary: Summary, per: number, cpuUs?: number }

/** µs per exchange of `us` sampled in `x`: its share times the measured CPU µs, or else the sampled µs over `per`. */
function perExchange (x: Scaled, us: number): number {
  return x.cpuUs !== undefined ? (us / x.summary.busyUs) * x.cpuUs : us / x.per
}

export function markdown (name: string, s: Summary, per: number, top: number, base?: Scaled, cpuUs?: number): string {
  const unit = per === 1 && cpuUs === undefined ? 'ms' : 'µs / exchange'
  const self: Scaled = { summary: s, per: per === 1 && cpuUs === undefined ? 1000 : per, cpuUs }
  const val = (us: number): string => perExchange(self, us).toFixed(1)
  const pct = (us: number): string => `${((us / s.busyUs) * 100).toFixed(1)} %`
  const lines = [
    `### ${name}`,
    '',
    `${s.samples.toLocaleString('en-US')} samples, ${(s.busyUs / 1e6).toFixed(2)} s busy, ${(s.idleUs / 1e6).toFixed(2)} s idle` +
      (s.skippedUs > 0 ? ` (${(s.skippedUs / 1e6).toFixed(2)} s of start-up before the first request left out)` : '') +
      (per === 1 ? '' : `; ${per.toLocaleString('en-US')} exchanges: ${fmt(s.busyUs, per)} µs sampled busy per exchange`) +
      (cpuUs === undefined ? '' : `, ${cpuUs} CPU µs per exchange measured (the µs below)`) +
      (base === undefined
        ? ''
        : `; baseline ${fmt(base.summary.busyUs, base.per)} µs sampled busy per request` +
        (base.cpuUs === undefined ? '' : `, ${base.cpuUs} CPU µs measured`)),
    '',
    `| area | by owner (${unit}) | share | ${base === undefined ? '' : 'mirroring off (µs / request) | added by mirroring (µs) | '}self (${unit}) | inclusive (${unit}) |`,
    `| --- | ---: | ---: | ${base === undefined ? '' : '---: | ---: | '}---: | ---: |`
  ]
  const areas = new Set([...s.owner.keys(), ...s.self.keys(), ...(base?.summary.owner.keys() ?? [])])
  const ownerOf = (a: string): number => s.owner.get(a) ?? 0
  const sorted = [...areas].sort((x, y) => base === undefined
    ? ownerOf(y) - ownerOf(x)
    : (perExchange(self, ownerOf(y)) - perExchange(base, base.summary.owner.get(y) ?? 0)) - (perExchange(self, ownerOf(x)) - perExchange(base, base.summary.owner.get(x) ?? 0)))
  for (const a of sorted) {
    const b = base === undefined ? '' : `${perExchange(base, base.summary.owner.get(a) ?? 0).toFixed(1)} | ${(perExchange(self, ownerOf(a)) - perExchange(base, base.summary.owner.get(a) ?? 0)).toFixed(1)} | `
    lines.push(`| ${a} | ${val(ownerOf(a))} | ${pct(ownerOf(a))} | ${b}${val(s.self.get(a) ?? 0)} | ${val(s.inclusive.get(a) ?? 0)} |`)
  }
  const totalBase = base === undefined ? '' : `${perExchange(base, base.summary.busyUs).toFixed(1)} | ${(perExchange(self, s.busyUs) - perExchange(base, base.summary.busyUs)).toFixed(1)} | `
  lines.push(`| **total (busy)** | ${val(s.busyUs)} | 100 % | ${totalBase}${val(s.busyUs)} | |`)
  const fnBase = (f: string): string => base === undefined ? '' : ` ${perExchange(base, base.summary.functions.get(f) ?? 0).toFixed(1)} |`
  lines.push('', `Top ${top} functions by self time:`, '', `| function | self (${unit}) | share |${base === undefined ? '' : ' mirroring off (µs / request) |'}`,
    `| --- | ---: | ---: |${base === undefined ? '' : ' ---: |'}`)
  for (const [f, us] of [...s.functions].sort((x, y) => y[1] - x[1]).slice(0, top)) {
    lines.push(`| ${f.replaceAll('|', '\\|')} | ${val(us)} | ${pct(us)} |${fnBase(f)}`)
  }
  if (base !== undefined) {
    // what mirroring adds, function by function
    const added = [...new Set([...s.functions.keys(), ...base.summary.functions.keys()])]
      .map((f): [string, number] => [f, perExchange(self, s.functions.get(f) ?? 0) - perExchange(base, base.summary.functions.get(f) ?? 0)])
      .sort((x, y) => y[1] - x[1]).slice(0, top)
    lines.push('', `Top ${top} functions by self time added by mirroring:`, '', '| function | added (µs / exchange) | with mirroring | mirroring off |', '| --- | ---: | ---: | ---: |')
    for (const [f, d] of added) {
      lines.push(`| ${f.replaceAll('|', '\\|')} | ${d.toFixed(1)} | ${val(s.functions.get(f) ?? 0)} | ${perExchange(base, base.summary.functions.get(f) ?? 0).toFixed(1)} |`)
    }
  }
  return lines.join('\n')
}

function main (): void {
  const { values, positionals } = parseArgs({
    options: { all: { type: 'boolean' }, per: { type: 'string' }, 'cpu-us': { type: 'string' }, base: { type: 'string' }, 'base-per': { type: 'string' }, 'base-cpu-us': { type: 'string' }, top: { type: 'string' } },
    allowPositionals: true
  })
  if (positionals.length === 0) throw new TypeError('usage: profile-summary.ts [--per N] [--cpu-us U] [--base FILE --base-per N --base-cpu-us U] [--top 15] FILE...')
  const per = Number(values.per ?? 1)
  const top = Number(values.top ?? 15)
  const read = (file: string): CpuProfile => JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const fromFirstRequest = values.all !== true
  const num = (x: string | undefined): number | undefined => x === undefined ? undefined : Number(x)
  const cpuUs = num(values['cpu-us'])
  const base = values.base === undefined ? undefined : { summary: summarise(read(values.base), fromFirstRequest), per: Number(values['base-per'] ?? 1), cpuUs: num(values['base-cpu-us']) }
  const out: string[] = []
  for (const file of positionals) {
    // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: thread 0 is the main thread
    const tid = /\.(\d+)\.(\d+)\.\d+\.cpuprofile$/.exec(basename(file))
    const thread = tid === null ? '' : tid[2] === '0' ? ' (main thread)' : ` (worker thread ${tid[2]})`
    const isMain = tid === null || tid[2] === '0'
    out.push(markdown(`${basename(file)}${thread}`, summarise(read(file), fromFirstRequest), per, top, isMain ? base : undefined, isMain ? cpuUs : undefined))
  }
  process.stdout.write(out.join('\n\n') + '\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main()
