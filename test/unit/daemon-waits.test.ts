/**
 * The daemon's loop (src/core/pps/daemon.ts) waits on the change feed once per round and ends
 * that wait with the round: kicks (one per S3 PUT or API commit) must not pile up feed waiters.
 */
import {describe, expect, it} from 'vitest'
import {Daemon, type DaemonDeps} from '../../src/core/pps/daemon.js'

describe('the daemon loop', () => {
  it('keeps at most one wait on the feed however often it is kicked, and stops on its signal', async () => {
    let open = 0
    let most = 0
    const feed = {
      // a feed with no changes: a wait ends only when its signal aborts
      next: (signal?: AbortSignal) =>
        new Promise<void>((resolve) => {
          open++
          most = Math.max(most, open)
          const end = () => {
            open--
            resolve()
          }
          if (signal?.aborted) return end()
          signal?.addEventListener('abort', end, {once: true})
        }),
    }
    let rounds = 0
    const deps = {
      jobs: {pending: () => [], runPending: async () => {}},
      pipelines: {cronTicks: () => void rounds++},
      branches: {applyCronTriggers: () => {}},
      feed,
      now: () => new Date(),
    } as unknown as DaemonDeps
    const daemon = new Daemon(deps)
    const ac = new AbortController()
    const running = daemon.run(ac.signal, {cronEveryMs: 60_000} as never)
    for (let i = 0; i < 200; i++) {
      daemon.kick()
      await new Promise((r) => setImmediate(r))
    }
    expect(rounds).toBeGreaterThan(100)
    expect(most).toBeLessThanOrEqual(1)
    ac.abort()
    await running
    expect(open).toBe(0)
  })
})
