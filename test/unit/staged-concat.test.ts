// A file joined from parts stored on their own (an S3 multipart upload: each part chunked as it
// arrives, staged, then joined at completion) is the file `put` of the same bytes makes: same
// chunks, same hash. Staged parts survive gc until their record goes; a part whose stream
// fails, or an upload abandoned, leaves nothing referenced and nothing visible.
import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {V1_CHUNKER_PARAMS, DEFAULT_CHUNKER_PARAMS, type ChunkerParams} from '../../src/core/store/chunker.js'
import {concatContent, hashContent, writeContent, type FileContent} from '../../src/core/store/content.js'
import {sha256} from '../../src/core/store/hash.js'
import type {PackWriter} from '../../src/core/store/pack-store.js'
import {readStaged, removeStaged, stageContent, stagedRoot} from '../../src/core/store/staged.js'
import {gc} from '../../src/core/maintenance/gc.js'
import {fsck} from '../../src/core/maintenance/fsck.js'
import {parseCommit} from '../../src/core/pfs/refs.js'
import {tempPach} from '../helpers/project.js'

/** An in-memory writer: what concatContent reads back and adds. */
function memWriter() {
  const blobs = new Map<string, Buffer>()
  let reads = 0
  const w = {
    add(id: Buffer, bytes: Buffer | Buffer[]) {
      // a chunk may come as the pieces it spans (PackWriter's BlobBytes)
      const data = Array.isArray(bytes) ? Buffer.concat(bytes) : bytes
      expect(sha256(data).equals(id)).toBe(true)
      const k = id.toString('hex')
      if (blobs.has(k)) return false
      blobs.set(k, Buffer.from(data))
      return true
    },
    read(id: Buffer) {
      reads++
      const b = blobs.get(id.toString('hex'))
      if (!b) throw new Error('missing blob')
      return b
    },
    full: false,
    async drain() {},
    get reads() {
      return reads
    },
  }
  return w
}

/** A project with repo `r` and an upload's staging directory `up` (under .pach/staged/). */
function stagingProject(upload: string) {
  const {pach} = tempPach('pach-staged-')
  pach.repos.create('default', 'r')
  const up = join(stagedRoot(pach.ctx.pachDir), upload)
  mkdirSync(up, {recursive: true})
  return {pach, ctx: pach.ctx, up}
}

const once = (b: Buffer) =>
  (async function* () {
    // in blocks, as a socket delivers them
    for (let o = 0; o < b.length; o += 65536) yield b.subarray(o, o + 65536)
  })()

async function joined(data: Buffer, cuts: number[], params: ChunkerParams) {
  const w = memWriter()
  const parts: FileContent[] = []
  let at = 0
  for (const c of [...cuts, data.length]) {
    parts.push(await writeContent(once(data.subarray(at, c)), w as unknown as PackWriter, params))
    at = c
  }
  const whole = await writeContent(once(data), memWriter() as unknown as PackWriter, params)
  const before = w.reads
  const got = await concatContent(parts, w as unknown as PackWriter, params)
  return {got, whole, reads: w.reads - before}
}

describe('concatContent', () => {
  it('joins independently chunked parts into the chunks of the whole (fastcdc v2 and v1)', async () => {
    for (const params of [DEFAULT_CHUNKER_PARAMS, V1_CHUNKER_PARAMS]) {
      const data = randomBytes(12 * 1024 * 1024 + 12345)
      const MiB = 1024 * 1024
      for (const cuts of [[], [5 * MiB], [3 * MiB, 6 * MiB, 9 * MiB + 7], [1, 2, 100, 8 * MiB], [4 * MiB, 4 * MiB + 1, 12 * MiB + 12344]]) {
        const {got, whole} = await joined(data, cuts, params)
        expect(got.sizes).toEqual(whole.sizes)
        expect(got.chunks.map((c) => c.toString('hex'))).toEqual(whole.chunks.map((c) => c.toString('hex')))
        expect(got.hash.equals(whole.hash)).toBe(true)
        expect(got.size).toBe(data.length)
      }
    }
  })

  it('reads only around the seams (v2): a few chunks per part, not the parts', async () => {
    const MiB = 1024 * 1024
    const data = randomBytes(64 * MiB)
    const cuts = Array.from({length: 7}, (_, i) => (i + 1) * 8 * MiB)
    const {got, whole, reads} = await joined(data, cuts, DEFAULT_CHUNKER_PARAMS)
    expect(got.hash.equals(whole.hash)).toBe(true)
    // 7 seams; a 8 MiB part holds ~60 chunks
    expect(reads).toBeLessThan(7 * 8)
  })

  it('keeps empty parts out and joins repeated content (dedup) the same way', async () => {
    const part = randomBytes(6 * 1024 * 1024)
    const data = Buffer.concat([part, part, part])
    const {got, whole} = await joined(data, [0, part.length, part.length, 2 * part.length], DEFAULT_CHUNKER_PARAMS)
    expect(got.hash.equals(whole.hash)).toBe(true)
    expect((await hashContent(once(data), DEFAULT_CHUNKER_PARAMS)).hash.equals(got.hash)).toBe(true)
  })
})

describe('staged parts and putConcat', () => {
  it('a file joined from staged parts equals `put` of its bytes; gc keeps staged chunks until the record goes', async () => {
    const {pach, ctx, up} = stagingProject('test-upload')
    const MiB = 1024 * 1024
    const data = randomBytes(21 * MiB + 99)
    const bounds = [0, 8 * MiB, 16 * MiB, data.length]
    for (let i = 0; i < 3; i++) {
      await stageContent(ctx.store, ctx.config.chunker, join(up, `part-${i}.content`), once(data.subarray(bounds[i], bounds[i + 1])), () => ({n: i}))
    }
    // a gc between the parts and the completion keeps every staged chunk
    await gc(ctx)
    expect(fsck(ctx).garbage.blobs).toBe(0)
    const parts = await Promise.all([0, 1, 2].map((i) => readStaged<{n: number}>(join(up, `part-${i}.content`))))
    expect(parts.map((p) => p.meta.n)).toEqual([0, 1, 2])
    await pach.files.putConcat('default', parseCommit('r@master'), '/joined.bin', parts.map((p) => p.content))
    await removeStaged(up)
    await pach.files.put('default', parseCommit('r@master'), [{path: '/put.bin', open: () => once(data)}])
    const a = pach.files.inspect('default', {commit: parseCommit('r@master'), path: '/joined.bin', hasPath: true})
    const b = pach.files.inspect('default', {commit: parseCommit('r@master'), path: '/put.bin', hasPath: true})
    expect(a.hash).toBe(b.hash)
    expect(a.size_bytes).toBe(data.length)
    expect(pach.files.readAll('default', {commit: parseCommit('r@master'), path: '/joined.bin', hasPath: true}).equals(data)).toBe(true)
    // the commit references the staged chunks now, but for the few around the seams that were
    // re-chunked (2 seams): those are garbage, and gc keeps the file whole
    const g = fsck(ctx).garbage.blobs
    expect(g).toBeGreaterThan(0)
    expect(g).toBeLessThanOrEqual(2 * 4)
    await gc(ctx)
    expect(fsck(ctx).garbage.blobs).toBe(0)
    expect(fsck(ctx).ok).toBe(true)
    expect(pach.files.readAll('default', {commit: parseCommit('r@master'), path: '/joined.bin', hasPath: true}).equals(data)).toBe(true)
  })

  it('an abandoned upload leaves nothing referenced or visible; a failing part stages nothing', async () => {
    const {pach, ctx, up} = stagingProject('abandoned')
    await stageContent(ctx.store, ctx.config.chunker, join(up, 'part-1.content'), once(randomBytes(3 * 1024 * 1024)), () => ({}))
    // a part whose stream fails at its end (a checksum mismatch) leaves no record
    const failing = (async function* () {
      yield randomBytes(2 * 1024 * 1024)
      throw new Error('BadDigest')
    })()
    await expect(stageContent(ctx.store, ctx.config.chunker, join(up, 'part-2.content'), failing, () => ({}))).rejects.toThrow('BadDigest')
    expect(existsSync(join(up, 'part-2.content'))).toBe(false)
    // a record into a directory its owner removed meanwhile is refused, not resurrected
    await expect(stageContent(ctx.store, ctx.config.chunker, join(stagedRoot(ctx.pachDir), 'gone', 'part-1.content'), once(randomBytes(1000)), () => ({}))).rejects.toMatchObject({code: 'ENOENT'})
    expect(existsSync(join(stagedRoot(ctx.pachDir), 'gone'))).toBe(false)
    // nothing of it is visible: no commit, no file
    expect(pach.commits.list('default', {repo: {name: 'r', type: 'user', project: 'default'}})).toEqual([])
    // the staged part's chunks are live; the failed ones are garbage
    const before = fsck(ctx).garbage.blobs
    expect(before).toBeGreaterThan(0)
    await gc(ctx)
    expect(fsck(ctx).garbage.blobs).toBe(0)
    expect(ctx.store.has((await readStaged(join(up, 'part-1.content'))).content.chunks[0]!)).toBe(true)
    // abandoned: the record goes, and the next gc collects its chunks
    const chunks = (await readStaged(join(up, 'part-1.content'))).content.chunks
    await removeStaged(up)
    expect(fsck(ctx).garbage.blobs).toBe(chunks.length)
    await gc(ctx)
    expect(chunks.some((c) => ctx.store.has(c))).toBe(false)
    expect(fsck(ctx).ok).toBe(true)
  })
})
