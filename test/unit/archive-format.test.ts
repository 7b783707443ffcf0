/**
 * The archive framing (src/core/archive/format.ts): what the writer writes reads back frame
 * for frame, and every way of cutting or damaging it is refused — a cut at every frame
 * boundary and inside frames (inside a chunk's bytes too), every single byte flipped, bytes
 * appended — with ARCHIVE_DAMAGED (or, when the magic itself is hit, NOT_AN_ARCHIVE /
 * FORMAT_TOO_NEW), and never a normal end of the iteration.
 */
import {createHash} from 'node:crypto'
import {describe, expect, it} from 'vitest'
import {ArchiveWriter, readArchive, type ArchiveFrame, type ArchiveHeader} from '../../src/core/archive/format.js'
import {refusalCode} from '../helpers/refusal.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest()
const header: ArchiveHeader = {format: 'pach-archive', version: 1, pach_version: 'test', schema: 12, created: '2026-01-01T00:00:00.000Z', chunker: {}, scope: {all: true, requested: [], added_by_provenance: []}, secrets_needed: []}

/** An archive of 3 records and 4 objects (one chunk of 2,000 bytes), and the offset where each frame starts. */
async function sample(): Promise<{bytes: Buffer; boundaries: number[]; blobAt: number}> {
  const parts: Buffer[] = []
  const w = new ArchiveWriter(async (bufs) => void parts.push(...bufs))
  await w.header(header)
  for (let i = 0; i < 3; i++) await w.record({t: 'commits', row: {id: `c${i}`, tree: Buffer.from([i, 1, 2])}})
  const big = Buffer.alloc(2000, 7)
  for (const [type, data] of [['blob', big], ['blob', Buffer.from('hello')], ['tree', Buffer.from('tree bytes')], ['datumNode', Buffer.from('node')]] as const) await w.object(type, sha(data), data)
  await w.finish()
  const bytes = Buffer.concat(parts)
  // walk the frames to find their starts
  const boundaries = [8]
  let at = 8
  let blobAt = -1
  while (at < bytes.length - 8) {
    if (bytes[at] === 0x42 && blobAt < 0) blobAt = at
    at += 5 + bytes.readUInt32BE(at + 1)
    boundaries.push(at)
  }
  return {bytes, boundaries, blobAt}
}

async function readAll(b: Buffer, chunk = 1 << 20): Promise<ArchiveFrame[]> {
  async function* src() {
    for (let i = 0; i < b.length; i += chunk) yield b.subarray(i, i + chunk)
  }
  const out: ArchiveFrame[] = []
  for await (const f of readArchive(src())) out.push(f)
  return out
}

const refusal = (b: Buffer): Promise<string> => refusalCode(readAll(b, 97))

describe('archive framing', () => {
  it('reads back what was written, frame for frame, whatever the read sizes', async () => {
    const {bytes} = await sample()
    for (const chunk of [1, 7, 4096, 1 << 20]) {
      const frames = await readAll(bytes, chunk)
      expect(frames.map((f) => (f.kind === 'object' ? f.type : f.kind))).toEqual(['header', 'record', 'record', 'record', 'blob', 'blob', 'tree', 'datumNode'])
      const r = frames[1] as {record: {row: {tree: unknown}}}
      expect(r.record.row.tree).toEqual({$hex: '000102'})
      expect((frames[4] as {data: Buffer}).data.length).toBe(2000)
    }
  })

  it('an archive with no records and no objects is still whole (empty sections)', async () => {
    const parts: Buffer[] = []
    const w = new ArchiveWriter(async (bufs) => void parts.push(...bufs))
    await w.header(header)
    const t = await w.finish()
    expect(t.records).toBe(0)
    expect((await readAll(Buffer.concat(parts))).length).toBe(1)
  })

  it('refuses the archive cut at every frame boundary and inside every frame (a chunk included)', async () => {
    const {bytes, boundaries, blobAt} = await sample()
    const cuts = new Set<number>([0, 3, 8, ...boundaries, bytes.length - 1, bytes.length - 4])
    for (let i = 0; i + 1 < boundaries.length; i++) cuts.add(boundaries[i]! + 3).add(Math.floor((boundaries[i]! + boundaries[i + 1]!) / 2))
    for (let at = blobAt + 37; at < blobAt + 2037; at += 250) cuts.add(at) // inside the chunk's bytes
    for (const at of cuts) {
      if (at >= bytes.length) continue
      const code = await refusal(bytes.subarray(0, at))
      expect([at, code]).toEqual([at, at < 8 ? 'NOT_AN_ARCHIVE' : 'ARCHIVE_DAMAGED'])
    }
  })

  it('refuses every single flipped byte', async () => {
    const {bytes} = await sample()
    const codes = new Set<string>()
    for (let i = 0; i < bytes.length; i++) {
      const b = Buffer.from(bytes)
      b[i] ^= 0x20
      const code = await refusal(b)
      codes.add(code)
      expect([i, code]).not.toEqual([i, 'ACCEPTED'])
    }
    expect([...codes].every((c) => ['ARCHIVE_DAMAGED', 'NOT_AN_ARCHIVE', 'FORMAT_TOO_NEW'].includes(c))).toBe(true)
  })

  it('refuses bytes after the end mark, and input that is not an archive', async () => {
    const {bytes} = await sample()
    expect(await refusal(Buffer.concat([bytes, Buffer.from('x')]))).toBe('ARCHIVE_DAMAGED')
    expect(await refusal(Buffer.concat([bytes, bytes]))).toBe('ARCHIVE_DAMAGED')
    expect(await refusal(Buffer.alloc(0))).toBe('NOT_AN_ARCHIVE')
    expect(await refusal(Buffer.from('PK\x03\x04 a zip file, not an archive'))).toBe('NOT_AN_ARCHIVE')
    expect(await refusal(Buffer.concat([Buffer.from('PACHARC2'), bytes.subarray(8)]))).toBe('FORMAT_TOO_NEW')
  })

  it('refuses an object whose bytes do not match its id, even with the section checksum redone', async () => {
    // a forged archive: a blob frame whose id is not the hash of its bytes, written through the
    // writer (so every checksum is consistent): the object check alone must refuse it
    const parts: Buffer[] = []
    const w = new ArchiveWriter(async (bufs) => void parts.push(...bufs))
    await w.header(header)
    await w.object('blob', sha(Buffer.from('a')), Buffer.from('b'))
    await w.finish()
    expect(await refusal(Buffer.concat(parts))).toBe('ARCHIVE_DAMAGED')
  })
})
