// CPU and memory accounting from /proc: CPU time and RSS of a process group and per-core busy time, to tell a slow
// proxy from a proxy that other tenants of the shared machine kept off its core.
import { readdirSync, readFileSync } from 'node:fs'

/** Linux USER_HZ; /proc reports CPU times in these ticks (100 on every mainstream build). */
const TICKS_PER_S = 100

/** Total user + system CPU seconds of every live process in process group `pgid` (all threads). */
export function groupCpuSeconds (pgid: number): number {
  let ticks = 0
  for (const entry of readdirSync('/proc')) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue
    let stat: string
    try { stat = readFileSync(`/proc/${entry}/stat`, 'utf8') } catch { continue }
    // fields after the ")" that closes the command name: state ppid pgrp ... utime(12th) stime(13th)
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(fields[2]) !== pgid) continue
    ticks += Number(fields[11]) + Number(fields[12])
  }
  return ticks / TICKS_PER_S
}

export interface CoreTimes { busy: number, total: number }

/** Busy and total ticks per core (`cpu0`, `cpu1`, …) from /proc/stat. */
export function coreTimes (): CoreTimes[] {
  const out: CoreTimes[] = []
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line)
    if (m === null) continue
    const [user, nice, system, idle, iowait, irq, softirq, steal] = m[2].trim().split(/\s+/).map(Number)
    const busy = user + nice + system + irq + softirq + steal
    out[Number(m[1])] = { busy, total: busy + idle + iowait }
  }
  return out
}

export interface CpuSample {
  at: number
  groupS: number
  cores: CoreTimes[]
}

export interface CpuUsage {
  /** CPU seconds the target's process group used */
  cpuS: number
  /** that CPU time over the wall time: 1.0 = one full core */
  share: number
  /** busy fraction of each core over the interval, everything included (our processes and other tenants) */
  coreBusy: number[]
}

export function sampleCpu (pgid: number | null): CpuSample {
  return { at: performance.now(), groupS: pgid === null ? 0 : groupCpuSeconds(pgid), cores: coreTimes() }
}

export function cpuUsage (before: CpuSample, after: CpuSample, pgid: number | null): CpuUsage {
  const wallS = (after.at - before.at) / 1000
  const cpuS = pgid === null ? 0 : after.groupS - before.groupS
  const coreBusy = after.cores.map((c, i) => {
    const b = before.cores[i]
    const total = c.total - b.total
    return total > 0 ? Math.round(((c.busy - b.busy) / total) * 1000) / 1000 : 0
  })
  return { cpuS: Math.round(cpuS * 100) / 100, share: wallS > 0 ? Math.round((cpuS / wallS) * 1000) / 1000 : 0, coreBusy }
}

/** Resident memory (VmRSS) summed over every live process in process group `pgid`, in bytes (nginx: master + worker). */
export function groupRssBytes (pgid: number): number {
  let kib = 0
  for (const entry of readdirSync('/proc')) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue
    let stat: string
    let status: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) !== pgid) continue
      status = readFileSync(`/proc/${entry}/status`, 'utf8')
    } catch { continue }
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status)
    if (m !== null) kib += Number(m[1])
  }
  return kib * 1024
}

/** The thread of `pid` (not the main thread) that has used the most CPU, e.g. a busy worker thread; null if none. */
export function busiestThread (pid: number): { tid: number, cpuS: number } | null {
  let best: { tid: number, cpuS: number } | null = null
  for (const entry of readdirSync(`/proc/${pid}/task`)) {
    const tid = Number(entry)
    if (tid === pid) continue
    let stat: string
    try { stat = readFileSync(`/proc/${pid}/task/${entry}/stat`, 'utf8') } catch { continue }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const cpuS = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S
    if (best === null || cpuS > best.cpuS) best = { tid, cpuS }
  }
  return best
}
