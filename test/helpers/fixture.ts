/**
 * The frozen format fixtures (fixtures/repos/<name>, docs/format.md §Compatibility): copy one
 * to a temp dir and check an open project against its MANIFEST.json through the library.
 * Comparisons are logical (paths, sizes, content sha256, ids, states), never raw bytes, so
 * they hold across a format upgrade; upgrade tests (for example a kill during a migration)
 * can reuse them on whatever a run leaves behind.
 */
import {createHash} from 'node:crypto'
import {cpSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {afterAll, expect} from 'vitest'
import {parseFile, type Pach} from '../../src/index.js'

export const FIXTURES = resolve(import.meta.dirname, '../../fixtures/repos')

export interface ManifestFile {
  path: string
  size: number
  sha256: string
}
export interface Manifest {
  schema: number
  format: number
  projects: {name: string; description: string}[]
  repos: {
    project: string
    name: string
    type: 'user' | 'meta' | 'spec'
    branches: {name: string; head: string; provenance: string[]; trigger: Record<string, unknown> | null}[]
    commits: {id: string; branch: string | null; parent: string | null; finished: boolean; files: ManifestFile[]}[]
  }[]
  jobs: {
    project: string
    pipeline: string
    id: string
    state: string
    data_total: number
    data_processed: number
    data_skipped: number
    datums: {id: string; state: string}[]
    datum_states: Record<string, number>
    log_lines: string[]
  }[]
  secrets: string[]
  transactions: {id: string; requests: number}[]
}

export function loadManifest(name: string): Manifest {
  return JSON.parse(readFileSync(join(FIXTURES, name, 'MANIFEST.json'), 'utf8')) as Manifest
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
export const repoLabel = (r: {name: string; type: string}): string => (r.type === 'user' ? r.name : `${r.name}.${r.type}`)
export const finishedCommits = (m: Manifest) => m.repos.flatMap((r) => r.commits.filter((c) => c.finished).map((c) => ({repo: r, commit: c})))

/** A fresh copy of fixture `name` in a new temp dir (the dir holds `.pach`); the caller removes it. */
export function copyFixture(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `pach-compat-${name}-`))
  cpSync(join(FIXTURES, name), dir, {recursive: true})
  return dir
}

/** A maker of fresh copies of fixture `name` for one test file; every copy is removed after the file's tests. */
export function fixtureCopies(name: string): () => string {
  const temps: string[] = []
  afterAll(() => {
    for (const t of temps) rmSync(t, {recursive: true, force: true})
  })
  return () => {
    const dir = copyFixture(name)
    temps.push(dir)
    return dir
  }
}

/** Projects, repos, branches (heads, provenance, triggers) and commits. */
export function expectSameRefs(pach: Pach, manifest: Manifest): void {
  expect(pach.projects.list().map((p) => ({name: p.project.name, description: p.description}))).toEqual(manifest.projects)
  for (const project of manifest.projects.map((p) => p.name)) {
    const want = manifest.repos.filter((r) => r.project === project).map((r) => `${r.name}/${r.type}`).sort()
    expect(pach.repos.list({project, type: 'all'}).map((r) => `${r.repo.name}/${r.repo.type}`).sort()).toEqual(want)
  }
  for (const r of manifest.repos) {
    const ref = {name: r.name, type: r.type}
    const branches = pach.branches.list(r.project, ref).map((b) => ({
      name: b.branch.name,
      head: b.head.id,
      provenance: b.direct_provenance.map((x) => `${x.repo.project.name}/${repoLabel(x.repo)}@${x.name}`).sort(),
      trigger: b.trigger ?? null,
    }))
    expect(branches.sort((a, b) => a.name.localeCompare(b.name)), `${r.project}/${repoLabel(r)}`).toEqual(r.branches)
    const commits = pach.commits.list(r.project, {repo: ref}).map((c) => ({id: c.commit.id, branch: c.commit.branch?.name ?? null, parent: c.parent_commit?.id ?? null, finished: c.finished !== null}))
    expect(commits, `${r.project}/${repoLabel(r)}`).toEqual(r.commits.map(({files: _files, ...c}) => c))
  }
}

/** Every file of every finished commit: path, size, sha256 of its content. */
export function expectSameFiles(pach: Pach, manifest: Manifest): void {
  for (const {repo, commit} of finishedCommits(manifest)) {
    const at = `${repoLabel(repo)}@${commit.id}`
    const got: ManifestFile[] = []
    const walk = (path: string) => {
      for (const f of pach.files.list(repo.project, parseFile(`${at}:${path}`))) {
        if (f.file_type === 'DIR') walk(f.file.path)
        else got.push({path: f.file.path, size: f.size_bytes, sha256: sha256(pach.files.readAll(repo.project, parseFile(`${at}:${f.file.path}`)))})
      }
    }
    walk('/')
    expect(got.sort((a, b) => (a.path < b.path ? -1 : 1)), `${repo.project}/${at}`).toEqual(commit.files)
  }
}

/** Jobs (states, counts), their datums and logs. */
export function expectSameJobs(pach: Pach, manifest: Manifest): void {
  const jobs = pach.jobs.list({})
  expect(jobs.map((j) => j.job.id).sort()).toEqual(manifest.jobs.map((j) => j.id).sort())
  for (const want of manifest.jobs) {
    const j = pach.jobs.inspect(want.project, want.pipeline, want.id)
    expect({state: j.state, data_total: j.data_total, data_processed: j.data_processed, data_skipped: j.data_skipped}).toEqual({state: want.state, data_total: want.data_total, data_processed: want.data_processed, data_skipped: want.data_skipped})
    const datums = pach.jobs.listDatums(want.project, want.pipeline, want.id).map((d) => ({id: d.datum.id, state: d.state}))
    expect(datums.sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual(want.datums)
    const logs = pach.jobs.logs(want.project, want.pipeline, {job: want.id}).map((l) => `${l.datum} ${l.stream} ${l.message}`)
    expect(logs.sort()).toEqual(want.log_lines)
  }
}

/** Secrets and queued transactions; fsck reads every byte and finds no problem. */
export function expectSameRestAndClean(pach: Pach, manifest: Manifest): void {
  expect(pach.secrets.list().map((s) => s.secret.name)).toEqual(manifest.secrets)
  expect(pach.transactions.list().map((t) => ({id: t.transaction.id, requests: t.requests.length}))).toEqual(manifest.transactions)
  const report = pach.fsck({readData: true})
  expect(report.problems).toEqual([])
  expect(report.ok).toBe(true)
}

/** Everything above. */
export function expectMatchesManifest(pach: Pach, manifest: Manifest): void {
  expectSameRefs(pach, manifest)
  expectSameFiles(pach, manifest)
  expectSameJobs(pach, manifest)
  expectSameRestAndClean(pach, manifest)
}
