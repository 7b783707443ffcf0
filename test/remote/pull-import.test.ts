/**
 * The core API a pull builds on: CommitService.import (PfsEngine.importCommit) makes finished
 * commits under given ids, parents, descriptions and times, with the tree edits applied to the
 * parent's tree; the same commit again is accepted, another content under a taken id is not.
 */
import {describe, expect, it} from 'vitest'
import {smallContent} from '../../src/core/store/content.js'
import {tempPach} from '../helpers/project.js'

describe('CommitService.import', () => {
  it('imports a history under given ids, and accepts only the same commit again', async () => {
    const {pach} = tempPach()
    pach.repos.create('default', 'images', {description: ''})
    const w = await pach.ctx.store.writerWait()
    const a = smallContent(Buffer.from('alpha'), w)
    const b = smallContent(Buffer.from('bravo'), w)
    await w.close()
    w.release()
    const first = pach.commits.import('default', 'images', 'master', {
      id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      parent: null,
      description: 'first',
      ops: [{type: 'put', path: '/a.txt', content: a}],
      started: '2030-01-01T00:00:00.000Z',
      finished: '2030-01-01T00:00:01.000Z',
    })
    expect(first).toMatchObject({commit: {id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}, description: 'first', finished: '2030-01-01T00:00:01.000Z', parent_commit: null})
    const second = pach.commits.import('default', 'images', 'master', {
      id: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
      parent: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      description: 'second',
      ops: [{type: 'delete', path: '/a.txt'}, {type: 'put', path: '/dir/b.txt', content: b}],
    })
    expect(second.parent_commit?.id).toBe('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')
    expect(pach.branches.inspect('default', {name: 'images', type: 'user'}, 'master').head?.id).toBe('bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb')
    const files = (ref: string) => [...pach.files.list('default', {commit: {repo: {name: 'images', type: 'user'}, id: ref}, path: '/'})].map((f) => f.file.path)
    expect(files('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')).toEqual(['/a.txt'])
    expect(files('bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb')).toEqual(['/dir/'])

    // the same commit again (a pull interrupted after the import): accepted as is
    const again = pach.commits.import('default', 'images', 'master', {id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', parent: null, description: 'first', ops: [{type: 'put', path: '/a.txt', content: a}]})
    expect(again.commit.id).toBe('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')
    // other content under a taken id: refused
    expect(() =>
      pach.commits.import('default', 'images', 'master', {id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', parent: null, description: 'x', ops: [{type: 'put', path: '/a.txt', content: b}]}),
    ).toThrow(expect.objectContaining({code: 'COMMIT_EXISTS'}))
    expect(() => pach.commits.import('default', 'images', 'master', {id: 'cccccccccccccccccccccccccccccccc', parent: 'ffffffffffffffffffffffffffffffff', ops: []})).toThrow(
      expect.objectContaining({code: 'COMMIT_NOT_FOUND'}),
    )
  })
})
