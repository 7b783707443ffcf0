/**
 * bufferContent (store/content.ts) keeps a writer's buffered bytes bounded for small buffers
 * too: a job stores one small meta record per datum through it, and without a drain every
 * byte of 100,000 of them stayed in the writer until its close.
 */
import {describe, expect, it} from 'vitest'
import {defaultConfig} from '../../src/core/config.js'
import {bufferContent} from '../../src/core/store/content.js'
import type {PackWriter} from '../../src/core/store/pack-store.js'

/** A writer that only counts: `full` at `target` buffered bytes, drain empties it. */
function countingWriter(target: number) {
  const w = {
    buffered: 0,
    most: 0,
    drains: 0,
    add(_id: Buffer, data: Buffer) {
      w.buffered += data.length
      return true
    },
    get full() {
      return w.buffered >= target
    },
    async drain() {
      w.drains++
      w.buffered = 0
    },
  }
  return w
}

describe('bufferContent', () => {
  it('drains the writer when small buffers fill it, as large ones do', async () => {
    const chunker = defaultConfig().chunker
    const w = countingWriter(10_000)
    for (let i = 0; i < 1000; i++) {
      const c = await bufferContent(Buffer.from(`{"datum": ${i}, "state": "SUCCESS", "padding": "${'x'.repeat(60)}"}`), w as unknown as PackWriter, chunker)
      expect(c.chunks).toHaveLength(1)
      w.most = Math.max(w.most, w.buffered)
    }
    expect(w.drains).toBeGreaterThan(5)
    expect(w.most).toBeLessThan(10_000)
  })
})
