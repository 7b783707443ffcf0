// A put's one-off commit is written once, in its final state (PfsEngine.commitWhole), where
// nothing is downstream of its branch. Its rows must be exactly those of a commit started,
// written and finished in three steps: the commit, its commit set, the branch (a new one too),
// and what `list commit` shows. Two projects, one per way, must hold the same rows once their
// ids and times are written as ranks (the stores read the clock and make ids too, a different
// number of times each way): the same values in the same places and the same order of times.
import {describe, expect, it} from 'vitest'
import {parseCommit} from '../../src/core/pfs/refs.js'
import {bufferSource} from '../../src/core/pfs/file-service.js'
import type {Pach} from '../../src/core/pach.js'
import {tempPach} from '../helpers/project.js'

/** A project whose clock ticks one second per reading and whose ids count up. */
function ticking(): Pach {
  let t = Date.parse('2026-01-01T00:00:00Z')
  let n = 0
  const {pach} = tempPach('pach-rows-', {now: () => new Date((t += 1000)).toISOString(), newId: () => (++n).toString(16).padStart(32, '0')})
  pach.repos.create('default', 'r')
  return pach
}

/** The rows, each id and time replaced by its rank among the dump's ids / times. */
function ranked(x: unknown): unknown {
  const json = JSON.stringify(x)
  const rank = (re: RegExp) => new Map([...new Set(json.match(re) ?? [])].sort().map((v, i) => [v, i] as const))
  const times = rank(/\d{4}-\d\d-\d\dT[\d:.]+Z/g)
  const ids = rank(/\b[0-9a-f]{32}\b/g)
  return JSON.parse(json.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, (t) => `time ${times.get(t)}`).replace(/\b[0-9a-f]{32}\b/g, (id) => `id ${ids.get(id)}`))
}

const rowsOf = (pach: Pach) => ({
  commits: pach.db.prepare('SELECT * FROM commits ORDER BY seq').all(),
  sets: pach.db.prepare('SELECT * FROM commit_sets ORDER BY id').all(),
  branches: pach.db.prepare('SELECT * FROM branches ORDER BY repo_id, name').all(),
})
const dump = (pach: Pach) => ({
  ...rowsOf(pach),
  inspect: pach.commits.list('default', parseCommit('r@master')).concat(pach.commits.list('default', parseCommit('r@dev'))),
})

describe("a put's one-off commit", () => {
  it('has the rows of a commit started, written into and finished: on an existing branch and on a new one', async () => {
    const whole = ticking()
    const steps = ticking()
    for (const [branch, path] of [
      ['master', '/a'],
      ['master', '/b'],
      ['dev', '/c'],
    ] as const) {
      const src = () => [bufferSource(path, Buffer.from(`content of ${path}`))]
      const r = await whole.files.put('default', parseCommit(`r@${branch}`), src())
      steps.commits.start('default', parseCommit(`r@${branch}`), {})
      await steps.files.put('default', parseCommit(`r@${branch}`), src())
      steps.commits.finish('default', parseCommit(`r@${branch}`), {})
      // the put's result is the commit as stored
      expect(r.commit).toEqual(whole.commits.inspect('default', parseCommit(`r@${r.commit.id}`)).commit)
    }
    const a = dump(whole)
    expect(a.commits).toHaveLength(3)
    expect(ranked(a)).toEqual(ranked(dump(steps)))
    // the one-off commits: started, (a new branch's creation,) finished; the set spans the same
    const [c1, , c3] = a.commits as {id: string; started: string; finishing: string; finished: string}[]
    expect(c1!.finishing).toBe(c1!.finished)
    expect(c3!.started < (a.branches as {name: string; created: string}[]).find((b) => b.name === 'dev')!.created).toBe(true)
    expect(a.sets).toContainEqual({id: c3!.id, created: c3!.started, modified: c3!.finished})
  })

  it('is refused with COMMIT_EXISTS when its id is taken in the repo, and changes nothing', async () => {
    const {pach} = tempPach('pach-rows-', {newId: () => 'ab'.repeat(16)})
    pach.repos.create('default', 'r')
    const put = (path: string) => pach.files.put('default', parseCommit('r@master'), [bufferSource(path, Buffer.from(path))])
    await put('/a')
    const before = rowsOf(pach)
    await expect(put('/b')).rejects.toMatchObject({code: 'COMMIT_EXISTS'})
    expect(rowsOf(pach)).toEqual(before)
  })
})
