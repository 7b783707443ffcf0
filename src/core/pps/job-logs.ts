/**
 * Job logs: what user code printed, per datum, as JSON lines {ts, stream, message}.
 *
 * While a job runs, each datum's lines are appended to a live file
 * `.pach/tmp/jobs/<pipeline>-<id>/logs/<datum>.jsonl` (best effort: `pach logs -f` reads it
 * from another process) and reported as events. When the job finishes they are stored in its
 * meta commit at `/meta/<datum>/logs` (job-service writes that), and the live file goes with
 * the job's scratch space. Reading: a finished meta commit is read from the store; an
 * unfinished one from the live files. A line that is not JSON is shown as stdout.
 */
import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import type {CoreContext} from '../context.js'
import * as datumRows from '../db/datums.js'
import type {JobRow} from '../db/jobs.js'
import * as rows from '../db/pfs-rows.js'

export interface LogLine {
  ts: string
  stream: string
  message: string
}

export interface JobLogLine extends LogLine {
  job: string
  datum: string
}

/** A running job's scratch space (inputs, outputs, live logs): `.pach/tmp/jobs/<pipeline>-<id>`. */
export function jobWorkDir(pachDir: string, j: {pipeline: string; id: string}): string {
  return join(pachDir, 'tmp', 'jobs', `${j.pipeline}-${j.id}`)
}

export const liveLogDir = (workRoot: string): string => join(workRoot, 'logs')

/**
 * One datum's log as it runs: splits output chunks into lines, timestamps them, keeps them
 * for the meta commit, appends them to the live file and hands each to `onLine`.
 */
export class DatumLog {
  private readonly lines: string[] = []
  private partial: Record<'stdout' | 'stderr', string> = {stdout: '', stderr: ''}

  constructor(
    private readonly liveFile: string,
    private readonly now: () => string,
    private readonly onLine: (stream: 'stdout' | 'stderr', line: string) => void = () => {},
  ) {}

  /** A chunk of user-code output (may end mid-line). */
  readonly output = (stream: 'stdout' | 'stderr', chunk: Buffer): void => {
    const parts = (this.partial[stream] + chunk.toString('utf8')).split('\n')
    this.partial[stream] = parts.pop()!
    for (const line of parts) this.line(stream, line)
  }

  /** One whole line (pach's own notes go to stderr with a `pach: ` prefix). */
  line(stream: 'stdout' | 'stderr', line: string): void {
    const rec = JSON.stringify({ts: this.now(), stream, message: line})
    this.lines.push(rec)
    try {
      writeFileSync(this.liveFile, rec + '\n', {flag: 'a'})
    } catch {
      // the live log is best effort
    }
    this.onLine(stream, line)
  }

  /** End unterminated lines (after each run of user code). */
  flush(): void {
    for (const s of ['stdout', 'stderr'] as const) if (this.partial[s]) this.line(s, this.partial[s])
    this.partial = {stdout: '', stderr: ''}
  }

  /** The JSON lines so far, as stored in the meta commit. */
  text(): string {
    return this.lines.join('\n') + (this.lines.length ? '\n' : '')
  }
}

export function parseLogLines(text: string): LogLine[] {
  const out: LogLine[] = []
  for (const line of text.split('\n')) {
    if (!line) continue
    try {
      out.push(JSON.parse(line) as LogLine)
    } catch {
      out.push({ts: '', stream: 'stdout', message: line})
    }
  }
  return out
}

/** The stored or live logs of `jobs` (oldest first), of one datum or all. */
export function readJobLogs(ctx: CoreContext, metaRepo: rows.RepoRow, jobs: JobRow[], datum?: string): JobLogLine[] {
  const out: JobLogLine[] = []
  for (const j of jobs) {
    const c = rows.getCommit(ctx.db, metaRepo.id, j.id)
    if (!c?.finished) {
      const live = liveLogDir(jobWorkDir(ctx.pachDir, j))
      let names: string[] = []
      try {
        names = readdirSync(live)
      } catch {
        // nothing yet
      }
      for (const n of names.sort()) {
        const id = n.replace(/\.jsonl$/, '')
        if (datum && id !== datum) continue
        for (const l of parseLogLines(readText(join(live, n)))) out.push({job: j.id, datum: id, ...l})
      }
      continue
    }
    for (const id of datumRows.listProcessedDatumIds(ctx.db, j.project, j.pipeline, j.id)) {
      if (datum && id !== datum) continue
      const e = ctx.trees.lookup(c.tree, `/meta/${id}/logs`)
      if (!e || e.kind !== 'file') continue
      const text = Buffer.concat(e.chunks.map((ch) => ctx.store.readBlob(ch))).toString('utf8')
      for (const l of parseLogLines(text)) out.push({job: j.id, datum: id, ...l})
    }
  }
  return out
}

function readText(p: string): string {
  try {
    return readFileSync(p, 'utf8')
  } catch {
    return ''
  }
}
