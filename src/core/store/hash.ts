/**
 * Content addresses. Every id in the store is SHA-256 (node:crypto, SHA-NI accelerated),
 * kept as a 32-byte Buffer internally and shown as 64 lowercase hex characters.
 */
import {nodeCrypto} from '../builtins.js'

export const HASH_LEN = 32

export function sha256(...parts: Uint8Array[]): Buffer {
  const h = nodeCrypto().createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}

export function fromHex(s: string): Buffer {
  return Buffer.from(s, 'hex')
}

/** The hash of a file's content: sha256 over the concatenation of its chunk ids. */
export function contentHash(chunks: readonly Buffer[]): Buffer {
  const h = nodeCrypto().createHash('sha256')
  for (const c of chunks) h.update(c)
  return h.digest()
}

