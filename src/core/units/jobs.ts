/**
 * A bounded set of concurrent jobs that keeps the first failure: what a write that chunks
 * several sources at once (put file, a pull's files) needs. `add` starts a job and, when
 * `limit` run, waits for one to end; `failed` says whether one has failed (the caller stops
 * feeding more); `drain` waits for all and throws the first failure; `settle` waits for all
 * and ignores failures (cleanup after an error, so no job writes after the writer is aborted).
 * A job's own failure is never an unhandled rejection: it is kept until `drain`.
 */
export class Jobs {
  private readonly running = new Set<Promise<void>>()
  private failure: {error: unknown} | undefined

  constructor(readonly limit: number) {}

  get size(): number {
    return this.running.size
  }

  /** throw the first failure so far, if any */
  check(): void {
    if (this.failure) throw this.failure.error
  }

  async add(job: Promise<unknown>): Promise<void> {
    const p: Promise<void> = job.then(
      () => undefined,
      (e) => {
        this.failure ??= {error: e}
      },
    )
    this.running.add(p)
    void p.finally(() => this.running.delete(p))
    if (this.running.size >= this.limit) await Promise.race(this.running)
  }

  async drain(): Promise<void> {
    await Promise.all(this.running)
    this.check()
  }

  async settle(): Promise<void> {
    await Promise.allSettled(this.running)
  }
}
