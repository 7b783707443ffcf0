/**
 * Unsigned LEB128 varints (protobuf's and the tree format's): 7 bits a byte, low bits first,
 * the high bit set on every byte but the last. Any safe integer (up to 2^53 − 1): division
 * instead of bit shifts, which stop at 32 bits.
 */

/** Bytes the varint of `n` takes. */
export function varintLength(n: number): number {
  let len = 1
  while (n >= 128) {
    n = Math.floor(n / 128)
    len++
  }
  return len
}

/** Write the varint of `n` at `o`; returns the offset after it. */
export function writeVarint(buf: Buffer, o: number, n: number): number {
  while (n >= 128) {
    buf[o++] = (n % 128) | 128
    n = Math.floor(n / 128)
  }
  buf[o++] = n
  return o
}

/**
 * Read the varint at `o` of at most `maxBytes` bytes: [its value, the offset after it], or
 * undefined when `buf` ends first or it runs longer (a caller decides what that means).
 */
export function readVarint(buf: Uint8Array, o: number, maxBytes = 8): [number, number] | undefined {
  let n = 0
  for (let mul = 1, i = o; i < buf.length && i - o < maxBytes; mul *= 128, i++) {
    n += (buf[i]! & 127) * mul
    if (buf[i]! < 128) return [n, i + 1]
  }
  return undefined
}
