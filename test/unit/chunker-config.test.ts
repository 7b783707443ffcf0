/**
 * Which chunker a store uses: new stores get `fastcdc-gear32-v2` and its sizes; a store made
 * before v2 (the frozen v6 fixture) keeps `fastcdc-gear32-v1` with 256 KiB / 1 MiB / 4 MiB for
 * everything written into it later, and its old data reads back unchanged (test/compat). An
 * unknown algorithm is refused before anything is written.
 */
import {createCipheriv} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {openPach, parseCommit, parseFile} from '../../src/index.js'
import {readConfig} from '../../src/core/config.js'
import {DEFAULT_CHUNKER_PARAMS, V1_CHUNKER_PARAMS, cutPoints} from '../../src/core/store/chunker.js'
import {fixtureCopies} from '../helpers/fixture.js'
import {tempPach} from '../helpers/project.js'

const MiB = 1024 * 1024

function prngBytes(n: number, seed: number): Buffer {
  const key = Buffer.alloc(16)
  key.writeUInt32LE(seed, 0)
  const c = createCipheriv('aes-128-ctr', key, Buffer.alloc(16))
  return Buffer.concat([c.update(Buffer.alloc(n)), c.final()])
}
const source = (buf: Buffer) => ({
  path: '/big.bin',
  open: async function* () {
    for (let o = 0; o < buf.length; o += 100_000) yield buf.subarray(o, o + 100_000)
  },
})
const copy = fixtureCopies('v6')

describe('chunker of a store', () => {
  it('a new store records fastcdc-gear32-v2 and chunks with it', async () => {
    const {pach, dir} = tempPach('pach-chunker-')
    expect(readConfig(join(dir, '.pach')).chunker).toEqual({algorithm: 'fastcdc-gear32-v2', minSize: 32 * 1024, avgSize: 128 * 1024, maxSize: 512 * 1024})
    pach.repos.create('default', 'R')
    const data = prngBytes(3 * MiB, 5)
    await pach.files.put('default', parseCommit('R@master'), [source(data)])
    const sizes = pach.debug.chunks('default', parseFile('R@master:/big.bin')).chunks.map((c) => c.size)
    expect(sizes).toEqual(cutPoints(data, DEFAULT_CHUNKER_PARAMS))
    expect(sizes.length).toBeGreaterThan(10)
  })

  it('a store made before v2 keeps fastcdc-gear32-v1 for new data, and its old data reads back', async () => {
    const dir = copy()
    const cfgPath = join(dir, '.pach', 'config.json')
    expect(JSON.parse(readFileSync(cfgPath, 'utf8')).chunker).toEqual({algorithm: 'fastcdc-gear32-v1', minSize: 256 * 1024, avgSize: MiB, maxSize: 4 * MiB})
    const pach = openPach({pachDir: join(dir, '.pach')})
    try {
      const repo = 'chunky'
      pach.repos.create('default', repo)
      const data = prngBytes(6 * MiB, 6)
      await pach.files.put('default', parseCommit(`${repo}@master`), [source(data)])
      const sizes = pach.debug.chunks('default', parseFile(`${repo}@master:/big.bin`)).chunks.map((c) => c.size)
      expect(sizes).toEqual(cutPoints(data, V1_CHUNKER_PARAMS))
      expect(sizes).not.toEqual(cutPoints(data, DEFAULT_CHUNKER_PARAMS))
      expect(pach.files.readAll('default', parseFile(`${repo}@master:/big.bin`)).equals(data)).toBe(true)
    } finally {
      pach.close()
    }
    expect(JSON.parse(readFileSync(cfgPath, 'utf8')).chunker.algorithm).toBe('fastcdc-gear32-v1')
  })

  it('refuses a store whose chunker this pach does not know', () => {
    const {dir} = tempPach('pach-chunker-')
    const cfgPath = join(dir, '.pach', 'config.json')
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'))
    writeFileSync(cfgPath, JSON.stringify({...cfg, chunker: {...cfg.chunker, algorithm: 'fastcdc-gear32-v9'}}))
    expect(() => readConfig(join(dir, '.pach'))).toThrow(expect.objectContaining({code: 'FORMAT_UNSUPPORTED', message: expect.stringContaining('fastcdc-gear32-v9')}))
  })
})
