/**
 * E2E: a purge recomputes every output commit it took derived data from, not only the heads
 * (issue 16 part 1), with the built CLI and the local runner. A pipeline globs directories
 * (`/*`): one directory holds 3 files, one of them the secret, which is in all 3 input commits
 * (changed once); a second pipeline reads the first one's outputs (a two-pipeline chain).
 * After the purge, each output commit of both pipelines, the oldest included, holds exactly
 * what a second project built from the purged data directly holds; commit ids, parents,
 * descriptions and times stay; fsck is clean; no byte of the secret is left under .pach.
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {describe, expect, it, vi} from 'vitest'
import {tmpProject, type Project} from '../helpers/cli.js'
import {filesHolding, local, pipeline} from './purge-util.js'

vi.setConfig({testTimeout: 300_000})

const SUMM = {
  pipeline: {name: 'summ'},
  input: {pfs: {repo: 'docs', glob: '/*'}},
  // per directory: its file names, and its files concatenated (in name order)
  transform: {cmd: ['sh', '-c', 'for d in /pfs/docs/*; do n=$(basename $d); ls $d > /pfs/out/$n.list; cat $d/* > /pfs/out/$n.cat; done']},
}
const SHOUT = {
  pipeline: {name: 'shout'},
  input: {pfs: {repo: 'summ', glob: '/*'}},
  transform: {cmd: ['sh', '-c', 'for f in /pfs/summ/*; do tr a-z A-Z < $f > /pfs/out/$(basename $f).up; done']},
}

/** The input history: three commits; the secret (in all three, changed in the second) is left out when `purged`. */
const COMMITS = (purged: boolean): Record<string, string>[] =>
  [
    {'/g/a.txt': 'alpha\n', '/g/b.txt': 'beta\n', '/g/secret.txt': 'SECRET-MARKER-one\n', '/h/k.txt': 'kilo\n'},
    {'/g/secret.txt': 'SECRET-MARKER-two\n', '/h/l.txt': 'lima\n'},
    {'/g/c.txt': 'gamma\n'},
  ].map((c) => Object.fromEntries(Object.entries(c).filter(([path]) => !purged || path !== '/g/secret.txt')))

async function build(p: Project, purged: boolean): Promise<void> {
  await p.ok(['create', 'repo', 'docs'])
  await pipeline(p, SUMM)
  await pipeline(p, SHOUT)
  for (const [i, files] of COMMITS(purged).entries()) {
    // one commit each: the files of the commit in a local tree, put with -r
    const dir = join(p.dir, `c${i}`)
    for (const [path, s] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), {recursive: true})
      writeFileSync(join(dir, path), s)
    }
    await p.ok(['put', 'file', '-r', 'docs@master:/', '-f', dir], {env: local})
  }
}

/** Each commit of a repo, oldest first: every file's size and content hash (equal hashes: equal bytes). */
async function contents(p: Project, repo: string): Promise<Record<string, string>[]> {
  const commits = ((await p.json(['list', 'commit', repo])) as any[]).reverse()
  return Promise.all(
    commits.map(async (c) => {
      const files: Record<string, string> = {}
      for (const f of (await p.json(['glob', 'file', `${repo}@${c.commit.id}:/**`])) as any[]) if (f.file_type === 'FILE') files[f.file.path] = `${f.size_bytes} ${f.hash}`
      return files
    }),
  )
}

/** What must not change in a commit: everything list commit shows but sizes and subvenance. */
const history = async (p: Project, repo: string) =>
  ((await p.json(['list', 'commit', repo])) as any[]).map((c) => ({id: c.commit.id, parent: c.parent_commit?.id ?? null, origin: c.origin.kind, description: c.description, started: c.started, finished: c.finished}))

describe('purge file: every output commit recomputed', () => {
  it('each older output commit of a two-pipeline chain holds what a project built from the purged data holds', async (ctx) => {
    const p = await tmpProject(true, ctx)
    const fresh = await tmpProject(true, ctx)
    await Promise.all([build(p, false), build(fresh, true)])
    const before = Object.fromEntries(await Promise.all(['docs', 'summ', 'shout'].map(async (r) => [r, await history(p, r)] as const)))
    const ids = (before.docs as {id: string; origin: string}[]).filter((c) => c.origin === 'USER').map((c) => c.id) // newest first
    expect(ids).toHaveLength(3)
    expect(await p.ok(['get', 'file', `summ@${ids[2]}:/g.cat`])).toContain('SECRET-MARKER-one')
    expect(await p.ok(['get', 'file', `shout@${ids[1]}:/g.cat.up`])).toContain('SECRET-MARKER-TWO')

    // --dry-run names every re-run: both pipelines, each of the 3 output commits, oldest first
    const dry = await p.json(['purge', 'file', 'docs@master:/g/secret.txt', '--dry-run'])
    const oldestFirst = [...ids].reverse()
    expect(dry.plan.recompute.filter((j: any) => j.pipeline === 'summ').map((j: any) => j.job)).toEqual(oldestFirst)
    expect(dry.plan.recompute.filter((j: any) => j.pipeline === 'shout').map((j: any) => j.job)).toEqual(oldestFirst)
    // the /g datum of each job (the directory changed every time): it still exists, so it runs again
    expect(dry.plan.datums.filter((d: any) => d.pipeline === 'summ').map((d: any) => [d.job, d.fate, d.outputs])).toEqual(oldestFirst.map((id) => [id, 'recompute', ['/g.cat', '/g.list']]))

    const r = await p.run(['purge', 'file', 'docs@master:/g/secret.txt', '-m', 'takedown', '--json'], {env: local})
    expect(r.exitCode, r.stderr).toBe(0)

    // every commit of every repo, oldest first, as in the project built without the secret
    for (const repo of ['docs', 'summ', 'shout']) {
      const [got, want] = await Promise.all([contents(p, repo), contents(fresh, repo)])
      expect(got, repo).toEqual(want)
    }
    expect(await p.ok(['get', 'file', `summ@${ids[2]}:/g.list`])).toBe('a.txt\nb.txt\n')
    expect(await p.ok(['get', 'file', `shout@${ids[2]}:/g.cat.up`])).toBe('ALPHA\nBETA\n')
    // same ids, parents, descriptions, times
    for (const repo of ['docs', 'summ', 'shout']) expect(await history(p, repo), repo).toEqual(before[repo])
    const jobs = (await p.json(['list', 'job'])) as any[]
    for (const j of jobs) expect(j.state, `${j.job.pipeline.name}@${j.job.id}`).toBe('JOB_SUCCESS')
    expect(jobs.filter((j) => j.restart === 1)).toHaveLength(6)

    const fsck = await p.json(['fsck'])
    expect(fsck.problems).toEqual([])
    expect(fsck.ok).toBe(true)
    expect(filesHolding(p.dir, 'SECRET-MARKER')).toEqual([])
  })
})
