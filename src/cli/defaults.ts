/**
 * What the defaults commands (create/update/delete defaults) return and print: pachctl prints
 * "affected pipelines:" and one name per line, or "no affected pipelines", when it
 * regenerated, and nothing otherwise.
 */
import type {DefaultsScope} from '../core/pps/pipeline-service.js'

export interface DefaultsResult {
  scope: 'cluster' | 'project'
  project?: string
  /** the pipelines regenerated (or, with --dry-run, that would be) */
  affected_pipelines: string[]
}

export function defaultsResult(scope: DefaultsScope, affected: string[]): DefaultsResult {
  return {scope: 'cluster' in scope ? 'cluster' : 'project', ...('project' in scope ? {project: scope.project} : {}), affected_pipelines: affected}
}

/** The human text: pachctl's lines when the command regenerated pipelines, else nothing. */
export function defaultsText(r: DefaultsResult, regenerated: boolean): string {
  if (!regenerated) return ''
  return r.affected_pipelines.length === 0 ? 'no affected pipelines' : ['affected pipelines:', ...r.affected_pipelines.map((p) => `\t ${p}`)].join('\n')
}
