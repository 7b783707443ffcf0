/**
 * `pach logs`' query (pachctl's GetLogs): the stored output of user code, of one job, one
 * pipeline or every pipeline of a project, narrowed by datum, by inputs and by age.
 *
 * Rules (pachctl's): `inputs` keeps the lines of datums that read one of the given files,
 * named by PFS path or by file hash; `sinceMs` keeps lines newer than now − sinceMs (by the
 * project clock). Lines of one pipeline come job by job, datum by datum, as stored; lines of
 * several pipelines are merged into one timeline by timestamp (a stable sort, so each datum's
 * lines keep their order). Read-only.
 */
import type {JobService} from './job-service.js'
import type {JobLogLine} from './job-logs.js'
import type {PipelineService} from './pipeline-service.js'

export interface LogQuery {
  project: string
  /** one pipeline (default: every pipeline of the project) */
  pipeline?: string
  /** one job of `pipeline` */
  job?: string
  datum?: string
  /** file paths or file hashes: only datums that read one of them */
  inputs?: string[]
  /** only lines at most this old (ms) */
  sinceMs?: number
}

export interface PipelineLogLine extends JobLogLine {
  pipeline: string
}

/** The log lines a query selects. Throws PIPELINE_NOT_FOUND, JOB_NOT_FOUND. */
export function queryLogs(jobs: JobService, pipelines: PipelineService, now: string, q: LogQuery): PipelineLogLine[] {
  const cutoff = q.sinceMs === undefined ? undefined : new Date(Date.parse(now) - q.sinceMs).toISOString()
  const names = q.pipeline !== undefined ? [q.pipeline] : pipelines.list(q.project).map((p) => p.pipeline.name)
  const out: PipelineLogLine[] = []
  for (const pipeline of names) {
    let lines = jobs.logs(q.project, pipeline, {job: q.job, datum: q.datum})
    if (q.inputs?.length) lines = lines.filter(readsInputs(jobs, q.project, pipeline, q.inputs))
    for (const l of lines) if (cutoff === undefined || l.ts >= cutoff) out.push({pipeline, ...l})
  }
  return q.pipeline === undefined ? out.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0)) : out
}

/** Whether a line's datum read one of `inputs` (a path or a file hash); each job's datums are listed once. */
function readsInputs(jobs: JobService, project: string, pipeline: string, inputs: string[]): (l: JobLogLine) => boolean {
  const wanted = new Set(inputs)
  const byJob = new Map<string, Set<string>>()
  return (l) => {
    let datums = byJob.get(l.job)
    if (!datums) {
      const ds = jobs.listDatums(project, pipeline, l.job)
      datums = new Set(ds.filter((d) => d.data.some((i) => wanted.has(i.file.path) || wanted.has(i.hash))).map((d) => d.datum.id))
      byJob.set(l.job, datums)
    }
    return datums.has(l.datum)
  }
}
