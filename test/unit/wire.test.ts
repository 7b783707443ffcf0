// FileInfos encoded by hand (src/server/grpc/wire.ts) decode to exactly what the generic
// path (fileInfoPB through protobufjs) gives for the same entry.
import {describe, expect, it} from 'vitest'
import {serviceDefinition} from '../../src/server/grpc/definitions.js'
import {fileInfoPB} from '../../src/server/grpc/convert.js'
import {EncodedValue, fileInfoEncoder} from '../../src/server/grpc/wire.js'
import type {CommitPB, FileInfo} from '../../src/core/types.js'

const listFile = serviceDefinition('pfs_v2.API').ListFile!
const viaLoader = (f: FileInfo) => listFile.responseDeserialize(listFile.responseSerialize(fileInfoPB(f)))
const viaWire = (enc: ReturnType<typeof fileInfoEncoder>, f: FileInfo) => listFile.responseDeserialize(enc(f).bytes)

const repo = (name: string, project = 'default') => ({name, type: 'user' as const, project: {name: project}})
const onBranch: CommitPB = {repo: repo('images'), id: '0123456789abcdef0123456789abcdef', branch: {repo: repo('images'), name: 'master'}}
const bare: CommitPB = {repo: repo('edges', 'proj-a'), id: 'fedcba9876543210fedcba9876543210'}
const info = (commit: CommitPB, path: string, over: Partial<FileInfo> = {}): FileInfo => ({
  file: {commit, path},
  file_type: 'FILE',
  committed: '2026-12-03T10:11:12.345678901Z',
  size_bytes: 1234,
  hash: 'ab'.repeat(32),
  ...over,
})

describe('hand-encoded FileInfo', () => {
  const cases: [string, FileInfo][] = [
    ['a file on a branch', info(onBranch, '/a/b.txt')],
    ['a directory', info(onBranch, '/a/', {file_type: 'DIR', size_bytes: 99})],
    ['a commit with no branch in another project', info(bare, '/x')],
    ['an empty file (zero size)', info(onBranch, '/empty', {size_bytes: 0})],
    ['no hash', info(onBranch, '/nohash', {hash: ''})],
    ['an open commit (no committed time)', info(onBranch, '/open', {committed: null})],
    ['a size past 2^32 and 2^53 / 1024', info(onBranch, '/big', {size_bytes: 2 ** 45 + 7})],
    ['a non-ASCII path', info(onBranch, '/données/ñ/图.png')],
    ['a long path (multi-byte length varints)', info(onBranch, '/' + 'p'.repeat(300))],
    ['the root', info(onBranch, '/', {file_type: 'DIR'})],
  ]
  for (const [name, f] of cases) {
    it(name, () => {
      expect(viaWire(fileInfoEncoder(), f)).toEqual(viaLoader(f))
    })
  }

  it('one encoder across commits and times re-encodes what changed', () => {
    const enc = fileInfoEncoder()
    const seq = [
      info(onBranch, '/1'),
      info(onBranch, '/2'),
      info(bare, '/3'),
      info(bare, '/4', {committed: '2025-01-01T00:00:00Z'}),
      info(onBranch, '/5', {committed: null}),
      info({...onBranch, id: 'a'.repeat(32)}, '/6'),
    ]
    for (const f of seq) expect(viaWire(enc, f)).toEqual(viaLoader(f))
  })
})

describe('hand-encoded FileInfo from a tree entry', () => {
  const hash = Buffer.from('cd'.repeat(32), 'hex')
  const when = '2026-12-03T10:11:12.345678901Z'
  it('a file, a directory (path ending in /), an open commit: what the FileInfo of the same entry encodes to', () => {
    const enc = fileInfoEncoder()
    const file = {kind: 'file' as const, name: 'b.txt', hash, size: 1234, chunks: [hash], sizes: [1234]}
    const dir = {kind: 'dir' as const, name: 'sub', hash, size: 99, files: 3}
    expect(listFile.responseDeserialize(enc.entry(onBranch, when, {path: '/a/b.txt', entry: file}).bytes)).toEqual(viaLoader(info(onBranch, '/a/b.txt', {hash: hash.toString('hex')})))
    expect(listFile.responseDeserialize(enc.entry(onBranch, when, {path: '/a/sub/', entry: dir}).bytes)).toEqual(
      viaLoader(info(onBranch, '/a/sub/', {file_type: 'DIR', size_bytes: 99, hash: hash.toString('hex')})),
    )
    expect(listFile.responseDeserialize(enc.entry(bare, null, {path: '/e', entry: {...file, size: 0}}).bytes)).toEqual(
      viaLoader(info(bare, '/e', {committed: null, size_bytes: 0, hash: hash.toString('hex')})),
    )
  })
})

describe('a BytesValue kept as its parts (GetFile)', () => {
  const getFile = serviceDefinition('pfs_v2.API').GetFile!
  for (const n of [0, 1, 127, 128, 16_384, 2 * 1024 * 1024]) {
    it(`${n} bytes: head + value decode to the value, and equal the generic encoding`, () => {
      const value = Buffer.alloc(n, 7)
      if (n) value[n - 1] = 1
      const v = new EncodedValue(value)
      expect(v.length).toBe(v.bytes().length)
      expect(Buffer.concat([v.head, v.value]).equals(v.bytes())).toBe(true)
      const decoded = getFile.responseDeserialize(v.bytes()) as {value: Buffer}
      expect(Buffer.from(decoded.value).equals(value)).toBe(true)
      if (n) expect(v.bytes().equals(getFile.responseSerialize({value}))).toBe(true)
    })
  }
})
