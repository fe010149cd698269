/* An optional NDJSON file of mismatches (redacted samples), rotated by size, never blocking or growing without bound. */
import { createWriteStream, fstatSync, openSync, renameSync, type WriteStream } from 'node:fs'

/**
 * Appends one JSON line per mismatch. When the file passes `maxBytes` it is rotated
 * (`file.1`, `file.2`, … up to `maxFiles`); lines that arrive while the disk is behind (more
 * than 1 MiB buffered) are dropped and counted rather than held in memory.
 */
export class MismatchLog {
  readonly path: string
  readonly maxBytes: number
  readonly maxFiles: number
  dropped: number
  #stream: WriteStream | null
  #size: number

  constructor (path: string, maxBytes = 50 * 1024 * 1024, maxFiles = 3) {
    this.path = path
    this.maxBytes = maxBytes
    this.maxFiles = maxFiles
    this.dropped = 0
    this.#stream = null
    this.#size = 0
  }

  #open (): WriteStream | null {
    if (this.#stream === null) {
      // Opened here, synchronously (once per file): a stream that opens its path later could open
      // the next file's name after a rotation renamed this one, and mix the two files' lines.
      let fd: number
      try {
        fd = openSync(this.path, 'a', 0o600)
      } catch {
        return null
      }
      this.#size = fstatSync(fd).size
      this.#stream = createWriteStream(this.path, { fd, flags: 'a' })
      this.#stream.on('error', () => { this.dropped++ })
    }
    return this.#stream
  }

  #rotate (): void {
    this.#stream?.end()
    this.#stream = null
    for (let i = this.maxFiles - 1; i >= 1; i--) {
      try { renameSync(i === 1 ? this.path : `${this.path}.${i - 1}`, `${this.path}.${i}`) } catch {}
    }
    if (this.maxFiles <= 1) {
      try { renameSync(this.path, `${this.path}.old`) } catch {}
    }
  }

  /** Writes one record as a JSON line. */
  write (record: unknown): void {
    const line = JSON.stringify(record) + '\n'
    if (this.#size + line.length > this.maxBytes && this.#size > 0) this.#rotate()
    const stream = this.#open()
    if (stream === null || stream.writableLength > 1024 * 1024) {
      this.dropped++
      return
    }
    stream.write(line)
    this.#size += Buffer.byteLength(line)
  }

  async close (): Promise<void> {
    const stream = this.#stream
    this.#stream = null
    if (stream !== null) await new Promise<void>((resolve) => stream.end(resolve))
  }
}
