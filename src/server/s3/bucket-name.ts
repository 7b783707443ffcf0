/**
 * Master-driver bucket names (pure), exactly Pachyderm's grammar (driver.go bucketNameToCommit):
 *   [<commit>.]<branch>.<repo>.<project>   the canonical form, what ListBuckets shows
 *   [<commit>.]<branch>.<repo>             project `default`
 *   [<commit>.]<repo>                      branch `master`, project `default`
 * `<commit>` is a dashless UUIDv4 (Pachyderm's commit ids, and pach's). PFS names cannot
 * contain a dot, so the dots are unambiguous. Anything else is 400 InvalidBucketName (where
 * Pachyderm answers 500).
 */
import {isValidName} from '../../core/pfs/paths.js'
import {s3err} from './errors.js'

export interface BucketName {
  project: string
  repo: string
  branch: string
  /** a commit-pinned bucket: read from this commit, never written */
  commit?: string
}

const COMMIT_RE = /^[0-9a-f]{12}4[0-9a-f]{19}$/

export function parseBucketName(name: string): BucketName {
  const parts = name.split('.')
  let commit: string | undefined
  if (parts.length > 1 && COMMIT_RE.test(parts[0]!)) commit = parts.shift()
  const bad = () => s3err(400, 'InvalidBucketName', `invalid bucket name ${JSON.stringify(name.slice(0, 80))}: expected [<commit>.]<branch>.<repo>.<project>, <branch>.<repo> or <repo>`)
  if (parts.length < 1 || parts.length > 3 || parts.some((p) => !isValidName(p) || p.length > 255)) throw bad()
  const [a, b, c] = parts as [string, string?, string?]
  if (parts.length === 1) return {project: 'default', repo: a, branch: 'master', ...(commit && {commit})}
  if (parts.length === 2) return {project: 'default', repo: b!, branch: a, ...(commit && {commit})}
  return {project: c!, repo: b!, branch: a, ...(commit && {commit})}
}

/** The canonical (3-part) name of a branch. */
export function bucketNameOf(b: {project: string; repo: string; branch: string}): string {
  return `${b.branch}.${b.repo}.${b.project}`
}
