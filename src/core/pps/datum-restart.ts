/**
 * Datum restarts (`pach restart datum PIPELINE@JOB FILTER[,FILTER…]`): one pach process asks
 * the process running a job to abort the current attempt of the datums that match, which
 * then run again from clean inputs (Pachyderm's RestartDatum: the worker cancels the running
 * datum's context, worker/pipeline/transform/status.go).
 *
 * Channel. A job runs in the process that holds its lease (pid/host on the job row); nothing
 * else can reach its workers, and the schema has no place for requests. So requests go
 * through files in the job's scratch space (`jobWorkDir`), whose `restart/` directory exists
 * exactly while the job's datums run (the holder makes it when its workers start; the job's
 * end removes the scratch space):
 *   <req>.request.json   {filters}               the requester's (temp file + rename: whole or absent)
 *   <req>.answer.json    {restarted, running}    the holder's (temp file + rename)
 * The holder (DatumRestarts, one per running job) reads the directory every POLL_MS, aborts
 * the matching attempts running now, answers and removes the request. The requester waits
 * for the answer (ANSWER_TIMEOUT_MS), then removes both files; the holder's end waits for its
 * answers to be read, so the scratch space is not removed under an answer. A holder on this host that
 * is dead is told at once; no answer in time: the holder hangs (stopped, busy), or its datums
 * ended meanwhile (`restartDatums` tells these apart by the job row).
 *
 * Matching (Pachyderm's MatchDatum, worker/common): every filter must equal one of the
 * datum's inputs' path, or the hex or base64 of its content hash. An empty filter list is
 * refused (pachd would restart every running datum of the job). pach also takes the datum
 * id (`list datum`'s first column) and a directory's path without its trailing "/".
 * Only an attempt of user code that is running matches: a datum whose inputs are being
 * materialised or whose output is being stored is not stuck in user code.
 *
 * A restarted attempt ends as the runner ends an aborted one (its user code killed); the
 * datum then runs again, and the restart does not use up one of `datum_tries` (pachd counts
 * it as a failed attempt, which would fail a datum with `datum_tries: 1` instead of
 * restarting it).
 */
import {mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {randomBytes} from 'node:crypto'
import {hostname} from 'node:os'
import {join} from 'node:path'
import type {CoreContext} from '../context.js'
import type {JobRow} from '../db/jobs.js'
import {ConflictError, InvalidArgumentError, NotFoundError, PachError} from '../errors.js'
import {pidAlive} from '../process.js'
import type {Datum} from './datum.js'
import {jobWorkDir} from './job-logs.js'

/** How often the holder reads its requests. */
export const POLL_MS = 100
/** How long the requester waits for the holder's answer. */
export const ANSWER_TIMEOUT_MS = 3000

export interface RestartedDatum {
  /** the datum's id */
  datum: string
  /** the attempt that was aborted (1-based) */
  attempt: number
}

/** The holder's answer: what it restarted, and what was running (for a filter that matched nothing). */
interface Answer {
  restarted: RestartedDatum[]
  running: {datum: string; paths: string[]}[]
}

/** `pach restart datum`'s result: the job and the attempts restarted. */
export interface RestartResult {
  job: {pipeline: {name: string; project: {name: string}}; id: string}
  restarted: RestartedDatum[]
}

const restartDir = (workRoot: string) => join(workRoot, 'restart')

/** Pachyderm's MatchDatum, plus the datum id and a directory's path without its "/". */
export function matchDatum(filters: readonly string[], d: Datum): boolean {
  return filters.every(
    (f) =>
      f === d.id ||
      d.inputs.some((i) => {
        if (f === i.path || (i.isDir && `${f}/` === i.path)) return true
        if (!/^[0-9a-f]+$/.test(i.hash)) return false
        return f === i.hash || f === Buffer.from(i.hash, 'hex').toString('base64')
      }),
  )
}

/** pachctl's filter list: the argument split on ",", empty pieces dropped. */
export function parseDatumFilter(arg: string): string[] {
  return arg.split(',').filter((f) => f !== '')
}

/** One running attempt of a datum, as the worker running it sees it. */
export interface RestartableAttempt {
  /** aborted when the job stops or this attempt is restarted */
  readonly signal: AbortSignal
  /** whether `pach restart datum` aborted it */
  restarted(): boolean
  /** the attempt ended (call always) */
  end(): void
}

/** The holder's side, one per running job: running attempts by datum, and the request poll. */
export class DatumRestarts {
  private readonly running = new Map<string, {datum: Datum; attempt: number; abort: AbortController}>()
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly workRoot: string) {}

  /** Start answering requests (the job's scratch space exists). */
  open(): void {
    mkdirSync(restartDir(this.workRoot), {recursive: true})
    this.timer = setInterval(() => this.poll(), POLL_MS)
    this.timer.unref()
  }

  /**
   * Stop answering: the datums are done. Requests waiting now are answered (nothing runs), and
   * the close waits until every answer given has been read (its requester removes it; at most
   * ANSWER_TIMEOUT_MS), because the job's end removes the scratch space and with it an answer
   * not yet read: a restarted datum that reran at once would otherwise end its job before its
   * requester saw the answer. A request that comes later times out, and the job row tells why.
   */
  async close(): Promise<void> {
    if (!this.timer) return
    clearInterval(this.timer)
    this.timer = undefined
    this.poll()
    const dir = restartDir(this.workRoot)
    const unread = () => {
      try {
        return readdirSync(dir).some((n) => n.endsWith('.answer.json'))
      } catch {
        return false
      }
    }
    for (const deadline = Date.now() + ANSWER_TIMEOUT_MS; unread() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10))
  }

  /** An attempt of `d` starts: its signal ends with the job's or with a restart. */
  attempt(d: Datum, attempt: number, job: AbortSignal): RestartableAttempt {
    // the attempt's own controller, also aborted by the job's signal (a listener removed at
    // the end, rather than AbortSignal.any: one per attempt of millions of datums)
    const restart = new AbortController()
    const abort = new AbortController()
    const onJobAbort = () => abort.abort(job.reason)
    if (job.aborted) onJobAbort()
    else job.addEventListener('abort', onJobAbort, {once: true})
    restart.signal.addEventListener('abort', () => abort.abort(restart.signal.reason), {once: true})
    const entry = {datum: d, attempt, abort: restart}
    this.running.set(d.id, entry)
    return {
      signal: abort.signal,
      restarted: () => restart.signal.aborted && !job.aborted,
      end: () => {
        job.removeEventListener('abort', onJobAbort)
        if (this.running.get(d.id) === entry) this.running.delete(d.id)
      },
    }
  }

  /** Answer every request waiting now. */
  poll(): void {
    const dir = restartDir(this.workRoot)
    let names: string[]
    try {
      names = readdirSync(dir).filter((n) => n.endsWith('.request.json'))
    } catch {
      return // the job's scratch space is gone: it is ending
    }
    for (const n of names) {
      const req = n.slice(0, -'.request.json'.length)
      let filters: string[]
      try {
        filters = (JSON.parse(readFileSync(join(dir, n), 'utf8')) as {filters: string[]}).filters
      } catch {
        continue // not a request we can read: left for its writer to time out
      }
      writeAtomic(join(dir, `${req}.answer.json`), JSON.stringify(this.restart(filters)))
      rmSync(join(dir, n), {force: true})
    }
  }

  private restart(filters: string[]): Answer {
    const restarted: RestartedDatum[] = []
    for (const r of this.running.values()) {
      if (r.abort.signal.aborted || !matchDatum(filters, r.datum)) continue
      r.abort.abort(new Error('restarted by `pach restart datum`'))
      restarted.push({datum: r.datum.id, attempt: r.attempt})
    }
    const running = [...this.running.values()].map((r) => ({datum: r.datum.id, paths: r.datum.inputs.map((i) => i.path)}))
    return {restarted, running}
  }
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, text)
  renameSync(tmp, path)
}

/**
 * Ask the process running job `j` to restart the datums matching `filters`. Throws
 * JOB_NOT_RUNNING (the job is not running now: its state and what to do), DATUM_NOT_FOUND
 * (no running datum matches: pachd's message, the running datums' paths in the hint) or
 * JOB_NOT_ANSWERING (its process did not answer in time).
 */
export async function restartDatums(
  ctx: CoreContext,
  job: () => JobRow,
  filters: string[],
  opts: {timeoutMs?: number} = {},
): Promise<RestartResult> {
  if (filters.length === 0) {
    throw new InvalidArgumentError('MISSING_ARGUMENT', 'no datum filter given', {hint: 'name the datum by its input paths or content hashes, separated by ",", e.g. `/logs/a.txt,/logs/b.txt`'})
  }
  let j = job()
  const result = (restarted: RestartedDatum[]): RestartResult => ({job: {pipeline: {name: j.pipeline, project: {name: j.project}}, id: j.id}, restarted})
  if (j.state !== 'JOB_RUNNING') throw notRunning(j)
  if (holderGone(j)) throw notAnswering(j, 'is gone')
  const dir = restartDir(jobWorkDir(ctx.pachDir, j))
  const req = `${process.pid}-${randomBytes(6).toString('hex')}`
  const request = join(dir, `${req}.request.json`)
  const answer = join(dir, `${req}.answer.json`)
  try {
    writeAtomic(request, JSON.stringify({filters}))
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    // no request directory: the job's datums have not started yet, or are done
    j = job()
    if (j.state !== 'JOB_RUNNING') throw notRunning(j)
    throw notMatched(j, filters, [])
  }
  try {
    const deadline = Date.now() + (opts.timeoutMs ?? ANSWER_TIMEOUT_MS)
    for (;;) {
      const a = readAnswer(answer)
      if (a) {
        if (a.restarted.length) return result(a.restarted)
        throw notMatched(j, filters, a.running)
      }
      if (Date.now() > deadline) break
      await new Promise((r) => setTimeout(r, 25))
    }
    j = job()
    if (j.state !== 'JOB_RUNNING') throw notRunning(j)
    throw notAnswering(j, `did not answer the restart within ${Math.round((opts.timeoutMs ?? ANSWER_TIMEOUT_MS) / 1000)} s`)
  } finally {
    rmSync(request, {force: true})
    rmSync(answer, {force: true})
  }
}

/** The job's holder is on this host and no longer runs (its lease is given back by the next `pach run`). */
const holderGone = (j: JobRow) => j.lease_pid !== null && j.lease_host === hostname() && !pidAlive(j.lease_pid)

/** JOB_NOT_ANSWERING: the process running the job (`what`: did not answer, is gone) and what to do. */
function notAnswering(j: JobRow, what: string): PachError {
  const ref = `${j.pipeline}@${j.id}`
  const where = j.lease_pid === null ? 'the pach process running it' : `the pach process running it (pid ${j.lease_pid}${j.lease_host && j.lease_host !== hostname() ? ` on ${j.lease_host}` : ''})`
  return new PachError('JOB_NOT_ANSWERING', `job ${ref}: ${where} ${what}`, {
    hint: holderGone(j) ? '`pach run` takes the job over and runs it again' : `it may be suspended or busy; try again, or stop the job with \`pach stop job ${ref}\``,
    data: {job: ref, pid: j.lease_pid, host: j.lease_host},
  })
}

function readAnswer(path: string): Answer | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Answer
  } catch {
    return undefined
  }
}

/** JOB_NOT_RUNNING: the job's state and what to do in it. */
function notRunning(j: JobRow): ConflictError {
  const ref = `${j.pipeline}@${j.id}`
  const hint =
    j.state === 'JOB_CREATED'
      ? 'it waits to run; `pach run` runs it'
      : j.state === 'JOB_STARTING'
        ? `it is planning its datums; try again once \`pach inspect job ${ref}\` says JOB_RUNNING`
        : j.state === 'JOB_FINISHING'
          ? `its datums are done and its output is being stored; \`pach wait job ${ref}\` waits for its end`
          : `a job that ended keeps its datums; \`pach rerun pipeline ${j.pipeline} --reprocess\` runs every datum again`
  return new ConflictError('JOB_NOT_RUNNING', `job ${ref} is not running (${j.state}); only a running job's datums can be restarted`, {hint, data: {job: ref, state: j.state}})
}

/** DATUM_NOT_FOUND with pachd's text (Go's %+v of the filter list), naming the datums running now. */
function notMatched(j: JobRow, filters: string[], running: Answer['running']): NotFoundError {
  const now = running.length
    ? `datums running now: ${running
        .slice(0, 3)
        .map((r) => `${r.paths.join(',')} (${r.datum.slice(0, 12)})`)
        .join(', ')}${running.length > 3 ? ` and ${running.length - 3} more` : ''}`
    : 'no datum of it is running now'
  return new NotFoundError('DATUM_NOT_FOUND', `datum matching filter [${filters.join(' ')}] could not be found for job ID ${j.id}`, {
    hint: `${now}; a filter is an input path or content hash, as \`pach list datum\` shows them, or a datum id`,
    data: {job: `${j.pipeline}@${j.id}`, filters, running},
  })
}
