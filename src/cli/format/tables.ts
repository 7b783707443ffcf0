/**
 * Human tables, one renderer per entity, with pachctl's headers.
 */
import type {SecretInfo} from '../../core/pps/secret-service.js'
import {repoLabel, type BranchInfo, type CommitInfo, type CommitSetInfo, type CommitSummary, type DiffFileInfo, type FileInfo, type ProjectInfo, type RepoInfo, type TransactionInfo} from '../../core/types.js'
import {ago, bytesSize, table} from './values.js'

export function projectTable(list: ProjectInfo[], full = false): string {
  return table(
    ['ACTIVE', 'PROJECT', 'CREATED', 'DESCRIPTION'],
    list.map((p) => [p.project.name === 'default' ? '*' : '', p.project.name, ago(p.created_at, full), p.description]),
  )
}

export function repoTable(list: RepoInfo[], full = false): string {
  return table(
    ['PROJECT', 'NAME', 'CREATED', 'SIZE (MASTER)', 'DESCRIPTION'],
    list.map((r) => [r.repo.project.name, repoLabel(r.repo), ago(r.created, full), bytesSize(r.details.size_bytes), r.description]),
  )
}

export function branchTable(list: BranchInfo[]): string {
  return table(
    ['BRANCH', 'HEAD', 'TRIGGER'],
    list.map((b) => [b.branch.name, b.head.id, b.trigger?.branch ?? '-']),
  )
}

export const COMMIT_HEADERS = ['PROJECT', 'REPO', 'BRANCH', 'COMMIT', 'FINISHED', 'SIZE', 'ORIGIN', 'DESCRIPTION']

/** A commit's row in the commit table; `now` fixed by the caller so that two passes agree. */
export function commitCells(c: CommitSummary, full = false, now = Date.now()): string[] {
  return [
    c.commit.repo.project.name,
    repoLabel(c.commit.repo),
    c.commit.branch?.name ?? '-',
    c.commit.id,
    c.finished ? ago(c.finished, full, now) : '-',
    bytesSize(c.details.size_bytes),
    c.origin.kind,
    c.error ? `${c.description}${c.description ? ' ' : ''}(error: ${c.error})` : c.description,
  ]
}

export function commitTable(list: CommitSummary[], full = false): string {
  const now = Date.now()
  return table(COMMIT_HEADERS, list.map((c) => commitCells(c, full, now)))
}

export function commitSetTable(list: CommitSetInfo[], full = false): string {
  return table(
    ['ID', 'SUBCOMMITS', 'PROGRESS', 'CREATED', 'MODIFIED'],
    list.map((s) => {
      const done = s.commits.filter((c) => c.finished).length
      const started = s.commits.map((c) => c.started).sort()
      const fin = s.commits.map((c) => c.finished ?? c.started).sort()
      return [s.commit_set.id, String(s.commits.length), `${done}/${s.commits.length}`, ago(started[0], full), ago(fin[fin.length - 1], full)]
    }),
  )
}

export function commitDetails(c: CommitInfo, full = false): string {
  const lines = [
    ['Commit', `${repoLabel(c.commit.repo)}@${c.commit.id}`],
    ['Original Branch', c.commit.branch?.name ?? '-'],
    ['Project', c.commit.repo.project.name],
    ['Origin', c.origin.kind],
    ['Description', c.description],
    ['Parent', c.parent_commit?.id ?? '<none>'],
    ['Children', c.child_commits.map((k) => k.id).join(', ') || '<none>'],
    ['Started', ago(c.started, full)],
    ['Finished', c.finished ? ago(c.finished, full) : '-'],
    ['Size', bytesSize(c.details.size_bytes)],
    ['Provenance', c.direct_provenance.map((p) => `${repoLabel(p.repo)}@${p.branch?.name ?? ''}${p.branch ? '=' : ''}${p.id}`).join(', ') || '<none>'],
    ['Subvenance', c.direct_subvenance.map((p) => `${repoLabel(p.repo)}@${p.id}`).join(', ') || '<none>'],
  ]
  if (c.error) lines.push(['Error', c.error])
  return lines.map(([k, v]) => `${k}: ${v}`).join('\n') + '\n'
}

export const FILE_HEADERS = ['NAME', 'TYPE', 'SIZE']

export function fileCells(f: FileInfo): string[] {
  return [f.file_type === 'DIR' && !f.file.path.endsWith('/') ? `${f.file.path}/` : f.file.path, f.file_type === 'DIR' ? 'dir' : 'file', bytesSize(f.size_bytes)]
}

export function fileTable(list: FileInfo[]): string {
  return table(FILE_HEADERS, list.map(fileCells))
}

export function fileDetails(f: FileInfo): string {
  return [
    `Path: ${f.file.path}`,
    `Datum: default`,
    `Type: ${f.file_type === 'DIR' ? 'dir' : 'file'}`,
    `Size: ${bytesSize(f.size_bytes)}`,
    `Hash: ${f.hash}`,
    `Commit: ${f.file.commit.id}`,
  ].join('\n') + '\n'
}

export function diffText(list: DiffFileInfo[]): string {
  const added = list.filter((d) => d.new_file).map((d) => d.new_file!)
  const removed = list.filter((d) => d.old_file).map((d) => d.old_file!)
  let out = ''
  if (added.length) out += 'New Files:\n' + fileTable(added) + '\n'
  if (removed.length) out += 'Old Files:\n' + fileTable(removed)
  return out
}

export function transactionTable(list: TransactionInfo[], full = false): string {
  return table(
    ['TRANSACTION', 'STARTED', 'OPS'],
    list.map((t) => [t.transaction.id, ago(t.started, full), String(t.requests.length)]),
  )
}

export function secretTable(list: SecretInfo[], full = false): string {
  return table(
    ['NAME', 'TYPE', 'CREATED'],
    list.map((s) => [s.secret.name, s.type, ago(s.creation_timestamp, full)]),
  )
}
