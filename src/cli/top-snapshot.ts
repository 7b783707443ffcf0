/**
 * `pach top`'s reads: one snapshot of the project (pipelines with their state and newest
 * job, in the DAG's layer order) and the newest log lines of one pipeline's newest job, all
 * through the core's services (read-only). What the view makes of them is top-model.ts.
 *
 * A finished job's logs never change (its meta commit is finished), so they are read once
 * and kept by job id; a running job's are read again each time (its live files).
 */
import {isPachError} from '../core/errors.js'
import type {Pach} from '../core/pach.js'
import {walkPfs} from '../core/pps/input.js'
import type {PipelineSpec} from '../core/pps/spec/index.js'
import type {JobInfo} from '../core/types.js'
import {dagLayers, type DagNode} from './format/dag.js'
import type {TopJob, TopLogLine, TopNode, TopSnapshot} from './top-model.js'

const TERMINAL = new Set(['JOB_SUCCESS', 'JOB_FAILURE', 'JOB_KILLED', 'JOB_UNRUNNABLE'])

export function readTopSnapshot(pach: Pach, project: string): TopSnapshot {
  const at = pach.now()
  const infos = pach.pipelines.list(project)
  const nodes = new Map<string, DagNode>()
  for (const p of infos) {
    const inputs = [...new Set(walkPfs((p.details as unknown as PipelineSpec).input).map((i) => i.repo))]
    nodes.set(p.pipeline.name, {name: p.pipeline.name, kind: 'pipeline', inputs})
  }
  for (const n of [...nodes.values()]) for (const i of n.inputs) if (!nodes.has(i)) nodes.set(i, {name: i, kind: 'repo', inputs: []})
  const byName = new Map(infos.map((p) => [p.pipeline.name, p]))
  const out: TopNode[] = dagLayers([...nodes.values()]).map((n) => {
    const p = byName.get(n.name)
    if (n.kind === 'repo' || !p) return {name: n.name, kind: 'repo', layer: n.layer, inputs: n.inputs}
    const newest = newestJob(pach, project, n.name)
    return {name: n.name, kind: 'pipeline', layer: n.layer, inputs: n.inputs, state: p.state, reason: p.reason, job: newest ? topJob(newest) : null}
  })
  return {project, at, nodes: out}
}

/** A pipeline's newest job; none for a pipeline deleted since it was listed (another process). */
function newestJob(pach: Pach, project: string, pipeline: string): JobInfo | undefined {
  try {
    return pach.jobs.list({project, pipeline, number: 1})[0]
  } catch (e) {
    if (isPachError(e) && e.code === 'PIPELINE_NOT_FOUND') return undefined
    throw e
  }
}

function topJob(j: JobInfo): TopJob {
  return {
    id: j.job.id,
    state: j.state,
    reason: j.reason,
    total: j.data_total,
    processed: j.data_processed,
    skipped: j.data_skipped,
    failed: j.data_failed,
    recovered: j.data_recovered,
    created: j.created,
    started: j.started,
    finished: j.finished,
  }
}

/** Reads the newest log lines of a pipeline's job, keeping finished jobs' logs (see the header). */
export class TopLogs {
  private readonly finished = new Map<string, TopLogLine[]>()

  constructor(private readonly pach: Pach, private readonly project: string) {}

  /** The last `n` lines of `job` of `pipeline` (none for a job that no longer exists). */
  newest(pipeline: string, job: TopJob | null | undefined, n: number): TopLogLine[] {
    if (!job || n <= 0) return []
    const key = `${pipeline}@${job.id}`
    let lines = this.finished.get(key)
    if (!lines) {
      try {
        lines = this.pach.jobs.logs(this.project, pipeline, {job: job.id}).map((l) => ({job: l.job, datum: l.datum, ts: l.ts, stream: l.stream, message: l.message}))
      } catch {
        return [] // deleted meanwhile: the next snapshot will not show it
      }
      if (TERMINAL.has(job.state)) {
        if (this.finished.size > 64) this.finished.clear()
        this.finished.set(key, lines)
      }
    }
    return lines.slice(-n)
  }
}
