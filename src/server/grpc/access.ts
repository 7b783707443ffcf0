/**
 * What a caller may change: the one permission check every write handler calls.
 *
 * The server's own token holder (or anyone, with no token configured) may write everything.
 * A pipeline token (a spout's or service's code, issued by `pach serve` for as long as the
 * code runs; call.ts `Access`) may read everything but write only its pipeline's own output
 * repo (`<project>/<pipeline>`, type user): any other write is PERMISSION_DENIED with pachd's
 * text (auth.ErrNotAuthorized: `<subject> is not authorized to perform this operation - needs
 * permissions [REPO_WRITE] on REPO <project>/<repo>. …`; clients match the middle part).
 * Creating or deleting repos, projects, pipelines, transactions is a write to no repo of its
 * own: refused too (`mustBeRoot`).
 *
 * `writerOf` gives the core's PipelineWriter for a caller allowed to write a repo, so a
 * spout's commits on its own output branch are accepted (PfsEngine.startCommit).
 */
import {PachError} from '../../core/errors.js'
import type {PipelineWriter} from '../../core/pfs/hooks.js'
import {DEFAULT_PROJECT, repoLabel} from '../../core/types.js'
import type {CallContext} from './call.js'

/** A repo as requests name it (empty project = default, empty type = user). */
export interface RepoName {
  project?: string
  name: string
  type?: string
}

const subject = (a: {project: string; pipeline: string}) => `pipeline:${a.project}/${a.pipeline}`

function denied(ctx: CallContext, permission: string, resource: string): PachError {
  const a = ctx.access as {project: string; pipeline: string}
  return new PachError(
    'PERMISSION_DENIED',
    `${subject(a)} is not authorized to perform this operation - needs permissions [${permission}] on ${resource}. Run \`pachctl auth roles-for-permission\` to find roles that grant a given permission.`,
    {data: {pipeline: a.pipeline, project: a.project}},
  )
}

/**
 * The caller may write `repo`; throws PERMISSION_DENIED otherwise. Returns the PipelineWriter
 * to pass to the core (undefined for the root caller).
 */
export function mustWrite(ctx: CallContext, repo: RepoName): PipelineWriter | undefined {
  const a = ctx.access
  if (a.kind === 'root') return undefined
  const project = repo.project || DEFAULT_PROJECT
  const type = repo.type || 'user'
  if (type === 'user' && project === a.project && repo.name === a.pipeline) return {project: a.project, pipeline: a.pipeline}
  throw denied(ctx, 'REPO_WRITE', `REPO ${project}/${repoLabel({name: repo.name, type})}`)
}

/** Only the root caller may do this (create/delete repos, projects, pipelines; cluster-wide changes). */
export function mustBeRoot(ctx: CallContext, what: string): void {
  if (ctx.access.kind === 'root') return
  throw denied(ctx, what, 'CLUSTER')
}
