/**
 * Upgrading a schema-7 database (every datum set one blob in planning order; migrations 8 and
 * 10 turn it into the datum tree). The project is made by the current code, then put back in
 * schema 7's shape: every set rewritten whole in the legacy format (db/legacy-datum-sets.ts)
 * with SKIPPED for the datums a job kept, `job_datums` without the later columns and no
 * `datum_nodes`. Opening it must migrate to the current schema with every job's datums
 * unchanged, and the next job must edit its base's migrated tree (sharing its nodes).
 */
import Database from 'better-sqlite3'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {encodeDatumSet, encodeDatumSetDelta} from '../../src/core/db/legacy-datum-sets.js'
import {datumTree, getDatumSet, verifyDatumSets} from '../../src/core/db/datums.js'
import {SCHEMA_VERSION} from '../../src/core/db/migrations.js'
import {parseSpecs} from '../../src/core/pps/spec/index.js'
import {initPach, openPach, parseCommit} from '../../src/index.js'
import {FakeRunner} from '../helpers/fake-runner.js'

const text = (s: string) =>
  async function* () {
    yield Buffer.from(s)
  }

describe('a schema-7 project (every datum set whole) upgraded by the current code', () => {
  const root = mkdtempSync(join(tmpdir(), 'pach-compat-v7-'))
  afterAll(() => rmSync(root, {recursive: true, force: true}))
  const runner = new FakeRunner(() => 0)

  it.each(['schema 7: every set whole', 'schema 9: sets as chains of deltas'])("%s: reads every set as before, then stores the next job as an edit of its base's migrated tree", async (shape) => {
    const dir = mkdtempSync(join(root, 'p-'))
    let pach = initPach(dir)
    pach.repos.create('default', 'in')
    const put = (files: Record<string, string>) => pach.files.put('default', parseCommit('in@master'), Object.entries(files).map(([path, s]) => ({path, open: text(s)})))
    await put(Object.fromEntries(Array.from({length: 20}, (_, i) => [`/f${i}`, `v${i}`])))
    const spec = parseSpecs(JSON.stringify({pipeline: {name: 'p'}, transform: {cmd: ['x']}, input: {pfs: {repo: 'in', glob: '/*'}}}), 't.json').specs[0]!
    pach.pipelines.put(spec, {update: false, reprocess: false, file: 't'})
    await pach.jobs.runPending({runner: async () => runner})
    for (let i = 0; i < 3; i++) {
      await put({[`/f${i}`]: 'changed', [`/n${i}`]: 'new'})
      await pach.jobs.runPending({runner: async () => runner})
    }
    const ids = pach.jobs.list({project: 'default', pipeline: 'p'}).map((j) => j.job.id)
    const sets = new Map(ids.map((id) => [id, [...getDatumSet(pach.ctx.db, 'default', 'p', id).values()]]))
    const datums = new Map(ids.map((id) => [id, pach.jobs.listDatums('default', 'p', id)]))
    pach.close()

    // schema 7's shape: whole sets, no chain columns
    const db = new Database(join(dir, '.pach', 'pach.db'))
    const inputRows = db.prepare('SELECT * FROM datum_inputs ORDER BY job_id, datum_id').all()
    expect(inputRows.length).toBe((db.prepare('SELECT count(*) FROM datums').pluck().get() as number))
    db.exec(`DROP INDEX commits_by_global_seq; DROP TABLE datum_inputs; DROP TABLE s3_etags; DROP TABLE remote_content; DROP TABLE remote_branches; DROP TABLE remote_commits; DROP TABLE remotes; DROP TABLE job_datums; DROP TABLE datum_nodes;
      CREATE TABLE job_datums(project TEXT NOT NULL, pipeline TEXT NOT NULL, job_id TEXT NOT NULL, list BLOB NOT NULL, PRIMARY KEY(project, pipeline, job_id))`)
    // (planning order was path order: any order reads back the same by id)
    if (shape.startsWith('schema 7')) {
      for (const [id, s] of sets) db.prepare("INSERT INTO job_datums VALUES ('default', 'p', ?, ?)").run(id, encodeDatumSet(s))
      db.exec('PRAGMA user_version = 7')
    } else {
      // the oldest job a snapshot, each later one a delta against the one before it
      db.exec('ALTER TABLE job_datums ADD COLUMN base TEXT; ALTER TABLE job_datums ADD COLUMN depth INTEGER NOT NULL DEFAULT 0; ALTER TABLE job_datums ADD COLUMN chain INTEGER NOT NULL DEFAULT 0')
      const oldestFirst = [...ids].reverse()
      oldestFirst.forEach((id, i) => {
        const s = sets.get(id)!
        if (i === 0) return db.prepare("INSERT INTO job_datums(project, pipeline, job_id, list) VALUES ('default', 'p', ?, ?)").run(id, encodeDatumSet(s))
        const base = sets.get(oldestFirst[i - 1]!)!
        const delta = encodeDatumSetDelta(new Map(base.map((e) => [e.id, e])), s)
        db.prepare("INSERT INTO job_datums(project, pipeline, job_id, list, base, depth, chain) VALUES ('default', 'p', ?, ?, ?, ?, 0)").run(id, delta, oldestFirst[i - 1], i)
      })
      db.exec('PRAGMA user_version = 9')
    }
    db.close()

    pach = openPach({pachDir: join(dir, '.pach')})
    try {
      expect(pach.ctx.db.pragma('user_version', {simple: true})).toBe(SCHEMA_VERSION)
      // migration 14 indexes the inputs every datum row already had, as a job writes them
      expect(pach.ctx.db.prepare('SELECT * FROM datum_inputs ORDER BY job_id, datum_id').all()).toEqual(inputRows)
      for (const id of ids) {
        expect([...getDatumSet(pach.ctx.db, 'default', 'p', id).values()]).toEqual(sets.get(id))
        expect(pach.jobs.listDatums('default', 'p', id)).toEqual(datums.get(id))
      }
      await put({'/f7': 'after the upgrade'})
      const [next] = await pach.jobs.runPending({runner: async () => runner})
      expect(next).toMatchObject({state: 'JOB_SUCCESS', data_processed: 1, data_skipped: 22})
      // the base (newest before: ids are newest first) and the next job share all but a few nodes
      const nodes = (job: string) => new Set([...datumTree(pach.ctx.db).nodes(getDatumSet(pach.ctx.db, 'default', 'p', job).root)].map((h) => h.toString('hex')))
      const base = nodes(ids[0]!)
      expect([...nodes(next!.job.id)].filter((h) => !base.has(h)).length).toBeLessThanOrEqual(2)
      expect(verifyDatumSets(pach.ctx.db)).toEqual([])
    } finally {
      pach.close()
    }
  })
})
