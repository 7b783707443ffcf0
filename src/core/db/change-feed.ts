/**
 * The change feed: a way to wait for "the database changed", whoever changed it (this
 * process, a CLI command in another, a job runner), so waits and subscriptions wake at once
 * instead of polling the data they watch.
 *
 * How: a second, read-only connection to pach.db polls SQLite's `PRAGMA data_version`, which
 * changes when any other connection — this process's main one included — commits a write.
 * One poll per `intervalMs` (a few microseconds each) serves every waiter; nothing is polled
 * while no one waits. `next()` resolves at the first change after it is called (or after
 * `maxWaitMs`, so a waiter re-checks now and then even if a change went unseen).
 *
 * Invariant: a waiter re-reads its state after `next()` resolves; the feed only says when.
 */
import {openDb, type DB} from './open.js'

export class ChangeFeed {
  private readonly db: DB
  private version: number
  private waiters = new Set<() => void>()
  private timer: NodeJS.Timeout | undefined
  private closed = false

  constructor(dbFile: string, readonly intervalMs = 20, readonly maxWaitMs = 1000) {
    this.db = openDb(dbFile, {readonly: true})
    this.version = this.read()
  }

  private read(): number {
    return Number(this.db.pragma('data_version', {simple: true}))
  }

  private poll = () => {
    this.timer = undefined
    if (this.closed) return
    let v: number
    try {
      v = this.read()
    } catch {
      v = this.version + 1 // a busy or closing database: let waiters look for themselves
    }
    if (v !== this.version) {
      this.version = v
      this.wake()
    }
    if (this.waiters.size > 0) this.timer = setTimeout(this.poll, this.intervalMs)
  }

  /** Wake every waiter now (a change this process knows it made). */
  wake(): void {
    const ws = [...this.waiters]
    this.waiters.clear()
    for (const w of ws) w()
  }

  /** Resolves at the next change, after `maxWaitMs`, or when `signal` aborts (never rejects). */
  next(signal?: AbortSignal): Promise<void> {
    if (this.closed || signal?.aborted) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t)
        signal?.removeEventListener('abort', done)
        this.waiters.delete(done)
        resolve()
      }
      const t = setTimeout(done, this.maxWaitMs)
      signal?.addEventListener('abort', done)
      this.waiters.add(done)
      if (!this.timer) this.timer = setTimeout(this.poll, this.intervalMs)
    })
  }

  close(): void {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.wake()
    if (this.db.open) this.db.close()
  }
}
