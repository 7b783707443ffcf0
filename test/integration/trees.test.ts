/**
 * Core integration: large directories (prolly trees with delta rows, store/tree-node.ts) under
 * the commit operations that drop history. A one-file commit into a large directory stores its
 * rewritten nodes as deltas against the previous commit's nodes; when that previous commit is
 * squashed away and gc runs, the bases must stay (gc marks delta chains), every file of every
 * remaining commit must read back byte for byte, and fsck must find nothing wrong.
 */
import {describe, expect, it, onTestFinished} from 'vitest'
import {openPach, type Pach} from '../../src/core/pach.js'
import {parseCommit, parseFile} from '../../src/core/pfs/refs.js'
import {tempPach, text} from '../helpers/project.js'

const project = () => tempPach('pach-trees-')

const text = (s: string) => async function* () {
  yield Buffer.from(s)
}
const name = (i: number) => `/d/f${String(i).padStart(5, '0')}.txt`
const rowsOf = (pach: Pach) => pach.ctx.db.prepare('SELECT hash FROM trees').pluck().all() as Buffer[]

describe('large directories across squash and gc', () => {
  it('keeps delta bases alive and every commit readable', async () => {
    const {pach, dir} = project()
    pach.repos.create('default', 'R')
    const ref = parseCommit('R@master')
    const N = 3000
    await pach.files.put('default', ref, Array.from({length: N}, (_, i) => ({path: name(i), open: text(`v0 ${i}\n`)})))
    const first = pach.commits.inspect('default', ref).commit.id
    const versions = new Map<number, string>(Array.from({length: N}, (_, i) => [i, `v0 ${i}\n`]))
    for (let c = 1; c <= 12; c++) {
      const i = (c * 997) % N
      versions.set(i, `v${c} ${i}\n`)
      await pach.files.put('default', ref, [{path: name(i), open: text(`v${c} ${i}\n`)}])
    }
    // the one-file commits stored deltas
    const deltas = rowsOf(pach).filter((h) => !pach.ctx.trees.deltaBases(h).next().done)
    expect(deltas.length).toBeGreaterThan(12)
    // squash the first commit and every other early one away: their nodes are garbage, but
    // the later commits' delta rows are based on them
    const history = pach.commits.list('default', ref).map((c) => c.commit.id)
    for (const id of history.slice(-6)) if (id !== first) pach.commits.squash('default', parseCommit(`R@${id}`), () => false)
    pach.commits.squash('default', parseCommit(`R@${first}`), () => false)
    const before = rowsOf(pach).length
    const report = await pach.gc({})
    expect(report.deleted_trees).toBeGreaterThan(0)
    expect(rowsOf(pach).length).toBeLessThan(before)
    // a fresh process reads the store, not this one's node caches
    const again = openPach({cwd: dir})
    onTestFinished(() => again.close())
    for (const [i, v] of versions) expect(again.files.readAll('default', parseFile(`R@master:${name(i)}`)).toString()).toBe(v)
    const fsck = again.fsck({readData: true})
    expect(fsck.problems).toEqual([])
    expect(fsck.garbage.trees).toBe(0)
  }, 60_000)
})
