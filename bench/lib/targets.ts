// The benchmark's targets as data: what to start for each, pinned where, and how to reach it.
import { join } from 'node:path'
import { request } from 'undici'
import { readJsonLine, startChild, stopChild, type Child } from './children.ts'
import { freePort } from './net.ts'
import { startNginx } from './nginx.ts'
import { ROOT, startParitygate } from './paritygate.ts'

/** Core layout on a 2-core machine: proxies alone on core 0; upstream and load generators share core 1. */
export const CPU_PROXY = 0
export const CPU_LOAD = 1

export type TargetKind = 'direct' | 'paritygate' | 'fastify-http-proxy' | 'nginx'

export interface TargetSpec {
  /** name in the table, the JSON and the TARGETS env filter */
  name: string
  kind: TargetKind
  /** extra `paritygate serve` arguments; the string '{candidate}' is replaced by the candidate's URL */
  args?: string[]
  /** starts a second bench upstream (pinned to CPU_LOAD) to serve as the candidate, answering after delayMs */
  candidate?: { delayMs: number }
  /** run in the default set (otherwise only when named in TARGETS) */
  default: boolean
}

export const targets: TargetSpec[] = [
  { name: 'direct', kind: 'direct', default: true },
  { name: 'paritygate', kind: 'paritygate', default: true },
  { name: 'fastify-http-proxy', kind: 'fastify-http-proxy', default: true },
  { name: 'nginx', kind: 'nginx', default: true },
  // mirror benchmarks: opt in with TARGETS=...,paritygate-mirror-100 once the CLI has these flags
  {
    name: 'paritygate-mirror-100',
    kind: 'paritygate',
    args: ['--candidate', '{candidate}', '--mirror-percent', '100'],
    candidate: { delayMs: 0 },
    default: false
  }
]

/** Picks targets by the comma-separated TARGETS list, or the default set. */
export function selectTargets (list: string | undefined): TargetSpec[] {
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

/** `taskset -c 1 node bench/upstream.ts` on an ephemeral port. */
export async function startUpstream (name: string, delayMs: number): Promise<Running> {
  const { child, port } = await startScript(name, 'bench/upstream.ts', CPU_LOAD, { PORT: '0', DELAY_MS: String(delayMs) })
  return { name, url: `http://127.0.0.1:${port}/`, pgid: child.process.pid ?? null, stop: () => stopChild(child) }
}

/** Starts one target in front of `upstream`; `direct` starts nothing. */
export async function startTarget (spec: TargetSpec, upstream: Running): Promise<Running> {
  const upstreamOrigin = upstream.url.replace(/\/$/, '')
  const upstreamPort = Number(new URL(upstream.url).port)
  switch (spec.kind) {
    case 'direct':
      return { name: spec.name, url: upstream.url, pgid: upstream.pgid, stop: async () => {} }
    case 'fastify-http-proxy': {
      const { child, port } = await startScript(spec.name, 'bench/peers/fastify-http-proxy.ts', CPU_PROXY, { UPSTREAM: upstreamOrigin, PORT: '0' })
      return { name: spec.name, url: `http://127.0.0.1:${port}/`, pgid: child.process.pid ?? null, stop: () => stopChild(child) }
    }
    case 'nginx': {
      const handle = await startNginx(await freePort(), upstreamPort, CPU_PROXY)
      return { name: spec.name, url: handle.url, pgid: handle.child.process.pid ?? null, stop: handle.stop }
    }
    case 'paritygate': {
      const candidate = spec.candidate === undefined ? null : await startUpstream(`${spec.name}-candidate`, spec.candidate.delayMs)
      const candidateOrigin = candidate === null ? '' : candidate.url.replace(/\/$/, '')
      const extra = (spec.args ?? []).map((arg) => arg.replaceAll('{candidate}', candidateOrigin))
      try {
        const handle = await startParitygate(upstreamOrigin, extra, CPU_PROXY, spec.name)
        return {
          name: spec.name,
          url: handle.url,
          pgid: handle.child.process.pid ?? null,
          async stop () {
            await stopChild(handle.child)
            await candidate?.stop()
          }
        }
      } catch (err) {
        await candidate?.stop()
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
