/**
 * Errors on the wire: a pach error becomes a gRPC status with the code the error registry
 * maps it to (core/errors.ts `grpcStatusOf`) and, where Pachyderm's clients match text, the
 * message in pachd's own form (`repo default/r not found`, `project "p" not found`). Anything
 * that is not a PachError is a bug in pach: INTERNAL, with a line that says so (the stack goes
 * to the server's log, never to the client).
 */
import {Metadata, status, type ServiceError} from '@grpc/grpc-js'
import {grpcStatusOf, isPachError, translateSystemError, type PachError} from '../../core/errors.js'
import {DEFAULT_PROJECT} from '../../core/types.js'

/** pachd's wording for the condition, where clients match on it; else the core's message. */
export function wireMessage(e: PachError): string {
  const d = e.data as Record<string, string | undefined>
  const project = d.project ?? DEFAULT_PROJECT
  const repo = d.repo ? (d.repo.includes('/') ? d.repo : `${project}/${d.repo}`) : undefined
  switch (e.code) {
    case 'REPO_NOT_FOUND':
      return repo ? `repo ${repo} not found` : e.message
    case 'BRANCH_NOT_FOUND':
      return repo && d.branch ? `branch "${d.branch}" not found in repo ${repo}` : e.message
    case 'COMMIT_NOT_FOUND':
      return repo && d.commit ? `commit ${repo}@${d.commit} not found` : e.message
    case 'FILE_NOT_FOUND':
      return repo && d.path ? `file ${d.path} not found in repo ${repo} at commit ${d.commit}` : e.message
    case 'REPO_EXISTS':
      return repo ? `repo ${repo} already exists` : e.message
    case 'PROJECT_NOT_FOUND':
      return d.project ? `project "${d.project}" not found` : e.message
    case 'PIPELINE_NOT_FOUND':
      return d.pipeline ? `pipeline "${d.pipeline.includes('/') ? d.pipeline : `${project}/${d.pipeline}`}" not found` : e.message
    case 'PIPELINE_EXISTS':
      return d.pipeline ? `pipeline "${project}/${d.pipeline}" already exists` : e.message
    case 'PROJECT_NOT_EMPTY': {
      const repos = e.data.repos as string[] | undefined
      return repos?.length ? `cannot delete project ${d.project}: ${repos.map((r) => `repo ${d.project}/${r} still exists`).join(', ')}` : e.message
    }
    case 'COMMIT_SET_NOT_FOUND':
      return d.id ? `no commits found for commitset ${d.id}` : e.message
    case 'PARENT_NOT_FINISHED':
      // pachd: linkParent's error as StartCommit wraps it (server_commit.go)
      return repo && d.commit ? `start commit in transaction: create commit: parent commit ${repo}@${d.commit} has not been finished` : e.message
    case 'COMMIT_FINISHED':
      return repo && d.commit ? `commit ${repo}@${d.commit} has already finished` : e.message
    default:
      return e.message
  }
}

/** A gRPC error for `code` and `details` (the message the client sees). */
export function grpcError(code: status, details: string): ServiceError {
  return Object.assign(new Error(details), {code, details, metadata: new Metadata()})
}

/**
 * The status for anything a handler threw. `onBug` receives errors that are not PachErrors
 * (after the system-error translation: a busy database is LOCKED, not a bug).
 */
export function toServiceError(err: unknown, onBug: (e: unknown) => void): ServiceError {
  if (isServiceError(err)) return err
  const e = translateSystemError(err)
  if (isPachError(e)) {
    const se = grpcError(grpcStatusOf(e.code) as status, wireMessage(e))
    se.metadata.set('pach-error-code', e.code)
    if (e.hint) se.metadata.set('pach-hint', e.hint)
    return se
  }
  onBug(e)
  const msg = e instanceof Error ? e.message : String(e)
  return grpcError(status.INTERNAL, `internal error in pach serve: ${msg} (a bug in pach; the server's log has the details)`)
}

export function isServiceError(e: unknown): e is ServiceError {
  return e instanceof Error && typeof (e as ServiceError).code === 'number' && typeof (e as ServiceError).details === 'string' && (e as ServiceError).metadata instanceof Metadata
}

/** The text every auth_v2 and identity_v2 method answers (clients match it exactly). */
export const AUTH_NOT_ACTIVATED = 'the auth service is not activated'
