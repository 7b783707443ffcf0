/**
 * Job hand-offs: the pending jobs a command leaves to another pach process, told once each.
 *
 * A command that runs pending jobs (`put file`, `finish commit`, `run`, …) skips a job it
 * cannot take: one another process leased first (the lease race), or one that waits for a
 * job another live process holds — an earlier job of its pipeline (a pipeline's jobs run in
 * order) or the job making one of its input commits — directly, or through jobs that are
 * handed off themselves. That process runs them: its run loop reads the pending jobs again
 * after every job it finishes. Silently skipped, the command would exit with the user not
 * knowing where their job runs; so HandoffWatch reports each such job once per process (per
 * JobService) as a `job-elsewhere` event, naming the process (pid, host when not this one)
 * and, for a waiting job, the job it runs after. Core never prints: the CLI says it on stderr.
 *
 * "Another live process": a lease whose holder is not this process and, on this host, is
 * alive (a dead holder's jobs were given back by recoverStale before the run started; a
 * holder on another host cannot be checked and counts as alive, as in process.ts).
 */
import {hostname} from 'node:os'
import type {DB} from '../db/open.js'
import * as jobRows from '../db/jobs.js'
import type {JobKey, JobRow} from '../db/jobs.js'
import * as rows from '../db/pfs-rows.js'
import {pidAlive} from '../process.js'

/** A job this process leaves to another: `after` is the job it waits for (none: the other process leased it itself). */
export interface JobElsewhere {
  type: 'job-elsewhere'
  project: string
  pipeline: string
  id: string
  /** the process that holds it, or the job it waits for (null: unknown) */
  pid: number | null
  /** the holder's host; null when it is this host */
  host: string | null
  after?: {pipeline: string; id: string}
}

const keyOf = (j: JobKey) => `${j.project}/${j.pipeline}@${j.id}`

interface Handed {
  row: JobRow
  holder: JobRow
  after: JobKey
}

export class HandoffWatch {
  private readonly told = new Map<string, JobKey>()
  private readonly host = hostname()

  constructor(private readonly db: DB) {}

  /** The jobs told so far (left to another process: not this process's to resume). */
  handedOff(): JobKey[] {
    return [...this.told.values()]
  }

  /** A job whose lease another process took first: told when that process is alive. */
  lost(j: JobKey, emit: ((e: JobElsewhere) => void) | undefined): void {
    const row = jobRows.getJob(this.db, j)
    if (row && jobRows.isLeasedJobState(row.state) && this.elsewhere(row)) this.tell(row, row, undefined, emit)
  }

  /** Tell the pending jobs that wait for a job another live process holds (directly or through jobs handed off). */
  check(pending: readonly JobRow[], emit: ((e: JobElsewhere) => void) | undefined): void {
    if (!emit || pending.length === 0) return
    const holders = new Map<string, JobRow>()
    for (const l of jobRows.listLeasedJobs(this.db)) if (this.elsewhere(l)) holders.set(keyOf(l), l)
    if (holders.size === 0) return
    const handed = new Map<string, Handed>()
    for (let grew = true; grew; ) {
      grew = false
      for (const j of pending) {
        if (handed.has(keyOf(j))) continue
        const h = this.blocker(j, holders, handed)
        if (h) {
          handed.set(keyOf(j), h)
          grew = true
        }
      }
    }
    for (const h of handed.values()) this.tell(h.row, h.holder, h.after, emit)
  }

  /** Why `j` waits on another process: an earlier job of its pipeline, or the job making one of its inputs. */
  private blocker(j: JobRow, holders: Map<string, JobRow>, handed: Map<string, Handed>): Handed | undefined {
    const samePipeline = (o: JobRow) => o.project === j.project && o.pipeline === j.pipeline && o.seq < j.seq
    for (const l of holders.values()) if (samePipeline(l)) return {row: j, holder: l, after: l}
    for (const h of handed.values()) if (samePipeline(h.row)) return {row: j, holder: h.holder, after: h.row}
    const out = rows.getRepo(this.db, j.project, j.pipeline, 'user')
    if (!out) return undefined
    for (const p of rows.commitProvenance(this.db, out.id, j.id)) {
      const c = rows.getCommit(this.db, p.prov_repo_id, p.prov_commit_id)
      const repo = c && !c.finished ? rows.getRepoById(this.db, p.prov_repo_id) : undefined
      if (!repo || repo.type !== 'user') continue
      const k = keyOf({project: repo.project, pipeline: repo.name, id: p.prov_commit_id})
      const l = holders.get(k)
      if (l) return {row: j, holder: l, after: l}
      const h = handed.get(k)
      if (h) return {row: j, holder: h.holder, after: h.row}
    }
    return undefined
  }

  private elsewhere(l: JobRow): boolean {
    if (l.lease_pid === null) return false
    if (l.lease_host !== this.host) return true
    return l.lease_pid !== process.pid && pidAlive(l.lease_pid)
  }

  private tell(j: JobRow, holder: JobRow, after: JobKey | undefined, emit: ((e: JobElsewhere) => void) | undefined): void {
    const k = keyOf(j)
    if (!emit || this.told.has(k)) return
    this.told.set(k, {project: j.project, pipeline: j.pipeline, id: j.id})
    emit({
      type: 'job-elsewhere',
      project: j.project,
      pipeline: j.pipeline,
      id: j.id,
      pid: holder.lease_pid,
      host: holder.lease_host === this.host ? null : holder.lease_host,
      ...(after ? {after: {pipeline: after.pipeline, id: after.id}} : {}),
    })
  }
}
