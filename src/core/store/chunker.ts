/**
 * Content-defined chunker — algorithms `fastcdc-gear32-v2` (new stores) and
 * `fastcdc-gear32-v1` (stores created before it; read and written unchanged).
 *
 * Concept
 * -------
 * Files are split into variable-size chunks whose boundaries are chosen by the
 * content itself (FastCDC, Xia et al. 2016/2020), so an insertion or deletion
 * only changes the chunks around the edit; the rest dedupe against chunks
 * already stored. Chunk boundaries define stored data: everything below is
 * frozen per algorithm. Changing any of it (table, masks, offsets, cut rule) is
 * a new algorithm and needs a new name in CHUNKER_ALGORITHMS. A store records
 * its algorithm and sizes in config.json and keeps them for life: the same
 * bytes chunked another way get other chunk ids and another content hash.
 *
 * Gear table
 * ----------
 * GEAR[0..255] are the first 256 outputs of splitmix32 seeded with 1:
 *
 *   state = (state + 0x9e3779b9) | 0
 *   t = state ^ (state >>> 16); t = imul(t, 0x21f0aaad)
 *   t = t ^ (t >>> 15);         t = imul(t, 0x735a2d97)
 *   out = (t ^ (t >>> 15)) >>> 0
 *
 * GEAR[0..3] = 0x5e2d1772, 0x14e498f0, 0xd20ea1fd, 0xb382f339 (unit test guard).
 *
 * Rolling hash
 * ------------
 * h = ((h << 1) + GEAR[byte]) mod 2^32. Bit k of h depends only on the last
 * k+1 bytes, so the high bits carry the longest history: bit 31 covers a
 * 32-byte window. The masks therefore test the HIGH bits of h.
 *
 * Masks (normalized chunking; the level is the only difference of v1 and v2)
 * -------------------------------------------------------------------------
 * bits = log2(avgSize) (avgSize must be a power of two, 64 .. 2^30), and
 * level = 2 for v1, 1 for v2:
 *   MASK_S = top (bits + level) bits set   (stricter; used before avgSize)
 *   MASK_L = top (bits - level) bits set   (looser;   used from avgSize on)
 * e.g. v1, avgSize = 1 MiB: MASK_S = 0xfffffc00 (22 bits), MASK_L = 0xffffc000 (18 bits);
 *      v2, avgSize = 128 KiB: MASK_S = 0xffffc000 (18 bits), MASK_L = 0xffff0000 (16 bits).
 *
 * Why v2 (issue 11, bench/dedup.mjs): after an insertion the chunks that follow
 * start at new offsets, and re-synchronise with the old cuts only when a new
 * chunk ends exactly on an old cut. Level 2 makes cuts before avgSize rare
 * (MASK_S) and after it dense (MASK_L, every avgSize/4 bytes), so a chunk
 * ends at "start + avgSize + a short gap": the cuts act almost like fixed-size
 * blocks and two chains of cuts a few gaps apart stay apart for many chunks
 * (with 256 KiB / 1 MiB / 4 MiB, 1 MiB inserted into a random file stored up
 * to 12.8 MiB).
 * Level 1 loosens the grip on avgSize so chains meet again within a chunk or
 * two, and the smaller sizes of new stores (32 KiB / 128 KiB / 512 KiB) bound
 * what one edit rewrites: the chunk it falls in and one or two after it.
 *
 * Cut rule, for a chunk starting at absolute position s (offset k = pos - s):
 *   - h = 0 at the chunk start; bytes at offsets k < minSize are skipped
 *     (not hashed).
 *   - for k = minSize, minSize+1, ...: h = ((h << 1) + GEAR[b]) >>> 0; the
 *     test mask is MASK_S if k < avgSize, else MASK_L; if (h & mask) == 0 the
 *     chunk ends AFTER this byte (length k + 1).
 *   - if no cut was found by offset maxSize - 1, the chunk length is maxSize.
 *   - at end of input the remaining bytes form the last chunk.
 * Hence every chunk except the last has minSize < length <= maxSize (or
 * exactly maxSize when minSize == maxSize); the last has 1 <= length <= maxSize.
 *
 * Key invariant (restart / append)
 * --------------------------------
 * The hash resets at each cut, and whether a chunk ends at length L depends
 * only on the bytes [s, s + L) of that chunk. Therefore chunking may restart at
 * ANY previous cut point and yields exactly the same subsequent cuts as
 * chunking the whole stream; and feeding bytes incrementally (streaming)
 * yields the same cuts as chunking one contiguous buffer. Appending to a file
 * only requires re-chunking from the start of its last chunk.
 *
 * Implementation notes: the module is pure and deterministic and has no
 * dependencies. The hot loop runs in int32 arithmetic (`| 0`, same low 32 bits
 * as `>>> 0`) and, on little-endian hosts, fetches 4 bytes per Int32Array
 * load; results are byte-for-byte those of the simple per-byte rule above.
 */

/** Every algorithm this chunker implements (a store's config.json names one of them). */
export const CHUNKER_ALGORITHMS = ['fastcdc-gear32-v1', 'fastcdc-gear32-v2'] as const;
export type ChunkerAlgorithm = (typeof CHUNKER_ALGORITHMS)[number];

export interface ChunkerParams {
  /** The cut rule; absent means `fastcdc-gear32-v1` (the only one before v2 existed). */
  algorithm?: ChunkerAlgorithm;
  minSize: number;
  avgSize: number;
  maxSize: number;
}

/** The algorithm of new stores. */
export const CHUNKER_ALGORITHM: ChunkerAlgorithm = 'fastcdc-gear32-v2';

/** The parameters of new stores (config.json of `pach init`). */
export const DEFAULT_CHUNKER_PARAMS: ChunkerParams = Object.freeze({
  algorithm: CHUNKER_ALGORITHM,
  minSize: 32 * 1024,
  avgSize: 128 * 1024,
  maxSize: 512 * 1024,
});

/** What stores made before v2 have in config.json (and still use). */
export const V1_CHUNKER_PARAMS: ChunkerParams = Object.freeze({
  algorithm: 'fastcdc-gear32-v1',
  minSize: 256 * 1024,
  avgSize: 1024 * 1024,
  maxSize: 4 * 1024 * 1024,
});

/** True when `name` is an algorithm this chunker implements. */
export function isChunkerAlgorithm(name: unknown): name is ChunkerAlgorithm {
  return (CHUNKER_ALGORITHMS as readonly unknown[]).includes(name);
}

/** The normalization level of an algorithm: how many mask bits MASK_S adds and MASK_L drops. */
function normLevel(p: ChunkerParams): number {
  return p.algorithm === 'fastcdc-gear32-v2' ? 1 : 2;
}

/** Largest accepted avgSize (MASK_S needs log2(avg) + 2 <= 32 bits). */
const MAX_AVG_SIZE = 2 ** 30;
/** Largest accepted maxSize (offsets stay small integers). */
const MAX_MAX_SIZE = 2 ** 31 - 1;

/** The gear table, stored as int32 (same bits as the uint32 values) for a fast inner loop. */
const GEAR: Int32Array = buildGearTable();

function buildGearTable(): Int32Array {
  const table = new Int32Array(256);
  let state = 1;
  for (let i = 0; i < 256; i++) {
    state = (state + 0x9e3779b9) | 0;
    let t = state ^ (state >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t = t ^ (t >>> 15);
    t = Math.imul(t, 0x735a2d97);
    table[i] = t ^ (t >>> 15);
  }
  return table;
}

/** A copy of the gear table as uint32 values (for tests / documentation). */
export function gearTable(): Uint32Array {
  return new Uint32Array(GEAR.buffer.slice(0));
}

/**
 * Throws an Error when the parameters are unusable (a caller's bug: `readConfig` checks the
 * stored parameters and reports bad ones as CORRUPT_OBJECT).
 */
export function validateChunkerParams(p: ChunkerParams): void {
  if (p === null || typeof p !== 'object') throw new Error('chunker params must be an object');
  const { minSize, avgSize, maxSize } = p;
  if (p.algorithm !== undefined && !isChunkerAlgorithm(p.algorithm)) {
    throw new Error(`chunker algorithm ${String(p.algorithm)} is not one of ${CHUNKER_ALGORITHMS.join(', ')}`);
  }
  for (const [name, v] of [
    ['minSize', minSize],
    ['avgSize', avgSize],
    ['maxSize', maxSize],
  ] as const) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
      throw new Error(`chunker ${name} must be an integer, got ${String(v)}`);
    }
  }
  if (minSize < 64) throw new Error(`chunker minSize must be >= 64, got ${minSize}`);
  if (avgSize > MAX_AVG_SIZE || (avgSize & (avgSize - 1)) !== 0) {
    throw new Error(`chunker avgSize must be a power of two <= 2^30, got ${avgSize}`);
  }
  if (minSize > avgSize) throw new Error(`chunker minSize (${minSize}) must be <= avgSize (${avgSize})`);
  if (avgSize > maxSize) throw new Error(`chunker avgSize (${avgSize}) must be <= maxSize (${maxSize})`);
  if (maxSize > MAX_MAX_SIZE) throw new Error(`chunker maxSize must be < 2^31, got ${maxSize}`);
}

/** Mask with the top `n` bits set, as an int32 (1 <= n <= 32). */
function topBitsMask(n: number): number {
  return (-1 << (32 - n)) | 0;
}

function maskS(p: ChunkerParams): number {
  return topBitsMask(31 - Math.clz32(p.avgSize) + normLevel(p));
}

function maskL(p: ChunkerParams): number {
  return topBitsMask(31 - Math.clz32(p.avgSize) - normLevel(p));
}

/** Hash state left behind by `hashRange` / `scan` when they return -1 (lets callers resume). */
let carryHash = 0;

/** True on little-endian hosts, where 4 bytes can be fetched with one Int32Array load. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Ranges shorter than this are hashed byte by byte (not worth creating a word view). */
const WORD_LOOP_MIN = 64;

/** Plain Uint8Array view of `buf` (so the hot loop only ever sees one receiver map). */
function plainView(buf: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(buf) === Uint8Array.prototype
    ? buf
    : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Hash buf[i, stop) starting from state h, testing `mask` after every byte.
 * Returns the index just past the first byte whose hash passes, or -1 (hash
 * state in `carryHash`). Byte-for-byte identical to the simple loop
 *   for (; i < stop; i++) { h = ((h << 1) + GEAR[buf[i]]) | 0; if ((h & mask) === 0) return i + 1; }
 * but on little-endian hosts it reads the aligned middle part of the range
 * one 32-bit word at a time (roughly twice as fast in V8).
 */
function hashRange(buf: Uint8Array, i: number, stop: number, h: number, mask: number): number {
  const gear = GEAR;
  if (LITTLE_ENDIAN && stop - i >= WORD_LOOP_MIN) {
    const byteOffset = buf.byteOffset;
    while (((byteOffset + i) & 3) !== 0) {
      h = ((h << 1) + gear[buf[i]!]!) | 0;
      i++;
      if ((h & mask) === 0) return i;
    }
    const words = new Int32Array(buf.buffer, byteOffset + i, (stop - i) >> 2);
    const nw = words.length;
    for (let j = 0; j < nw; j++) {
      const x = words[j]!;
      h = ((h << 1) + gear[x & 255]!) | 0;
      if ((h & mask) === 0) return i + (j << 2) + 1;
      h = ((h << 1) + gear[(x >>> 8) & 255]!) | 0;
      if ((h & mask) === 0) return i + (j << 2) + 2;
      h = ((h << 1) + gear[(x >>> 16) & 255]!) | 0;
      if ((h & mask) === 0) return i + (j << 2) + 3;
      h = ((h << 1) + gear[x >>> 24]!) | 0;
      if ((h & mask) === 0) return i + (j << 2) + 4;
    }
    i += nw << 2;
  }
  for (; i < stop; i++) {
    h = ((h << 1) + gear[buf[i]!]!) | 0;
    if ((h & mask) === 0) return i + 1;
  }
  carryHash = h;
  return -1;
}

/**
 * Core scanner. buf[from] is the byte at chunk offset `off` of the current
 * chunk, `h` is the hash state after offset off-1. Scans buf[from, to).
 * Returns the index in buf just past the chunk's last byte if the chunk ends
 * within buf[from, to), otherwise -1 (and leaves the hash in `carryHash`).
 */
function scan(
  buf: Uint8Array,
  from: number,
  to: number,
  off: number,
  h: number,
  minSize: number,
  avgSize: number,
  maxSize: number,
  mS: number,
  mL: number,
): number {
  const base = from - off; // index in buf of chunk offset 0 (may be negative)
  const maxEnd = base + maxSize;
  const stop = to < maxEnd ? to : maxEnd;
  let i = base + minSize; // first hashed byte
  if (i < from) i = from;
  const normEnd0 = base + avgSize;
  const normEnd = normEnd0 < stop ? normEnd0 : stop;
  if (i < normEnd) {
    const r = hashRange(buf, i, normEnd, h, mS);
    if (r >= 0) return r;
    h = carryHash;
    i = normEnd;
  }
  if (i < stop) {
    const r = hashRange(buf, i, stop, h, mL);
    if (r >= 0) return r;
    h = carryHash;
  }
  if (stop === maxEnd) return maxEnd;
  carryHash = h;
  return -1;
}

/**
 * Length of the chunk starting at buf[start], looking at most at
 * buf[start..end). Returns -1 when no cut was found in the available bytes,
 * fewer than maxSize bytes were available, and eof is false (caller must
 * supply more bytes). With eof true it always returns > 0 (or 0 when
 * start===end).
 */
export function nextCut(
  buf: Uint8Array,
  start: number,
  end: number,
  p: ChunkerParams,
  eof: boolean,
): number {
  validateChunkerParams(p);
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > buf.length || start > end) {
    throw new RangeError(`nextCut: bad range [${start}, ${end}) for buffer of length ${buf.length}`);
  }
  const n = end - start;
  if (n === 0) return eof ? 0 : -1;
  const { minSize, avgSize, maxSize } = p;
  const r = scan(plainView(buf), start, end, 0, 0, minSize, avgSize, maxSize, maskS(p), maskL(p));
  if (r >= 0) return r - start;
  return eof ? n : -1;
}

/** Split a whole buffer into chunk lengths (they sum to buf.length; empty input → []). */
export function cutPoints(buf: Uint8Array, p: ChunkerParams = DEFAULT_CHUNKER_PARAMS): number[] {
  validateChunkerParams(p);
  const { minSize, avgSize, maxSize } = p;
  const mS = maskS(p);
  const mL = maskL(p);
  const view = plainView(buf);
  const len = view.length;
  const out: number[] = [];
  let pos = 0;
  while (pos < len) {
    const r = scan(view, pos, len, 0, 0, minSize, avgSize, maxSize, mS, mL);
    const next = r >= 0 ? r : len;
    out.push(next - pos);
    pos = next;
  }
  return out;
}

/** Source blocks smaller than this are coalesced into staging buffers instead of being retained as views. */
const SMALL_BLOCK = 8 * 1024;
/** Capacity of a staging buffer for small blocks. */
const STAGE_CAPACITY = 64 * 1024;

/**
 * Streaming: re-chunk an async byte source into chunk Buffers, with exactly
 * the cuts `cutPoints` would produce on the concatenated input.
 *
 * Every yielded Buffer is a FRESH, exactly-sized copy owned by the consumer
 * (it never aliases a source block or an internal buffer, so it may be kept
 * or mutated freely) — unless `views` is set: then a chunk that lies within
 * one source block is yielded as a view of that block (no copy, no fresh
 * memory to fault in: at ingest the copy cost as much as a third of the
 * chunking), and only chunks spanning blocks are copies. The consumer must
 * then not mutate a chunk, and a source must never reuse a block's memory.
 * The hash is run directly over the source blocks, and each byte is copied
 * once, into its chunk Buffer (not at all when the chunk is a view). (Source
 * blocks smaller than 8 KiB are first coalesced into 64 KiB staging buffers
 * to bound bookkeeping, so their bytes are copied twice.)
 *
 * Contract for the source: chunkStream retains views of source blocks until
 * the chunk containing them is complete, so a source must not reuse/mutate a
 * block's memory after yielding it (Node streams, fs reads, etc. do not).
 * Empty blocks are ignored; empty input yields nothing.
 */
export function chunkStream(
  source: AsyncIterable<Uint8Array>,
  p: ChunkerParams = DEFAULT_CHUNKER_PARAMS,
  opts: {views?: boolean} = {},
): AsyncGenerator<Buffer> {
  return chunks(source, p, opts.views === true, false) as AsyncGenerator<Buffer>;
}

/**
 * chunkStream with `views`, each chunk given as its pieces: views of the source blocks it
 * spans, in order (a chunk within one block is one view), never copied into one Buffer (only
 * a block's last bytes under 8 KiB are staged with what follows, as in chunkStream). For a
 * consumer that hashes and writes the pieces as they are (a pack's writev): a source of small
 * blocks (an upload's 64 KiB HTTP/2 reads) would otherwise have nearly every chunk copied.
 * The same cuts as chunkStream; the same contract for the source (blocks are retained).
 */
export function chunkPieces(source: AsyncIterable<Uint8Array>, p: ChunkerParams = DEFAULT_CHUNKER_PARAMS): AsyncGenerator<Buffer[]> {
  return chunks(source, p, true, true) as AsyncGenerator<Buffer[]>;
}

const asBuffer = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));

async function* chunks(source: AsyncIterable<Uint8Array>, p: ChunkerParams, views: boolean, asPieces: boolean): AsyncGenerator<Buffer | Buffer[]> {
  validateChunkerParams(p);
  const { minSize, avgSize, maxSize } = p;
  const mS = maskS(p);
  const mL = maskL(p);

  // Pending bytes of the current (incomplete) chunk.
  let pieces: Uint8Array[] = [];
  let pendingLen = 0; // == chunk offset of the next byte
  let h = 0;
  let stage: Buffer | null = null;
  let stageUsed = 0;

  const closeStage = (): void => {
    if (stage !== null) {
      if (stageUsed > 0) pieces.push(stage.subarray(0, stageUsed));
      stage = null;
      stageUsed = 0;
    }
  };

  const assemble = (tail: Uint8Array | null, tailFrom: number, tailTo: number): Buffer | Buffer[] => {
    closeStage();
    if (asPieces) {
      const out = pieces.map(asBuffer);
      if (tail !== null && tailTo > tailFrom) out.push(asBuffer(tail.subarray(tailFrom, tailTo)));
      pieces = [];
      pendingLen = 0;
      h = 0;
      return out;
    }
    const tailLen = tail === null ? 0 : tailTo - tailFrom;
    const out = Buffer.allocUnsafe(pendingLen + tailLen);
    let o = 0;
    for (const piece of pieces) {
      out.set(piece, o);
      o += piece.length;
    }
    if (tail !== null && tailLen > 0) out.set(tail.subarray(tailFrom, tailTo), o);
    pieces = [];
    pendingLen = 0;
    h = 0;
    return out;
  };

  for await (const block of source) {
    const len = block.length;
    if (len === 0) continue;
    const view = plainView(block);
    let pos = 0;
    while (pos < len) {
      const r = scan(view, pos, len, pendingLen, h, minSize, avgSize, maxSize, mS, mL);
      if (r >= 0) {
        if (views && pendingLen === 0 && stage === null) {
          // the whole chunk is in this block (pos is its start): hand out a view
          h = 0;
          const v = Buffer.from(view.buffer, view.byteOffset + pos, r - pos);
          yield asPieces ? [v] : v;
          pos = r;
          continue;
        }
        yield assemble(view, pos, r);
        pos = r;
        continue;
      }
      // No cut in the rest of this block: keep it pending.
      h = carryHash;
      const rest = len - pos;
      if (rest < SMALL_BLOCK) {
        let from = pos;
        while (from < len) {
          if (stage === null) {
            stage = Buffer.allocUnsafe(Math.min(STAGE_CAPACITY, maxSize));
            stageUsed = 0;
          }
          const take = Math.min(len - from, stage.length - stageUsed);
          if (take <= 32) {
            for (let k = 0; k < take; k++) stage[stageUsed + k] = view[from + k]!;
          } else {
            stage.set(view.subarray(from, from + take), stageUsed);
          }
          stageUsed += take;
          from += take;
          if (stageUsed === stage.length) closeStage();
        }
      } else {
        closeStage();
        pieces.push(pos === 0 ? view : view.subarray(pos));
      }
      pendingLen += rest;
      break;
    }
  }
  if (pendingLen > 0) {
    // the last chunk lies in one source block: a view of it (never of a staging buffer,
    // which is larger than what it holds: a 1 KiB file would keep 64 KiB)
    const only = stage === null && pieces.length === 1 ? pieces[0]! : null;
    if (views && only !== null) {
      const v = Buffer.from(only.buffer, only.byteOffset, only.byteLength);
      yield asPieces ? [v] : v;
    } else yield assemble(null, 0, 0);
  }
}
