/**
 * Regression (disk-full torture): writev may write fewer bytes than asked without an error,
 * as it does when the disk fills mid-write. The pack writer used to take such a short pack
 * for a whole one (a corrupt pack indexed, found by test/torture/diskfull.test.ts);
 * writeAll writes the rest, or fails.
 */
import type {FileHandle} from 'node:fs/promises'
import {describe, expect, it} from 'vitest'
import {writeAll} from '../../src/core/store/pack-store.js'

/** A file handle whose writev writes at most `max` bytes per call; after `limit` bytes, ENOSPC. */
function shortWriter(max: number, limit = Infinity) {
  const file = Buffer.alloc(1 << 16)
  let size = 0
  const fh = {
    async writev(bufs: Buffer[], position: number) {
      if (position >= limit) throw Object.assign(new Error('ENOSPC: no space left on device, write'), {code: 'ENOSPC'})
      let n = 0
      for (const b of bufs) {
        const take = Math.min(b.length, max - n, limit - position - n)
        b.copy(file, position + n, 0, take)
        n += take
        if (take < b.length) break
      }
      size = Math.max(size, position + n)
      return {bytesWritten: n, buffers: bufs}
    },
    async stat() {
      return {size}
    },
  }
  return {fh: fh as unknown as FileHandle, bytes: () => file.subarray(0, size)}
}

describe('writeAll', () => {
  const bufs = [Buffer.from('PACK'), Buffer.alloc(3000, 1), Buffer.alloc(10, 2), Buffer.alloc(2500, 3), Buffer.from('TRAILER')]
  const whole = Buffer.concat(bufs)

  it('writes everything when writev writes a little at a time', async () => {
    for (const max of [1, 7, 1000, 2999, 4096, 1 << 20]) {
      const w = shortWriter(max)
      await writeAll(w.fh, bufs, whole.length)
      expect(w.bytes().equals(whole), `max ${max}`).toBe(true)
    }
  })

  it('fails with ENOSPC instead of leaving a short file', async () => {
    const w = shortWriter(1000, 4000)
    await expect(writeAll(w.fh, bufs, whole.length)).rejects.toMatchObject({code: 'ENOSPC'})
  })
})
