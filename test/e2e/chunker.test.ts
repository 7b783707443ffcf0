/**
 * The chunker from the built CLI (issue 11, "Dedup worst case"): `pach init` records
 * fastcdc-gear32-v2, and putting a file again with 1 MiB of new bytes inserted in its middle
 * adds little more than that 1 MiB to `.pach`; a store that says fastcdc-gear32-v1 (every store
 * made before v2) keeps chunking with it. bench/dedup.mjs measures the same on 64 and 256 MiB.
 */
import {createCipheriv} from 'node:crypto'
import {mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {tmpProject, type Project} from '../helpers/cli.js'
import {runBytes} from './_util.js'

const KiB = 1024
const MiB = 1024 * KiB

function prngBytes(n: number, seed: number): Buffer {
  const key = Buffer.alloc(16)
  key.writeUInt32LE(seed, 0)
  const c = createCipheriv('aes-128-ctr', key, Buffer.alloc(16))
  return Buffer.concat([c.update(Buffer.alloc(n)), c.final()])
}

/** Bytes of the files under `.pach` (every CLI run has closed the database, WAL checkpointed). */
function pachBytes(p: Project): number {
  let n = 0
  for (const e of readdirSync(join(p.dir, '.pach'), {withFileTypes: true, recursive: true})) if (e.isFile()) n += statSync(join(e.parentPath, e.name)).size
  return n
}

/** Growth of `.pach` when `v1` is put, then `v2` at the same path; checks v2 reads back. */
async function growthOfSecondPut(p: Project, v1: Buffer, v2: Buffer): Promise<number> {
  await p.ok(['create', 'repo', 'r'])
  writeFileSync(join(p.dir, 'v1.bin'), v1)
  writeFileSync(join(p.dir, 'v2.bin'), v2)
  await p.ok(['put', 'file', 'r@master:/f.bin', '-f', join(p.dir, 'v1.bin')])
  const before = pachBytes(p)
  await p.ok(['put', 'file', 'r@master:/f.bin', '-f', join(p.dir, 'v2.bin')])
  const growth = pachBytes(p) - before
  const back = await runBytes(p, ['get', 'file', 'r@master:/f.bin'])
  expect(back.exitCode).toBe(0)
  expect(back.stdout.equals(v2)).toBe(true)
  return growth
}

const v1 = prngBytes(24 * MiB, 11)
const at = 15 * MiB + 999 // where v1 re-synchronises late: 6.8 MiB of new chunks (v2: 1.1 MiB)
const v2 = Buffer.concat([v1.subarray(0, at), prngBytes(MiB, 12), v1.subarray(at)])

describe('chunker (issue 11)', () => {
  it('a new project records fastcdc-gear32-v2; a 1 MiB insertion into a 24 MiB file adds < 2 MiB', {timeout: 120_000}, async () => {
    const p = await tmpProject()
    expect(JSON.parse(readFileSync(join(p.dir, '.pach', 'config.json'), 'utf8')).chunker).toEqual({
      algorithm: 'fastcdc-gear32-v2',
      minSize: 32 * KiB,
      avgSize: 128 * KiB,
      maxSize: 512 * KiB,
    })
    const growth = await growthOfSecondPut(p, v1, v2)
    expect(growth).toBeGreaterThan(MiB)
    expect(growth).toBeLessThan(2 * MiB)
  })

  it('a project whose config.json says fastcdc-gear32-v1 keeps it (there the same insertion adds > 5 MiB)', {timeout: 120_000}, async () => {
    const p = await tmpProject()
    const cfgPath = join(p.dir, '.pach', 'config.json')
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'))
    const chunker = {algorithm: 'fastcdc-gear32-v1', minSize: 256 * KiB, avgSize: MiB, maxSize: 4 * MiB}
    writeFileSync(cfgPath, JSON.stringify({...cfg, chunker}, null, 2))
    const growth = await growthOfSecondPut(p, v1, v2)
    expect(JSON.parse(readFileSync(cfgPath, 'utf8')).chunker).toEqual(chunker)
    expect(growth).toBeGreaterThan(5 * MiB)
  })

  it('put -r of several large files (written at once through one pack writer) reads back byte for byte; fsck (which re-reads every blob) is clean', {timeout: 120_000}, async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'big'])
    const files = [0, 1, 2, 3].map((k) => prngBytes(3 * MiB + k * 77_777, 40 + k))
    const dir = join(p.dir, 'data')
    mkdirSync(dir)
    files.forEach((b, k) => writeFileSync(join(dir, `f${k}.bin`), b))
    await p.ok(['put', 'file', '-r', 'big@master:/', '-f', dir])
    for (const [k, b] of files.entries()) expect((await runBytes(p, ['get', 'file', `big@master:/f${k}.bin`])).stdout.equals(b)).toBe(true)
    const report = await p.json(['fsck'])
    expect(report.ok).toBe(true)
  })
})
