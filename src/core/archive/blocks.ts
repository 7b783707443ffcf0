/**
 * Reading an archive file into a fixed pool of reused blocks. A stream allocates a fresh
 * buffer for every read, and a 1 GiB import spent ~0.4 s collecting them (and more faulting
 * their fresh pages in); a pool allocates its blocks once. The blocks are SharedArrayBuffers,
 * so the hashing worker (hasher.ts) reads the same memory the pack writer then writes from.
 * One read runs ahead of the consumer.
 *
 * Contract (`PooledSource`): `next` hands out a block's filled part and never touches that
 * block again until it is given back with `release`; when every block is out, `next` waits for
 * a release. Whoever holds a block (the archive reader, then the pack writer, until the bytes
 * are in a pack file) must release it exactly once, and only when nothing refers to it.
 */
import {open, type FileHandle} from 'node:fs/promises'

export interface PooledSource {
  readonly pooled: true
  /** the next bytes of the input, or null at its end */
  next(): Promise<Buffer | null>
  /** give back a buffer `next` returned */
  release(b: Buffer): void
  close(): Promise<void>
}

export const isPooled = (x: unknown): x is PooledSource => typeof x === 'object' && x !== null && (x as {pooled?: unknown}).pooled === true

export const BLOCK_SIZE = 2 * 1024 * 1024
export const BLOCKS = 12

export class FileBlocks implements PooledSource {
  readonly pooled = true
  private readonly free: Buffer[] = []
  private readonly byMemory = new Map<ArrayBufferLike, Buffer>()
  private readonly waiters: ((b: Buffer | null) => void)[] = []
  private pos = 0
  private ended = false
  private ahead: Promise<Buffer | null> | undefined

  private constructor(private readonly fh: FileHandle, blockSize: number, blocks: number) {
    for (let i = 0; i < blocks; i++) {
      const b = Buffer.from(new SharedArrayBuffer(blockSize))
      this.byMemory.set(b.buffer, b)
      this.free.push(b)
    }
  }

  static async open(path: string, opts: {blockSize?: number; blocks?: number} = {}): Promise<FileBlocks> {
    return new FileBlocks(await open(path, 'r'), opts.blockSize ?? BLOCK_SIZE, Math.max(2, opts.blocks ?? BLOCKS))
  }

  /** A free block; null once the pool is closed. */
  private take(): Promise<Buffer | null> {
    const b = this.free.pop()
    return b ? Promise.resolve(b) : new Promise((res) => this.waiters.push(res))
  }

  private async readOne(): Promise<Buffer | null> {
    if (this.ended) return null
    const block = await this.take()
    if (!block) return null
    if (this.ended) {
      this.give(block)
      return null
    }
    const {bytesRead} = await this.fh.read(block, 0, block.length, this.pos)
    if (bytesRead === 0) {
      this.ended = true
      this.give(block)
      return null
    }
    this.pos += bytesRead
    return block.subarray(0, bytesRead)
  }

  async next(): Promise<Buffer | null> {
    const mine = this.ahead ?? this.readOne()
    this.ahead = undefined
    const b = await mine
    if (b) {
      this.ahead = this.readOne()
      this.ahead.catch(() => {}) // surfaces on the next call
    }
    return b
  }

  private give(block: Buffer): void {
    const w = this.waiters.shift()
    if (w) w(block)
    else this.free.push(block)
  }

  release(b: Buffer): void {
    const block = this.byMemory.get(b.buffer)
    if (!block) throw new Error('FileBlocks.release: not one of this pool’s blocks')
    this.give(block)
  }

  /** Stop (blocks still out need not come back: after a refusal they never do) and close the file. */
  async close(): Promise<void> {
    this.ended = true
    for (const w of this.waiters.splice(0)) w(null)
    // a read ahead may still be filling a block: let it finish before closing the file
    await this.ahead?.catch(() => {})
    this.ahead = undefined
    this.ended = true
    await this.fh.close()
  }
}
