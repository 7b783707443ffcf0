/**
 * Datum sets stored as deltas (db/datum-sets.ts, db/datums.ts) over real jobs with the fake
 * runner: an incremental job's stored set is exactly the set it planned (ids and hashes of a
 * full plan, states, sources, order), chains of deltas survive squashing and dropping the
 * commits of the jobs they go through, and verifyDatumSets finds a broken chain.
 */
import {describe, expect, it} from 'vitest'
import type {Pach} from '../../src/core/pach.js'
import {parseCommit, parseFile} from '../../src/core/pfs/refs.js'
import {parseSpecs} from '../../src/core/pps/spec/index.js'
import {datumSetStorage, getDatumSet, listDatumRows, verifyDatumSets} from '../../src/core/db/datums.js'
import type {DatumSetEntry} from '../../src/core/db/datum-sets.js'
import {FakeRunner} from '../helpers/fake-runner.js'
import {tempPach, text} from '../helpers/project.js'

const project = () => tempPach('pach-sets-').pach
const put = (pach: Pach, files: Record<string, string>) => pach.files.put('default', parseCommit('in@master'), Object.entries(files).map(([path, s]) => ({path, open: text(s)})))
const set = (pach: Pach, job: string) => [...getDatumSet(pach.ctx.db, 'default', 'p', job).values()]
const allJobs = (pach: Pach) => pach.jobs.list({project: 'default', pipeline: 'p'}).map((j) => j.job.id)

async function pipeline(pach: Pach, glob: string, files: Record<string, string>) {
  pach.repos.create('default', 'in')
  await put(pach, files)
  const ran: string[] = []
  const runner = new FakeRunner((io) => {
    ran.push(io.env.PACH_DATUM_ID!)
    return 0
  })
  const s = parseSpecs(JSON.stringify({pipeline: {name: 'p'}, transform: {cmd: ['x']}, input: {pfs: {repo: 'in', glob}}}), 't.json').specs[0]!
  pach.pipelines.put(s, {update: false, reprocess: false, file: 't'})
  const run = async () => {
    ran.length = 0
    return (await pach.jobs.runPending({runner: async () => runner}))[0]
  }
  const [first] = await pach.jobs.runPending({runner: async () => runner})
  const preview = () => pach.jobs.previewDatums({...s, salt: pach.pipelines.specAt('default', 'p', 1).salt})
  return {run, ran, first: first!, preview}
}

describe('datum sets as deltas', () => {
  it("store each incremental job's set so that it reads back as planned: a full plan's ids and hashes, states, sources and order", async () => {
    const pach = project()
    const files: Record<string, string> = {}
    for (let i = 0; i < 40; i++) files[`/f${String(i).padStart(2, '0')}`] = `v${i}`
    const {run, ran, first, preview} = await pipeline(pach, '/*', files)
    // the first job planned in full: its set is the full plan, in its order, all run by it
    expect(set(pach, first.job.id)).toEqual(preview().map((d): DatumSetEntry => ({id: d.id, hash: d.hash, state: 'SUCCESS', source: first.job.id})))
    expect(datumSetStorage(pach.ctx.db, 'default', 'p', first.job.id)?.base).toBeNull()

    const lastRan = new Map(set(pach, first.job.id).map((e) => [e.id, first.job.id]))
    let base = first.job.id
    let seed = 11
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    const kinds = new Set<string>()
    for (let step = 0; step < 40; step++) {
      const k = rnd(4)
      const name = `/f${String(rnd(50)).padStart(2, '0')}`
      if (k === 0 && files[name] !== undefined) {
        delete files[name]
        pach.files.delete('default', parseCommit('in@master'), [name])
      } else {
        files[name] = `s${step}`
        await put(pach, {[name]: files[name]!})
      }
      const job = await run()
      expect(job?.state, `step ${step}`).toBe('JOB_SUCCESS')
      const id = job!.job.id
      const got = set(pach, id)
      // ids and hashes: a full plan's
      expect(new Map(got.map((e) => [e.id, e.hash])), `step ${step}`).toEqual(new Map(preview().map((d) => [d.id, d.hash])))
      // states and sources: SUCCESS by this job for what it ran, else SKIPPED from the job that last ran it
      for (const d of ran) lastRan.set(d, id)
      expect(
        got.map((e) => [e.id, e.state, e.source]),
        `step ${step}`,
      ).toEqual(got.map((e) => [e.id, ran.includes(e.id) ? 'SUCCESS' : 'SKIPPED', lastRan.get(e.id)]))
      // order: the base's order of what is still there, then the new datums, each where this job's row puts it
      const before = set(pach, base).map((e) => e.id)
      const ids = got.map((e) => e.id)
      const kept = before.filter((d) => ids.includes(d))
      expect(ids.slice(0, kept.length), `step ${step}`).toEqual(kept)
      for (const r of listDatumRows(pach.ctx.db, 'default', 'p', id)) {
        expect(ids.indexOf(r.datum_id), `step ${step}`).toBe(r.idx)
        // and the meta commit's record of the datum says the same place
        const meta = JSON.parse(pach.files.readAll('default', parseFile(`p.meta@${id}:/meta/${r.datum_id}/meta`)).toString()) as {index: number}
        expect(meta.index, `step ${step}`).toBe(r.idx)
      }
      kinds.add(datumSetStorage(pach.ctx.db, 'default', 'p', id)!.base === null ? 'snapshot' : 'delta')
      base = id
    }
    expect([...kinds].sort()).toEqual(['delta', 'snapshot']) // the chain rules made both
    expect(verifyDatumSets(pach.ctx.db)).toEqual([])
  })

  it('store a 1-of-N job as a delta of O(change) bytes, and a long chain ends in a new snapshot', async () => {
    const pach = project()
    const files: Record<string, string> = {}
    for (let i = 0; i < 100; i++) files[`/f${i}`] = `v${i}`
    const {run} = await pipeline(pach, '/*', files)
    const stored: {base: string | null; depth: number; chain: number; bytes: number}[] = []
    for (let step = 0; step < 60; step++) {
      await put(pach, {[`/f${step}`]: `s${step}`})
      const job = await run()
      stored.push(datumSetStorage(pach.ctx.db, 'default', 'p', job!.job.id)!)
    }
    const deltas = stored.filter((s) => s.base !== null)
    expect(Math.max(...deltas.map((s) => s.bytes))).toBeLessThan(100) // a snapshot is 100 × 81 bytes
    // chain bytes stay within half a snapshot: after ~45 deltas a snapshot comes back
    expect(stored.filter((s) => s.base === null).length).toBeGreaterThanOrEqual(1)
    expect(Math.max(...stored.map((s) => s.chain))).toBeLessThanOrEqual((100 * 81) / 2)
    expect(Math.max(...stored.map((s) => s.depth))).toBeGreaterThan(30)
    expect(verifyDatumSets(pach.ctx.db)).toEqual([])
  })

  it('keep every chain readable when the commits of its jobs are squashed or dropped, and after them', async () => {
    const pach = project()
    const files: Record<string, string> = {}
    for (let i = 0; i < 30; i++) files[`/f${i}`] = `v${i}`
    const {run, preview} = await pipeline(pach, '/*', files)
    const ids: string[] = []
    for (let step = 0; step < 6; step++) {
      await put(pach, {[`/f${step}`]: `s${step}`, [`/new${step}`]: 'n'})
      ids.push((await run())!.job.id)
    }
    expect(ids.slice(1).every((id) => datumSetStorage(pach.ctx.db, 'default', 'p', id)!.base !== null)).toBe(true)
    const sets = new Map(allJobs(pach).map((id) => [id, set(pach, id)]))
    const listed = new Map(allJobs(pach).map((id) => [id, pach.jobs.listDatums('default', 'p', id)]))

    // squash two commit sets in the middle of the chain (input, output and meta commits go), drop the newest
    pach.commits.squash('default', ids[1]!, () => false)
    pach.commits.squash('default', ids[3]!, () => false)
    pach.commits.drop('default', ids[5]!)
    for (const [id, s] of sets) expect(set(pach, id), id).toEqual(s)
    for (const [id, l] of listed) expect(pach.jobs.listDatums('default', 'p', id).map((d) => [d.datum.id, d.state]), id).toEqual(l.map((d) => [d.datum.id, d.state]))
    expect(verifyDatumSets(pach.ctx.db)).toEqual([])

    // the next job plans from what is left (its base is an older job now) and is stored as a delta too
    await put(pach, {'/f0': 'again'})
    const next = (await run())!
    // (dropping the newest commit set took its input commit too: /f5 and /new5 are as before it)
    expect(next).toMatchObject({state: 'JOB_SUCCESS', data_processed: 1, data_total: 35})
    expect(datumSetStorage(pach.ctx.db, 'default', 'p', next.job.id)!.base).toBe(ids[4])
    expect(new Map(set(pach, next.job.id).map((e) => [e.id, e.hash]))).toEqual(new Map(preview().map((d) => [d.id, d.hash])))
    expect(verifyDatumSets(pach.ctx.db)).toEqual([])

    // deleting the pipeline takes every set of it at once: nothing dangles
    pach.pipelines.delete('default', 'p', {})
    expect(pach.ctx.db.prepare('SELECT COUNT(*) FROM job_datums').pluck().get()).toBe(0)
    expect(verifyDatumSets(pach.ctx.db)).toEqual([])
  })

  it('find a delta whose base is gone, or that does not apply, and refuse to read it as CORRUPT_OBJECT', async () => {
    const pach = project()
    const files: Record<string, string> = {}
    for (let i = 0; i < 30; i++) files[`/f${i}`] = `v${i}`
    const {run, first} = await pipeline(pach, '/*', files)
    await put(pach, {'/f1': 'x'})
    const second = (await run())!.job.id
    await put(pach, {'/f2': 'x'})
    const third = (await run())!.job.id
    expect(datumSetStorage(pach.ctx.db, 'default', 'p', third)!.base).toBe(second)
    const db = pach.ctx.db
    db.prepare('UPDATE job_datums SET list = ? WHERE job_id = ?').run(Buffer.from([1, 30, 0, 1, ...Buffer.alloc(32, 0xab), 0, 0]), second)
    expect(verifyDatumSets(db).map((p) => p.job)).toEqual([second, third])
    expect(() => set(pach, third)).toThrow(expect.objectContaining({code: 'CORRUPT_OBJECT'}))
    db.prepare('DELETE FROM job_datums WHERE job_id = ?').run(first.job.id)
    expect(verifyDatumSets(db)).toEqual(expect.arrayContaining([expect.objectContaining({job: second, problem: expect.stringMatching(/which has no datum set/)})]))
    expect(() => set(pach, second)).toThrow(/which has no datum set/)
    // fsck reports them
    const report = pach.fsck()
    expect(report.ok).toBe(false)
    expect(report.problems.filter((p) => p.kind === 'damaged_datum_set').map((p) => p.job)).toEqual(expect.arrayContaining([second, third]))
  })
})
