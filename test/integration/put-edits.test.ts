/**
 * Core integration: one `files.put` that mixes appends, deletes and copies (pachd's ModifyFile
 * as the server hands it to the core). The ops apply in order in one commit, and an append
 * finds what its path holds at that point of the write: after a delete (nothing), after a copy
 * (the copied file), after an earlier append (that append), else the branch's file.
 */
import {describe, expect, it} from 'vitest'
import type {PutEdit} from '../../src/core/pfs/file-service.js'
import {parseCommit, parseFile} from '../../src/core/pfs/refs.js'
import {tempPach, text} from '../helpers/project.js'

describe('put with deletes and copies among its sources', () => {
  it('applies them in order, appending to what each path holds at that point', async () => {
    const {pach} = tempPach('pach-edits-')
    pach.repos.create('default', 'R')
    const ref = parseCommit('R@master')
    await pach.files.put('default', ref, [
      {path: '/keep', open: text('k')},
      {path: '/d/a', open: text('a')},
      {path: '/d/s/b', open: text('b')},
    ])
    const base = pach.commits.inspect('default', ref).commit.id
    const read = (p: string) => pach.files.readAll('default', parseFile(`R@master:${p}`)).toString()
    const edits: PutEdit[] = [
      {path: '/keep', open: text('+1')}, // appends to the branch's file
      {delete: '/d'}, // a directory: everything under it
      {path: '/d/a', open: text('new')}, // nothing there any more: a new file
      {copy: parseFile(`R@${base}:/d`), path: '/c'}, // by reference, from the commit before
      {path: '/c/s/b', open: text('+2')}, // appends to the copied file
      {path: '/keep', open: text('+3')}, // appends to this write's own append
      {copy: parseFile(`R@${base}:/d/a`), path: '/keep', append: true}, // a copy that appends bytes
      {delete: '/gone'}, // missing: a no-op
    ]
    const before = pach.commits.list('default', parseCommit('R@master')).length
    await pach.files.put('default', ref, edits, {append: true})
    expect(pach.commits.list('default', parseCommit('R@master')).length).toBe(before + 1)
    expect(read('/keep')).toBe('k+1+3a')
    expect(read('/d/a')).toBe('new')
    expect(() => read('/d/s/b')).toThrow(/not found/)
    expect(read('/c/a')).toBe('a')
    expect(read('/c/s/b')).toBe('b+2')

    // a delete of the root, then writes: only the writes remain
    await pach.files.put('default', ref, [{delete: '/'}, {path: '/only', open: text('1')}, {path: '/only', open: text('2')}], {append: true})
    expect([...pach.files.list('default', parseFile('R@master:/'))].map((f) => f.file.path)).toEqual(['/only'])
    expect(read('/only')).toBe('12')

    // appending to a directory is the core's path collision, and nothing is written
    await pach.files.put('default', ref, [{path: '/dir/x', open: text('x')}])
    const head = pach.commits.inspect('default', ref).commit.id
    await expect(pach.files.put('default', ref, [{path: '/dir', open: text('y')}], {append: true})).rejects.toMatchObject({code: 'PATH_COLLISION'})
    expect(pach.commits.inspect('default', ref).commit.id).toBe(head)
    expect(read('/dir/x')).toBe('x')
  })
})
