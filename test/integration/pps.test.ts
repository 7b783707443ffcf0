/**
 * Core integration: pipelines and jobs over a real temp project, with the fake runner
 * (test/helpers/fake-runner.ts: user code = a JS function over the worker's /pfs directories).
 */
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it, onTestFinished} from 'vitest'
import {initPach, openPach, type Pach} from '../../src/core/pach.js'
import {parseCommit, parseFile} from '../../src/core/pfs/refs.js'
import {parseSpecs} from '../../src/core/pps/spec/index.js'
import {getDatumSet} from '../../src/core/db/datums.js'
import {FakeRunner, type FakeUserCode} from '../helpers/fake-runner.js'
import {tempPach} from '../helpers/project.js'

const project = () => tempPach('pach-int-').pach

const text = (s: string) => async function* () {
  yield Buffer.from(s)
}

async function put(pach: Pach, ref: string, files: Record<string, string>) {
  await pach.files.put('default', parseCommit(ref), Object.entries(files).map(([path, s]) => ({path, open: text(s)})))
}

async function del(pach: Pach, ref: string, path: string) {
  pach.files.delete('default', parseCommit(ref), [path])
}

function spec(obj: unknown) {
  return parseSpecs(JSON.stringify(obj), 'test.json').specs[0]!
}

function files(pach: Pach, ref: string): Record<string, string> {
  const out: Record<string, string> = {}
  const {commit} = pach.engine.resolve.commit(parseCommit(ref), 'default')
  for (const [p, e] of pach.ctx.trees.walk(commit.tree)) if (e.kind === 'file') out[p] = pach.files.readAll('default', parseFile(`${ref}:${p}`)).toString()
  return out
}

// copy every file of every input to /pfs/out with its content upper-cased
const upper: FakeUserCode = ({inputsDir: inDir, outDir: out}) => {
  const walk = (d: string, rel: string) => {
    for (const n of readdirSync(d, {withFileTypes: true})) {
      if (n.name === 'out' && rel === '') continue
      if (n.isDirectory()) walk(join(d, n.name), `${rel}/${n.name}`)
      else {
        const parts = `${rel}/${n.name}`.split('/').slice(2) // drop input name
        writeFileSync(join(out, parts.join('_')), readFileSync(join(d, n.name), 'utf8').toUpperCase())
      }
    }
  }
  walk(inDir, '')
  return 0
}

describe('pipelines (in-process runner)', () => {
  it('runs an initial job, then only the changed datums, and removes outputs of vanished datums', async () => {
    const pach = project()
    pach.repos.create('default', 'words')
    await put(pach, 'words@master', {'/a': 'x', '/b': 'y'})
    const calls: string[] = []
    const runner = new FakeRunner((io) => {
      calls.push(io.env.PACH_DATUM_ID!)
      return upper(io)
    })
    const {id} = pach.pipelines.put(spec({pipeline: {name: 'up'}, transform: {cmd: ['x']}, input: {pfs: {repo: 'words', glob: '/*'}}}), {update: false, reprocess: false, file: 't'})
    let jobs = await pach.jobs.runPending({runner: async () => runner})
    expect(jobs.map((j) => j.state)).toEqual(['JOB_SUCCESS'])
    expect(jobs[0]!.job.id).toBe(id)
    expect(files(pach, 'up@master')).toEqual({'/a': 'X', '/b': 'Y'})
    expect(calls).toHaveLength(2)

    await put(pach, 'words@master', {'/c': 'z'})
    jobs = await pach.jobs.runPending({runner: async () => runner})
    expect(jobs).toHaveLength(1)
    expect(jobs[0]).toMatchObject({state: 'JOB_SUCCESS', data_processed: 1, data_skipped: 2, data_total: 3})
    expect(files(pach, 'up@master')).toEqual({'/a': 'X', '/b': 'Y', '/c': 'Z'})
    // the job and the output commit share the input commit's id
    const inputHead = pach.commits.inspect('default', parseCommit('words@master')).commit.id
    expect(jobs[0]!.job.id).toBe(inputHead)
    expect(pach.commits.inspect('default', parseCommit('up@master')).commit.id).toBe(inputHead)

    await put(pach, 'words@master', {'/a': 'changed'})
    jobs = await pach.jobs.runPending({runner: async () => runner})
    expect(jobs[0]).toMatchObject({data_processed: 1, data_skipped: 2})
    expect(files(pach, 'up@master')['/a']).toBe('CHANGED')

    await del(pach, 'words@master', '/b')
    jobs = await pach.jobs.runPending({runner: async () => runner})
    expect(jobs[0]).toMatchObject({data_processed: 0, data_skipped: 2, data_total: 2})
    expect(files(pach, 'up@master')).toEqual({'/a': 'CHANGED', '/c': 'Z'})
    const datums = pach.jobs.listDatums('default', 'up', jobs[0]!.job.id)
    expect(datums.map((d) => d.state)).toEqual(['SKIPPED', 'SKIPPED'])
  })

  it("a running job's datum counts reach its row as it runs, so another process sees them (pach top, inspect job)", async () => {
    const {pach, dir} = tempPach('pach-int-')
    pach.repos.create('default', 'words')
    await put(pach, 'words@master', {'/a': 'a', '/b': 'b', '/c': 'c', '/d': 'd'})
    const other = openPach({pachDir: dir, readonly: true})
    onTestFinished(() => other.close())
    const seen: [string, number, number, number][] = []
    // one datum at a time, each longer than the 250 ms between two reports
    const runner = new FakeRunner(async (io) => {
      const j = other.jobs.list({project: 'default', pipeline: 'up', number: 1})[0]!
      seen.push([j.state, j.data_processed, j.data_skipped, j.data_total])
      await new Promise((r) => setTimeout(r, 300))
      return upper(io)
    })
    pach.pipelines.put(spec({pipeline: {name: 'up'}, transform: {cmd: ['x']}, parallelism_spec: {constant: 1}, input: {pfs: {repo: 'words', glob: '/*'}}}), {update: false, reprocess: false, file: 't'})
    const [job] = await pach.jobs.runPending({runner: async () => runner})
    expect(job).toMatchObject({state: 'JOB_SUCCESS', data_processed: 4, data_total: 4})
    expect(seen.map(([state, , , total]) => [state, total])).toEqual(Array(4).fill(['JOB_RUNNING', 4]))
    const counts = seen.map(([, processed]) => processed)
    expect(counts[0]).toBe(0)
    expect(counts).toEqual([...counts].sort((a, b) => a - b))
    expect(counts[3]).toBeGreaterThanOrEqual(2) // the datums done before the last one started, seen from the other connection
  })

  it('plans from the input diff exactly what a full plan gives (ids, hashes), over a seeded random edit sequence', async () => {
    const pach = project()
    pach.repos.create('default', 'tree')
    await put(pach, 'tree@master', {'/d0/a': '1', '/d0/b/c': '2', '/d1/a': '3', '/top': '4'})
    const ran: string[] = []
    const runner = new FakeRunner((io) => {
      ran.push(io.env.PACH_DATUM_ID!)
      return 0
    })
    const s = spec({pipeline: {name: 'deep'}, transform: {cmd: ['x']}, input: {pfs: {repo: 'tree', glob: '/*/*'}}})
    pach.pipelines.put(s, {update: false, reprocess: false, file: 't'})
    await pach.jobs.runPending({runner: async () => runner})
    let seed = 7
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    for (let step = 0; step < 30; step++) {
      const dir = `/d${rnd(3)}`
      const name = ['a', 'b', 'e'][rnd(3)]!
      const current = files(pach, 'tree@master')
      const kind = rnd(6) // 0 deletes, 1-2 write inside a datum dir, 3-4 a datum file, 5 above the glob
      const under = Object.keys(current).filter((p) => p.startsWith(`${dir}/${name}/`) || p === `${dir}/${name}`)
      if (kind === 0 && under.length) {
        for (const p of under) await del(pach, 'tree@master', p)
      } else if ((kind === 1 || kind === 2) && !under.some((p) => p === `${dir}/${name}`)) {
        await put(pach, 'tree@master', {[`${dir}/${name}/f${rnd(3)}`]: `v${step}`}) // inside a datum dir
      } else if ((kind === 3 || kind === 4) && !under.some((p) => p.startsWith(`${dir}/${name}/`))) {
        await put(pach, 'tree@master', {[`${dir}/${name}`]: `v${step}`}) // a datum file
      } else {
        await put(pach, 'tree@master', {'/top': `v${step}`}) // above the glob depth: no datum changes
      }
      ran.length = 0
      const [job] = await pach.jobs.runPending({runner: async () => runner})
      if (!job) continue
      expect(job.state).toBe('JOB_SUCCESS')
      const got = Object.fromEntries([...getDatumSet(pach.ctx.db, 'default', 'deep', job.job.id).values()].map((e) => [e.id, e.hash]))
      const {salt} = pach.pipelines.specAt('default', 'deep', 1)
      const want = Object.fromEntries(pach.jobs.previewDatums({...s, salt}).map((d) => [d.id, d.hash]))
      expect(got, `step ${step}`).toEqual(want)
      expect(job.data_processed, `step ${step}`).toBe(ran.length)
    }
  })

  it('fails the job when two datums write the same path, naming both datums', async () => {
    const pach = project()
    pach.repos.create('default', 'in')
    await put(pach, 'in@master', {'/a': '1', '/b': '2'})
    const runner = new FakeRunner(({outDir: out}) => {
      writeFileSync(join(out, 'same'), 'x')
      return 0
    })
    pach.pipelines.put(spec({pipeline: {name: 'dup'}, transform: {cmd: ['x']}, input: {pfs: {repo: 'in', glob: '/*'}}}), {update: false, reprocess: false, file: 't'})
    const [job] = await pach.jobs.runPending({runner: async () => runner})
    expect(job!.state).toBe('JOB_FAILURE')
    expect(job!.reason).toMatch(/^duplicate path output by different datums \(\/same from [0-9a-f]{64} and \/same from [0-9a-f]{64}\)$/)
    expect(pach.commits.inspect('default', parseCommit('dup@master')).error).toBe(job!.reason)
  })

  it('detects a duplicate output between a new datum and a skipped one (incremental merge)', async () => {
    const pach = project()
    pach.repos.create('default', 'in')
    await put(pach, 'in@master', {'/a': '1', '/b': '2', '/c': '3', '/d': '4'})
    const runner = new FakeRunner(({inputsDir: i, outDir: out}) => {
      const n = readdirSync(join(i, 'in'))[0]!
      writeFileSync(join(out, n === 'e' ? 'a' : n), n)
      return 0
    })
    pach.pipelines.put(spec({pipeline: {name: 'inc'}, transform: {cmd: ['x']}, input: {pfs: {repo: 'in', glob: '/*'}}}), {update: false, reprocess: false, file: 't'})
    await pach.jobs.runPending({runner: async () => runner})
    await put(pach, 'in@master', {'/e': '5'})
    const [job] = await pach.jobs.runPending({runner: async () => runner})
    expect(job!.state).toBe('JOB_FAILURE')
    const ids = pach.jobs.listDatums('default', 'inc', job!.job.id)
    expect(job!.reason).toMatch(/^duplicate path output by different datums \(\/a from [0-9a-f]{64} and \/a from [0-9a-f]{64}\)$/)
    expect(ids).toHaveLength(5)
    // fix: remove /e; the next job succeeds from the last good base
    await del(pach, 'in@master', '/e')
    const [ok] = await pach.jobs.runPending({runner: async () => runner})
    expect(ok).toMatchObject({state: 'JOB_SUCCESS', data_skipped: 4})
    expect(files(pach, 'inc@master')).toEqual({'/a': 'a', '/b': 'b', '/c': 'c', '/d': 'd'})
  })

  it('incremental merge: a new datum may write a file where a vanished datum left a directory, not where a kept one has one', async () => {
    const pach = project()
    pach.repos.create('default', 'in')
    await put(pach, 'in@master', {'/a': '1', '/k': '2'})
    // a → /x/y (a directory x), k → /k/z, b → file /x, c → file /k
    const runner = new FakeRunner(({inputsDir: i, outDir: out}) => {
      const n = readdirSync(join(i, 'in'))[0]!
      if (n === 'a' || n === 'k') {
        mkdirSync(join(out, n === 'a' ? 'x' : 'k'))
        writeFileSync(join(out, n === 'a' ? 'x' : 'k', n === 'a' ? 'y' : 'z'), n)
      } else writeFileSync(join(out, n === 'b' ? 'x' : 'k'), n)
      return 0
    })
    pach.pipelines.put(spec({pipeline: {name: 'm'}, transform: {cmd: ['x']}, input: {pfs: {repo: 'in', glob: '/*'}}}), {update: false, reprocess: false, file: 't'})
    await pach.jobs.runPending({runner: async () => runner})
    expect(files(pach, 'm@master')).toEqual({'/x/y': 'a', '/k/z': 'k'})
    // a goes, b comes in the same commit: /x is free again
    await pach.files.put('default', parseCommit('in@master'), [{path: '/b', open: text('3')}])
    pach.files.delete('default', parseCommit('in@master'), ['/a'])
    // (two commits: the put's job, then the delete's; run both)
    let jobs = await pach.jobs.runPending({runner: async () => runner})
    expect(jobs.at(-1)!.state).toBe('JOB_SUCCESS')
    expect(files(pach, 'm@master')).toEqual({'/x': 'b', '/k/z': 'k'})
    // c writes file /k while k (kept, skipped) still has the directory /k
    await put(pach, 'in@master', {'/c': '4'})
    jobs = await pach.jobs.runPending({runner: async () => runner})
    expect(jobs[0]!.state).toBe('JOB_FAILURE')
    expect(jobs[0]!.reason).toMatch(/collision|duplicate/)
  })

  it('retries datum_tries times, recovers with err_cmd, and never uses a failed job as a base', async () => {
    const pach = project()
    pach.repos.create('default', 'in')
    await put(pach, 'in@master', {'/ok': '1', '/bad': '2'})
    const attempts = new Map<string, number>()
    const runner = new FakeRunner(({inputsDir: i, outDir: out, cmd}) => {
      if (cmd[0] === 'recover') return 0
      const names = readdirSync(join(i, 'in'))
      const n = names[0]!
      attempts.set(n, (attempts.get(n) ?? 0) + 1)
      if (n === 'bad') return 1
      writeFileSync(join(out, n), 'done')
      return 0
    })
    pach.pipelines.put(spec({pipeline: {name: 'p'}, transform: {cmd: ['x']}, datum_tries: 2, input: {pfs: {repo: 'in', glob: '/*'}}}), {update: false, reprocess: false, file: 't'})
    let [job] = await pach.jobs.runPending({runner: async () => runner})
    expect(job).toMatchObject({state: 'JOB_FAILURE', data_failed: 1, data_processed: 1})
    expect(job!.reason).toMatch(/^datum [0-9a-f]{64} failed$/)
    expect(attempts.get('bad')).toBe(2)
    // a new input commit: the failed job is not a base, so both datums run again
    await put(pach, 'in@master', {'/new': '3'})
    ;[job] = await pach.jobs.runPending({runner: async () => runner})
    expect(job).toMatchObject({state: 'JOB_FAILURE', data_skipped: 0, data_total: 3})
    // err_cmd recovers the bad datum
    pach.pipelines.put(spec({pipeline: {name: 'p'}, transform: {cmd: ['x'], err_cmd: ['recover']}, datum_tries: 1, input: {pfs: {repo: 'in', glob: '/*'}}}), {update: true, reprocess: false, file: 't'})
    ;[job] = await pach.jobs.runPending({runner: async () => runner})
    expect(job).toMatchObject({state: 'JOB_SUCCESS', data_recovered: 1})
  })

  it('chains pipelines under one global id and keeps the salt on update', async () => {
    const pach = project()
    pach.repos.create('default', 'in')
    await put(pach, 'in@master', {'/a': 'a'})
    const runner = new FakeRunner(upper)
    pach.pipelines.put(spec({pipeline: {name: 'one'}, transform: {cmd: ['x']}, input: {pfs: {repo: 'in', glob: '/*'}}}), {update: false, reprocess: false, file: 't'})
    pach.pipelines.put(spec({pipeline: {name: 'two'}, transform: {cmd: ['x']}, input: {pfs: {repo: 'one', glob: '/*'}}}), {update: false, reprocess: false, file: 't'})
    await pach.jobs.runPending({runner: async () => runner})
    await put(pach, 'in@master', {'/b': 'b'})
    const jobs = await pach.jobs.runPending({runner: async () => runner})
    expect(jobs.map((j) => j.job.pipeline.name)).toEqual(['one', 'two'])
    const id = pach.commits.inspect('default', parseCommit('in@master')).commit.id
    expect(jobs.every((j) => j.job.id === id)).toBe(true)
    const set = pach.commits.listSet(id).commits.map((c) => `${c.commit.repo.name}.${c.commit.repo.type}`).sort()
    expect(set).toEqual(['in.user', 'one.meta', 'one.user', 'two.meta', 'two.user'])
    expect(files(pach, 'two@master')).toEqual({'/a': 'A', '/b': 'B'})
    // update without --reprocess: same salt, every datum skipped
    pach.pipelines.put(spec({pipeline: {name: 'one'}, transform: {cmd: ['y']}, input: {pfs: {repo: 'in', glob: '/*'}}}), {update: true, reprocess: false, file: 't'})
    const after = await pach.jobs.runPending({runner: async () => runner})
    expect(after.find((j) => j.job.pipeline.name === 'one')).toMatchObject({data_skipped: 2, data_processed: 0})
    pach.pipelines.put(spec({pipeline: {name: 'one'}, transform: {cmd: ['y']}, input: {pfs: {repo: 'in', glob: '/*'}}}), {update: true, reprocess: true, file: 't'})
    const again = await pach.jobs.runPending({runner: async () => runner})
    expect(again.find((j) => j.job.pipeline.name === 'one')).toMatchObject({data_skipped: 0, data_processed: 2})
  })

  it('refuses symlinks out of /pfs and keeps links into inputs', async () => {
    const pach = project()
    pach.repos.create('default', 'in')
    await put(pach, 'in@master', {'/a': 'A', '/evil': 'E'})
    const {symlinkSync} = await import('node:fs')
    const runner = new FakeRunner(({inputsDir: i, outDir: out}) => {
      const names = readdirSync(join(i, 'in'))
      if (names[0] === 'evil') symlinkSync('/etc/passwd', join(out, 'passwd'))
      else symlinkSync('/pfs/in/a', join(out, 'link'))
      return 0
    })
    pach.pipelines.put(spec({pipeline: {name: 'l'}, transform: {cmd: ['x']}, input: {pfs: {repo: 'in', glob: '/*'}}}), {update: false, reprocess: false, file: 't'})
    const [job] = await pach.jobs.runPending({runner: async () => runner})
    expect(job).toMatchObject({state: 'JOB_FAILURE', data_failed: 1, data_processed: 1})
    const failed = pach.jobs.listDatums('default', 'l', job!.job.id).find((d) => d.state === 'FAILED')!
    expect(failed.reason).toMatch(/outside \/pfs/)
  })

  it('a retry starts from clean inputs and an empty /pfs/out (even when user code could write to its inputs)', async () => {
    const pach = project()
    pach.repos.create('default', 'in')
    await put(pach, 'in@master', {'/d/a': 'A', '/d/b': 'B'})
    const seen: string[][] = []
    let attempt = 0
    const runner = new FakeRunner((io) => {
      const {inputsDir: i, outDir: out} = io
      attempt++
      const list = (d: string, rel = ''): string[] =>
        readdirSync(d, {withFileTypes: true}).flatMap((e) => (e.isDirectory() ? [`${rel}/${e.name}/`, ...list(join(d, e.name), `${rel}/${e.name}`)] : [`${rel}/${e.name}`]))
      seen.push([...list(join(i, 'in')), ...list(out).map((p) => `out:${p}`)])
      if (attempt > 1) return upper(io)
      // what a careless first attempt leaves behind: a stray input file, an edited input, an output
      writeFileSync(join(i, 'in', 'd', 'stray'), 'x')
      writeFileSync(join(i, 'in', 'd', 'a'), 'edited')
      writeFileSync(join(out, 'partial'), 'p')
      return 1
    })
    pach.pipelines.put(spec({pipeline: {name: 'r'}, transform: {cmd: ['x']}, input: {pfs: {repo: 'in', glob: '/d'}}, datum_tries: 2}), {update: false, reprocess: false, file: 't'})
    const [job] = await pach.jobs.runPending({runner: async () => runner})
    expect(job).toMatchObject({state: 'JOB_SUCCESS', data_processed: 1})
    expect(seen).toEqual([
      ['/d/', '/d/a', '/d/b'],
      ['/d/', '/d/a', '/d/b'],
    ])
    // the second attempt read the stored inputs, not the first one's edits, and its output alone is stored
    expect(files(pach, 'r@master')).toEqual({'/d_a': 'A', '/d_b': 'B'})
  })

  it('a damaged stored spec or job column is CORRUPT_OBJECT, not a crash', async () => {
    const pach = project()
    pach.repos.create('default', 'in')
    await put(pach, 'in@master', {'/a': 'A'})
    pach.pipelines.put(spec({pipeline: {name: 'p'}, transform: {cmd: ['x']}, input: {pfs: {repo: 'in', glob: '/*'}}}), {update: false, reprocess: false, file: 't'})
    const [job] = await pach.jobs.runPending({runner: async () => new FakeRunner(upper)})
    pach.db.prepare("UPDATE jobs SET stats = '{' WHERE id = ?").run(job!.job.id)
    expect(() => pach.jobs.inspect('default', 'p', job!.job.id)).toThrow(expect.objectContaining({code: 'CORRUPT_OBJECT', exitCode: 12}))
    pach.db.prepare("UPDATE pipelines SET spec = 'nope'").run()
    expect(() => pach.pipelines.inspect('default', 'p')).toThrow(expect.objectContaining({code: 'CORRUPT_OBJECT', message: 'stored pipeline p spec is damaged (not JSON)'}))
  })

  it('every way a job ends finishes its output and meta commits like any commit (commit set modified, error = reason)', async () => {
    let clock = '2026-01-01T00:00:00.000Z'
    const dir = mkdtempSync(join(tmpdir(), 'pach-int-'))
    const pach = initPach(dir, {now: () => clock})
    onTestFinished(() => {
      pach.close()
      rmSync(dir, {recursive: true, force: true})
    })
    const modified = (id: string) => pach.db.prepare('SELECT modified FROM commit_sets WHERE id = ?').pluck().get(id)
    const commitsOf = (name: string, id: string) =>
      (['user', 'meta'] as const).map((type) => {
        const repo = pach.engine.resolve.repo({name, type})
        const c = pach.engine.resolve.commitById(repo, id)
        return {finished: c.finished, error: c.error}
      })
    pach.repos.create('default', 'in')
    await put(pach, 'in@master', {'/a': 'A', '/b': 'B'})
    let fail = false
    const runner = new FakeRunner((io) => (fail && io.env.in?.endsWith('/b') ? 3 : upper(io)))
    pach.pipelines.put(spec({pipeline: {name: 'up'}, transform: {cmd: ['x']}, input: {pfs: {repo: 'in', glob: '/*'}}, datum_tries: 1}), {update: false, reprocess: false, file: 't'})
    pach.pipelines.put(spec({pipeline: {name: 'down'}, transform: {cmd: ['x']}, input: {pfs: {repo: 'up', glob: '/*'}}}), {update: false, reprocess: false, file: 't'})

    // success: both commits finished without error, at the job's finish time
    clock = '2026-01-01T00:00:01.000Z'
    const [ok, downOk] = await pach.jobs.runPending({runner: async () => runner})
    expect(downOk).toMatchObject({state: 'JOB_SUCCESS', job: {pipeline: {name: 'down'}}})
    expect(ok).toMatchObject({state: 'JOB_SUCCESS', finished: clock})
    expect(commitsOf('up', ok!.job.id)).toEqual([{finished: clock, error: ''}, {finished: clock, error: ''}])
    expect(modified(ok!.job.id)).toBe(clock)

    // killed (stop job) before it ran: both commits finished with the reason, the job never runs
    clock = '2026-01-01T00:00:02.000Z'
    await put(pach, 'in@master', {'/c': 'C'})
    const pendingUp = pach.jobs.pending(['up'])[0]!
    expect(pach.jobs.stop('default', 'up', pendingUp.id)).toMatchObject({state: 'JOB_KILLED', reason: 'job stopped'})
    expect(commitsOf('up', pendingUp.id)).toEqual([{finished: clock, error: 'job stopped'}, {finished: clock, error: 'job stopped'}])
    expect(modified(pendingUp.id)).toBe(clock)
    // a second stop changes nothing (a terminal job never changes)
    clock = '2026-01-01T00:00:03.000Z'
    expect(pach.jobs.stop('default', 'up', pendingUp.id)).toMatchObject({state: 'JOB_KILLED', finished: '2026-01-01T00:00:02.000Z'})

    // unrunnable: down's input commit (up's killed output) has an error
    const [unrunnable] = await pach.jobs.runPending({runner: async () => runner, pipelines: ['down']})
    expect(unrunnable).toMatchObject({state: 'JOB_UNRUNNABLE', reason: 'unrunnable because the following upstream pipelines failed: up'})
    expect(commitsOf('down', pendingUp.id).map((c) => c.error)).toEqual([unrunnable!.reason, unrunnable!.reason])
    expect(modified(pendingUp.id)).toBe(clock)

    // failure: a datum fails; the commits carry the job's reason
    clock = '2026-01-01T00:00:04.000Z'
    fail = true
    await put(pach, 'in@master', {'/b': 'B2'})
    const [failed] = await pach.jobs.runPending({runner: async () => runner, pipelines: ['up']})
    expect(failed).toMatchObject({state: 'JOB_FAILURE', data_failed: 1})
    expect(failed!.reason).toMatch(/^datum [0-9a-f]{64} failed$/)
    expect(commitsOf('up', failed!.job.id)).toEqual([{finished: clock, error: failed!.reason}, {finished: clock, error: failed!.reason}])
    expect(modified(failed!.job.id)).toBe(clock)
  })
})
