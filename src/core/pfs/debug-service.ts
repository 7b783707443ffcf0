/**
 * Plumbing (`pach debug …`): the low-level views that user verbs are built from, exposed so
 * a user can see how a file is stored. `chunks` shows a stored file's chunk list and where
 * each chunk lives (pack and offset, or missing); `hash` chunks and hashes a byte stream
 * exactly as `put file` would (same chunker parameters, same content hash) without storing
 * anything. Both are read-only.
 */
import {InvalidArgumentError} from '../errors.js'
import type {CoreContext} from '../context.js'
import {chunkStream} from '../store/chunker.js'
import {contentHash, sha256, toHex} from '../store/hash.js'
import type {PfsEngine} from './engine.js'
import type {FileRef} from './refs.js'

export interface ChunkListing {
  path: string
  /** the file's content hash (hex) */
  hash: string
  size: number
  chunks: {id: string; size: number; pack: string | null; offset: number | null}[]
}

export interface HashListing {
  size: number
  hash: string
  chunks: {id: string; size: number}[]
}

export class DebugService {
  constructor(readonly ctx: CoreContext, readonly engine: PfsEngine) {}

  /** A stored file's chunks and where each lives; throws NOT_A_FILE for a directory or a missing path. */
  chunks(project: string, ref: FileRef): ChunkListing {
    const {commit} = this.engine.resolve.commit(ref.commit, project)
    const e = this.ctx.trees.lookup(commit.tree, ref.path)
    if (!e || e.kind !== 'file') throw new InvalidArgumentError('NOT_A_FILE', `${ref.path} is not a file in that commit`)
    return {
      path: ref.path,
      hash: toHex(e.hash),
      size: e.size,
      chunks: e.chunks.map((c, i) => {
        const loc = this.ctx.store.locate(c)
        return {id: toHex(c), size: e.sizes[i]!, pack: loc ? toHex(loc.pack) : null, offset: loc?.offset ?? null}
      }),
    }
  }

  /** Chunk and hash a stream with this project's chunker, storing nothing. */
  async hash(source: AsyncIterable<Uint8Array>): Promise<HashListing> {
    const chunks: {id: string; size: number}[] = []
    const ids: Buffer[] = []
    let size = 0
    for await (const c of chunkStream(source, this.ctx.config.chunker)) {
      const id = sha256(c)
      ids.push(id)
      chunks.push({id: toHex(id), size: c.length})
      size += c.length
    }
    return {size, hash: toHex(contentHash(ids)), chunks}
  }
}
