/**
 * Core integration: gc merges small packs. A history of tiny commits writes one small pack per
 * commit; gc moves their blobs into shared packs (indexed first, old packs removed after), so
 * the store stops paying a file and a disk block per commit. Everything reads back from a
 * fresh process, fsck is clean, and a second gc has nothing left to merge.
 */
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it, onTestFinished} from 'vitest'
import {openPach} from '../../src/core/pach.js'
import {parseCommit, parseFile} from '../../src/core/pfs/refs.js'
import {tempPach, text} from '../helpers/project.js'

const packFiles = (dir: string) => readdirSync(join(dir, '.pach', 'objects', 'packs'), {recursive: true, withFileTypes: true}).filter((e) => e.isFile()).length

describe('gc', () => {
  it('merges the small packs of many tiny commits into one', async () => {
    const {pach, dir} = tempPach('pach-gc-')
    pach.repos.create('default', 'R')
    for (let i = 0; i < 30; i++) await pach.files.put('default', parseCommit('R@master'), [{path: `/f${i}`, open: text(`content ${i}\n`)}])
    expect(packFiles(dir)).toBe(30)
    const dry = await pach.gc({dryRun: true})
    expect(dry.repacked_packs).toBe(30)
    expect(packFiles(dir)).toBe(30)
    const r = await pach.gc()
    expect(r.repacked_packs).toBe(30)
    expect(r.deleted_blobs).toBe(0)
    expect(packFiles(dir)).toBe(1)
    pach.close()

    const again = openPach({cwd: dir})
    onTestFinished(() => again.close())
    for (let i = 0; i < 30; i++) expect(again.files.readAll('default', parseFile(`R@master:/f${i}`)).toString()).toBe(`content ${i}\n`)
    expect(again.fsck({readData: true}).problems).toEqual([])
    expect((await again.gc()).repacked_packs).toBe(0)
  })
})
