/**
 * Upgrading a schema-2 database (before migration 3 put a job's datums in one `job_datums`
 * blob). The database is built the way pach of schema 2 made it: migrations 1..2 only (the
 * current `migrate` stopped at 2), then the rows that version wrote, where every job has one
 * `datums` row per datum, skipped ones included (state SKIPPED, inputs naming that job's
 * commits). Opening it with the current code must migrate it to the current schema, and
 * `list datum` of every job must be exactly what its rows said: the same datum ids, states,
 * hashes, inputs and reasons, through the library and the CLI.
 */
import Database from 'better-sqlite3'
import {createHash} from 'node:crypto'
import {mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {defaultConfig, writeConfig} from '../../src/core/config.js'
import {migrate, SCHEMA_VERSION} from '../../src/core/db/migrations.js'
import {ensureStoreDirs} from '../../src/core/store/pack-store.js'
import {openPach, type Pach} from '../../src/index.js'
import {runPach} from '../helpers/cli.js'

const T = (s: number) => new Date(Date.parse('2025-06-01T00:00:00Z') + s * 1000).toISOString()
const sha = (s: string) => createHash('sha256').update(s).digest('hex')
const cid = (n: number) => n.toString(16).padStart(32, '0')

interface OldDatum {
  path: string
  /** the input file's content hash, as the planner recorded it */
  content: string
  state: 'SUCCESS' | 'SKIPPED' | 'FAILED' | 'RECOVERED'
  reason?: string
}
interface OldJob {
  project: string
  pipeline: string
  /** the job id = the commit set of its input commit and output commit */
  id: string
  state: string
  datums: OldDatum[]
}

// Two pipelines (in two projects) over their input repos; the later jobs skip datums whose
// input did not change, and schema 2 stored a row for each of them too.
const JOBS: OldJob[] = [
  {project: 'default', pipeline: 'up', id: cid(1), state: 'JOB_SUCCESS', datums: [
    {path: '/a', content: 'x', state: 'SUCCESS'},
    {path: '/b', content: 'y', state: 'SUCCESS'},
  ]},
  {project: 'default', pipeline: 'up', id: cid(2), state: 'JOB_SUCCESS', datums: [
    {path: '/a', content: 'x', state: 'SKIPPED'},
    {path: '/b', content: 'y', state: 'SKIPPED'},
    {path: '/c', content: 'z', state: 'SUCCESS'},
  ]},
  {project: 'default', pipeline: 'up', id: cid(3), state: 'JOB_FAILURE', datums: [
    {path: '/a', content: 'x', state: 'SKIPPED'},
    {path: '/b', content: 'y2', state: 'FAILED', reason: 'datum failed: exit code 1'},
    {path: '/c', content: 'z', state: 'SKIPPED'},
    {path: '/d', content: 'w', state: 'RECOVERED', reason: 'err_cmd succeeded'},
  ]},
  {project: 'lab', pipeline: 'count', id: cid(4), state: 'JOB_SUCCESS', datums: [
    {path: '/only', content: 'o', state: 'SUCCESS'},
  ]},
  {project: 'lab', pipeline: 'count', id: cid(5), state: 'JOB_SUCCESS', datums: [
    {path: '/only', content: 'o', state: 'SKIPPED'},
  ]},
]
const INPUT: Record<string, string> = {up: 'words', count: 'numbers'}

const inputOf = (j: OldJob, d: OldDatum) => ({
  name: INPUT[j.pipeline]!, repo: INPUT[j.pipeline]!, repo_type: 'user', project: j.project, branch: 'master', commit: j.id,
  path: d.path, isDir: false, hash: sha(d.content), size: d.content.length,
  join_on: '', outer_join: false, group_by: '', reference: false, lazy: false, empty_files: false, s3: false,
})
const datumId = (j: OldJob, d: OldDatum) => sha(`${j.pipeline}:${d.path}`)
const datumHash = (j: OldJob, d: OldDatum) => sha(`salt:${j.pipeline}:${d.path}:${sha(d.content)}`)

/** The `.pach` of a schema-2 pach with the jobs above. */
function makeSchema2(pachDir: string): void {
  mkdirSync(pachDir, {recursive: true})
  writeConfig(pachDir, defaultConfig(T(0)))
  ensureStoreDirs(join(pachDir, 'objects'))
  const db = new Database(join(pachDir, 'pach.db'))
  db.pragma('journal_mode = WAL')
  db.transaction(() => migrate(db, 0, 2)).immediate()
  expect(db.pragma('user_version', {simple: true})).toBe(2)
  expect(db.prepare(`SELECT name FROM sqlite_master WHERE name = 'job_datums'`).get()).toBeUndefined()
  db.transaction(() => {
    const project = db.prepare('INSERT INTO projects(name, description, created) VALUES (?, ?, ?)')
    const repo = db.prepare('INSERT INTO repos(project, name, type, description, created) VALUES (?, ?, ?, ?, ?)')
    const commit = db.prepare('INSERT INTO commits(repo_id, id, seq, branch, parent, origin, started, finishing, finished, tree, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0)')
    const prov = db.prepare('INSERT INTO commit_provenance(repo_id, commit_id, prov_repo_id, prov_commit_id) VALUES (?, ?, ?, ?)')
    const set = db.prepare('INSERT OR IGNORE INTO commit_sets(id, created, modified) VALUES (?, ?, ?)')
    const branch = db.prepare('INSERT OR REPLACE INTO branches(repo_id, name, head, created) VALUES (?, ?, ?, ?)')
    const job = db.prepare(`INSERT INTO jobs(project, pipeline, id, seq, pipeline_version, state, reason, created, started, finished,
      data_processed, data_skipped, data_failed, data_recovered, data_total) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
    const datum = db.prepare('INSERT INTO datums(project, pipeline, job_id, datum_id, idx, hash, state, reason, inputs, stats, output) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)')
    project.run('default', '', T(0))
    project.run('lab', '', T(0))
    const repoIds = new Map<string, number>()
    for (const [p, name] of [['default', 'words'], ['default', 'up'], ['lab', 'numbers'], ['lab', 'count']] as const) {
      repoIds.set(`${p}/${name}`, Number(repo.run(p, name, 'user', '', T(1)).lastInsertRowid))
    }
    let seq = 0
    const last = new Map<string, string>()
    for (const [n, j] of JOBS.entries()) {
      const s = T(10 + n * 10)
      const inRepo = repoIds.get(`${j.project}/${INPUT[j.pipeline]}`)!
      const outRepo = repoIds.get(`${j.project}/${j.pipeline}`)!
      set.run(j.id, s, s)
      for (const [r, origin] of [[inRepo, 'USER'], [outRepo, 'AUTO']] as const) {
        commit.run(r, j.id, ++seq, 'master', last.get(`${r}`) ?? null, origin, s, s, s)
        branch.run(r, 'master', j.id, T(1))
        last.set(`${r}`, j.id)
      }
      prov.run(outRepo, j.id, inRepo, j.id)
      const count = (st: string) => j.datums.filter((d) => d.state === st).length
      job.run(j.project, j.pipeline, j.id, n + 1, j.state, j.state === 'JOB_FAILURE' ? 'datum failed' : '', s, s, s,
        count('SUCCESS') + count('FAILED') + count('RECOVERED'), count('SKIPPED'), count('FAILED'), count('RECOVERED'), j.datums.length)
      for (const [idx, d] of j.datums.entries()) {
        datum.run(j.project, j.pipeline, j.id, datumId(j, d), idx, datumHash(j, d), d.state, d.reason ?? '', JSON.stringify([inputOf(j, d)]), JSON.stringify({download_ms: idx, process_ms: 1, upload_ms: 0}))
      }
    }
  }).immediate()
  db.close()
}

const expected = (j: OldJob) =>
  j.datums
    .map((d) => ({id: datumId(j, d), state: d.state, reason: d.reason ?? '', data: [{path: d.path, commit: j.id, hash: sha(d.content), size: d.content.length}]}))
    .sort((a, b) => (a.id < b.id ? -1 : 1))

describe('a schema-2 project (datums as rows, skipped ones included) upgraded by the current code', () => {
  let dir: string
  let pach: Pach
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pach-compat-v2-'))
    makeSchema2(join(dir, '.pach'))
  })
  afterAll(() => {
    pach?.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it('migrate stops at the version asked for, and refuses one it does not know', () => {
    const db = new Database(':memory:')
    migrate(db, 0, 1)
    expect(db.pragma('user_version', {simple: true})).toBe(1)
    expect(() => migrate(db, 1, SCHEMA_VERSION + 1)).toThrow(/cannot go from schema 1/)
    expect(db.pragma('user_version', {simple: true})).toBe(1)
    migrate(db, 1)
    expect(db.pragma('user_version', {simple: true})).toBe(SCHEMA_VERSION)
    db.close()
  })

  it('refuses a read-only open (the upgrade needs a write) and changes nothing', () => {
    expect(() => openPach({pachDir: join(dir, '.pach'), readonly: true})).toThrow(/schema upgrade/)
    const db = new Database(join(dir, '.pach', 'pach.db'), {readonly: true})
    expect(db.pragma('user_version', {simple: true})).toBe(2)
    db.close()
  })

  it('migrates to the current schema on the first writing open', () => {
    pach = openPach({pachDir: join(dir, '.pach')})
    expect(pach.db.pragma('user_version', {simple: true})).toBe(SCHEMA_VERSION)
  })

  it('lists every job with its counts unchanged', () => {
    const jobs = pach.jobs.list({})
    expect(jobs.map((j) => `${j.job.pipeline.project.name}/${j.job.pipeline.name}@${j.job.id} ${j.state}`).sort()).toEqual(JOBS.map((j) => `${j.project}/${j.pipeline}@${j.id} ${j.state}`).sort())
    for (const j of JOBS) {
      expect(pach.jobs.inspect(j.project, j.pipeline, j.id)).toMatchObject({data_total: j.datums.length, data_skipped: j.datums.filter((d) => d.state === 'SKIPPED').length})
    }
  })

  it('gives each job the datum set its rows said: ids, states, reasons, inputs', () => {
    for (const j of JOBS) {
      const got = pach.jobs.listDatums(j.project, j.pipeline, j.id).map((d) => ({
        id: d.datum.id,
        state: d.state,
        reason: d.reason,
        data: d.data.map((f) => ({path: f.file.path, commit: f.file.commit.id, hash: f.hash, size: f.size_bytes})),
      }))
      expect(got, `${j.pipeline}@${j.id}`).toEqual(expected(j))
      for (const d of j.datums) expect(pach.jobs.inspectDatum(j.project, j.pipeline, j.id, datumId(j, d)).state).toBe(d.state)
    }
  })

  it('leaves a project fsck finds nothing wrong with', () => {
    const report = pach.fsck({readData: true})
    expect(report.problems).toEqual([])
    expect(report.ok).toBe(true)
  })

  it('lists the same datums through the CLI', {timeout: 60_000}, async () => {
    pach.close()
    for (const j of JOBS) {
      const r = await runPach(['list', 'datum', `${j.pipeline}@${j.id}`, '--project', j.project, '--json'], {cwd: dir})
      expect(r.exitCode, r.stderr).toBe(0)
      const got = r.json<{datum: {id: string}; state: string}[]>().map((d) => ({id: d.datum.id, state: d.state}))
      expect(got).toEqual(expected(j).map((d) => ({id: d.id, state: d.state})))
    }
  })
})
