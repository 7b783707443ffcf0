// Small puts of concurrent callers commit in groups (FileService.putSmall): one pack written
// and synced for all, one transaction with a savepoint each. Each put is still its own commit
// in arrival order (or joins the open head), a refused put fails alone, and the store is
// exactly what one-at-a-time puts would leave.
import {describe, expect, it} from 'vitest'
import {parseCommit, parseFile} from '../../src/core/pfs/refs.js'
import {bufferSource} from '../../src/core/pfs/file-service.js'
import {tempPach} from '../helpers/project.js'

const small = (path: string, s: string) => bufferSource(path, Buffer.from(s))

describe('group commit of small puts', () => {
  it('concurrent small puts: one commit each, in arrival order, all packed together', async () => {
    const {pach} = tempPach()
    pach.repos.create('default', 'r')
    const packsBefore = pach.db.prepare('SELECT COUNT(*) FROM packs').pluck().get() as number
    const results = await Promise.all(Array.from({length: 40}, (_, i) => pach.files.put('default', parseCommit('r@master'), [small(`/f${i}`, `file ${i}`)])))
    const ids = results.map((r) => r.commit.id)
    expect(new Set(ids).size).toBe(40)
    // the branch's history is the arrival order: newest first
    const history = pach.commits.list('default', parseCommit('r@master')).map((c) => c.commit.id)
    expect(history.slice(0, 40)).toEqual([...ids].reverse())
    for (let i = 0; i < 40; i++) {
      expect(pach.files.readAll('default', parseFile(`r@${ids[i]}:/f${i}`)).toString()).toBe(`file ${i}`)
      // each commit holds the files of the puts before it, as one at a time would
      expect(pach.files.glob('default', parseCommit(`r@${ids[i]}`), '/*').length).toBe(i + 1)
    }
    // grouped: far fewer packs than puts
    const packs = (pach.db.prepare('SELECT COUNT(*) FROM packs').pluck().get() as number) - packsBefore
    expect(packs).toBeLessThan(10)
    expect(results.reduce((n, r) => n + r.stored_bytes, 0)).toBe(results.reduce((n, r) => n + r.bytes, 0))
    // the groups' write lease ended with the last group's transaction
    expect(pach.db.prepare('SELECT COUNT(*) FROM leases').pluck().get()).toBe(0)
    expect(pach.fsck({readData: true}).problems).toEqual([])
  })

  it("inTx runs in the put's own transaction: it sees the commit, and its throw abandons that put alone", async () => {
    const {pach} = tempPach()
    pach.repos.create('default', 'r')
    const seen: string[] = []
    const settled = await Promise.allSettled(
      ['/a', '/b', '/c'].map((p) =>
        pach.files.put('default', parseCommit('r@master'), [small(p, p)], {
          inTx: (c) => {
            expect(pach.db.inTransaction).toBe(true)
            expect(pach.ctx.trees.lookup(c.tree, p)?.kind).toBe('file')
            seen.push(p)
            if (p === '/b') throw new Error('refused by inTx')
          },
        }),
      ),
    )
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(seen).toEqual(['/a', '/b', '/c'])
    expect(pach.files.glob('default', parseCommit('r@master'), '/*').map((f) => f.file.path)).toEqual(['/a', '/c'])
    expect(pach.db.prepare('SELECT COUNT(*) FROM leases').pluck().get()).toBe(0)
    expect(pach.fsck({readData: true}).problems).toEqual([])
  })

  it('a refused put fails alone; the rest of its group commits; an open head is joined', async () => {
    const {pach} = tempPach()
    pach.repos.create('default', 'in')
    const first = await pach.files.put('default', parseCommit('in@master'), [small('/0', '0')])
    const settled = await Promise.allSettled([
      pach.files.put('default', parseCommit('in@master'), [small('/a', 'a')]),
      // a finished commit takes no writes
      pach.files.put('default', parseCommit(`in@${first.commit.id}`), [small('/x', 'x')]),
      pach.files.put('default', parseCommit('in@master'), [small('/b', 'b')]),
    ])
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((settled[1] as PromiseRejectedResult).reason.code).toBe('COMMIT_FINISHED')
    expect(pach.files.glob('default', parseCommit('in@master'), '/*').map((f) => f.file.path)).toEqual(['/0', '/a', '/b'])

    // refused inside the group (at apply: a file where a directory must go): that put alone
    const collide = await Promise.allSettled([
      pach.files.put('default', parseCommit('in@master'), [small('/d', 'a file')]),
      pach.files.put('default', parseCommit('in@master'), [small('/d/x', 'under it')]),
      pach.files.put('default', parseCommit('in@master'), [small('/e', 'e')]),
    ])
    expect(collide.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((collide[1] as PromiseRejectedResult).reason.code).toBe('PATH_COLLISION')
    expect(pach.files.glob('default', parseCommit('in@master'), '/*').map((f) => f.file.path)).toEqual(['/0', '/a', '/b', '/d', '/e'])

    // refused before any row is read outside the group's transaction (a small put's whole
    // step 1 is in it): a missing repo and an ancestor address, with their own codes
    const early = await Promise.allSettled([
      pach.files.put('default', parseCommit('nope@master'), [small('/n', 'n')]),
      pach.files.put('default', parseCommit('in@master^1'), [small('/p', 'p')]),
      pach.files.put('default', parseCommit('in@master'), [small('/f', 'f')]),
    ])
    expect(early.map((s) => (s.status === 'rejected' ? s.reason.code : s.value.commit.repo.name))).toEqual(['REPO_NOT_FOUND', 'INVALID_ADDRESS', 'in'])

    const open = (pach.commits.start('default', parseCommit('in@master'), {}) as {commit: {id: string}}).commit
    const joined = await Promise.all(['/c', '/d'].map((p) => pach.files.put('default', parseCommit('in@master'), [small(p, p)])))
    expect(joined.map((r) => r.commit.id)).toEqual([open.id, open.id])
    expect(pach.files.glob('default', parseCommit('in@master'), '/*').map((f) => f.file.path)).toEqual(['/0', '/a', '/b', '/c', '/d', '/e', '/f'])
    expect(pach.fsck({readData: true}).problems).toEqual([])
  })
})
