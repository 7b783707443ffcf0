/**
 * Multipart uploads in progress, kept out of every repo: one directory per upload under
 * `.pach/s3/uploads/<upload id>/` holding `upload.json` (bucket, key, started) and one file
 * per part, `part-<n>-<md5 hex>`, written to a temp name and renamed into place once its
 * bytes are in (a part re-sent replaces the earlier one). Completing streams the parts, in
 * the order the client lists them, into one `put` (one commit, nothing visible before it);
 * completing or aborting removes the directory. A crash leaves at most a stale upload, which
 * ListMultipartUploads shows and AbortMultipartUpload removes.
 */
import {createHash, randomBytes} from 'node:crypto'
import {createReadStream, createWriteStream} from 'node:fs'
import {mkdir, readdir, readFile, rename, rm, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {pipeline} from 'node:stream/promises'
import {Readable} from 'node:stream'
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
  file: string
}

const ID_RE = /^[0-9a-f]{32}$/
export const MIN_PART = 5 * 1024 * 1024
export const MAX_PARTS = 10_000

export class MultipartStore {
  constructor(readonly dir: string) {}

  private path(id: string): string {
    if (!ID_RE.test(id)) throw s3err(404, 'NoSuchUpload')
    return join(this.dir, id)
  }

  async create(bucket: string, key: string, now: Date): Promise<UploadInfo> {
    const id = randomBytes(16).toString('hex')
    const info: UploadInfo = {id, bucket, key, initiated: now.toISOString()}
    await mkdir(join(this.dir, id), {recursive: true})
    await writeFile(join(this.dir, id, 'upload.json'), JSON.stringify(info))
    return info
  }

  /** The upload, checked to belong to this bucket and key; 404 NoSuchUpload otherwise. */
  async get(id: string, bucket: string, key: string): Promise<UploadInfo> {
    let info: UploadInfo
    try {
      info = JSON.parse(await readFile(join(this.path(id), 'upload.json'), 'utf8')) as UploadInfo
    } catch {
      throw s3err(404, 'NoSuchUpload')
    }
    if (info.bucket !== bucket || info.key !== key) throw s3err(404, 'NoSuchUpload')
    return info
  }

  /** Store a part from a stream; returns its MD5 hex. */
  async putPart(id: string, n: number, body: AsyncIterable<Buffer>): Promise<{md5: string; size: number}> {
    const dir = this.path(id)
    const tmp = join(dir, `tmp-${randomBytes(8).toString('hex')}`)
    const md5 = createHash('md5')
    let size = 0
    try {
      await pipeline(
        Readable.from(
          (async function* () {
            for await (const b of body) {
              md5.update(b)
              size += b.length
              yield b
            }
          })(),
        ),
        createWriteStream(tmp),
      )
      const hex = md5.digest('hex')
      for (const old of (await this.parts(id)).filter((p) => p.number === n)) await rm(old.file, {force: true})
      await rename(tmp, join(dir, `part-${n}-${hex}`))
      return {md5: hex, size}
    } catch (e) {
      await rm(tmp, {force: true})
      throw e
    }
  }

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
      const m = /^part-(\d+)-([0-9a-f]{32})$/.exec(name)
      if (!m) continue
      const file = join(dir, name)
      const s = await stat(file).catch(() => undefined)
      if (!s) continue
      out.push({number: Number(m[1]), md5: m[2]!, size: s.size, modified: s.mtime.toISOString(), file})
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

  async remove(id: string): Promise<void> {
    await rm(this.path(id), {recursive: true, force: true})
  }

  /** The bytes of the given parts, in order, as one stream. */
  static async *concat(parts: PartInfo[]): AsyncGenerator<Buffer> {
    for (const p of parts) yield* createReadStream(p.file, {highWaterMark: 1024 * 1024}) as AsyncIterable<Buffer>
  }
}
