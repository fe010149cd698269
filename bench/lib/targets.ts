// The benchmark's targets as data: what to start for each, pinned where, and how to reach it.
import { rmSync } from 'node:fs'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { stringify } from 'yaml'
import { onKillAll, readJsonLine, startChild, stopChild, type Child } from './children.ts'
import { freePort } from './net.ts'
import { writeBodies } from './bodies.ts'
import { startNginx, startStaticNginx, type StaticPorts } from './nginx.ts'
import { ROOT, startParitygate, STOP_GRACE_MS } from './paritygate.ts'

/** Core layout on a 2-core machine: proxies alone on core 0; upstream and load generators share core 1. */
export const CPU_PROXY = 0
export const CPU_LOAD = 1

export type TargetKind = 'direct' | 'paritygate' | 'fastify-http-proxy' | 'bare-node' | 'nginx'

/**
 * The candidate (mirror target) of a paritygate or nginx target: a second bench upstream pinned to CPU_LOAD,
 * answering after `delayMs` (with `env` passed to bench/upstream.ts), `closed`: a loopback port nobody listens on,
 * With `port`, no upstream is started: the candidate is a server on that loopback port that someone else started and
 * stops (the static nginx of bench/mirror.bench.ts; `delayMs` is then 0).
 */
export type CandidateSpec = { delayMs: number, env?: Record<string, string>, port?: number } | 'closed'

/** The candidate's answer delay (0 for a closed port). */
export function candidateDelayMs (spec: CandidateSpec | undefined): number {
  return spec !== undefined && spec !== 'closed' ? spec.delayMs : 0
}

export interface TargetSpec {
  /** name in the table, the JSON and the TARGETS env filter */
  name: string
  kind: TargetKind
  /** extra `paritygate serve` arguments; the string '{candidate}' is replaced by the candidate's URL */
  args?: string[]
  /** paritygate: a config written as YAML to a temp file and passed with `--config` */
  config?: Record<string, unknown>
  /** paritygate: the URL for '{candidate}'; nginx: adds `mirror /mirror;` to it */
  candidate?: CandidateSpec
  /** paritygate: the cli.js of another build to run (PARITYGATE_CLI_B), instead of the bench's */
  cli?: string
  /** run in the default set of `npm run bench` (otherwise only when named in TARGETS) */
  default: boolean
}

const MIRROR_100 = ['--candidate', '{candidate}', '--mirror-percent', '100']
const MIB = 1024 * 1024
const BIG_CANDIDATE: CandidateSpec = { delayMs: 0, env: { BIG: 'candidate' } }

/** Mirror nothing but GET /big, at `bigPercent`; ~5 MB bodies captured and compared in one worker thread. */
function compareConfig (bigPercent: number): Record<string, unknown> {
  return {
    candidate: { maxResponseBytes: 8 * MIB },
    compare: { maxBodyBytes: 8 * MIB, workers: 1 },
    mirror: { percent: 0 },
    routes: [{ name: 'big', match: 'GET /big', mirror: { percent: bigPercent } }]
  }
}

export const targets: TargetSpec[] = [
  { name: 'direct', kind: 'direct', default: true },
  { name: 'paritygate', kind: 'paritygate', default: true },
  { name: 'fastify-http-proxy', kind: 'fastify-http-proxy', default: true },
  // the barest node:http + undici proxy (bench/peers/bare-node-proxy.ts): the ceiling of paritygate's stack
  { name: 'bare-node', kind: 'bare-node', default: false },
  { name: 'nginx', kind: 'nginx', default: true },
  // mirror benchmarks (bench/mirror.bench.ts, issue 3): every request mirrored to a candidate
  { name: 'paritygate-mirror-healthy', kind: 'paritygate', args: MIRROR_100, candidate: { delayMs: 0 }, default: false },
  {
    name: 'paritygate-mirror-slow',
    kind: 'paritygate',
    args: MIRROR_100,
    // the defaults, spelled out: 256 mirrors in flight at most, each cut at 5 s
    config: { candidate: { timeoutMs: 5000, maxInflight: 256 } },
    candidate: { delayMs: 2000 },
    default: false
  },
  { name: 'paritygate-mirror-down', kind: 'paritygate', args: MIRROR_100, candidate: 'closed', default: false },
  { name: 'nginx-mirror-100', kind: 'nginx', candidate: { delayMs: 0 }, default: false },
  { name: 'nginx-mirror-slow', kind: 'nginx', candidate: { delayMs: 2000 }, default: false },
  // comparison under load (bench/compare.bench.ts, issue 4): the primary upstream must run with BIG=primary
  { name: 'paritygate-compare-off', kind: 'paritygate', args: ['--candidate', '{candidate}'], config: compareConfig(0), candidate: BIG_CANDIDATE, default: false },
  { name: 'paritygate-compare-on', kind: 'paritygate', args: ['--candidate', '{candidate}'], config: compareConfig(100), candidate: BIG_CANDIDATE, default: false }
]

/** Picks targets by the comma-separated TARGETS list, or else `fallback` (names) or else the default set. */
export function selectTargets (list: string | undefined, fallback?: string[]): TargetSpec[] {
  if ((list === undefined || list.trim() === '') && fallback !== undefined) list = fallback.join(',')
  if (list === undefined || list.trim() === '') return targets.filter((t) => t.default)
  return list.split(',').map((name) => name.trim()).filter(Boolean).map((name) => {
    const spec = targets.find((t) => t.name === name)
    if (spec === undefined) throw new TypeError(`unknown target ${name}; known: ${targets.map((t) => t.name).join(', ')}`)
    return spec
  })
}

export interface Running {
  name: string
  url: string
  /** process group whose CPU time is charged to this target (for `direct`, the upstream's) */
  pgid: number | null
  /** paritygate's admin origin (GET /metrics), else null */
  adminUrl: string | null
  /** the origin of this target's candidate upstream, if it has one */
  candidateUrl?: string
  spec: TargetSpec | null
  stop: () => Promise<void>
}

/** Starts a TypeScript bench script (via tsx) pinned to `cpu` and waits for its {"port":N} line. */
async function startScript (name: string, file: string, cpu: number, env: NodeJS.ProcessEnv): Promise<{ child: Child, port: number }> {
  const child = startChild({ name, cpu, command: process.execPath, args: ['--import', 'tsx', join(ROOT, file)], env: { ...process.env, ...env } })
  try {
    const { port } = await readJsonLine<{ port: number }>(child, 15_000)
    return { child, port }
  } catch (err) {
    await stopChild(child)
    throw err
  }
}

/** `taskset -c 1 node bench/upstream.ts` on an ephemeral port; `env` adds settings such as BIG. */
export async function startUpstream (name: string, delayMs: number, env: Record<string, string> = {}): Promise<Running> {
  const { child, port } = await startScript(name, 'bench/upstream.ts', CPU_LOAD, { ...env, PORT: '0', DELAY_MS: String(delayMs) })
  return { name, url: `http://127.0.0.1:${port}/`, pgid: child.process.pid ?? null, adminUrl: null, spec: null, stop: () => stopChild(child) }
}

/**
 * The mirror benchmark's upstream (issue 16): one nginx worker pinned to CPU_LOAD serving the 1 KiB bodies of
 * bench/lib/bodies.ts from files in a temp dir (removed on stop and by killAll), on a primary port and one port per
 * candidate case. Cheaper per answer than bench/upstream.ts, so core 1 (the upstream twice over, and wrk) is not the
 * bottleneck when every request is mirrored.
 */
export async function startStaticUpstream (name: string): Promise<{ upstream: Running, ports: StaticPorts }> {
  const root = await mkdtemp(join(tmpdir(), 'paritygate-bench-bodies-'))
  const unregister = onKillAll(() => rmSync(root, { recursive: true, force: true }))
  try {
    writeBodies(root)
    await chmod(root, 0o755) // nginx's worker may run as another user (nobody) than its master
    const ports: StaticPorts = { primary: await freePort(), identical: await freePort(), reserialized: await freePort(), mismatch5: await freePort() }
    const handle = await startStaticNginx(root, ports, CPU_LOAD)
    const stop = async (): Promise<void> => {
      await handle.stop()
      await rm(root, { recursive: true, force: true })
      unregister()
    }
    return { upstream: { name, url: handle.url, pgid: handle.child.process.pid ?? null, adminUrl: null, spec: null, stop }, ports }
  } catch (err) {
    await rm(root, { recursive: true, force: true })
    unregister()
    throw err
  }
}

/** A candidate for `spec`: an upstream to stop afterwards, or a closed port (origin only). */
async function startCandidate (spec: TargetSpec): Promise<{ origin: string, port: number, stop: () => Promise<void> } | null> {
  if (spec.candidate === undefined) return null
  if (spec.candidate === 'closed') {
    // free a moment ago and never listened on: connections are refused (ECONNREFUSED)
    const port = await freePort()
    return { origin: `http://127.0.0.1:${port}`, port, stop: async () => {} }
  }
  if (spec.candidate.port !== undefined) return { origin: `http://127.0.0.1:${spec.candidate.port}`, port: spec.candidate.port, stop: async () => {} }
  const up = await startUpstream(`${spec.name}-candidate`, spec.candidate.delayMs, spec.candidate.env)
  return { origin: up.url.replace(/\/$/, ''), port: Number(new URL(up.url).port), stop: up.stop }
}

/** Writes `config` as YAML into a temp dir (removed by the returned cleanup and by killAll). */
export async function writeConfig (name: string, config: Record<string, unknown>): Promise<{ file: string, remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'paritygate-bench-config-'))
  const unregister = onKillAll(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, `${name}.yaml`)
  await writeFile(file, `# generated by bench/lib/targets.ts for ${name}\n${stringify(config)}`)
  return {
    file,
    async remove () {
      await rm(dir, { recursive: true, force: true })
      unregister()
    }
  }
}

/** Starts one target in front of `upstream`; `direct` starts nothing. */
export async function startTarget (spec: TargetSpec, upstream: Running): Promise<Running> {
  const upstreamOrigin = upstream.url.replace(/\/$/, '')
  const upstreamPort = Number(new URL(upstream.url).port)
  switch (spec.kind) {
    case 'direct':
      return { name: spec.name, url: upstream.url, pgid: upstream.pgid, adminUrl: null, spec, stop: async () => {} }
    case 'fastify-http-proxy':
    case 'bare-node': {
      const script = spec.kind === 'bare-node' ? 'bench/peers/bare-node-proxy.ts' : 'bench/peers/fastify-http-proxy.ts'
      const { child, port } = await startScript(spec.name, script, CPU_PROXY, { UPSTREAM: upstreamOrigin, PORT: '0' })
      return { name: spec.name, url: `http://127.0.0.1:${port}/`, pgid: child.process.pid ?? null, adminUrl: null, spec, stop: () => stopChild(child) }
    }
    case 'nginx': {
      const candidate = await startCandidate(spec)
      try {
        const handle = await startNginx(await freePort(), upstreamPort, CPU_PROXY, candidate?.port)
        return {
          name: spec.name,
          url: handle.url,
          pgid: handle.child.process.pid ?? null,
          adminUrl: null,
          spec,
          async stop () {
            await handle.stop()
            await candidate?.stop()
          }
        }
      } catch (err) {
        await candidate?.stop()
        throw err
      }
    }
    case 'paritygate': {
      const candidate = await startCandidate(spec)
      const config = spec.config === undefined ? null : await writeConfig(spec.name, spec.config)
      const extra = (spec.args ?? []).map((arg) => arg.replaceAll('{candidate}', candidate?.origin ?? ''))
      if (config !== null) extra.push('--config', config.file)
      try {
        const handle = await startParitygate(upstreamOrigin, extra, CPU_PROXY, spec.name, spec.cli)
        return {
          name: spec.name,
          url: handle.url,
          pgid: handle.child.process.pid ?? null,
          adminUrl: handle.adminUrl,
          candidateUrl: candidate?.origin,
          spec,
          async stop () {
            await stopChild(handle.child, STOP_GRACE_MS)
            await candidate?.stop()
            await config?.remove()
          }
        }
      } catch (err) {
        await candidate?.stop()
        await config?.remove()
        throw err
      }
    }
  }
}

/** One GET through the target: must be 200 with the upstream's 1 KiB JSON body. */
export async function checkTarget (target: Running): Promise<void> {
  const res = await request(target.url, { headersTimeout: 5000, bodyTimeout: 5000 })
  const body = Buffer.from(await res.body.arrayBuffer())
  if (res.statusCode !== 200 || body.length !== 1024 || !String(res.headers['content-type']).startsWith('application/json')) {
    throw new Error(`${target.name}: sanity GET ${target.url} gave ${res.statusCode}, ${body.length} bytes, ${res.headers['content-type']}`)
  }
}
