/**
 * Address parsing (pure), exactly pachctl's grammar:
 *
 *   repo | repo.meta | repo.spec
 *   repo@branch | repo@<32-hex id> | repo@branch=<id>
 *   …@ref:path                     (":" separates the file path)
 *   ref^ ref~ ref^N ref~N ref^^^   (N-th ancestor; "^" and "~" are the same, not mixable)
 *   ref.N                          (N-th commit from the root of the branch: master.1 = first)
 *   pipeline@job
 *
 * A ref token is a commit id when it is a dashless UUID (32 hex) or not a valid branch name;
 * otherwise it is a branch.
 */
import {InvalidArgumentError} from '../errors.js'
import {repoLabel, type RepoType} from '../types.js'
import {isValidName, validateName} from './paths.js'

export type {RepoType}

export interface RepoRef {
  name: string
  type: RepoType
  project?: string
}

export type Ancestry = {kind: 'parent'; n: number} | {kind: 'fromRoot'; n: number}

export interface CommitRef {
  repo: RepoRef
  branch?: string
  id?: string
  ancestry?: Ancestry
}

export interface FileRef {
  commit: CommitRef
  path: string
  /** true when the address had an explicit ":path" part */
  hasPath: boolean
}

export const ID_RE = /^[0-9a-f]{32}$/

export function isCommitId(s: string): boolean {
  return ID_RE.test(s)
}

export function parseRepo(s: string): RepoRef {
  if (!s) throw new InvalidArgumentError('INVALID_ADDRESS', 'repo name is empty', {hint: 'address repos as <repo>, branches as <repo>@<branch>'})
  let name = s
  let type: RepoType = 'user'
  const dot = s.indexOf('.')
  if (dot >= 0) {
    const t = s.slice(dot + 1)
    if (t !== 'meta' && t !== 'spec' && t !== 'user') {
      throw new InvalidArgumentError('INVALID_ADDRESS', `invalid repo type "${t}" in ${JSON.stringify(s)}: use <repo>, <repo>.meta or <repo>.spec`)
    }
    name = s.slice(0, dot)
    type = t
  }
  validateName('repo', name)
  return {name, type}
}

/** Split trailing ancestry (^, ~, ^N, ~N, .N) off a ref token; "^" and "~" cannot be mixed. */
export function parseAncestry(token: string): {base: string; ancestry?: Ancestry} {
  const m = /^(.*?)([\^~]+)(\d*)$/.exec(token)
  if (m && m[1]) {
    const marks = m[2]!
    if (marks.includes('^') && marks.includes('~')) {
      throw new InvalidArgumentError('INVALID_ADDRESS', `cannot mix "^" and "~" in ${JSON.stringify(token)}`, {hint: 'use e.g. master^^ or master~2'})
    }
    if (m[3] && marks.length > 1) {
      throw new InvalidArgumentError('INVALID_ADDRESS', `invalid ancestry ${JSON.stringify(token)}`, {hint: 'use e.g. master^2 or master^^'})
    }
    return {base: m[1], ancestry: {kind: 'parent', n: m[3] ? Number(m[3]) : marks.length}}
  }
  const d = /^(.*?)\.(\d+)$/.exec(token)
  if (d && d[1]) return {base: d[1], ancestry: {kind: 'fromRoot', n: Number(d[2])}}
  return {base: token}
}

function parseRefToken(repo: RepoRef, token: string, whole: string): CommitRef {
  if (token === '') throw new InvalidArgumentError('INVALID_ADDRESS', `missing branch or commit after "@" in ${JSON.stringify(whole)}`)
  const {base, ancestry} = parseAncestry(token)
  const eq = base.indexOf('=')
  if (eq >= 0) {
    const branch = base.slice(0, eq)
    const id = base.slice(eq + 1)
    validateName('branch', branch)
    if (!isCommitId(id)) throw new InvalidArgumentError('INVALID_ADDRESS', `invalid commit id ${JSON.stringify(id)} in ${JSON.stringify(whole)}`)
    return {repo, branch, id, ancestry}
  }
  if (isCommitId(base) || !isValidName(base)) return {repo, id: base, ancestry}
  return {repo, branch: base, ancestry}
}

/** Parse `repo[@ref]`; `defaultBranch` applies when no @ref is given (undefined = none). */
export function parseCommit(s: string, defaultBranch?: string): CommitRef {
  const at = s.indexOf('@')
  if (at < 0) {
    const repo = parseRepo(s)
    return defaultBranch ? {repo, branch: defaultBranch} : {repo}
  }
  const repo = parseRepo(s.slice(0, at))
  const rest = s.slice(at + 1)
  if (rest.includes(':')) {
    throw new InvalidArgumentError('INVALID_ADDRESS', `${JSON.stringify(s)} names a file; expected <repo>@<branch-or-commit>`)
  }
  return parseRefToken(repo, rest, s)
}

/** Parse `repo@ref[:path]` (path defaults to "/"). */
export function parseFile(s: string, defaultBranch?: string): FileRef {
  const at = s.indexOf('@')
  if (at < 0) {
    const colon = s.indexOf(':')
    if (colon >= 0) {
      throw new InvalidArgumentError('INVALID_ADDRESS', `${JSON.stringify(s)} has a path but no branch or commit`, {
        hint: 'address files as <repo>@<branch-or-commit>:<path>',
      })
    }
    const repo = parseRepo(s)
    return {commit: defaultBranch ? {repo, branch: defaultBranch} : {repo}, path: '/', hasPath: false}
  }
  const repo = parseRepo(s.slice(0, at))
  const rest = s.slice(at + 1)
  const colon = rest.indexOf(':')
  const token = colon >= 0 ? rest.slice(0, colon) : rest
  const path = colon >= 0 ? rest.slice(colon + 1) : ''
  return {commit: parseRefToken(repo, token, s), path: path === '' ? '/' : path, hasPath: colon >= 0 && path !== ''}
}

/** Parse `branch` refs used by --provenance: `repo@branch` (branch required). */
export function parseBranch(s: string): {repo: RepoRef; branch: string} {
  const c = parseCommit(s)
  if (!c.branch || c.id || c.ancestry) {
    throw new InvalidArgumentError('INVALID_ADDRESS', `${JSON.stringify(s)} is not a branch; expected <repo>@<branch>`)
  }
  return {repo: c.repo, branch: c.branch}
}

/** Parse `pipeline@job`. */
export function parseJob(s: string): {pipeline: string; id: string} {
  const at = s.indexOf('@')
  if (at < 0) throw new InvalidArgumentError('INVALID_ADDRESS', `${JSON.stringify(s)} is not a job; expected <pipeline>@<job-id>`)
  const pipeline = s.slice(0, at)
  const id = s.slice(at + 1)
  validateName('pipeline', pipeline)
  if (!isCommitId(id)) throw new InvalidArgumentError('INVALID_ADDRESS', `invalid job id ${JSON.stringify(id)}: expected 32 hex characters`)
  return {pipeline, id}
}

export function formatCommit(c: CommitRef): string {
  let ref = c.branch && c.id ? `${c.branch}=${c.id}` : (c.branch ?? c.id ?? '')
  if (c.ancestry) ref += c.ancestry.kind === 'parent' ? `^${c.ancestry.n}` : `.${c.ancestry.n}`
  return ref ? `${repoLabel(c.repo)}@${ref}` : repoLabel(c.repo)
}
