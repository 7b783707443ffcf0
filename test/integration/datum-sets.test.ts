/**
 * Datum sets as trees keyed by datum id (db/datum-tree.ts, db/datums.ts) over real jobs with
 * the fake runner: an incremental job's stored set is exactly the set it planned (ids and
 * hashes of a full plan, states, sources, id order, the meta record's index), a 1-of-N job
 * writes a few nodes and shares the rest, sets survive squashing and dropping the commits of
 * their jobs, gc keeps exactly the nodes some set reaches, and damage is found.
 */
import {describe, expect, it} from 'vitest'
import type {Pach} from '../../src/core/pach.js'
import {parseCommit, parseFile} from '../../src/core/pfs/refs.js'
import {parseSpecs} from '../../src/core/pps/spec/index.js'
import {datumSetStorage, datumTree, getDatumSet, verifyDatumSets} from '../../src/core/db/datums.js'
import {FakeRunner} from '../helpers/fake-runner.js'
import {tempPach, text} from '../helpers/project.js'

const project = () => tempPach('pach-sets-').pach
const put = (pach: Pach, files: Record<string, string>) => pach.files.put('default', parseCommit('in@master'), Object.entries(files).map(([path, s]) => ({path, open: text(s)})))
const set = (pach: Pach, job: string) => [...getDatumSet(pach.ctx.db, 'default', 'p', job).values()]
const allJobs = (pach: Pach) => pach.jobs.list({project: 'default', pipeline: 'p'}).map((j) => j.job.id)
const nodeCount = (pach: Pach) => pach.ctx.db.prepare('SELECT COUNT(*) FROM datum_nodes').pluck().get() as number
/** Hex keys of a job's set's nodes. */
const nodesOf = (pach: Pach, job: string) => new Set([...datumTree(pach.ctx.db).nodes(getDatumSet(pach.ctx.db, 'default', 'p', job).root)].map((h) => h.toString('hex')))

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

const byId = <T extends {id: string}>(xs: T[]) => [...xs].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))

describe('datum sets as trees', () => {
  it("store each incremental job's set so that it reads back as planned: a full plan's ids and hashes, states, sources, id order and index", async () => {
    const pach = project()
    const files: Record<string, string> = {}
    for (let i = 0; i < 40; i++) files[`/f${String(i).padStart(2, '0')}`] = `v${i}`
    const {run, ran, first, preview} = await pipeline(pach, '/*', files)
    // the first job planned in full: its set is the full plan, in id order, all run by it
    expect(set(pach, first.job.id)).toEqual(byId(preview()).map((d) => ({id: d.id, hash: d.hash, state: 'SUCCESS', source: first.job.id})))

    const lastRan = new Map(set(pach, first.job.id).map((e) => [e.id, first.job.id]))
    let seed = 11
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
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
      // ids and hashes: a full plan's, in id order
      expect(got.map((e) => [e.id, e.hash]), `step ${step}`).toEqual(byId(preview()).map((d) => [d.id, d.hash]))
      expect(job!.data_total).toBe(got.length)
      // states and sources: SUCCESS by this job for what it ran, else SKIPPED from the job that last ran it
      for (const d of ran) lastRan.set(d, id)
      expect(
        got.map((e) => [e.id, e.state, e.source]),
        `step ${step}`,
      ).toEqual(got.map((e) => [e.id, ran.includes(e.id) ? 'SUCCESS' : 'SKIPPED', lastRan.get(e.id)]))
      // the meta commit's record of each datum it ran gives its place in the set (list datum's order)
      const ids = got.map((e) => e.id)
      for (const d of ran) {
        const meta = JSON.parse(pach.files.readAll('default', parseFile(`p.meta@${id}:/meta/${d}/meta`)).toString()) as {index: number}
        expect(meta.index, `step ${step}`).toBe(ids.indexOf(d))
      }
    }
    expect(verifyDatumSets(pach.ctx.db)).toEqual([])
  })

  it('store a 1-of-N job in a few new nodes, sharing the rest with its base', async () => {
    const pach = project()
    const files: Record<string, string> = {}
    for (let i = 0; i < 3000; i++) files[`/f${i}`] = `v${i}`
    const {run, first} = await pipeline(pach, '/*', files)
    const all = nodesOf(pach, first.job.id).size
    expect(all).toBeGreaterThan(20) // ~3000/64 leaves and their index
    let prev = first.job.id
    for (let step = 0; step < 10; step++) {
      const before = nodeCount(pach)
      await put(pach, {[`/f${step * 7}`]: `s${step}`})
      const job = (await run())!
      expect(job).toMatchObject({state: 'JOB_SUCCESS', data_processed: 1, data_skipped: 2999})
      const added = nodeCount(pach) - before
      expect(added, `step ${step}`).toBeGreaterThanOrEqual(1)
      expect(added, `step ${step}`).toBeLessThanOrEqual(3) // a leaf and the path above it
      const storage = datumSetStorage(pach.ctx.db, 'default', 'p', job.job.id)!
      expect(storage.size).toBe(3000)
      const mine = nodesOf(pach, job.job.id)
      const theirs = nodesOf(pach, prev)
      expect([...mine].filter((h) => !theirs.has(h)).length).toBe(added)
      prev = job.job.id
    }
    expect(verifyDatumSets(pach.ctx.db)).toEqual([])
  })

  it('keep every set readable when the commits of its jobs are squashed or dropped; gc keeps exactly the nodes sets reach', async () => {
    const pach = project()
    const files: Record<string, string> = {}
    for (let i = 0; i < 300; i++) files[`/f${i}`] = `v${i}`
    const {run, preview} = await pipeline(pach, '/*', files)
    const ids: string[] = []
    for (let step = 0; step < 6; step++) {
      await put(pach, {[`/f${step}`]: `s${step}`, [`/new${step}`]: 'n'})
      ids.push((await run())!.job.id)
    }
    const sets = new Map(allJobs(pach).map((id) => [id, set(pach, id)]))
    const listed = new Map(allJobs(pach).map((id) => [id, pach.jobs.listDatums('default', 'p', id)]))

    // squash two commit sets in the middle of the history (input, output and meta commits go), drop the newest
    pach.commits.squash('default', ids[1]!, () => false)
    pach.commits.squash('default', ids[3]!, () => false)
    pach.commits.drop('default', ids[5]!)
    await pach.gc()
    for (const [id, s] of sets) expect(set(pach, id), id).toEqual(s)
    for (const [id, l] of listed) expect(pach.jobs.listDatums('default', 'p', id).map((d) => [d.datum.id, d.state]), id).toEqual(l.map((d) => [d.datum.id, d.state]))
    expect(verifyDatumSets(pach.ctx.db)).toEqual([])

    // the next job plans from what is left (its base is an older job now)
    await put(pach, {'/f0': 'again'})
    const next = (await run())!
    // (dropping the newest commit set took its input commit too: /f5 and /new5 are as before it)
    expect(next).toMatchObject({state: 'JOB_SUCCESS', data_processed: 1, data_total: 305})
    expect(set(pach, next.job.id).map((e) => [e.id, e.hash])).toEqual(byId(preview()).map((d) => [d.id, d.hash]))
    expect(verifyDatumSets(pach.ctx.db)).toEqual([])

    // deleting the pipeline takes every set of it; gc then removes every node
    pach.pipelines.delete('default', 'p', {})
    expect(pach.ctx.db.prepare('SELECT COUNT(*) FROM job_datums').pluck().get()).toBe(0)
    expect(nodeCount(pach)).toBeGreaterThan(0)
    await pach.gc()
    expect(nodeCount(pach)).toBe(0)
  })

  it('find a damaged or missing node, and refuse to read the set as CORRUPT_OBJECT; fsck reports it', async () => {
    const pach = project()
    const files: Record<string, string> = {}
    for (let i = 0; i < 300; i++) files[`/f${i}`] = `v${i}`
    const {run, first} = await pipeline(pach, '/*', files)
    await put(pach, {'/f1': 'x'})
    const second = (await run())!.job.id
    const db = pach.ctx.db
    // a node only the second set has (the leaf that holds /f1's datum)
    const own = [...nodesOf(pach, second)].filter((h) => !nodesOf(pach, first.job.id).has(h))
    expect(own.length).toBeGreaterThan(0)
    const leaf = Buffer.from(own.at(-1)!, 'hex')
    db.prepare('UPDATE datum_nodes SET data = substr(data, 1, length(data) - 5) WHERE hash = ?').run(leaf)
    datumTree(db).forget()
    expect(verifyDatumSets(db).map((p) => p.job)).toEqual([second])
    expect(() => set(pach, second)).toThrow(expect.objectContaining({code: 'CORRUPT_OBJECT'}))
    expect(set(pach, first.job.id)).toHaveLength(300) // the other set does not share that node
    db.prepare('DELETE FROM datum_nodes WHERE hash = ?').run(leaf)
    datumTree(db).forget()
    expect(verifyDatumSets(db)).toEqual([expect.objectContaining({job: second, problem: expect.stringMatching(/is missing/)})])
    const report = pach.fsck()
    expect(report.ok).toBe(false)
    expect(report.problems.filter((p) => p.kind === 'damaged_datum_set').map((p) => p.job)).toEqual([second])
  })
})
