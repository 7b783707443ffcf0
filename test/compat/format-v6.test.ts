/**
 * The frozen schema-6 fixture (fixtures/repos/v6, made by scripts/make-fixture.mjs) opened by
 * the current code, through the library and through the built CLI, must hold exactly what its
 * MANIFEST.json says: the same projects, repos, branch heads, provenance and triggers, commits,
 * byte-identical files (sha256 of content), jobs with their datums and logs, the secret and
 * the queued transaction, and `fsck` must find nothing wrong.
 *
 * The test works on a copy (an open may upgrade the format in place) and compares logical
 * content only, never raw bytes of the database or the packs: after a format upgrade the
 * bytes differ, and that is allowed; what a user sees may not change. The checks live in
 * test/helpers/fixture.ts for other upgrade tests to reuse.
 */
import Database from 'better-sqlite3'
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {openPach} from '../../src/index.js'
import {runPach, type RunResult} from '../helpers/cli.js'
import {fixtureCopies, expectSameFiles, expectSameJobs, expectSameRefs, expectSameRestAndClean, finishedCommits, loadManifest, repoLabel as label, sha256 as sha, type ManifestFile} from '../helpers/fixture.js'

const manifest = loadManifest('v6')
const finished = finishedCommits(manifest)

/** A fresh copy of the fixture (its directory holds `.pach`). */
const copy = fixtureCopies('v6')

describe('the fixture itself', () => {
  it('is still schema 6, format 1 (a fixture re-made by a newer pach would test no upgrade)', () => {
    expect({schema: manifest.schema, format: manifest.format}).toEqual({schema: 6, format: 1})
    const dir = copy()
    expect(JSON.parse(readFileSync(join(dir, '.pach', 'config.json'), 'utf8')).format).toBe(1)
    const db = new Database(join(dir, '.pach', 'pach.db'), {readonly: true})
    expect(db.pragma('user_version', {simple: true})).toBe(6)
    db.close()
  })

  it('covers what the fixture is for', () => {
    const files = finished.flatMap((f) => f.commit.files)
    expect(manifest.projects.map((p) => p.name).sort()).toEqual(['default', 'lab'])
    expect(new Set(manifest.repos.map((r) => r.type))).toEqual(new Set(['user', 'meta', 'spec']))
    expect(files.some((f) => f.size === 0)).toBe(true)
    expect(files.some((f) => f.size > 3 * 1024 * 1024)).toBe(true)
    expect(files.filter((f) => f.path.startsWith('/many/')).length).toBeGreaterThanOrEqual(300)
    expect(manifest.repos.some((r) => r.commits.some((c) => !c.finished))).toBe(true)
    expect(manifest.repos.some((r) => r.branches.some((b) => b.trigger))).toBe(true)
    expect(manifest.repos.some((r) => r.branches.some((b) => b.provenance.length > 0))).toBe(true)
    expect(manifest.jobs.length).toBeGreaterThanOrEqual(2)
    expect(manifest.jobs.some((j) => j.data_skipped > 0 && j.data_processed > 0)).toBe(true)
    expect(manifest.secrets.length).toBeGreaterThan(0)
    expect(manifest.transactions.length).toBeGreaterThan(0)
  })
})

describe('format v6 fixture through the library', () => {
  const dir = copy()
  const pach = openPach({pachDir: join(dir, '.pach')})
  afterAll(() => pach.close())

  it('has the same projects, repos, branches and commits', () => expectSameRefs(pach, manifest))
  it('holds every file of every finished commit, byte for byte', () => expectSameFiles(pach, manifest))
  it('has the same jobs, datums and logs', () => expectSameJobs(pach, manifest))
  it('keeps the secret and the queued transaction, and fsck reads every byte without a problem', () => expectSameRestAndClean(pach, manifest))
})

describe('format v6 fixture through the CLI', () => {
  const dir = copy()
  const pach = async (args: string[]): Promise<RunResult> => {
    const r = await runPach(args, {cwd: dir})
    if (r.exitCode !== 0) throw new Error(`pach ${args.join(' ')} exited ${r.exitCode}: ${r.stderr}`)
    return r
  }
  const json = async <T>(args: string[]): Promise<T> => (await pach([...args, '--json'])).json<T>()

  it('lists the same commits and branch heads', {timeout: 120_000}, async () => {
    for (const r of manifest.repos) {
      const p = ['--project', r.project]
      const commits = await json<{commit: {id: string}; finished: string | null}[]>(['list', 'commit', label(r), ...p])
      expect(commits.map((c) => ({id: c.commit.id, finished: c.finished !== null}))).toEqual(r.commits.map((c) => ({id: c.id, finished: c.finished})))
      const branches = await json<{branch: {name: string}; head: {id: string}}[]>(['list', 'branch', label(r), ...p])
      expect(branches.map((b) => ({name: b.branch.name, head: b.head.id})).sort((a, b) => a.name.localeCompare(b.name))).toEqual(r.branches.map((b) => ({name: b.name, head: b.head})))
    }
  })

  it('lists and gets every file byte for byte', {timeout: 300_000}, async () => {
    for (const {repo, commit} of finished) {
      const at = `${label(repo)}@${commit.id}`
      const p = ['--project', repo.project]
      // list file: the top level, directories summed
      const top = new Map<string, {type: string; size: number}>()
      for (const f of commit.files) {
        const parts = f.path.split('/')
        const name = `/${parts[1]}${parts.length > 2 ? '/' : ''}`
        const e = top.get(name) ?? {type: parts.length > 2 ? 'DIR' : 'FILE', size: 0}
        e.size += f.size
        top.set(name, e)
      }
      const listed = await json<{file: {path: string}; file_type: string; size_bytes: number}[]>(['list', 'file', `${at}:/`, ...p])
      expect(new Map(listed.map((f) => [f.file.path, {type: f.file_type, size: f.size_bytes}])), at).toEqual(top)
      // get file -r: the whole commit as a directory
      if (commit.files.length === 0) continue
      const out = join(dir, 'out', `${repo.project}-${label(repo)}-${commit.id}`)
      await pach(['get', 'file', `${at}:/`, '-r', '-o', out, ...p])
      const got: ManifestFile[] = []
      const walk = (d: string) => {
        for (const n of readdirSync(d)) {
          const f = join(d, n)
          if (statSync(f).isDirectory()) walk(f)
          else got.push({path: `/${relative(out, f)}`, size: statSync(f).size, sha256: sha(readFileSync(f))})
        }
      }
      walk(out)
      expect(got.sort((a, b) => (a.path < b.path ? -1 : 1)), at).toEqual(commit.files)
    }
    // get file to stdout: the multi-chunk file, an empty one, a small one (each branch head)
    const data = manifest.repos.find((r) => r.project === 'default' && r.name === 'data')!
    const head = data.commits.find((c) => c.id === data.branches.find((b) => b.name === 'master')!.head)!
    for (const path of ['/big.bin', '/empty', '/small.txt']) {
      const want = head.files.find((f) => f.path === path)!
      const r = await runPach(['get', 'file', `data@master:${path}`], {cwd: dir})
      expect(r.exitCode).toBe(0)
      // runPach decodes stdout as text: compare through -o for the binary one
      if (path === '/big.bin') {
        const out = join(dir, 'big.bin')
        await pach(['get', 'file', `data@master:${path}`, '-o', out])
        expect(sha(readFileSync(out))).toBe(want.sha256)
      } else {
        expect(sha(Buffer.from(r.stdout, 'utf8'))).toBe(want.sha256)
      }
    }
  })

  it('lists the same jobs and datums, and fsck is clean', {timeout: 120_000}, async () => {
    const jobs = await json<{job: {id: string; pipeline: {name: string}}; state: string; data_total: number; data_processed: number; data_skipped: number}[]>(['list', 'job'])
    const got = jobs.map((j) => ({pipeline: j.job.pipeline.name, id: j.job.id, state: j.state, data_total: j.data_total, data_processed: j.data_processed, data_skipped: j.data_skipped}))
    expect(got.sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual(manifest.jobs.map((j) => ({pipeline: j.pipeline, id: j.id, state: j.state, data_total: j.data_total, data_processed: j.data_processed, data_skipped: j.data_skipped})).sort((a, b) => (a.id < b.id ? -1 : 1)))
    for (const j of manifest.jobs) {
      const datums = await json<{datum: {id: string}; state: string}[]>(['list', 'datum', `${j.pipeline}@${j.id}`, '--project', j.project])
      expect(datums.map((d) => ({id: d.datum.id, state: d.state})).sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual(j.datums)
    }
    const fsck = await json<{ok: boolean; problems: unknown[]}>(['fsck'])
    expect(fsck).toMatchObject({ok: true, problems: []})
  })

  it('gives the lineage of outputs its jobs made before the lineage index existed (schema 14 fills it from their datum rows)', {timeout: 120_000}, async () => {
    type Row = {depth: number; repo: string; commit: string; path: string; pipeline?: string; job?: string; datum?: string; note?: string}
    for (const j of manifest.jobs) {
      const files = (await json<{file: {path: string}; file_type: string}[]>(['list', 'file', `${j.pipeline}@${j.id}:/`, '--project', j.project])).filter((f) => f.file_type === 'FILE')
      expect(files.length).toBeGreaterThan(0)
      for (const f of files) {
        const up = await json<Row[]>(['lineage', `${j.pipeline}@${j.id}:${f.file.path}`, '--project', j.project])
        expect(up.filter((r) => r.note)).toEqual([])
        const read = up.filter((r) => r.depth === 1)
        expect(read.length).toBeGreaterThan(0)
        for (const r of read) {
          expect(r).toMatchObject({pipeline: j.pipeline, job: j.id})
          expect(j.datums.map((d) => d.id)).toContain(r.datum)
          // and back: the input's downstream names this output, through the same datum
          const down = await json<Row[]>(['lineage', `${r.repo}@${r.commit}:${r.path}`, '--downstream', '--project', j.project])
          expect(down.filter((d) => d.depth === 1 && d.repo === j.pipeline && d.commit === j.id && d.path === f.file.path).map((d) => d.datum)).toEqual([r.datum])
        }
      }
    }
  })
})
