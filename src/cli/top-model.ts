/**
 * `pach top`'s view model, pure: snapshots of the project in, rows to show out.
 *
 * A snapshot (top-snapshot.ts reads one through the core) is the DAG's nodes in draw-pipeline's
 * layer order (format/dag.ts dagLayers), each pipeline with its state and newest job. The view
 * adds what one snapshot cannot say alone:
 *   rate   datums run (processed + failed + recovered; skipped ones cost nothing) per second,
 *          over the samples of the same job in the last RATE_WINDOW_MS; with fewer than two
 *          samples a second apart, the average since the job started (so a one-shot snapshot
 *          has a rate too); a finished job's is its average over its run;
 *   eta    datums left (total − skipped − run) / rate, for a job that is not finished;
 *   select the selected pipeline by name (it survives pipelines appearing and going), moved
 *          by ↑/↓ over pipeline rows only (repos are not selectable).
 * Samples are kept per job id, so a new job starts its rate afresh.
 */
import type {JobState, PipelineState} from '../core/types.js'
import {table} from './format/values.js'

export interface TopJob {
  id: string
  state: JobState
  reason: string
  total: number
  processed: number
  skipped: number
  failed: number
  recovered: number
  created: string
  started: string | null
  finished: string | null
}

export interface TopNode {
  name: string
  kind: 'repo' | 'pipeline'
  /** the node's layer in the DAG (repos without inputs are 0) */
  layer: number
  /** the repos and pipelines it reads */
  inputs: string[]
  /** pipelines only */
  state?: PipelineState
  reason?: string
  /** pipelines only: the newest job (null: none yet) */
  job?: TopJob | null
}

export interface TopLogLine {
  job: string
  datum: string
  ts: string
  stream: string
  message: string
}

export interface TopSnapshot {
  project: string
  /** when it was read (RFC 3339, the project clock) */
  at: string
  nodes: TopNode[]
}

/** One job's progress samples: [ms, datums run]. */
export type RateHistory = ReadonlyMap<string, readonly (readonly [number, number])[]>

export const RATE_WINDOW_MS = 10_000

const JOB_TERMINAL = new Set<JobState>(['JOB_SUCCESS', 'JOB_FAILURE', 'JOB_KILLED', 'JOB_UNRUNNABLE'])

export const jobRun = (j: TopJob): number => j.processed + j.failed + j.recovered

/** The history with this snapshot's samples added (jobs no longer shown, and old samples, dropped). */
export function addSamples(history: RateHistory, snap: TopSnapshot): RateHistory {
  const at = Date.parse(snap.at)
  const out = new Map<string, (readonly [number, number])[]>()
  for (const n of snap.nodes) {
    const j = n.job
    if (!j) continue
    const key = `${n.name}@${j.id}`
    const kept = (history.get(key) ?? []).filter(([t]) => at - t <= RATE_WINDOW_MS && t < at)
    out.set(key, [...kept, [at, jobRun(j)]])
  }
  return out
}

/** Datums per second of a pipeline's job (see the header); undefined when nothing can be said yet. */
export function rateOf(pipeline: string, j: TopJob, history: RateHistory, atIso: string): number | undefined {
  const run = jobRun(j)
  if (JOB_TERMINAL.has(j.state)) {
    if (!j.started || !j.finished) return undefined
    const ms = Date.parse(j.finished) - Date.parse(j.started)
    return ms > 0 ? (run * 1000) / ms : undefined
  }
  const samples = history.get(`${pipeline}@${j.id}`) ?? []
  const first = samples[0]
  const last = samples[samples.length - 1]
  if (first && last && last[0] - first[0] >= 1000) return ((last[1] - first[1]) * 1000) / (last[0] - first[0])
  if (!j.started || j.state !== 'JOB_RUNNING') return undefined
  const ms = Date.parse(atIso) - Date.parse(j.started)
  return ms > 0 ? (run * 1000) / ms : undefined
}

/** Seconds left for a job that is not finished, at `rate`; undefined when unknown. */
export function etaOf(j: TopJob, rate: number | undefined): number | undefined {
  if (j.state !== 'JOB_RUNNING') return undefined
  const left = Math.max(0, j.total - j.skipped - jobRun(j))
  if (left === 0) return 0
  return rate && rate > 0 ? left / rate : undefined
}

export function formatRate(r: number | undefined): string {
  if (r === undefined) return '-'
  if (r === 0) return '0/s'
  if (r < 1) return `${Number((r * 60).toPrecision(2))}/min`
  return `${Number(r.toPrecision(r < 100 ? 2 : 3))}/s`
}

export function formatEta(s: number | undefined): string {
  if (s === undefined) return '-'
  const t = Math.ceil(s)
  if (t < 60) return `${t}s`
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`
}

const short = (s: string) => s.replace(/^(PIPELINE|JOB)_/, '').toLowerCase()

/** "8/20 (5 processed, 2 skipped, 1 failed)": datums settled of total, then the parts. */
export function progressText(j: TopJob): string {
  const parts = [`${j.processed} processed`, `${j.skipped} skipped`, `${j.failed} failed`, ...(j.recovered ? [`${j.recovered} recovered`] : [])]
  return `${j.processed + j.skipped + j.failed + j.recovered}/${j.total} (${parts.join(', ')})`
}

/** A progress bar of `width` cells (settled datums of total). */
export function progressBar(j: TopJob, width = 10): string {
  const done = j.total ? Math.min(1, (j.processed + j.skipped + j.failed + j.recovered) / j.total) : JOB_TERMINAL.has(j.state) ? 1 : 0
  const full = Math.round(done * width)
  return '█'.repeat(full) + '░'.repeat(width - full)
}

export interface TopRowView {
  node: TopNode
  /** the pipeline's job with its rate and ETA */
  job?: TopJob & {rate: number | undefined; eta_seconds: number | undefined}
  selectable: boolean
  selected: boolean
  /** the row as a table line (aligned with `header`) */
  text: string
}

export interface TopView {
  project: string
  at: string
  header: string
  rows: TopRowView[]
  /** the selected pipeline (undefined: there is none) */
  selected: string | undefined
  /** the newest log lines of the selected pipeline's newest job, oldest first */
  logs: TopLogLine[]
}

/** The selection kept if it still exists, else the first pipeline (undefined: no pipeline). */
export function keepSelection(snap: TopSnapshot, selected: string | undefined): string | undefined {
  const names = snap.nodes.filter((n) => n.kind === 'pipeline').map((n) => n.name)
  return selected !== undefined && names.includes(selected) ? selected : names[0]
}

/** The selection moved by `delta` pipeline rows, clamped at the ends. */
export function moveSelection(snap: TopSnapshot, selected: string | undefined, delta: number): string | undefined {
  const names = snap.nodes.filter((n) => n.kind === 'pipeline').map((n) => n.name)
  if (!names.length) return undefined
  const i = selected === undefined ? -1 : names.indexOf(selected)
  if (i < 0) return names[0]
  return names[Math.max(0, Math.min(names.length - 1, i + delta))]
}

/** The rows to show for a snapshot (see the header). */
export function topView(snap: TopSnapshot, history: RateHistory, selected: string | undefined, logs: TopLogLine[] = []): TopView {
  const sel = keepSelection(snap, selected)
  const cells: string[][] = []
  const rows = snap.nodes.map((node): Omit<TopRowView, 'text'> => {
    const label = `${'  '.repeat(node.layer)}${node.kind === 'pipeline' ? '⚙' : '▣'} ${node.name}`
    const inputs = node.inputs.join(', ')
    if (node.kind === 'repo') {
      cells.push([label, '', '', '', '', '', ''])
      return {node, selectable: false, selected: false}
    }
    const j = node.job ?? undefined
    const rate = j ? rateOf(node.name, j, history, snap.at) : undefined
    const eta = j ? etaOf(j, rate) : undefined
    const state = short(node.state ?? 'PIPELINE_STANDBY')
    cells.push([
      label,
      state,
      j ? `${j.id.slice(0, 8)} ${short(j.state)}` : '-',
      j ? progressText(j) : '-',
      j ? formatRate(rate) : '-',
      formatEta(eta),
      inputs,
    ])
    return {node, job: j && {...j, rate, eta_seconds: eta}, selectable: true, selected: node.name === sel}
  })
  const lines = table(['DAG', 'STATE', 'JOB', 'PROGRESS', 'RATE', 'ETA', 'INPUTS'], cells).split('\n')
  return {
    project: snap.project,
    at: snap.at,
    header: lines[0]!,
    rows: rows.map((r, i) => ({...r, text: lines[i + 1] ?? ''})),
    selected: sel,
    logs,
  }
}

/** `pach top` on a non-terminal: the view as plain text. */
export function viewText(v: TopView): string {
  if (!v.rows.length) return `project ${v.project} at ${v.at}: no pipelines`
  const out = [`project ${v.project} at ${v.at}`, '', v.header, ...v.rows.map((r) => r.text)]
  for (const r of v.rows) if (r.node.reason && r.node.state === 'PIPELINE_FAILURE') out.push(`${r.node.name}: ${r.node.reason}`)
  if (v.selected !== undefined) {
    out.push('', `logs of ${v.selected}${v.logs.length ? '' : ': none'}`)
    for (const l of v.logs) out.push(logLineText(l))
  }
  return out.join('\n')
}

export const logLineText = (l: TopLogLine): string => `${l.ts ? l.ts.slice(11, 19) : '--:--:--'} ${l.datum.slice(0, 8)} ${l.message}`

/** `pach top --json` (non-terminal): the view's data, no layout. */
export function viewJson(v: TopView): {project: string; at: string; dag: unknown[]; selected: string | null; logs: TopLogLine[]} {
  return {
    project: v.project,
    at: v.at,
    dag: v.rows.map((r) =>
      r.node.kind === 'repo'
        ? {name: r.node.name, kind: 'repo', layer: r.node.layer, inputs: r.node.inputs}
        : {
            name: r.node.name,
            kind: 'pipeline',
            layer: r.node.layer,
            inputs: r.node.inputs,
            state: r.node.state,
            reason: r.node.reason ?? '',
            job: r.job ? {...r.job, rate: r.job.rate ?? null, eta_seconds: r.job.eta_seconds ?? null} : null,
          },
    ),
    selected: v.selected ?? null,
    logs: v.logs,
  }
}
