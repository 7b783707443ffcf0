/**
 * Reporter implementations for the CLI. Everything goes to stderr: progress bars only when
 * stderr is a TTY (and never with --json), warnings always.
 */
import {printable} from '../core/errors.js'
import type {Progress, Reporter} from '../core/reporter.js'
import {bytesSize} from './format/values.js'
import {bar, LiveRegion} from './progress.js'

export function cliReporter(opts: {quiet?: boolean; progress?: boolean} = {}): Reporter {
  const tty = Boolean(process.stderr.isTTY) && opts.progress !== false
  return {
    warn(message) {
      process.stderr.write(`warning: ${printable(message)}\n`)
    },
    info(message) {
      if (!opts.quiet) process.stderr.write(`${message}\n`)
    },
    progress(label, unit, total) {
      if (!tty) return {add() {}, total() {}, stage() {}, done() {}}
      return new TtyProgress(label, unit, total)
    },
  }
}

class TtyProgress implements Progress {
  private n = 0
  private last = 0
  private note = ''
  private readonly live = new LiveRegion()
  private readonly start = Date.now()

  constructor(private readonly label: string, private readonly unit: string, private tot?: number) {}

  add(n: number): void {
    this.n += n
    const now = Date.now()
    if (now - this.last < 100 || now - this.start < 300) return
    this.last = now
    this.draw()
  }

  total(n: number): void {
    this.tot = n
  }

  stage(text: string): void {
    this.note = text
    this.draw()
  }

  private fmt(v: number): string {
    return this.unit === 'bytes' ? bytesSize(v) : String(v)
  }

  private draw(): void {
    const secs = (Date.now() - this.start) / 1000
    const rate = this.unit === 'bytes' ? ` ${bytesSize(this.n / Math.max(secs, 0.001))}/s` : ''
    const count = this.tot ? ` [${bar(this.n / this.tot, 30)}] ${this.fmt(this.n)}/${this.fmt(this.tot)}` : ` ${this.fmt(this.n)}`
    const eta = this.tot && this.n > 0 && this.n < this.tot ? `, ETA ${clock(((this.tot - this.n) * secs) / this.n)}` : ''
    this.live.draw([`${this.label}${this.note ? ` (${this.note})` : ''}${count}${rate}${eta}`])
  }

  done(): void {
    this.live.clear()
  }
}

/** Seconds as m:ss (h:mm:ss past an hour). */
export function clock(secs: number): string {
  const t = Math.max(0, Math.round(secs))
  const h = Math.floor(t / 3600)
  const m = Math.floor((t % 3600) / 60)
  const ss = String(t % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}
