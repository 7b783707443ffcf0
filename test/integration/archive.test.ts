/**
 * Core integration: export and import through the library. A store with a pipeline that ran
 * (fake runner) round-trips into a fresh one exactly; importing it again writes nothing; and
 * an archive cut at every frame boundary, cut inside a chunk, or with a byte flipped in a
 * chunk or a record is refused with nothing written — no row, no blob index entry, no pack,
 * no temp file — in the very store every attempt went to. A conflicting repo is refused
 * before any object is written. A store with a flipped byte in a stored chunk: the default
 * export copies it as stored and every import of that archive is refused with nothing
 * written; `verify` fails the export with CORRUPT_OBJECT before any of that chunk reaches the
 * sink; a pack cut short fails either.
 */
import {mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {exportArchive} from '../../src/core/archive/export.js'
import {ArchiveWriter, readArchive} from '../../src/core/archive/format.js'
import {importArchive} from '../../src/core/archive/import.js'
import {isPachError} from '../../src/core/errors.js'
import {refusalCode} from '../helpers/refusal.js'
import type {Pach} from '../../src/core/pach.js'
import {parseCommit, parseFile} from '../../src/core/pfs/refs.js'
import {parseSpecs} from '../../src/core/pps/spec/index.js'
import {pseudoRandom} from '../e2e/_util.js'
import {FakeRunner} from '../helpers/fake-runner.js'
import {tempPach} from '../helpers/project.js'

const bytes = (b: Buffer) => async function* () {
  yield b
}

async function source(): Promise<Pach> {
  const {pach} = tempPach('pach-arc-src-')
  pach.repos.create('default', 'words')
  const put = (files: Record<string, Buffer>) => pach.files.put('default', parseCommit('words@master'), Object.entries(files).map(([path, b]) => ({path, open: bytes(b)})))
  await put({'/a': Buffer.from('alpha'), '/big': pseudoRandom(300_000)})
  const spec = parseSpecs(JSON.stringify({pipeline: {name: 'up'}, transform: {cmd: ['x']}, input: {pfs: {repo: 'words', glob: '/*'}}}), 't.json').specs[0]!
  pach.pipelines.put(spec, {update: false, reprocess: false, file: 't'})
  const runner = new FakeRunner(({inputsDir, outDir}) => {
    for (const n of readdirSync(join(inputsDir, 'words'))) writeFileSync(join(outDir, n), readFileSync(join(inputsDir, 'words', n)).subarray(0, 1000))
    return 0
  })
  await pach.jobs.runPending({runner: async () => runner})
  await put({'/b': Buffer.from('beta')})
  await pach.jobs.runPending({runner: async () => runner})
  return pach
}

async function exported(pach: Pach, repos?: {project: string; name: string}[]): Promise<Buffer> {
  const parts: Buffer[] = []
  await exportArchive(pach.ctx, async (bufs) => void parts.push(...bufs), {pachVersion: 'test', repos})
  return Buffer.concat(parts)
}

/** What a store holds, as counts of every table and file an import could write. */
function footprint(pach: Pach) {
  const count = (t: string) => pach.db.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get() as number
  const tables = ['repos', 'commits', 'commit_sets', 'branches', 'pipelines', 'jobs', 'datums', 'job_datums', 'datum_nodes', 'trees', 'blobs', 'packs', 'leases']
  const files = (d: string) => readdirSync(join(pach.pachDir, 'objects', d), {recursive: true, withFileTypes: true}).filter((e) => e.isFile()).length
  return {...Object.fromEntries(tables.map((t) => [t, count(t)])), packFiles: files('packs'), tmpFiles: files('tmp')}
}

const refusal = (pach: Pach, archive: Buffer): Promise<string> => refusalCode(importArchive(pach.ctx, bytes(archive)()))

describe('export / import (library)', () => {
  it('round-trips a store with a pipeline exactly; a second import writes nothing; fsck is clean', async () => {
    const src = await source()
    const archive = await exported(src)
    const {pach: dst} = tempPach('pach-arc-dst-')
    const r = await importArchive(dst.ctx, bytes(archive)())
    expect(r.noop).toBe(false)
    expect(r.inserted).toMatchObject({repos: 4, commits: src.db.prepare('SELECT COUNT(*) FROM commits').pluck().get(), jobs: 2})
    for (const ref of ['words@master', 'up@master']) {
      const a = src.commits.inspect('default', parseCommit(ref))
      const b = dst.commits.inspect('default', parseCommit(ref))
      expect(b).toEqual(a)
    }
    expect(dst.files.readAll('default', parseFile('words@master:/big'))).toEqual(pseudoRandom(300_000))
    expect(dst.files.readAll('default', parseFile('up@master:/big')).length).toBe(1000)
    const jobsOf = (p: Pach) => p.jobs.list({}).map((j) => ({...j}))
    expect(JSON.stringify(jobsOf(dst))).toBe(JSON.stringify(jobsOf(src)))
    const f = dst.fsck({readData: true})
    expect(f.problems).toEqual([])
    expect(f.garbage).toEqual({packs: 0, blobs: 0, trees: 0, tmp_files: 0, bytes: 0})
    // the lineage index is rebuilt from the imported datum rows
    const index = (p: Pach) => p.db.prepare('SELECT * FROM datum_inputs ORDER BY job_id, datum_id, path').all()
    expect(index(src).length).toBeGreaterThan(0)
    expect(index(dst)).toEqual(index(src))

    const before = footprint(dst)
    const again = await importArchive(dst.ctx, bytes(archive)())
    expect(again.noop).toBe(true)
    expect(again.blobs_written).toBe(0)
    expect(footprint(dst)).toEqual(before)
  })

  it('refuses a cut or damaged archive with nothing written (every frame boundary, inside a chunk, a flipped chunk or record byte)', async () => {
    const src = await source()
    const archive = await exported(src)
    const {pach: dst} = tempPach('pach-arc-bad-')
    const empty = footprint(dst)
    const starts: number[] = []
    let blob = -1
    let record = -1
    for (let at = 8; at < archive.length - 8; at += 5 + archive.readUInt32BE(at + 1)) {
      starts.push(at)
      if (archive[at] === 0x42 && archive.readUInt32BE(at + 1) > 10_000 && blob < 0) blob = at
      if (archive[at] === 0x52 && record < 0) record = at
    }
    expect(blob).toBeGreaterThan(0)
    const cases: [string, Buffer][] = starts.map((s) => [`cut at ${s}`, archive.subarray(0, s)])
    cases.push(['cut inside a chunk', archive.subarray(0, blob + 37 + 5000)], ['cut before the end mark', archive.subarray(0, archive.length - 3)])
    for (const [what, at] of [['chunk byte', blob + 37 + 4321], ['record byte', record + 12], ['trailer byte', archive.length - 20]] as const) {
      const b = Buffer.from(archive)
      b[at] ^= 1
      cases.push([`flipped ${what}`, b])
    }
    for (const [what, bad] of cases) {
      const code = await refusal(dst, bad)
      expect([what, code]).toEqual([what, 'ARCHIVE_DAMAGED'])
      expect([what, footprint(dst)]).toEqual([what, empty])
    }
    // and the intact archive still imports into that store
    expect((await importArchive(dst.ctx, bytes(archive)())).noop).toBe(false)
    expect(dst.fsck({readData: true}).problems).toEqual([])
  })

  it('refuses a whole archive that lacks a chunk its trees reference, read from a stream or from a file, with no row written', async () => {
    const src = await source()
    const archive = await exported(src)
    // rewritten through the writer without its largest chunk: every checksum consistent
    const parts: Buffer[] = []
    const w = new ArchiveWriter(async (bufs) => void parts.push(...bufs))
    let largest = 0
    for await (const f of readArchive(bytes(archive)())) if (f.kind === 'object' && f.type === 'blob') largest = Math.max(largest, f.data.length)
    for await (const f of readArchive(bytes(archive)())) {
      if (f.kind === 'header') await w.header(f.header)
      else if (f.kind === 'record') await w.record(f.record)
      else if (f.type !== 'blob' || f.data.length !== largest) await w.object(f.type, f.id, f.data)
    }
    await w.finish()
    const lacking = Buffer.concat(parts)
    const path = join(mkdtempSync(join(tmpdir(), 'pach-arc-lack-')), 'a.pacharc')
    writeFileSync(path, lacking)
    const {pach: dst} = tempPach('pach-arc-lack-')
    const rows = () => ['repos', 'commits', 'branches', 'pipelines', 'jobs', 'datums', 'trees'].map((t) => dst.db.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get())
    const before = rows()
    for (const input of [bytes(lacking)(), {file: path}]) {
      const e = await importArchive(dst.ctx, input).then(
        () => undefined,
        (x: unknown) => x,
      )
      expect(isPachError(e) && e.code).toBe('ARCHIVE_DAMAGED')
      expect(String((e as Error).message)).toMatch(/references chunk [0-9a-f]{64}, which neither it nor this store holds/)
      expect(rows()).toEqual(before)
    }
    // the whole archive, from a file, restores it
    writeFileSync(path, archive)
    expect((await importArchive(dst.ctx, {file: path})).noop).toBe(false)
    expect(dst.fsck({readData: true}).problems).toEqual([])
  })

  it('a damaged chunk in the store: the default export copies it and import refuses the archive; --verify fails the export before writing it; a cut pack fails both', async () => {
    const src = await source()
    // two files of several chunks each, put in path order: the first is larger than one read
    // group (export.ts's SLOT, 8 MiB), so part of it is written out before the second, whose
    // middle chunk is damaged, is read
    const second = pseudoRandom(2_500_000, 7)
    src.repos.create('default', 'more')
    await src.files.put('default', parseCommit('more@master'), [
      {path: '/1', open: bytes(pseudoRandom(9_000_000, 5))},
      {path: '/2', open: bytes(second)},
    ])
    const needle = second.subarray(1_250_000, 1_250_064)
    const packs = readdirSync(join(src.pachDir, 'objects', 'packs'), {recursive: true, withFileTypes: true}).filter((e) => e.isFile())
    const hit = packs.map((e) => ({path: join(e.parentPath, e.name), bytes: readFileSync(join(e.parentPath, e.name))})).find((p) => p.bytes.includes(needle))!
    const at = hit.bytes.indexOf(needle) + 32
    hit.bytes[at] ^= 1
    writeFileSync(hit.path, hit.bytes)
    const damagedBytes = hit.bytes.subarray(at - 32, at + 32)
    const run = (verify: boolean, reuse: boolean) => {
      const parts: Buffer[] = []
      const done = exportArchive(src.ctx, async (bufs) => void parts.push(...bufs.map((b) => Buffer.from(b))), {pachVersion: 'test', verify, writtenUpTo: reuse ? async () => {} : undefined}).then(
        () => undefined,
        (x: unknown) => x,
      )
      return done.then((e) => ({e, written: Buffer.concat(parts)}))
    }
    const {pach: dst} = tempPach('pach-arc-damaged-')
    const empty = footprint(dst)
    const dir = mkdtempSync(join(tmpdir(), 'pach-arc-damaged-'))
    // with fresh read buffers (a sink that keeps what it is given) and with reused ones
    for (const reuse of [false, true]) {
      // default: the chunk is copied as stored, with its id; import refuses the whole archive
      const plain = await run(false, reuse)
      expect(plain.e).toBeUndefined()
      expect(plain.written.includes(damagedBytes)).toBe(true)
      writeFileSync(join(dir, 'a.pacharc'), plain.written)
      for (const input of [bytes(plain.written)(), {file: join(dir, 'a.pacharc')}]) {
        const e = await importArchive(dst.ctx, input).then(
          () => undefined,
          (x: unknown) => x,
        )
        expect(isPachError(e) && e.code).toBe('ARCHIVE_DAMAGED')
        expect(String((e as Error).message)).toMatch(/the archive is damaged: blob [0-9a-f]{64} does not match its hash/)
        expect(footprint(dst)).toEqual(empty)
      }
      // verify: the export fails before any of the damaged chunk reaches the sink
      const checked = await run(true, reuse)
      expect(isPachError(checked.e) && checked.e.code).toBe('CORRUPT_OBJECT')
      expect(String((checked.e as Error).message)).toMatch(/^blob [0-9a-f]{64} in pack [0-9a-f]{64} is damaged \(hash mismatch\)$/)
      expect(checked.written.length).toBeGreaterThan(2_000_000)
      expect(checked.written.includes(damagedBytes)).toBe(false)
      // what was written is no archive: a reader refuses it
      expect(await refusal(dst, checked.written)).toBe('ARCHIVE_DAMAGED')
      expect(footprint(dst)).toEqual(empty)
    }
    // the byte flipped back, the same store exports (verified) and round-trips
    hit.bytes[at] ^= 1
    writeFileSync(hit.path, hit.bytes)
    const good = await run(true, true)
    expect(good.e).toBeUndefined()
    expect((await importArchive(dst.ctx, bytes(good.written)())).noop).toBe(false)
    // (Buffer.equals: toEqual compares a 2.5 MB buffer byte by byte for ~12 s)
    expect(dst.files.readAll('default', parseFile('more@master:/2')).equals(second)).toBe(true)
    expect(dst.fsck({readData: true}).problems).toEqual([])
    // a pack cut short inside that chunk: both exports fail (no hashing needed to see it)
    truncateSync(hit.path, at)
    for (const verify of [false, true]) {
      const cut = await run(verify, true)
      expect(isPachError(cut.e) && cut.e.code).toBe('CORRUPT_OBJECT')
      expect(cut.written.includes(hit.bytes.subarray(at - 64, at))).toBe(false)
    }
  })

  it('refuses a repo of the same name with other history before writing anything', async () => {
    const src = await source()
    const archive = await exported(src)
    const {pach: dst} = tempPach('pach-arc-conflict-')
    dst.repos.create('default', 'words')
    const before = footprint(dst)
    expect(await refusal(dst, archive)).toBe('IMPORT_CONFLICT')
    expect(footprint(dst)).toEqual(before)
  })

  it('imports into a store with data of its own, and a full archive on top of a subset one adds only what is missing', async () => {
    const src = await source()
    const {pach: dst} = tempPach('pach-arc-merge-')
    dst.repos.create('default', 'mine')
    await dst.files.put('default', parseCommit('mine@master'), [{path: '/m', open: bytes(Buffer.from('my own'))}])
    const mineBefore = dst.commits.inspect('default', parseCommit('mine@master'))

    const sub = await exported(src, [{project: 'default', name: 'words'}])
    const first = await importArchive(dst.ctx, bytes(sub)())
    expect(first.inserted.repos).toBe(1)
    const all = await importArchive(dst.ctx, bytes(await exported(src))())
    expect(all.inserted.repos).toBe(3) // up, up.spec, up.meta: words was there
    expect(all.inserted.commits).toBe(src.db.prepare("SELECT COUNT(*) FROM commits c JOIN repos r ON r.id = c.repo_id WHERE r.name = 'up'").pluck().get())
    expect(all.present).toBeGreaterThan(0)
    expect(dst.commits.inspect('default', parseCommit('mine@master'))).toEqual(mineBefore)
    expect(dst.commits.inspect('default', parseCommit('up@master'))).toEqual(src.commits.inspect('default', parseCommit('up@master')))
    expect(dst.files.readAll('default', parseFile('mine@master:/m')).toString()).toBe('my own')
    expect(dst.fsck({readData: true}).problems).toEqual([])

    // a branch moved here after the import is a conflict: the archive would move it back
    await dst.files.put('default', parseCommit('words@master'), [{path: '/new', open: bytes(Buffer.from('later'))}])
    const before = footprint(dst)
    expect(await refusal(dst, sub)).toBe('IMPORT_CONFLICT')
    expect(footprint(dst)).toEqual(before)
  })

  it('a subset export brings the provenance of the repos asked for', async () => {
    const src = await source()
    const parts: Buffer[] = []
    const r = await exportArchive(src.ctx, async (bufs) => void parts.push(...bufs), {pachVersion: 'test', repos: [{project: 'default', name: 'up'}]})
    expect(r.repos.sort()).toEqual(['default/up', 'default/up.meta', 'default/up.spec', 'default/words'])
    expect(r.added_by_provenance.sort()).toEqual(['default/up.meta', 'default/up.spec', 'default/words'])
    const words = await exportArchive(src.ctx, async () => {}, {pachVersion: 'test', repos: [{project: 'default', name: 'words'}]})
    expect(words.repos).toEqual(['default/words'])
    expect(words.pipelines).toEqual([])
  })
})
