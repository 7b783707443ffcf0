/**
 * Staged contents: file contents whose chunks are stored (durable and indexed) but which no
 * commit names yet — an S3 multipart upload's parts, between UploadPart and
 * CompleteMultipartUpload. Staging a part as it arrives is what lets the completion commit the
 * file without reading its bytes again (content.ts `concatContent`).
 *
 * On disk: a record is a file `*.content` anywhere under `.pach/staged/` holding one JSON
 * object `{content: <contentText>, meta: <the owner's JSON>}`; owners lay out their own
 * subdirectories (the S3 gateway: `s3-uploads/<upload id>/part-<n>.content`) and remove
 * records once the content is committed or abandoned. gc marks the chunks of every record
 * live and fsck does not count them as garbage, so staged bytes survive any gc until their
 * record goes; a record's removal leaves its chunks to the next gc unless a commit names them.
 *
 * Protocol (data before metadata): `stageContent` chunks the stream into a pack writer, closes
 * it (packs durable and indexed), writes the record (temp file, fsync per config, rename over
 * any earlier record of the same name, directory fsync), and only then drops the writer's
 * lease. gc cannot start while the lease is held, so it finds either the lease or the record:
 * a staged chunk is never collected. A crash or failure before the rename leaves only
 * unreferenced blobs (gc removes them) and at most a `*.tmp-*` file, which is no record.
 */
import {randomBytes} from 'node:crypto'
import {readdirSync, readFileSync} from 'node:fs'
import {readFile, rename, rm, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import type {ChunkerParams} from './chunker.js'
import {contentFromText, contentText, writeContent, type FileContent} from './content.js'
import {fsyncDir, type BlobStore} from './pack-store.js'

/** The directory of staged records in a `.pach` directory. */
export function stagedRoot(pachDir: string): string {
  return join(pachDir, 'staged')
}

export interface StagedRecord<M> {
  content: FileContent
  meta: M
}

/**
 * Chunk and store `source`, then record it at `file` (a path under stagedRoot ending in
 * `.content`, in a directory the caller made), replacing an earlier record of that name. `meta` is asked for once the source
 * has ended (e.g. the MD5 of its bytes). A source that throws (a bad checksum) stores no
 * record and leaves only garbage. Returns the record written.
 * @example await stageContent(ctx.store, ctx.config.chunker, join(stagedRoot(dir), 'up', 'part-1.content'), body, () => ({md5}))
 */
export async function stageContent<M>(store: BlobStore, params: ChunkerParams, file: string, source: AsyncIterable<Uint8Array>, meta: () => M, signal?: AbortSignal): Promise<StagedRecord<M>> {
  if (!file.endsWith('.content')) throw new Error(`a staged record's name ends in .content: ${file}`)
  const writer = await store.writerWait()
  try {
    const content = await writeContent(source, writer, params, undefined, signal)
    await writer.close()
    const record = {content, meta: meta()}
    await writeDurable(file, `{"content":${contentText(content)},"meta":${JSON.stringify(record.meta)}}`, store.opts.fsync)
    return record
  } catch (e) {
    await writer.abort()
    throw e
  } finally {
    writer.release()
  }
}

/** The record at `file` (throws ENOENT when there is none). */
export async function readStaged<M>(file: string): Promise<StagedRecord<M>> {
  return parseRecord<M>(await readFile(file, 'utf8'))
}

/** Remove a record, or an owner's directory of records with everything in it. */
export async function removeStaged(path: string): Promise<void> {
  await rm(path, {recursive: true, force: true})
}

/** Every chunk id named by a record under `root` (gc's and fsck's roots), read synchronously. */
export function stagedChunks(root: string): Buffer[] {
  const out: Buffer[] = []
  const walk = (dir: string) => {
    let entries
    try {
      entries = readdirSync(dir, {withFileTypes: true})
    } catch {
      return // no staged directory, or one removed meanwhile
    }
    for (const e of entries) {
      const p = join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.name.endsWith('.content')) {
        let text: string
        try {
          text = readFileSync(p, 'utf8')
        } catch {
          continue // removed meanwhile
        }
        out.push(...parseRecord(text).content.chunks)
      }
    }
  }
  walk(root)
  return out
}

function parseRecord<M>(text: string): StagedRecord<M> {
  const o = JSON.parse(text) as {content: unknown; meta: M}
  return {content: contentFromText(JSON.stringify(o.content)), meta: o.meta}
}

/**
 * Write a file whole under a temp name, sync it (when `fsync`), rename it into place and sync
 * its directory. The directory is not created: an owner that removed it meanwhile (an aborted
 * upload) gets ENOENT instead of a record nobody would ever remove.
 */
async function writeDurable(file: string, text: string, fsync: boolean): Promise<void> {
  const dir = dirname(file)
  const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`
  try {
    await writeFile(tmp, text, {flush: fsync})
    await rename(tmp, file)
  } catch (e) {
    await rm(tmp, {force: true})
    throw e
  }
  if (fsync) await fsyncDir(dir)
}
