/**
 * What the `pach push` tests share: a local project written through the core (fast; the push
 * itself runs as the built CLI, as the user runs it), its history, and readers of both ends
 * (the remote through its own API: ListCommit, ListFile, GetFile).
 */
import {createHash, randomBytes} from 'node:crypto'
import {onTestFinished} from 'vitest'
import {initPach, type Pach} from '../../src/core/pach.js'
import {parseCommit, parseFile} from '../../src/core/pfs/refs.js'
import {tmpProject, type Project} from '../helpers/cli.js'
import type {Served} from '../helpers/serve.js'

export const repo = (name: string) => ({name, type: 'user', project: {name: 'default'}})
export const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** The remote's commits of repo@branch, newest first (ListCommit from the head). */
export async function remoteCommits(s: Served, name: string, branch = 'master') {
  const out: {id: string; description: string; finished: boolean; parent: string | null}[] = []
  for await (const c of s.client.stream(s.client.pfs, 'ListCommit', {repo: repo(name), to: {repo: repo(name), id: '', branch: {repo: repo(name), name: branch}}, number: 0, reverse: false, all: true, origin_kind: 'ORIGIN_KIND_UNKNOWN', from: null, started_time: null})) {
    out.push({id: c.commit!.id, description: c.description, finished: Boolean(c.finished), parent: c.parent_commit?.id ?? null})
  }
  return out
}

/** path → sha256 of every file at the remote's repo@branch (ListFile, then GetFile per file). */
export async function remoteFiles(s: Served, name: string, branch = 'master'): Promise<Record<string, string>> {
  const commit = {repo: repo(name), id: '', branch: {repo: repo(name), name: branch}}
  const paths: string[] = []
  const walk = async (dir: string) => {
    for await (const f of s.client.stream(s.client.pfs, 'ListFile', {file: {commit, path: dir, datum: ''}, paginationMarker: null, number: 0, reverse: false})) {
      if (f.file_type === 'DIR') await walk(f.file!.path)
      else paths.push(f.file!.path)
    }
  }
  await walk('/')
  const out: Record<string, string> = {}
  for (const p of paths) {
    const parts: Buffer[] = []
    for await (const b of s.client.stream(s.client.pfs, 'GetFile', {file: {commit, path: p, datum: ''}, URL: '', offset: 0, path_range: null})) parts.push(Buffer.from(b.value))
    out[p] = sha(Buffer.concat(parts))
  }
  return out
}

/** The same map for the local project, read through the core. */
export function localFiles(pach: Pach, name: string, branch = 'master'): Record<string, string> {
  const out: Record<string, string> = {}
  for (const f of pach.files.glob('default', parseCommit(`${name}@${branch}`), '/**')) {
    if (f.file_type === 'FILE') out[f.file.path] = sha(pach.files.readAll('default', parseFile(`${name}@${branch}:${f.file.path}`)))
  }
  return out
}

/**
 * A local project the CLI pushes from, its history written through the core (fast; the push
 * itself runs as the user runs it). Closed when the test finishes.
 */
export async function localProject(): Promise<{p: Project; pach: Pach}> {
  const p = await tmpProject(false)
  const pach = initPach(p.dir)
  onTestFinished(() => pach.close())
  return {p, pach}
}

export const put = (pach: Pach, ref: string, files: Record<string, string | Buffer>) =>
  pach.files.put('default', parseCommit(ref), Object.entries(files).map(([path, c]) => ({path, open: async function* () { yield Buffer.from(c) }})))

/** images: a.txt; then {images: dir/b.bin, labels: l.txt, empty} as one commit set "both"; then images: b.bin changed, a.txt deleted ("third"). */
export async function history(pach: Pach) {
  pach.repos.create('default', 'images')
  pach.repos.create('default', 'labels')
  await put(pach, 'images@master', {'/a.txt': 'alpha\n'})
  pach.transactions.start()
  pach.commits.start('default', parseCommit('images@master'), {description: 'both'})
  pach.commits.start('default', parseCommit('labels@master'), {description: 'both'})
  pach.transactions.finish()
  await put(pach, 'images@master', {'/dir/b.bin': randomBytes(3000)})
  await put(pach, 'labels@master', {'/l.txt': 'label\n', '/empty': ''})
  pach.commits.finish('default', parseCommit('images@master'), {})
  pach.commits.finish('default', parseCommit('labels@master'), {})
  pach.commits.start('default', parseCommit('images@master'), {description: 'third'})
  await put(pach, 'images@master', {'/dir/b.bin': randomBytes(5000)})
  pach.files.delete('default', parseCommit('images@master'), ['/a.txt'])
  pach.commits.finish('default', parseCommit('images@master'), {})
}

