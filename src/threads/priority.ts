/* Background threads (comparison, the mirror's I/O) yield the core to the event loop that serves users. */
import { execFileSync } from 'node:child_process'
import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'

/**
 * Lowest CPU priority for the calling thread only (on Linux, nice values are per thread): when a
 * core is contended, the event loop that serves users runs first, and background work falls
 * behind and is shed instead of slowing the live path. Then the idle scheduling class where Linux
 * and chrt(1) allow it: a nice-19 thread still runs out the rest of its time slice when the event
 * loop wakes up (up to a few ms under EEVDF), a SCHED_IDLE one is preempted at once. Lowering
 * one's own class needs no privilege; where it is refused, the thread keeps what it has.
 */
export function yieldToLivePath (): void {
  try { setPriority(19) } catch {}
  try {
    const tid = readlinkSync('/proc/thread-self').split('/').pop() as string
    execFileSync('chrt', ['--idle', '--pid', '0', tid], { stdio: 'ignore', timeout: 2000 })
  } catch {}
}
