/**
 * Human tables, one renderer per entity, with pachctl's headers.
 */
import type {SecretInfo} from '../../core/pps/secret-service.js'
import {repoLabel, type BranchInfo, type CommitInfo, type CommitSetInfo, type CommitSummary, type DiffFileInfo, type FileInfo, type FindCommitsResult, type ProjectInfo, type RepoInfo, type TransactionInfo} from '../../core/types.js'
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

/** The versions of files (`list file --history`, `inspect file --history`): pachctl 1.x's FileHeaderWithCommit. */
export const FILE_HISTORY_HEADERS = ['COMMIT', 'NAME', 'TYPE', 'COMMITTED', 'SIZE']

/** A version's row in the history table; `now` fixed by the caller so that all rows agree. */
export function fileHistoryCells(f: FileInfo, full = false, now = Date.now()): string[] {
  const [name, type, size] = fileCells(f)
  return [f.file.commit.id, name!, type!, ago(f.committed, full, now), size!]
}

export function fileHistoryTable(list: FileInfo[], full = false): string {
  const now = Date.now()
  return table(FILE_HISTORY_HEADERS, list.map((f) => fileHistoryCells(f, full, now)))
}

/**
 * `diff file --name-only` (pachctl 2.x): one line per side of each change, "+" for the new
 * file, "-" for the old one (a modified file has both), in path order.
 */
export function diffNameTable(list: DiffFileInfo[]): string {
  const rows: string[][] = []
  for (const d of list) {
    if (d.new_file) rows.push(['+', bytesSize(d.new_file.size_bytes), fileCells(d.new_file)[0]!])
    if (d.old_file) rows.push(['-', bytesSize(d.old_file.size_bytes), fileCells(d.old_file)[0]!])
  }
  return table(['OP', 'SIZE', 'NAME'], rows)
}

/** `find commit` (pachctl's PrintFindCommits): the commits found, then where the search stopped. */
export function findCommitsText(r: FindCommitsResult): string {
  const found = r.found_commits.length ? r.found_commits.map((c) => c.id).join('\n') : 'no commits found.'
  return `FOUND IN COMMITS\n${found}\n\nLAST SEARCHED COMMIT\n${r.last_searched_commit.id}\n`
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
