/**
 * Core integration: path history (pfs/path-history.ts) through its two services —
 * `files.history` (a path's versions, each with the commit that introduced it) and
 * `commits.find` (the commits that changed a path) — where the e2e suite cannot reach:
 * an errored commit in the ancestry (its content is not part of the history), the search
 * timeout, and a start commit that is still open.
 */
import {afterEach, describe, expect, it, vi} from 'vitest'
import type {Pach} from '../../src/core/pach.js'
import {parseCommit, parseFile} from '../../src/core/pfs/refs.js'
import {tempPach, text} from '../helpers/project.js'

const put = async (pach: Pach, path: string, s: string) => (await pach.files.put('default', parseCommit('r@master'), [{path, open: text(s)}])).commit.id

/** c1 writes /f = v1; c2 writes /f = v2 and finishes with an error; c3 (from c1's content) writes /g; c4 writes /f = v3. */
async function withErroredCommit(pach: Pach) {
  pach.repos.create('default', 'r')
  const c1 = await put(pach, '/f', 'v1')
  pach.commits.start('default', parseCommit('r@master'), {})
  const c2 = await put(pach, '/f', 'v2')
  const engine = pach.commits.engine
  const {repo, commit} = engine.resolve.commit(parseCommit(`r@${c2}`), 'default')
  engine.finishCommit(repo, commit, {error: 'the job failed'})
  const c3 = await put(pach, '/g', 'g')
  const c4 = await put(pach, '/f', 'v3')
  return {c1, c2, c3, c4}
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('path history', () => {
  it('passes over an errored commit: its write is neither a version nor a change', async () => {
    const {pach} = tempPach()
    const {c1, c2, c3, c4} = await withErroredCommit(pach)
    expect(pach.files.readAll('default', parseFile(`r@${c3}:/f`)).toString()).toBe('v1')

    const versions = pach.files.history('default', parseFile('r@master:/f'), -1)
    expect(versions.map((v) => v.file.commit.id)).toEqual([c4, c1])
    expect(pach.files.history('default', parseFile('r@master:/f'), 1).map((v) => v.file.commit.id)).toEqual([c4])
    // read at the errored commit itself, its own content is the newest version
    expect(pach.files.history('default', parseFile(`r@${c2}:/f`), -1).map((v) => v.file.commit.id)).toEqual([c2, c1])

    const found = await pach.commits.find('default', parseFile('r@master:/f'))
    expect(found.found_commits.map((c) => c.id)).toEqual([c4, c1])
    expect(found.commits_searched).toBe(4)
    expect(found.last_searched_commit.id).toBe(c1)
    expect((await pach.commits.find('default', parseFile('r@master:/g'))).found_commits.map((c) => c.id)).toEqual([c3])
  })

  it('find stops at the timeout and says where; an open start commit is COMMIT_NOT_FINISHED', async () => {
    const {pach} = tempPach()
    pach.repos.create('default', 'r')
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.unshift(await put(pach, '/f', String(i)))
    // each reading of the clock is a second later: the deadline passes after the second commit
    let t = 1_000_000
    vi.spyOn(Date, 'now').mockImplementation(() => (t += 1000))
    const r = await pach.commits.find('default', parseFile('r@master:/f'), {timeoutMs: 1500})
    vi.restoreAllMocks()
    expect(r.found_commits.map((c) => c.id)).toEqual(ids.slice(0, 2))
    expect(r.last_searched_commit.id).toBe(ids[1])
    expect(r.commits_searched).toBe(2)
    expect((await pach.commits.find('default', parseFile('r@master:/f'), {limit: 3})).found_commits.map((c) => c.id)).toEqual(ids.slice(0, 3))

    pach.commits.start('default', parseCommit('r@master'), {})
    await expect(pach.commits.find('default', parseFile('r@master:/f'))).rejects.toMatchObject({code: 'COMMIT_NOT_FINISHED', exitCode: 5})
  })
})
