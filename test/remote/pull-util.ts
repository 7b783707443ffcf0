/**
 * Shared by the `pach pull` tests: writing a remote history through the API of a `pach serve`,
 * reading it back (ListCommit, WalkFile), and reading the local store with the library.
 */
import {join} from 'node:path'
import type {PachdClient} from '../../src/client/pachd-client.js'
import {openPach} from '../../src/core/pach.js'
import * as remotes from '../../src/core/db/remotes.js'
import type {Project} from '../helpers/cli.js'

export const MiB = 1024 * 1024
const repoMsg = (name: string) => ({name, type: 'user', project: {name: 'default'}})

/** One commit on repo@master through the API: each path set to its content, or deleted (null). */
export async function commit(c: PachdClient, repo: string, description: string, edits: Record<string, string | Buffer | null>): Promise<string> {
  const r = repoMsg(repo)
  const {id} = await c.unary(c.pfs, 'StartCommit', {branch: {repo: r, name: 'master'}, description})
  await c.send(
    c.pfs,
    'ModifyFile',
    (function* () {
      yield {set_commit: {repo: r, id, branch: null}}
      for (const [path, v] of Object.entries(edits)) {
        yield {delete_file: {path, datum: ''}}
        if (v !== null) yield {add_file: {path, datum: '', raw: {value: Buffer.from(v)}}}
      }
    })(),
  )
  await c.unary(c.pfs, 'FinishCommit', {commit: {repo: r, id, branch: null}})
  return id
}

export async function createRepo(c: PachdClient, name: string, description = '') {
  await c.unary(c.pfs, 'CreateRepo', {repo: repoMsg(name), description})
}

/** The remote's history of repo@master, newest first: id, parent, description. */
export async function remoteHistory(c: PachdClient, repo: string) {
  const out: {id: string; parent: string | null; description: string}[] = []
  for await (const ci of c.stream(c.pfs, 'ListCommit', {repo: repoMsg(repo), to: {repo: repoMsg(repo), id: '', branch: {repo: repoMsg(repo), name: 'master'}}})) {
    out.push({id: ci.commit!.id, parent: ci.parent_commit?.id ?? null, description: ci.description})
  }
  return out
}

/** path → hash (hex) of every file of a remote commit. */
export async function remoteFiles(c: PachdClient, repo: string, id: string) {
  const out: Record<string, string> = {}
  for await (const f of c.stream(c.pfs, 'WalkFile', {file: {commit: {repo: repoMsg(repo), id, branch: null}, path: '/'}})) {
    if (f.file_type === 'FILE') out[f.file!.path] = Buffer.from(f.hash).toString('hex')
  }
  return out
}

/** Read the local store with the library (in-process: a CLI run per look would cost more than the pull). */
export function withLocal<T>(p: Project, fn: (pach: ReturnType<typeof openPach>) => T): T {
  const pach = openPach({pachDir: join(p.dir, '.pach'), readonly: true})
  try {
    return fn(pach)
  } finally {
    pach.close()
  }
}

export function localHistory(p: Project, repo: string, branch = 'master') {
  return withLocal(p, (pach) =>
    pach.commits.list('default', {repo: {name: repo, type: 'user'}, branch}).map((c) => ({id: c.commit.id, parent: c.parent_commit?.id ?? null, description: c.description})),
  )
}

export function localFiles(p: Project, repo: string, id: string) {
  return withLocal(p, (pach) => {
    const {commit} = pach.engine.resolve.commit({repo: {name: repo, type: 'user'}, id}, 'default')
    const out: Record<string, string> = {}
    for (const [path, e] of pach.ctx.trees.walk(commit.tree, '/')) if (e.kind === 'file') out[path] = e.hash.toString('hex')
    return out
  })
}

export interface Summary {
  remote: string
  deployment_id: string
  repo: string
  branch: string
  commits: number
  files: number
  bytes_received: number
  bytes_skipped: number
  head: string
}

export const pull = (p: Project, remote: string, target: string, ...more: string[]) => p.json<Summary>(['pull', remote, target, ...more])

/** The local store's remote rows (what `pach push` reads). */
export function remoteRows(p: Project, repo: string) {
  return withLocal(p, (pach) => {
    const row = pach.db.prepare("SELECT id FROM repos WHERE name = ? AND type = 'user'").get(repo) as {id: number}
    const all = remotes.listRemotes(pach.db)
    return {
      remotes: all,
      commits: all.flatMap((r) => remotes.listRemoteCommits(pach.db, r.deployment_id, row.id)),
      branches: all.flatMap((r) => remotes.listRemoteBranches(pach.db, r.deployment_id)),
    }
  })
}

