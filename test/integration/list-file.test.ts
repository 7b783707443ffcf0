/**
 * Core integration: FileService.list is a stream over `trees.entries` (the address resolved at
 * the call, entries read as they are consumed), and the whole-directory walks (glob,
 * materialize) go through `trees.entries` too. A spy on `entries` counts the entries pulled
 * from the tree store: the first FileInfo must come out after one, not after the directory.
 */
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it, onTestFinished, vi} from 'vitest'
import {NotFoundError} from '../../src/core/errors.js'
import type {Pach} from '../../src/core/pach.js'
import {parseCommit, parseFile} from '../../src/core/pfs/refs.js'
import type {Entry} from '../../src/core/store/tree-store.js'
import {tempPach, text} from '../helpers/project.js'

const N = 3000

async function project(): Promise<{pach: Pach; dir: string}> {
  const {pach, dir} = tempPach('pach-list-file-')
  pach.repos.create('default', 'r')
  await pach.files.put('default', parseCommit('r@master'), Array.from({length: N}, (_, i) => ({path: `/d/f${String(i).padStart(4, '0')}`, open: text(`${i}\n`)})))
  return {pach, dir}
}

/** Spy on trees.entries: `pulled` counts entries taken from the store, per directory hash. */
function spyEntries(pach: Pach) {
  const trees = pach.files.ctx.trees
  const original = trees.entries.bind(trees)
  const pulled = new Map<string, number>()
  const spy = vi.spyOn(trees, 'entries').mockImplementation(function* (dir: Buffer): Generator<Entry> {
    const k = dir.toString('hex')
    pulled.set(k, pulled.get(k) ?? 0)
    for (const e of original(dir)) {
      pulled.set(k, pulled.get(k)! + 1)
      yield e
    }
  })
  onTestFinished(() => spy.mockRestore())
  return {spy, pulled}
}

describe('FileService.list streams', () => {
  it('yields its first item after one entry is read; re-iterable; errors at the call', async () => {
    const {pach} = await project()
    const dHash = Buffer.from(pach.files.inspect('default', parseFile('r@master:/d')).hash, 'hex')
    const {spy, pulled} = spyEntries(pach)
    const listing = pach.files.list('default', parseFile('r@master:/d'))
    expect(spy).not.toHaveBeenCalled() // nothing read until consumed

    const it = listing[Symbol.iterator]()
    const first = it.next()
    expect(first.value?.file.path).toBe('/d/f0000')
    expect(spy).toHaveBeenCalledTimes(1)
    expect(spy.mock.calls[0]![0].equals(dHash)).toBe(true)
    expect(pulled.get(dHash.toString('hex'))).toBe(1)
    it.return?.()

    const all = [...listing]
    expect(all).toHaveLength(N)
    expect(all.map((f) => f.file.path)).toEqual(Array.from({length: N}, (_, i) => `/d/f${String(i).padStart(4, '0')}`))
    expect([...listing]).toEqual(all) // each pass reads afresh, the same list
    expect(all[1234]).toEqual(pach.files.inspect('default', parseFile(`r@master:${all[1234]!.file.path}`)))

    expect(() => pach.files.list('default', parseFile('r@master:/nope'))).toThrow(NotFoundError)
    expect([...pach.files.list('default', parseFile('r@master:/d/f0007'))].map((f) => f.file.path)).toEqual(['/d/f0007'])
  })

  it('glob and materialize walk directories through trees.entries', async () => {
    const {pach, dir} = await project()
    const dHash = pach.files.inspect('default', parseFile('r@master:/d')).hash
    const {pulled} = spyEntries(pach)
    const g = pach.files.glob('default', parseCommit('r@master'), '/d/*')
    expect(g).toHaveLength(N)
    expect(pulled.get(dHash)).toBe(N)

    pulled.clear()
    const out = join(dir, 'out')
    expect(pach.files.materialize('default', parseFile('r@master:/d'), out)).toEqual({files: N, bytes: g.reduce((n, f) => n + f.size_bytes, 0)})
    expect(pulled.get(dHash)).toBe(N)
    expect(readdirSync(out)).toHaveLength(N)
  })
})
