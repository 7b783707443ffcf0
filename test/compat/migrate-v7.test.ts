/**
 * Upgrading a schema-7 database (before migration 8 let a job's datum set be a delta against
 * its base job's). The project is made by the current code, then put back in schema 7's
 * shape: every set rewritten whole (schema 7 stored only snapshots) and `job_datums` without
 * the `base`, `depth` and `chain` columns. Opening it must migrate to the current schema with
 * every job's datums unchanged, and the next job must store its set as a delta against a
 * migrated snapshot.
 */
import Database from 'better-sqlite3'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {encodeDatumSet} from '../../src/core/db/datum-sets.js'
import {datumSetStorage, getDatumSet, verifyDatumSets} from '../../src/core/db/datums.js'
import {SCHEMA_VERSION} from '../../src/core/db/migrations.js'
import {parseSpecs} from '../../src/core/pps/spec/index.js'
import {initPach, openPach, parseCommit} from '../../src/index.js'
import {FakeRunner} from '../helpers/fake-runner.js'

const text = (s: string) =>
  async function* () {
    yield Buffer.from(s)
  }

describe('a schema-7 project (every datum set whole) upgraded by the current code', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pach-compat-v7-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))
  const runner = new FakeRunner(() => 0)

  it('reads every set as before, then stores the next job as a delta against a migrated snapshot', async () => {
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
    for (const [id, s] of sets) db.prepare('UPDATE job_datums SET list = ?, base = NULL WHERE job_id = ?').run(encodeDatumSet(s), id)
    db.exec('ALTER TABLE job_datums DROP COLUMN base; ALTER TABLE job_datums DROP COLUMN depth; ALTER TABLE job_datums DROP COLUMN chain; PRAGMA user_version = 7')
    db.close()

    pach = openPach({pachDir: join(dir, '.pach')})
    try {
      expect(pach.ctx.db.pragma('user_version', {simple: true})).toBe(SCHEMA_VERSION)
      for (const id of ids) {
        expect(datumSetStorage(pach.ctx.db, 'default', 'p', id)).toMatchObject({base: null, depth: 0, chain: 0})
        expect([...getDatumSet(pach.ctx.db, 'default', 'p', id).values()]).toEqual(sets.get(id))
        expect(pach.jobs.listDatums('default', 'p', id)).toEqual(datums.get(id))
      }
      await put({'/f7': 'after the upgrade'})
      const [next] = await pach.jobs.runPending({runner: async () => runner})
      expect(next).toMatchObject({state: 'JOB_SUCCESS', data_processed: 1, data_skipped: 22})
      expect(datumSetStorage(pach.ctx.db, 'default', 'p', next!.job.id)).toMatchObject({base: ids[0], depth: 1}) // ids are newest first
      expect(verifyDatumSets(pach.ctx.db)).toEqual([])
    } finally {
      pach.close()
    }
  })
})
