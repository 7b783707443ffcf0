/**
 * Between pach's core types and pachd's messages. The core already speaks pachctl's JSON
 * shapes (core/types.ts), so most of a conversion is the few places where the wire differs:
 * times are `google.protobuf.Timestamp` messages (the core keeps RFC 3339 strings), hashes
 * are bytes (the core keeps hex), durations are `google.protobuf.Duration`.
 *
 * Incoming references follow pachd's defaults: an empty project is `default`, an empty repo
 * type is `user`, a commit is named by `id` (which may carry ancestry, `master^2`, as the
 * Python SDK sends it with no branch) or else by its branch, and a path may lack its leading
 * `/`. Names are validated by the core's own parsers, so bad input gets the CLI's errors.
 */
import {InvalidArgumentError} from '../../core/errors.js'
import {parseAncestry, parseRepo, isCommitId, type CommitRef, type FileRef, type RepoRef} from '../../core/pfs/refs.js'
import {DEFAULT_PROJECT, repoLabel, type BranchInfo, type CommitInfo, type CommitPB, type FileInfo, type ProjectInfo, type RepoInfo} from '../../core/types.js'

export interface Timestamp {
  seconds: number
  nanos: number
}

export interface Duration {
  seconds: number
  nanos: number
}

// the last conversion: a listing's entries mostly share one commit time (ListFile of 100,000
// files converted the same string 100,000 times); the result is frozen, so sharing it is safe
let lastIso: string | undefined
let lastTimestamp: Timestamp | null = null

/** An RFC 3339 time as a Timestamp (null stays null: the field is absent on the wire). */
export function timestamp(iso: string | null | undefined): Timestamp | null {
  if (!iso) return null
  if (iso === lastIso) return lastTimestamp
  const ms = Date.parse(iso)
  if (Number.isNaN(ms)) return null
  const frac = /\.(\d+)/.exec(iso)?.[1]
  const nanos = frac ? Number(frac.padEnd(9, '0').slice(0, 9)) : (ms % 1000) * 1e6
  lastIso = iso
  lastTimestamp = Object.freeze({seconds: Math.floor(ms / 1000), nanos})
  return lastTimestamp
}

/** A Timestamp as an RFC 3339 string (null when absent). */
export function isoOf(t: Timestamp | null | undefined): string | null {
  if (!t) return null
  return new Date(Number(t.seconds) * 1000 + Math.floor(Number(t.nanos) / 1e6)).toISOString()
}

/** A duration as pach stores it ("1.5s", "250ms" or seconds as a number) as a Duration. */
export function duration(v: string | number | null | undefined): Duration | null {
  if (v === null || v === undefined || v === '') return null
  const secs = typeof v === 'number' ? v : parseGoDuration(v)
  if (secs === undefined) return null
  const whole = Math.floor(secs)
  return {seconds: whole, nanos: Math.round((secs - whole) * 1e9)}
}

/** A Duration as Go's duration text (`"60s"`), as protojson writes it. */
export function durationText(d: Duration | null | undefined): string | undefined {
  if (!d) return undefined
  const s = Number(d.seconds) + Number(d.nanos) / 1e9
  return `${Number(s.toFixed(9))}s`
}

const UNIT_SECONDS: Record<string, number> = {ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600}

function parseGoDuration(s: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g
  let total = 0
  let seen = ''
  for (const m of s.matchAll(re)) {
    total += Number(m[1]) * UNIT_SECONDS[m[2]!]!
    seen += m[0]
  }
  return seen === s && s !== '' ? total : undefined
}

// ------------------------------------------------------------------ incoming references

export interface ProjectMsg {
  name?: string
}
export interface RepoMsg {
  name?: string
  type?: string
  project?: ProjectMsg | null
}
export interface BranchMsg {
  repo?: RepoMsg | null
  name?: string
}
export interface CommitMsg {
  repo?: RepoMsg | null
  id?: string
  branch?: BranchMsg | null
}
export interface FileMsg {
  commit?: CommitMsg | null
  path?: string
  datum?: string
}

/** The project a message names (`default` when empty). */
export function projectOf(p: ProjectMsg | null | undefined): string {
  return p?.name || DEFAULT_PROJECT
}

/** A repo message as a core reference plus its project; INVALID_ARGUMENT when it names none. */
export function repoOf(r: RepoMsg | null | undefined, what = 'repo'): {ref: RepoRef; project: string} {
  if (!r?.name) throw new InvalidArgumentError('MISSING_ARGUMENT', `no ${what} specified`)
  const type = r.type || 'user'
  const ref = parseRepo(repoLabel({name: r.name, type}))
  return {ref, project: projectOf(r.project)}
}

/**
 * A commit message as a core reference. `id` wins over the branch (it may be an id, a branch
 * name, either with ancestry); else the branch names its head. The repo comes from the commit
 * or, when empty, from its branch (older clients fill only one).
 */
export function commitOf(c: CommitMsg | null | undefined): {ref: CommitRef; project: string} {
  if (!c) throw new InvalidArgumentError('MISSING_ARGUMENT', 'no commit specified')
  const {ref: repo, project} = repoOf(c.repo?.name ? c.repo : c.branch?.repo, 'repo in commit')
  const branch = c.branch?.name || undefined
  if (c.id) {
    const {base, ancestry} = parseAncestry(c.id)
    if (isCommitId(base)) return {ref: {repo, id: base, ancestry, ...(branch && {branch})}, project}
    return {ref: {repo, branch: base, ancestry}, project}
  }
  if (!branch) throw new InvalidArgumentError('MISSING_ARGUMENT', `no branch or commit id specified for repo ${repo.name}`)
  return {ref: {repo, branch}, project}
}

/** A branch message as repo reference, project and branch name. */
export function branchOf(b: BranchMsg | null | undefined): {repo: RepoRef; project: string; name: string} {
  if (!b?.name) throw new InvalidArgumentError('MISSING_ARGUMENT', 'no branch specified')
  const {ref, project} = repoOf(b.repo)
  return {repo: ref, project, name: b.name}
}

/** A path as pach writes it: leading `/` added when missing (clients may leave it out). */
export function pathOf(p: string | undefined): string {
  if (!p) return '/'
  return p.startsWith('/') ? p : `/${p}`
}

/** A file message as a core file reference. */
export function fileOf(f: FileMsg | null | undefined): {ref: FileRef; project: string} {
  if (!f) throw new InvalidArgumentError('MISSING_ARGUMENT', 'no file specified')
  const {ref, project} = commitOf(f.commit)
  return {ref: {commit: ref, path: pathOf(f.path), hasPath: !!f.path && f.path !== '/'}, project}
}

// ------------------------------------------------------------------ outgoing messages

export function projectInfoPB(p: ProjectInfo) {
  return {project: p.project, description: p.description, created_at: timestamp(p.created_at), metadata: p.metadata ?? {}, created_by: ''}
}

export function repoInfoPB(r: RepoInfo) {
  return {...r, created: timestamp(r.created), metadata: r.metadata ?? {}}
}

export function branchInfoPB(b: BranchInfo) {
  return {...b, created_at: timestamp(b.created_at), updated_at: timestamp(b.created_at), metadata: b.metadata ?? {}, created_by: ''}
}

export function commitPB(c: CommitPB | null | undefined) {
  return c ? {repo: c.repo, id: c.id, branch: c.branch ?? null} : null
}

export function commitInfoPB(c: CommitInfo) {
  return {
    ...c,
    commit: commitPB(c.commit),
    parent_commit: commitPB(c.parent_commit),
    child_commits: (c.child_commits ?? []).map(commitPB),
    direct_provenance: (c.direct_provenance ?? []).map(commitPB),
    direct_subvenance: (c.direct_subvenance ?? []).map(commitPB),
    started: timestamp(c.started),
    finishing: timestamp(c.finishing),
    finished: timestamp(c.finished),
    created_at: timestamp(c.started),
    updated_at: timestamp(c.finished ?? c.started),
    metadata: c.metadata ?? {},
    created_by: '',
  }
}

export function fileInfoPB(f: FileInfo) {
  return {
    file: {commit: commitPB(f.file.commit), path: f.file.path, datum: ''},
    file_type: f.file_type,
    committed: timestamp(f.committed),
    size_bytes: f.size_bytes,
    hash: Buffer.from(f.hash ?? '', 'hex'),
  }
}
