/**
 * Lazy inputs (reference: `input.pfs.lazy`): each file of the datum's input is a named pipe
 * (FIFO) at its usual path, and its bytes are streamed from the store only when user code
 * opens it. A file nobody reads costs nothing but the FIFO.
 *
 * How: a writer can only open a FIFO without blocking once a reader has it open
 * (`open(O_WRONLY|O_NONBLOCK)` fails with ENXIO until then), so the feeder polls the
 * unopened FIFOs (every 2 ms, backing off to 20 ms while nothing happens), and for each one
 * a reader opened, wraps the fd in a non-blocking stream and writes the file's chunks
 * (verified store reads) with backpressure. When the reader is done the FIFO is re-armed:
 * reading a lazy file twice works (in Pachyderm it does not). Re-arming waits REARM_GRACE_MS
 * after our end closes: a FIFO cannot tell an old reader that has not yet read its EOF from a
 * new one (both make the writer's open succeed, and a probe open would hand a waiting reader
 * an empty file), so re-opening at once could append a second copy to the first read.
 * `stop` ends everything; the FIFOs themselves are removed with the datum's other inputs.
 *
 * Invariants: the event loop must stay free while user code runs (it does: datums run in a
 * child process or container); bytes written are counted for the datum's download stats.
 */
import {constants, mkdirSync, openSync} from 'node:fs'
import type {Socket} from 'node:net'
import {dirname} from 'node:path'
import {nodeChildProcess, nodeNet} from '../builtins.js'
import {RunnerError} from '../errors.js'
import type {FileEntry} from '../store/tree-store.js'

/** how long after serving a reader before the FIFO is offered again (see the header) */
const REARM_GRACE_MS = 100

interface Fifo {
  path: string
  entry: FileEntry
  busy: boolean
  /** not offered again before this time (ms since the epoch) */
  rearmAt: number
  sock?: Socket
}

export class LazyFeeder {
  private readonly fifos: Fifo[] = []
  private timer: NodeJS.Timeout | undefined
  private delay = 2
  private stopped = false
  bytes = 0
  /** set when a file could not be read from the store: the datum must fail */
  error: string | undefined

  constructor(private readonly readChunk: (id: Buffer) => Buffer) {}

  /** Register files (host path → entry); `create` makes their FIFOs. */
  add(files: {path: string; entry: FileEntry}[]): void {
    for (const f of files) this.fifos.push({path: f.path, entry: f.entry, busy: false, rearmAt: 0})
  }

  /** Make every registered FIFO (one `mkfifo` per 500 paths) and start feeding. */
  start(): void {
    if (this.fifos.length === 0) return
    for (const dir of new Set(this.fifos.map((f) => dirname(f.path)))) mkdirSync(dir, {recursive: true})
    for (let i = 0; i < this.fifos.length; i += 500) {
      const paths = this.fifos.slice(i, i + 500).map((f) => f.path)
      const r = nodeChildProcess().spawnSync('mkfifo', ['-m', '0644', '--', ...paths], {encoding: 'utf8'})
      if (r.status !== 0) throw new RunnerError(`cannot create named pipes for a lazy input: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`)
    }
    this.schedule()
  }

  private schedule(): void {
    if (this.stopped) return
    this.timer = setTimeout(() => this.poll(), this.delay)
    this.timer.unref?.()
  }

  private poll(): void {
    let opened = false
    const now = Date.now()
    for (const f of this.fifos) {
      if (f.busy || now < f.rearmAt) continue
      let fd: number
      try {
        fd = openSync(f.path, constants.O_WRONLY | constants.O_NONBLOCK)
      } catch {
        continue // ENXIO: no reader yet (or the FIFO is gone)
      }
      opened = true
      this.feed(f, fd)
    }
    this.delay = opened ? 2 : Math.min(20, this.delay * 2)
    this.schedule()
  }

  private feed(f: Fifo, fd: number): void {
    f.busy = true
    const sock = new (nodeNet().Socket)({fd, readable: false, writable: true})
    f.sock = sock
    const done = () => {
      if (f.sock !== sock) return
      f.sock = undefined
      f.busy = false
      f.rearmAt = Date.now() + REARM_GRACE_MS
    }
    sock.on('error', () => sock.destroy()) // EPIPE: the reader went away early
    sock.on('close', done)
    const chunks = f.entry.chunks
    let i = 0
    const pump = () => {
      while (i < chunks.length) {
        let buf: Buffer
        try {
          buf = this.readChunk(chunks[i++]!)
        } catch (e) {
          // a damaged chunk: the reader sees the file end early; the datum is failed for it
          this.error ??= `lazy input ${f.path}: ${(e as Error).message}`
          sock.destroy()
          return
        }
        this.bytes += buf.length
        if (!sock.write(buf)) {
          sock.once('drain', pump)
          return
        }
      }
      sock.end()
    }
    pump()
  }

  /** Stop feeding; open streams are closed. */
  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    for (const f of this.fifos) f.sock?.destroy()
  }
}
