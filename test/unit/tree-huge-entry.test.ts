// A directory whose root is one prolly leaf ending at a forced cut (an entry larger than a
// node: a file of ~800+ chunks, i.e. ~100 MiB) keeps that entry when a later write adds a
// sibling after it: the re-cut reproduces the old root as one of the new top nodes, which
// must stay (found through the S3 gateway: a 100 MiB upload vanished on the next PUT).
import {describe, expect, it} from 'vitest'
import {contentHash, sha256} from '../../src/core/store/hash.js'
import type {FileContent} from '../../src/core/store/content.js'
import {memoryTrees, content} from '../helpers/trees.js'

function huge(n: number, seed: string): FileContent {
  const chunks = Array.from({length: n}, (_, i) => sha256(Buffer.from(`${seed}-${i}`)))
  return {size: n * 131072, hash: contentHash(chunks), chunks, sizes: chunks.map(() => 131072)}
}

describe('tree edits after an entry larger than a node', () => {
  it('adding a sibling after a huge file keeps the huge file', () => {
    const t = memoryTrees()
    const r1 = t.apply(null, [{type: 'put', path: '/a.bin', content: huge(800, 'a')}])
    const r2 = t.apply(r1, [{type: 'put', path: '/s.txt', content: content('small')}])
    expect([...t.walk(r2)].map(([p]) => p)).toEqual(['/a.bin', '/s.txt'])
    expect(t.lookup(r2, '/')!.size).toBe(800 * 131072 + 5)
    // and in a subdirectory, and with several huge files around small ones
    const r3 = t.apply(r2, [{type: 'put', path: '/d/big1', content: huge(900, 'b')}, {type: 'put', path: '/d/big2', content: huge(1000, 'c')}])
    const r4 = t.apply(r3, [{type: 'put', path: '/d/zz', content: content('z')}, {type: 'put', path: '/b.txt', content: content('b')}])
    expect([...t.walk(r4)].map(([p]) => p)).toEqual(['/a.bin', '/b.txt', '/d', '/d/big1', '/d/big2', '/d/zz', '/s.txt'])
    const r5 = t.apply(r4, [{type: 'delete', path: '/d/zz'}])
    expect([...t.walk(r5)].map(([p]) => p)).toEqual(['/a.bin', '/b.txt', '/d', '/d/big1', '/d/big2', '/s.txt'])
  })
})
