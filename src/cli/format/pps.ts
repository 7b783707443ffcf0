/**
 * Human tables for pipelines, jobs and datums, with pachctl's headers.
 */
import {specSummary, type PipelineSpec} from '../../core/pps/spec/index.js'
import type {DatumInfo, JobInfo, PipelineInfo} from '../../core/types.js'
import {ago, bytesSize, duration, table} from './values.js'

const short = (s: string) => s.replace(/^(PIPELINE|JOB)_/, '').toLowerCase()

export function pipelineTable(list: PipelineInfo[], full = false): string {
  return table(
    ['PROJECT', 'NAME', 'VERSION', 'INPUT', 'CREATED', 'STATE / LAST JOB', 'DESCRIPTION'],
    list.map((p) => [
      p.pipeline.project.name,
      p.pipeline.name,
      String(p.version),
      specSummary(p.details as unknown as PipelineSpec),
      ago(p.created_at, full),
      `${short(p.state)} / ${p.last_job_state ? short(p.last_job_state) : '-'}`,
      String((p.details as {description?: string}).description ?? ''),
    ]),
  )
}

export function pipelineDetails(p: PipelineInfo, full = false): string {
  const spec = p.details as unknown as PipelineSpec
  const lines = [
    `Name: ${p.pipeline.name}`,
    `Project: ${p.pipeline.project.name}`,
    `Description: ${spec.description ?? ''}`,
    `Created: ${ago(p.created_at, full)}`,
    `State: ${short(p.state)}${p.stopped ? ' (stopped)' : ''}`,
    `Reason: ${p.reason}`,
    `Last Job State: ${p.last_job_state ? short(p.last_job_state) : '-'}`,
    `Version: ${p.version}`,
    `Parallelism: ${p.parallelism}`,
    `Image: ${spec.transform?.image}`,
    `Cmd: ${JSON.stringify(spec.transform?.cmd ?? [])}`,
    `Input: ${specSummary(spec)}`,
    `Output Branch: ${spec.output_branch}`,
    `Datum Tries: ${spec.datum_tries}`,
    `Reprocess Spec: ${spec.reprocess_spec}`,
    '',
    'Spec:',
    JSON.stringify(p.details, null, 2),
  ]
  return lines.join('\n')
}

export function progress(j: JobInfo): string {
  const done = j.data_processed + j.data_skipped + j.data_recovered
  return `${done}/${j.data_total}${j.data_failed ? ` (${j.data_failed} failed)` : ''}`
}

export function jobTable(list: JobInfo[], full = false): string {
  return table(
    ['PIPELINE', 'ID', 'STARTED', 'DURATION', 'RESTART', 'PROGRESS', 'DL', 'UL', 'STATE'],
    list.map((j) => [
      j.job.pipeline.name,
      j.job.id,
      j.started ? ago(j.started, full) : '-',
      j.started ? duration(j.started, j.finished) : '-',
      String(j.restart),
      progress(j),
      bytesSize(j.stats.download_bytes),
      bytesSize(j.stats.upload_bytes),
      short(j.state) +
        (j.reason && j.state !== 'JOB_SUCCESS'
          ? `: ${j.reason}`
          : j.notice
            ? `: ${j.notice}`
            : j.state === 'JOB_SUCCESS' && j.data_total > 0 && j.data_skipped === j.data_total
              ? ': there were no datums to process'
              : ''),
    ]),
  )
}

export function jobDetails(j: JobInfo, full = false): string {
  return [
    `ID: ${j.job.id}`,
    `Pipeline: ${j.job.pipeline.name}`,
    `Pipeline Version: ${j.pipeline_version}`,
    `Created: ${ago(j.created, full)}`,
    `Started: ${ago(j.started, full)}`,
    `Duration: ${j.started ? duration(j.started, j.finished) : '-'}`,
    `State: ${j.state}`,
    `Reason: ${j.reason}`,
    ...(j.notice ? [`Notice: ${j.notice}`] : []),
    `Processed: ${j.data_processed}`,
    `Failed: ${j.data_failed}`,
    `Skipped: ${j.data_skipped}`,
    `Recovered: ${j.data_recovered}`,
    `Total: ${j.data_total}`,
    `Data Downloaded: ${bytesSize(j.stats.download_bytes)}`,
    `Data Uploaded: ${bytesSize(j.stats.upload_bytes)}`,
    `Download Time: ${j.stats.download_time}`,
    `Process Time: ${j.stats.process_time}`,
    `Upload Time: ${j.stats.upload_time}`,
    `Output Commit: ${j.output_commit.repo.name}@${j.output_commit.id}`,
    `Image: ${String((j.details as {image_id?: string}).image_id ?? (j.details as {transform?: {image?: string}}).transform?.image ?? '')}`,
    `Runner: ${String((j.details as {runner?: string}).runner ?? '')}`,
  ].join('\n')
}

export function datumTable(list: DatumInfo[]): string {
  return table(
    ['ID', 'FILES', 'STATUS', 'TIME'],
    list.map((d) => [d.datum.id, d.data.map((f) => `${f.file.commit.repo.name}@${f.file.commit.id}:${f.file.path}`).join(', '), d.state.toLowerCase(), d.stats.process_time]),
  )
}

export function datumDetails(d: DatumInfo): string {
  return [
    `ID: ${d.datum.id}`,
    `Job ID: ${d.datum.job.id}`,
    `State: ${d.state}`,
    `Reason: ${d.reason}`,
    `Data Downloaded: ${bytesSize(d.stats.download_bytes)}`,
    `Data Uploaded: ${bytesSize(d.stats.upload_bytes)}`,
    `Download Time: ${d.stats.download_time}`,
    `Process Time: ${d.stats.process_time}`,
    `Upload Time: ${d.stats.upload_time}`,
    'Inputs:',
    ...d.data.map((f) => `  ${f.file.commit.repo.name}@${f.file.commit.id}:${f.file.path} (${f.file_type === 'DIR' ? 'dir' : bytesSize(f.size_bytes)}, ${f.hash.slice(0, 12)})`),
  ].join('\n')
}
