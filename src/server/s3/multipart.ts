/**
 * Multipart uploads in progress, kept out of every repo: one directory per upload under
 * `.pach/staged/s3-uploads/<upload id>/` holding `upload.json` (bucket, key, started) and one
 * staged record per part, `part-<n>.content` (core store/staged.ts): each part is chunked and
 * stored as it arrives, and its record (chunk list, MD5, size, time) written once its bytes are
 * durable; a part re-sent replaces its record. gc keeps a staged part's chunks. Completing
 * joins the parts' chunk lists in the order the client lists them (FileService.putConcat,
 * reading only the bytes around each seam) into one `put` (one commit, nothing visible before
 * it); completing or aborting removes the directory, and with it the only reference to chunks
 * of an abandoned upload (the next gc collects them). A crash leaves at most a stale upload,
 * which ListMultipartUploads shows and AbortMultipartUpload removes.
 */
import {randomBytes} from 'node:crypto'
import {mkdir, readdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import type {CoreContext} from '../../core/context.js'
import type {FileContent} from '../../core/store/content.js'
import {readStaged, removeStaged, stageContent, stagedRoot} from '../../core/store/staged.js'
import {s3err} from './errors.js'

export interface UploadInfo {
  id: string
  /** the bucket's repo identity (project/repo/branch or pinned commit), to refuse another bucket's upload id */
  bucket: string
  key: string
  initiated: string
}

export interface PartInfo {
  number: number
  md5: string
  size: number
  modified: string
  /** the part's stored content (its chunk list) */
  content: FileContent
}

/** What a part's staged record keeps besides its content. */
interface PartMeta {
  md5: string
  modified: string
}

const ID_RE = /^[0-9a-f]{32}$/
export const MIN_PART = 5 * 1024 * 1024
export const MAX_PARTS = 10_000

export class MultipartStore {
  readonly dir: string
  /** uploads this store created or read (each UploadPart checks its upload: no upload.json read per part) */
  private readonly known = new Map<string, UploadInfo>()

  constructor(private readonly ctx: Pick<CoreContext, 'pachDir' | 'store' | 'config'>) {
    this.dir = join(stagedRoot(ctx.pachDir), 's3-uploads')
  }

  private path(id: string): string {
    if (!ID_RE.test(id)) throw s3err(404, 'NoSuchUpload')
    return join(this.dir, id)
  }

  async create(bucket: string, key: string, now: Date): Promise<UploadInfo> {
    const id = randomBytes(16).toString('hex')
    const info: UploadInfo = {id, bucket, key, initiated: now.toISOString()}
    await mkdir(join(this.dir, id), {recursive: true})
    await writeFile(join(this.dir, id, 'upload.json'), JSON.stringify(info))
    this.known.set(id, info)
    return info
  }

  /** The upload, checked to belong to this bucket and key; 404 NoSuchUpload otherwise. */
  async get(id: string, bucket: string, key: string): Promise<UploadInfo> {
    // a remembered upload another store (a job's gateway) removed meanwhile fails where its directory is read (parts, putPart)
    let info = this.known.get(id)
    if (!info) {
      try {
        info = JSON.parse(await readFile(join(this.path(id), 'upload.json'), 'utf8')) as UploadInfo
      } catch {
        throw s3err(404, 'NoSuchUpload')
      }
      if (this.known.size > 10_000) this.known.clear()
      this.known.set(id, info)
    }
    if (info.bucket !== bucket || info.key !== key) throw s3err(404, 'NoSuchUpload')
    return info
  }

  /**
   * Store a part from a stream as it arrives (chunked into the store, then its record):
   * `md5` gives the MD5 hex of the bytes once the stream has ended. A stream that throws (a
   * checksum mismatch) leaves the part as it was.
   */
  async putPart(id: string, n: number, body: AsyncIterable<Buffer>, md5: () => string, signal?: AbortSignal): Promise<{md5: string; size: number}> {
    const file = join(this.path(id), `part-${n}.content`)
    try {
      const r = await stageContent<PartMeta>(this.ctx.store, this.ctx.config.chunker, file, body, () => ({md5: md5(), modified: new Date().toISOString()}), signal)
      return {md5: r.meta.md5, size: r.content.size}
    } catch (e) {
      // the upload was completed or aborted while the part came in
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw s3err(404, 'NoSuchUpload')
      throw e
    }
  }

  /** The upload's parts, by number. */
  async parts(id: string): Promise<PartInfo[]> {
    const dir = this.path(id)
    let names: string[]
    try {
      names = await readdir(dir)
    } catch {
      throw s3err(404, 'NoSuchUpload')
    }
    const out: PartInfo[] = []
    for (const name of names) {
      const m = /^part-(\d+)\.content$/.exec(name)
      if (!m) continue
      const r = await readStaged<PartMeta>(join(dir, name)).catch(() => undefined) // removed meanwhile
      if (!r) continue
      out.push({number: Number(m[1]), md5: r.meta.md5, size: r.content.size, modified: r.meta.modified, content: r.content})
    }
    return out.sort((a, b) => a.number - b.number)
  }

  /** Every upload in progress (any bucket), by key then id. */
  async list(): Promise<UploadInfo[]> {
    let ids: string[]
    try {
      ids = await readdir(this.dir)
    } catch {
      return []
    }
    const out: UploadInfo[] = []
    for (const id of ids) {
      if (!ID_RE.test(id)) continue
      try {
        out.push(JSON.parse(await readFile(join(this.dir, id, 'upload.json'), 'utf8')) as UploadInfo)
      } catch {
        // a directory being created or removed
      }
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }

  /** Remove the upload and its parts' records (their chunks go at the next gc unless a commit names them). */
  async remove(id: string): Promise<void> {
    this.known.delete(id)
    await removeStaged(this.path(id))
  }
}
