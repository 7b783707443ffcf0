import { createCipheriv, createHash } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import {
  CHUNKER_ALGORITHM,
  CHUNKER_ALGORITHMS,
  DEFAULT_CHUNKER_PARAMS,
  V1_CHUNKER_PARAMS,
  chunkPieces,
  chunkStream,
  cutPoints,
  gearTable,
  nextCut,
  validateChunkerParams,
  type ChunkerParams,
} from '../../src/core/store/chunker.js';

const KiB = 1024;
const MiB = 1024 * 1024;
/** Small sizes; no `algorithm`, so fastcdc-gear32-v1 (what params meant before v2). */
const SMALL: ChunkerParams = { minSize: 256, avgSize: 1024, maxSize: 4096 };
const SMALL_V2: ChunkerParams = { ...SMALL, algorithm: 'fastcdc-gear32-v2' };
const V1 = V1_CHUNKER_PARAMS;
const V2 = DEFAULT_CHUNKER_PARAMS;

// Pinned outputs of fastcdc-gear32-v1 (256 KiB / 1 MiB / 4 MiB) on prngBytes(8 MiB, 12345). Chunk
// boundaries define stored data: if these change, the algorithm changed.
const PIN_V1_CUTS = [1494647, 1215274, 1273811, 1091695, 1836452, 1161991, 314738];
// fastcdc-gear32-v2 (32 KiB / 128 KiB / 512 KiB) on the same buffer: count, head, sha of the list.
const PIN_V2_COUNT = 51;
const PIN_V2_HEAD = [97778, 316995, 150019, 170474, 143449, 159376, 281066, 174467];
const PIN_V2_SHA = '9dd9d6e5817c37b2dcc3ab5ab33e9d5f7aee949aab1275c47b6773ba6665f90b';
// SMALL_V2 on the first 1 MiB of the same buffer.
const PIN_SMALL_V2_COUNT = 838;
const PIN_SMALL_V2_HEAD = [325, 1361, 1451, 1146, 476, 1149, 1097, 656, 1454, 1797, 1607, 1571];
// SMALL params on the first 1 MiB of the same buffer.
const PIN_SMALL_COUNT = 895;
const PIN_SMALL_HEAD = [1192, 494, 1181, 1416, 476, 1149, 1082, 1851, 1249, 1445, 984, 1091];

/** Deterministic pseudo-random bytes: the AES-128-CTR keystream for a key derived from `seed`. */
function prngBytes(n: number, seed: number): Buffer {
  const key = Buffer.alloc(16);
  key.writeUInt32LE(seed >>> 0, 0);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const out = cipher.update(Buffer.alloc(n));
  cipher.final();
  return out;
}

let big: Buffer | undefined;
/** 64 MiB of pseudo-random data, generated once for the whole file. */
function random64MiB(): Buffer {
  big ??= prngBytes(64 * MiB, 42);
  return big;
}

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function chunksOf(buf: Uint8Array, lengths: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  for (const len of lengths) {
    out.push(buf.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function expectBounds(lengths: number[], total: number, p: ChunkerParams): void {
  expect(sum(lengths)).toBe(total);
  lengths.forEach((len, i) => {
    expect(len).toBeLessThanOrEqual(p.maxSize);
    if (i < lengths.length - 1) expect(len).toBeGreaterThan(p.minSize);
    else expect(len).toBeGreaterThan(0);
  });
}

async function* blocks(buf: Uint8Array, size: number | (() => number)): AsyncGenerator<Uint8Array> {
  let pos = 0;
  while (pos < buf.length) {
    const n = typeof size === 'number' ? size : size();
    yield buf.subarray(pos, Math.min(buf.length, pos + n));
    pos += n;
  }
}

async function streamLengths(source: AsyncIterable<Uint8Array>, p?: ChunkerParams, views = false): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of chunkStream(source, p, { views })) out.push(c);
  return out;
}

describe('chunker constants', () => {
  it('pins the algorithm names and gear table', () => {
    expect(CHUNKER_ALGORITHM).toBe('fastcdc-gear32-v2');
    expect(CHUNKER_ALGORITHMS).toEqual(['fastcdc-gear32-v1', 'fastcdc-gear32-v2']);
    const g = gearTable();
    expect(g.length).toBe(256);
    expect(Array.from(g.slice(0, 4))).toEqual([0x5e2d1772, 0x14e498f0, 0xd20ea1fd, 0xb382f339]);
    expect(sha(new Uint8Array(g.buffer))).toBe('f429fc44828d0db8b90da5a8a5186d990e87a13b262d648fe22bfe8130a7cd84');
  });

  it('has the documented defaults', () => {
    expect(DEFAULT_CHUNKER_PARAMS).toEqual({ algorithm: 'fastcdc-gear32-v2', minSize: 32 * KiB, avgSize: 128 * KiB, maxSize: 512 * KiB });
    expect(V1_CHUNKER_PARAMS).toEqual({ algorithm: 'fastcdc-gear32-v1', minSize: 256 * KiB, avgSize: 1 * MiB, maxSize: 4 * MiB });
  });
});

describe('cutPoints', () => {
  it('is deterministic and pinned on a fixed 8 MiB pseudo-random buffer', () => {
    const buf = prngBytes(8 * MiB, 12345);
    // Guard the test-data generator itself, so a failure below means the chunker changed.
    expect(buf.subarray(0, 16).toString('hex')).toBe('e7252e2221f76720737755d7cb0d9d62');
    const cuts = cutPoints(buf, V1);
    expect(cutPoints(Buffer.from(buf), V1)).toEqual(cuts);
    expect(cuts).toEqual(PIN_V1_CUTS);
    // params without an algorithm are v1, as every caller before v2 wrote them
    expect(cutPoints(buf, { minSize: V1.minSize, avgSize: V1.avgSize, maxSize: V1.maxSize })).toEqual(PIN_V1_CUTS);
    const small = cutPoints(buf.subarray(0, 1 * MiB), SMALL);
    expect(small.length).toBe(PIN_SMALL_COUNT);
    expect(small.slice(0, 12)).toEqual(PIN_SMALL_HEAD);
    expect(sha(Buffer.from(small.join(',')))).toBe('b0e16c06fe6e6e6418c8285e67cb3fee5cf513a91bdf73dd77ef4c30c57353ba');
  });

  it('pins fastcdc-gear32-v2 (the default) on the same buffer', () => {
    const buf = prngBytes(8 * MiB, 12345);
    const cuts = cutPoints(buf);
    expect(cutPoints(buf, V2)).toEqual(cuts);
    expect(cuts.length).toBe(PIN_V2_COUNT);
    expect(cuts.slice(0, 8)).toEqual(PIN_V2_HEAD);
    expect(sha(Buffer.from(cuts.join(',')))).toBe(PIN_V2_SHA);
    const small = cutPoints(buf.subarray(0, 1 * MiB), SMALL_V2);
    expect(small.length).toBe(PIN_SMALL_V2_COUNT);
    expect(small.slice(0, 12)).toEqual(PIN_SMALL_V2_HEAD);
  });

  it('v2 bounds what a 1 MiB insertion rewrites (issue 11); v1 could rewrite several MiB', () => {
    const data = random64MiB().subarray(0, 24 * MiB);
    const insert = prngBytes(1 * MiB, 1111);
    /** Bytes of the new version's chunks that the old version does not have. */
    const newBytes = (p: ChunkerParams, at: number): number => {
      const v2 = Buffer.concat([data.subarray(0, at), insert, data.subarray(at)]);
      const old = new Set(chunksOf(data, cutPoints(data, p)).map(sha));
      return sum(chunksOf(v2, cutPoints(v2, p)).filter((c) => !old.has(sha(c))).map((c) => c.length));
    };
    const offsets = [3 * MiB + 1, 7 * MiB + 77777, 11 * MiB + 500000, 13 * MiB + 3, 17 * MiB + 999999, 20 * MiB + 123456];
    const v2 = offsets.map((at) => newBytes(V2, at));
    const v1 = offsets.map((at) => newBytes(V1, at));
    for (const b of v2) expect(b).toBeLessThanOrEqual(2 * MiB);
    expect(Math.max(...v1)).toBeGreaterThan(Math.max(...v2) + 1 * MiB);
  });

  it('treats Buffer and plain Uint8Array views (any alignment) alike', () => {
    const buf = prngBytes(1 * MiB + 7, 7);
    for (const off of [0, 1, 2, 3]) {
      const b = buf.subarray(off);
      const u = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      expect(cutPoints(u, SMALL)).toEqual(cutPoints(b, SMALL));
    }
  });

  it('respects min/max bounds', () => {
    const data = random64MiB().subarray(0, 16 * MiB);
    expectBounds(cutPoints(data), data.length, DEFAULT_CHUNKER_PARAMS);
    expectBounds(cutPoints(data, V1), data.length, V1);
    const small = data.subarray(0, 2 * MiB);
    expectBounds(cutPoints(small, SMALL), small.length, SMALL);
    expectBounds(cutPoints(small, SMALL_V2), small.length, SMALL_V2);
    const odd: ChunkerParams = { minSize: 1000, avgSize: 2048, maxSize: 3000 };
    expectBounds(cutPoints(small, odd), small.length, odd);
  });

  it('forces cuts at maxSize on data without cut points', () => {
    const zeros = new Uint8Array(10 * MiB);
    expect(cutPoints(zeros, V1)).toEqual([4 * MiB, 4 * MiB, 2 * MiB]);
    expect(cutPoints(zeros.subarray(0, 1300 * KiB))).toEqual([512 * KiB, 512 * KiB, 276 * KiB]);
    const fixed: ChunkerParams = { minSize: 64, avgSize: 64, maxSize: 64 };
    expect(cutPoints(prngBytes(200, 1), fixed)).toEqual([64, 64, 64, 8]);
  });

  it('has a mean chunk size within 0.5x-2x avgSize on 64 MiB of random data', () => {
    const data = random64MiB();
    for (const p of [V1, V2]) {
      const mean = data.length / cutPoints(data, p).length;
      expect(mean).toBeGreaterThan(0.5 * p.avgSize);
      expect(mean).toBeLessThan(2 * p.avgSize);
    }
    const small = data.subarray(0, 4 * MiB);
    const smallMean = small.length / cutPoints(small, SMALL).length;
    expect(smallMean).toBeGreaterThan(0.5 * SMALL.avgSize);
    expect(smallMean).toBeLessThan(2 * SMALL.avgSize);
  });

  it('resists shifts: prepending 100 bytes keeps >= 90% of chunks', () => {
    const data = random64MiB().subarray(0, 32 * MiB);
    const shifted = Buffer.concat([prngBytes(100, 99), data]);
    for (const p of [V1, V2]) {
      const before = chunksOf(data, cutPoints(data, p)).map(sha);
      const after = new Set(chunksOf(shifted, cutPoints(shifted, p)).map(sha));
      const kept = before.filter((h) => after.has(h)).length;
      expect(kept / before.length).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('restarts at any cut point with the same subsequent cuts', () => {
    const data = random64MiB().subarray(0, 12 * MiB);
    const full = cutPoints(data, V1);
    let pos = 0;
    for (let i = 0; i < full.length; i++) {
      expect(cutPoints(data.subarray(pos), V1)).toEqual(full.slice(i));
      pos += full[i]!;
    }
    const head = data.subarray(0, 3 * MiB);
    const fullV2 = cutPoints(head);
    pos = 0;
    for (let i = 0; i < fullV2.length; i++) {
      expect(cutPoints(head.subarray(pos))).toEqual(fullV2.slice(i));
      pos += fullV2[i]!;
    }
    const small = data.subarray(0, 256 * KiB);
    const fullSmall = cutPoints(small, SMALL);
    pos = 0;
    for (let i = 0; i < fullSmall.length; i++) {
      if (i % 7 === 0) expect(cutPoints(small.subarray(pos), SMALL)).toEqual(fullSmall.slice(i));
      pos += fullSmall[i]!;
    }
  });

  it('returns no chunks for empty input and one chunk for input <= minSize', () => {
    expect(cutPoints(new Uint8Array(0))).toEqual([]);
    expect(cutPoints(new Uint8Array(1))).toEqual([1]);
    expect(cutPoints(prngBytes(100 * KiB, 3), V1)).toEqual([100 * KiB]);
    expect(cutPoints(prngBytes(256 * KiB, 3), V1)).toEqual([256 * KiB]);
    expect(cutPoints(prngBytes(32 * KiB, 3))).toEqual([32 * KiB]);
    expect(cutPoints(prngBytes(200, 3), SMALL)).toEqual([200]);
  });
});

describe('nextCut', () => {
  it('handles empty ranges', () => {
    const buf = new Uint8Array(10);
    expect(nextCut(buf, 5, 5, SMALL, true)).toBe(0);
    expect(nextCut(buf, 5, 5, SMALL, false)).toBe(-1);
  });

  it('asks for more bytes unless eof', () => {
    const buf = prngBytes(100, 5);
    expect(nextCut(buf, 0, 100, SMALL, false)).toBe(-1);
    expect(nextCut(buf, 0, 100, SMALL, true)).toBe(100);
    expect(nextCut(buf, 10, 60, SMALL, true)).toBe(50);
  });

  it('cuts at maxSize without eof when maxSize bytes are available', () => {
    const zeros = new Uint8Array(SMALL.maxSize + 10);
    expect(nextCut(zeros, 0, SMALL.maxSize - 1, SMALL, false)).toBe(-1);
    expect(nextCut(zeros, 0, SMALL.maxSize - 1, SMALL, true)).toBe(SMALL.maxSize - 1);
    expect(nextCut(zeros, 0, SMALL.maxSize, SMALL, false)).toBe(SMALL.maxSize);
    expect(nextCut(zeros, 0, zeros.length, SMALL, false)).toBe(SMALL.maxSize);
    expect(nextCut(zeros, 3, zeros.length, SMALL, true)).toBe(SMALL.maxSize);
  });

  it('finds the same cut with partial and complete data', () => {
    const buf = prngBytes(64 * KiB, 11);
    for (const start of [0, 1, 1000, 5003]) {
      const len = nextCut(buf, start, buf.length, SMALL, true);
      expect(len).toBeGreaterThan(SMALL.minSize);
      expect(len).toBeLessThanOrEqual(SMALL.maxSize);
      for (let end = start; end < start + len; end += 37) {
        expect(nextCut(buf, start, end, SMALL, false)).toBe(-1);
      }
      expect(nextCut(buf, start, start + len - 1, SMALL, false)).toBe(-1);
      expect(nextCut(buf, start, start + len, SMALL, false)).toBe(len);
      expect(nextCut(buf, start, start + len + 1, SMALL, false)).toBe(len);
      expect(nextCut(buf, start, start + len, SMALL, true)).toBe(len);
    }
  });

  it('agrees with cutPoints', () => {
    const buf = prngBytes(512 * KiB, 13);
    const lengths: number[] = [];
    for (let pos = 0; pos < buf.length; ) {
      const len = nextCut(buf, pos, buf.length, SMALL, true);
      lengths.push(len);
      pos += len;
    }
    expect(lengths).toEqual(cutPoints(buf, SMALL));
  });

  it('rejects bad ranges and params', () => {
    const buf = new Uint8Array(10);
    expect(() => nextCut(buf, 5, 11, SMALL, true)).toThrow(RangeError);
    expect(() => nextCut(buf, 6, 5, SMALL, true)).toThrow(RangeError);
    expect(() => nextCut(buf, -1, 5, SMALL, true)).toThrow(RangeError);
    expect(() => nextCut(buf, 0, 5, { minSize: 10, avgSize: 1024, maxSize: 4096 }, true)).toThrow();
  });
});

describe('chunkStream', () => {
  const bigData = (): Buffer => random64MiB().subarray(0, 12 * MiB + 12345);
  /** The shortest of the first chunks of the big buffer plus 16 KiB (< minSize): a small window that still contains a cut. */
  const shortChunkWindow = (): Buffer => {
    const data = random64MiB();
    const cuts = cutPoints(data.subarray(0, 16 * MiB)).slice(0, -1);
    let best = 0;
    let bestPos = 0;
    for (let i = 0, pos = 0; i < cuts.length; pos += cuts[i]!, i++) {
      if (i === 0 || cuts[i]! < cuts[best]!) {
        best = i;
        bestPos = pos;
      }
    }
    const w = data.subarray(bestPos, bestPos + cuts[best]! + 16 * KiB);
    expect(cutPoints(w).length).toBe(2);
    return w;
  };
  const smallData = (): Buffer => random64MiB().subarray(0, 96 * KiB + 17);

  const cases: Array<{ name: string; size: number | 'random'; data: () => Buffer; p: ChunkerParams }> = [
    { name: '1-byte blocks, small params', size: 1, data: smallData, p: SMALL },
    { name: '7-byte blocks, small params', size: 7, data: smallData, p: SMALL },
    { name: '7-byte blocks, default params', size: 7, data: shortChunkWindow, p: DEFAULT_CHUNKER_PARAMS },
    { name: '7-byte blocks, small v2 params', size: 7, data: smallData, p: SMALL_V2 },
    { name: '64 KiB blocks, v1 params', size: 64 * KiB, data: bigData, p: V1 },
    { name: 'random-size blocks, v1 params', size: 'random', data: bigData, p: V1 },
    { name: '64 KiB blocks, small params', size: 64 * KiB, data: smallData, p: SMALL },
    { name: '64 KiB blocks, default params', size: 64 * KiB, data: bigData, p: DEFAULT_CHUNKER_PARAMS },
    { name: '5 MiB blocks, default params', size: 5 * MiB, data: bigData, p: DEFAULT_CHUNKER_PARAMS },
    { name: 'random-size blocks, default params', size: 'random', data: bigData, p: DEFAULT_CHUNKER_PARAMS },
    { name: 'random-size blocks, small params', size: 'random', data: smallData, p: SMALL },
  ];

  /** Block sizes from a seeded LCG: a quarter of them 1–13 bytes, the rest up to 5,000 bytes (small params) or 3 MiB. */
  const randomSizes = (seed: number, p: ChunkerParams) => (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const r = seed >>> 8;
    return r % 4 === 0 ? 1 + (r % 13) : 1 + (r % (p === SMALL ? 5000 : 3 * MiB));
  };

  for (const c of cases) {
    it(`equals whole-buffer cutting: ${c.name}`, async () => {
      const data = c.data();
      const expected = chunksOf(data, cutPoints(data, c.p));
      const chunks = await streamLengths(blocks(data, c.size === 'random' ? randomSizes(77, c.p) : c.size), c.p);
      expect(chunks.map((b) => b.length)).toEqual(expected.map((b) => b.length));
      expect(Buffer.concat(chunks).equals(data)).toBe(true);
      for (let i = 0; i < chunks.length; i++) expect(chunks[i]!.equals(expected[i]!)).toBe(true);
    });
  }

  it('yields fresh buffers that do not alias the source', async () => {
    const data = Buffer.from(random64MiB().subarray(0, 6 * MiB));
    const chunks = await streamLengths(blocks(data, 5 * MiB));
    const copy = chunks.map((c) => Buffer.from(c));
    data.fill(0);
    chunks.forEach((c, i) => {
      expect(c.buffer).not.toBe(data.buffer);
      expect(c.equals(copy[i]!)).toBe(true);
    });
  });

  for (const c of cases) {
    it(`with views, equals whole-buffer cutting: ${c.name}`, async () => {
      const data = c.data();
      const expected = chunksOf(data, cutPoints(data, c.p));
      const chunks = await streamLengths(blocks(data, c.size === 'random' ? randomSizes(91, c.p) : c.size), c.p, true);
      expect(chunks.map((b) => b.length)).toEqual(expected.map((b) => b.length));
      for (let i = 0; i < chunks.length; i++) expect(chunks[i]!.equals(expected[i]!)).toBe(true);
    });
  }

  it('with views, a chunk inside one block is a view of it and a chunk across blocks is a copy', async () => {
    const data = Buffer.from(random64MiB().subarray(0, 6 * MiB));
    const blockSize = 1 * MiB;
    const chunks = await streamLengths(blocks(data, blockSize));
    const viewed = await streamLengths(blocks(data, blockSize), undefined, true);
    expect(viewed.map((c) => c.length)).toEqual(chunks.map((c) => c.length));
    let start = 0;
    let views = 0;
    let copies = 0;
    for (const c of viewed) {
      const inOne = Math.floor(start / blockSize) === Math.floor((start + c.length - 1) / blockSize);
      if (inOne) {
        expect(c.buffer).toBe(data.buffer);
        expect(c.byteOffset).toBe(data.byteOffset + start);
        views++;
      } else {
        expect(c.buffer).not.toBe(data.buffer);
        copies++;
      }
      expect(Buffer.isBuffer(c)).toBe(true);
      start += c.length;
    }
    expect(views).toBeGreaterThan(0);
    expect(copies).toBeGreaterThan(0);
  });

  it('with views, a last chunk gathered from small blocks is an exact copy, not a view of a 64 KiB staging buffer', async () => {
    const data = Buffer.from(random64MiB().subarray(0, 3000));
    const out = await streamLengths(blocks(data, 1000), undefined, true);
    expect(out.length).toBe(1);
    expect(out[0]!.equals(data)).toBe(true);
    // (small Buffers may share Node's 8 KiB pool with `data`: compare the ranges)
    expect(out[0]!.buffer === data.buffer && out[0]!.byteOffset === data.byteOffset).toBe(false);
    expect(out[0]!.buffer.byteLength).toBeLessThan(64 * KiB);
  });

  it('yields nothing for empty input and skips empty blocks', async () => {
    expect(await streamLengths(blocks(new Uint8Array(0), 10))).toEqual([]);
    async function* withEmpties(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(0);
      yield Buffer.from('hello');
      yield new Uint8Array(0);
      yield Buffer.from(' world');
    }
    const out = await streamLengths(withEmpties());
    expect(out.map((b) => b.toString())).toEqual(['hello world']);
  });
});

describe('validateChunkerParams', () => {
  it('accepts sane params', () => {
    expect(() => validateChunkerParams(DEFAULT_CHUNKER_PARAMS)).not.toThrow();
    expect(() => validateChunkerParams(SMALL)).not.toThrow();
    expect(() => validateChunkerParams({ minSize: 64, avgSize: 64, maxSize: 64 })).not.toThrow();
    expect(() => validateChunkerParams(V1)).not.toThrow();
    expect(() => validateChunkerParams({ ...SMALL_V2, minSize: 64, avgSize: 64 })).not.toThrow();
  });

  it('rejects nonsense', () => {
    expect(() => validateChunkerParams({ minSize: 63, avgSize: 1024, maxSize: 4096 })).toThrow(/minSize/);
    expect(() => validateChunkerParams({ minSize: 256, avgSize: 1000, maxSize: 4096 })).toThrow(/power of two/);
    expect(() => validateChunkerParams({ minSize: 2048, avgSize: 1024, maxSize: 4096 })).toThrow(/minSize/);
    expect(() => validateChunkerParams({ minSize: 256, avgSize: 1024, maxSize: 512 })).toThrow(/maxSize/);
    expect(() => validateChunkerParams({ minSize: 256.5, avgSize: 1024, maxSize: 4096 })).toThrow(/integer/);
    expect(() => validateChunkerParams({ minSize: 256, avgSize: NaN, maxSize: 4096 })).toThrow(/integer/);
    expect(() => validateChunkerParams({ minSize: 256, avgSize: 2 ** 31, maxSize: 2 ** 32 })).toThrow();
    expect(() => cutPoints(new Uint8Array(10), { minSize: 256, avgSize: 1000, maxSize: 4096 })).toThrow();
    expect(() => validateChunkerParams({ ...SMALL, algorithm: 'fastcdc-gear32-v9' as never })).toThrow(/algorithm/);
  });
});

describe('chunkPieces', () => {
  it('cuts as chunkStream does and gives each chunk as views of the source blocks it spans', async () => {
    const data = prngBytes(3 * MiB + 777, 99);
    for (const block of [100, 16 * KiB, 64 * KiB, 1 * MiB]) {
      const blocks: Buffer[] = [];
      for (let at = 0; at < data.length; at += block) blocks.push(Buffer.from(data.subarray(at, at + block)));
      const src = async function* () {
        yield* blocks;
      };
      const whole: Buffer[] = [];
      for await (const c of chunkStream(src(), V2, { views: true })) whole.push(c);
      const pieced: Buffer[][] = [];
      for await (const p of chunkPieces(src(), V2)) pieced.push(p);
      expect(pieced.map((p) => Buffer.concat(p).length)).toEqual(whole.map((c) => c.length));
      expect(pieced.every((p, i) => Buffer.concat(p).equals(whole[i]!))).toBe(true);
      if (block >= 16 * KiB) {
        // pieces are memory of the source blocks, but for a block's last bytes under 8 KiB after
        // a cut, which are staged (copied) with what follows, as chunkStream does
        const sources = new Set(blocks.map((b) => b.buffer));
        const inSource = pieced.flat().reduce((n, p) => n + (sources.has(p.buffer) ? p.length : 0), 0);
        expect(inSource / data.length).toBeGreaterThan(block === 16 * KiB ? 0.6 : 0.9);
      }
    }
  });
});
