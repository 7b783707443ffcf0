// The S3 gateway of a real `pach serve` through @aws-sdk/client-s3 (path-style): buckets,
// listings (v1 and v2, prefix/delimiter, > 1,000 keys), reads with ranges and conditions,
// writes as commits (checked with `pach list commit` / `get file` / `inspect file`), copy,
// delete, multipart (lib-storage Upload of 100 MiB), commit-pinned reads of an older commit.
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  ListPartsCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3'
import {Upload} from '@aws-sdk/lib-storage'
import {createHash, randomBytes} from 'node:crypto'
import {existsSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startGateway, type Gateway} from './helpers.js'

const MiB = 1024 * 1024
const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex')
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

let g: Gateway
let s3: S3Client

beforeAll(async () => {
  g = await startGateway()
  s3 = g.client()
  await g.ok(['create', 'repo', 'images'])
})
afterAll(async () => {
  s3?.destroy()
  await g?.stop()
})

async function body(out: {Body?: unknown}): Promise<Buffer> {
  return Buffer.from(await (out.Body as {transformToByteArray(): Promise<Uint8Array>}).transformToByteArray())
}

async function s3Error(p: Promise<unknown>): Promise<{name: string; status: number}> {
  try {
    await p
  } catch (e) {
    if (e instanceof S3ServiceException) return {name: e.name, status: e.$metadata.httpStatusCode ?? 0}
    throw e
  }
  throw new Error('expected an S3 error')
}

const commits = async (repo: string) => (await g.json<{commit: {id: string}}[]>(['list', 'commit', repo])).map((c) => c.commit.id)

describe('S3 gateway (AWS SDK v3)', () => {
  it('lists every branch as a 3-part bucket; HEAD, location and versioning', async () => {
    await g.ok(['put', 'file', 'images@master:/first.txt'], 'first')
    await g.ok(['create', 'branch', 'images@dev'])
    const out = await s3.send(new ListBucketsCommand({}))
    const names = out.Buckets!.map((b) => b.Name)
    expect(names).toEqual(expect.arrayContaining(['master.images.default', 'dev.images.default']))
    await s3.send(new HeadBucketCommand({Bucket: 'images'}))
    await s3.send(new HeadBucketCommand({Bucket: 'dev.images'}))
    expect(await s3Error(s3.send(new HeadBucketCommand({Bucket: 'nope.images'})))).toMatchObject({status: 404})
    expect((await s3.send(new GetBucketLocationCommand({Bucket: 'master.images.default'}))).LocationConstraint ?? '').toBe('')
    expect((await s3.send(new GetBucketVersioningCommand({Bucket: 'images'}))).Status).toBe('Enabled')
    expect(await s3Error(s3.send(new GetObjectCommand({Bucket: 'a.b.c.d.e', Key: 'x'})))).toEqual({name: 'InvalidBucketName', status: 400})
  })

  it('a PUT is one commit on the branch; GET, HEAD, ranges and conditions read it back', async () => {
    const before = await commits('images')
    const data = Buffer.from('hello from s3\n')
    const put = await s3.send(new PutObjectCommand({Bucket: 'master.images', Key: 'docs/hello.txt', Body: data}))
    expect(put.ETag).toBe(`"${md5(data)}"`)
    const after = await commits('images')
    expect(after.length).toBe(before.length + 1)
    expect(put.VersionId).toBe(after[0])
    expect(await g.ok(['get', 'file', 'images@master:/docs/hello.txt'])).toBe(data.toString())

    const got = await s3.send(new GetObjectCommand({Bucket: 'images', Key: 'docs/hello.txt'}))
    expect(await body(got)).toEqual(data)
    expect(got.ETag).toBe(`"${md5(data)}"`)
    expect(got.ContentLength).toBe(data.length)
    expect(got.ContentType).toBe('text/plain; charset=utf-8')
    expect(got.LastModified).toBeInstanceOf(Date)
    const head = await s3.send(new HeadObjectCommand({Bucket: 'master.images.default', Key: 'docs/hello.txt'}))
    expect(head.ContentLength).toBe(data.length)
    expect(head.ETag).toBe(got.ETag)

    const part = await s3.send(new GetObjectCommand({Bucket: 'images', Key: 'docs/hello.txt', Range: 'bytes=6-9'}))
    expect(part.$metadata.httpStatusCode).toBe(206)
    expect(part.ContentRange).toBe(`bytes 6-9/${data.length}`)
    expect((await body(part)).toString()).toBe('from')
    const suffix = await s3.send(new GetObjectCommand({Bucket: 'images', Key: 'docs/hello.txt', Range: 'bytes=-3'}))
    expect((await body(suffix)).toString()).toBe('s3\n')
    expect(await s3Error(s3.send(new GetObjectCommand({Bucket: 'images', Key: 'docs/hello.txt', Range: 'bytes=100-'})))).toEqual({name: 'InvalidRange', status: 416})
    expect(await s3Error(s3.send(new GetObjectCommand({Bucket: 'images', Key: 'docs/hello.txt', IfMatch: '"0000"'})))).toMatchObject({status: 412})
    expect(await s3Error(s3.send(new GetObjectCommand({Bucket: 'images', Key: 'docs/hello.txt', IfNoneMatch: got.ETag})))).toMatchObject({status: 304})
    expect(await s3Error(s3.send(new GetObjectCommand({Bucket: 'images', Key: 'docs/hello.txt', IfModifiedSince: new Date(Date.now() + 3600_000)})))).toMatchObject({status: 304})
    expect(await s3Error(s3.send(new PutObjectCommand({Bucket: 'images', Key: 'docs/hello.txt', Body: 'x', IfNoneMatch: '*'})))).toMatchObject({status: 412})
    expect((await commits('images')).length).toBe(after.length)
    expect(await s3Error(s3.send(new GetObjectCommand({Bucket: 'images', Key: 'docs/nope.txt'})))).toEqual({name: 'NoSuchKey', status: 404})
    expect(await s3Error(s3.send(new GetObjectCommand({Bucket: 'images', Key: 'docs'})))).toEqual({name: 'NoSuchKey', status: 404})
    expect(await s3Error(s3.send(new GetObjectCommand({Bucket: 'nothere', Key: 'x'})))).toEqual({name: 'NoSuchBucket', status: 404})
  })

  it('a streamed body (aws-chunked with an unsigned trailer) is decoded; a write joins an open head commit', async () => {
    const data = randomBytes(300_000)
    const put = await s3.send(new PutObjectCommand({Bucket: 'images', Key: 'stream.bin', Body: Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]), ContentLength: data.length}))
    expect(put.ETag).toBe(`"${md5(data)}"`)
    const got = await body(await s3.send(new GetObjectCommand({Bucket: 'images', Key: 'stream.bin'})))
    expect(sha(got)).toBe(sha(data))

    const open = (await g.json<{commit: {id: string}}>(['start', 'commit', 'images@dev'])).commit.id
    await s3.send(new PutObjectCommand({Bucket: 'dev.images', Key: 'a.txt', Body: 'a'}))
    const put2 = await s3.send(new PutObjectCommand({Bucket: 'dev.images', Key: 'b.txt', Body: 'b'}))
    // a folder marker changes nothing (and does not turn `sub` into a file)
    await s3.send(new PutObjectCommand({Bucket: 'dev.images', Key: 'sub/', Body: ''}))
    expect(put2.VersionId).toBe(open)
    await g.ok(['finish', 'commit', 'images@dev'])
    const files = (await g.json<{file: {path: string}}[]>(['list', 'file', `images@${open}`])).map((f) => f.file.path)
    expect(files).toEqual(['/a.txt', '/b.txt'])
  })

  it('lists more than 1,000 keys with v1 and v2, with prefix, delimiter, markers and tokens', async () => {
    await g.ok(['create', 'repo', 'many'])
    const dir = join(g.dir, 'many')
    const names: string[] = []
    for (let i = 0; i < 1100; i++) names.push(`k${String(i).padStart(4, '0')}`)
    const { mkdirSync } = await import('node:fs')
    mkdirSync(join(dir, 'sub', 'deep'), {recursive: true})
    for (const n of names) writeFileSync(join(dir, n), n)
    writeFileSync(join(dir, 'sub', 'x'), 'x')
    writeFileSync(join(dir, 'sub', 'deep', 'y'), 'y')
    writeFileSync(join(dir, 'sub-file'), 'z')
    await g.ok(['put', 'file', '-r', 'many@master:/', '-f', dir])

    // v2, flat: every key, in pages of 1,000
    const all: string[] = []
    let token: string | undefined
    let pages = 0
    do {
      const out = await s3.send(new ListObjectsV2Command({Bucket: 'many', ContinuationToken: token}))
      pages++
      expect(out.KeyCount).toBe(out.Contents?.length ?? 0)
      all.push(...out.Contents!.map((c) => c.Key!))
      token = out.IsTruncated ? out.NextContinuationToken : undefined
    } while (token)
    expect(pages).toBe(2)
    const expected = [...names, 'sub-file', 'sub/deep/y', 'sub/x'].sort()
    expect(all).toEqual(expected)

    // v1 with markers, small pages
    const v1: string[] = []
    let marker: string | undefined
    for (;;) {
      const out = await s3.send(new ListObjectsCommand({Bucket: 'master.many', Marker: marker, MaxKeys: 400}))
      v1.push(...(out.Contents ?? []).map((c) => c.Key!))
      if (!out.IsTruncated) break
      marker = out.NextMarker ?? v1[v1.length - 1]
    }
    expect(v1).toEqual(expected)

    // delimiter: directories are common prefixes
    const top = await s3.send(new ListObjectsV2Command({Bucket: 'many', Delimiter: '/', Prefix: 'sub'}))
    expect(top.CommonPrefixes!.map((p) => p.Prefix)).toEqual(['sub/'])
    expect(top.Contents!.map((c) => c.Key)).toEqual(['sub-file'])
    const sub = await s3.send(new ListObjectsV2Command({Bucket: 'many', Delimiter: '/', Prefix: 'sub/'}))
    expect(sub.CommonPrefixes!.map((p) => p.Prefix)).toEqual(['sub/deep/'])
    expect(sub.Contents!.map((c) => c.Key)).toEqual(['sub/x'])
    const pre = await s3.send(new ListObjectsV2Command({Bucket: 'many', Prefix: 'k10', StartAfter: 'k1049'}))
    expect(pre.Contents!.map((c) => c.Key)).toEqual(names.filter((n) => n.startsWith('k10') && n > 'k1049'))
    // a file written by `pach put file` lists with its content hash until a read learns its MD5
    const first = pre.Contents![0]!
    const pfsHash = (await g.json<{hash: string}>(['inspect', 'file', `many@master:/${first.Key}`])).hash
    expect(first.ETag).toBe(`"${pfsHash}"`)
    expect((await s3.send(new HeadObjectCommand({Bucket: 'many', Key: first.Key}))).ETag).toBe(`"${md5(first.Key!)}"`)
    const again = await s3.send(new ListObjectsV2Command({Bucket: 'many', Prefix: first.Key}))
    expect(again.Contents![0]!.ETag).toBe(`"${md5(first.Key!)}"`)
    const versions = await s3.send(new ListObjectVersionsCommand({Bucket: 'many', Prefix: 'sub/'}))
    expect(versions.Versions!.map((v) => [v.Key, v.IsLatest])).toEqual([['sub/deep/y', true], ['sub/x', true]])
  })

  it('reads an older commit through a commit-pinned bucket, which is read-only', async () => {
    await g.ok(['create', 'repo', 'hist'])
    await s3.send(new PutObjectCommand({Bucket: 'hist', Key: 'f.txt', Body: 'v1'}))
    const first = (await commits('hist'))[0]!
    await s3.send(new PutObjectCommand({Bucket: 'hist', Key: 'f.txt', Body: 'v2'}))
    expect((await body(await s3.send(new GetObjectCommand({Bucket: 'hist', Key: 'f.txt'})))).toString()).toBe('v2')
    const pinned = await s3.send(new GetObjectCommand({Bucket: `${first}.master.hist.default`, Key: 'f.txt'}))
    expect((await body(pinned)).toString()).toBe('v1')
    expect(pinned.VersionId).toBe(first)
    expect((await body(await s3.send(new GetObjectCommand({Bucket: `${first}.hist`, Key: 'f.txt'})))).toString()).toBe('v1')
    expect((await body(await s3.send(new GetObjectCommand({Bucket: 'hist', Key: 'f.txt', VersionId: first})))).toString()).toBe('v1')
    expect(await s3Error(s3.send(new PutObjectCommand({Bucket: `${first}.hist`, Key: 'g.txt', Body: 'x'})))).toEqual({name: 'NotImplemented', status: 501})
    expect((await commits('hist')).length).toBe(2)
  })

  it('copies, deletes one and many keys (one commit for many), and refuses output branches', async () => {
    await g.ok(['create', 'repo', 'cp'])
    await s3.send(new PutObjectCommand({Bucket: 'cp', Key: 'src.txt', Body: 'copy me'}))
    const copied = await s3.send(new CopyObjectCommand({Bucket: 'master.cp', Key: 'dir/dst.txt', CopySource: 'cp/src.txt'}))
    expect(copied.CopyObjectResult!.ETag).toBe(`"${md5('copy me')}"`)
    expect(await g.ok(['get', 'file', 'cp@master:/dir/dst.txt'])).toBe('copy me')
    await s3.send(new CopyObjectCommand({Bucket: 'images', Key: 'from-cp.txt', CopySource: '/master.cp.default/src.txt'}))
    expect(await g.ok(['get', 'file', 'images@master:/from-cp.txt'])).toBe('copy me')
    expect(await s3Error(s3.send(new CopyObjectCommand({Bucket: 'cp', Key: 'src.txt', CopySource: 'cp/src.txt'})))).toEqual({name: 'InvalidRequest', status: 400})
    expect(await s3Error(s3.send(new CopyObjectCommand({Bucket: 'cp', Key: 'x.txt', CopySource: 'cp/none.txt'})))).toEqual({name: 'NoSuchKey', status: 404})

    const n = (await commits('cp')).length
    await s3.send(new DeleteObjectCommand({Bucket: 'cp', Key: 'dir/dst.txt'}))
    await s3.send(new DeleteObjectCommand({Bucket: 'cp', Key: 'never-there.txt'}))
    expect((await commits('cp')).length).toBe(n + 1)
    for (const k of ['a', 'b', 'c']) await s3.send(new PutObjectCommand({Bucket: 'cp', Key: k, Body: k}))
    const del = await s3.send(new DeleteObjectsCommand({Bucket: 'cp', Delete: {Objects: [{Key: 'a'}, {Key: 'b'}, {Key: 'zz'}, {Key: '../x'}]}}))
    expect(del.Deleted!.map((d) => d.Key).sort()).toEqual(['a', 'b', 'zz'])
    expect(del.Errors!.map((e) => [e.Key, e.Code])).toEqual([['../x', 'InvalidFilePath']])
    expect((await commits('cp')).length).toBe(n + 1 + 3 + 1)
    const left = (await g.json<{file: {path: string}}[]>(['list', 'file', 'cp@master'])).map((f) => f.file.path)
    expect(left).toEqual(['/c', '/src.txt'])

    writeFileSync(join(g.dir, 'spec.json'), JSON.stringify({pipeline: {name: 'edges'}, input: {pfs: {repo: 'cp', glob: '/*'}}, transform: {cmd: ['true']}}))
    await g.ok(['create', 'pipeline', '-f', join(g.dir, 'spec.json')])
    expect(await s3Error(s3.send(new PutObjectCommand({Bucket: 'edges', Key: 'x', Body: 'x'})))).toEqual({name: 'WriteToOutputBranch', status: 400})
  })

  it('creates a bucket (repo and branch) and deletes it only when empty', async () => {
    await s3.send(new CreateBucketCommand({Bucket: 'fresh'}))
    expect((await g.json<{repo: {name: string}}[]>(['list', 'repo'])).map((r) => r.repo.name)).toContain('fresh')
    await s3.send(new CreateBucketCommand({Bucket: 'feature.fresh'}))
    expect(await s3Error(s3.send(new CreateBucketCommand({Bucket: 'feature.fresh'})))).toEqual({name: 'BucketAlreadyOwnedByYou', status: 409})
    expect(await s3Error(s3.send(new CreateBucketCommand({Bucket: 'bad!name'})))).toMatchObject({status: 400})
    await s3.send(new PutObjectCommand({Bucket: 'feature.fresh', Key: 'k', Body: 'v'}))
    expect(await s3Error(s3.send(new DeleteBucketCommand({Bucket: 'feature.fresh'})))).toEqual({name: 'BucketNotEmpty', status: 409})
    const pending = await s3.send(new CreateMultipartUploadCommand({Bucket: 'fresh', Key: 'never-completed'}))
    expect(existsSync(join(g.dir, '.pach', 'staged', 's3-uploads', pending.UploadId!))).toBe(true)
    await s3.send(new DeleteBucketCommand({Bucket: 'fresh'}))
    expect(existsSync(join(g.dir, '.pach', 'staged', 's3-uploads', pending.UploadId!))).toBe(false)
    expect((await g.json<{name: string}[]>(['list', 'branch', 'fresh'])).length).toBe(1)
    await s3.send(new DeleteObjectCommand({Bucket: 'feature.fresh', Key: 'k'}))
    await s3.send(new DeleteBucketCommand({Bucket: 'feature.fresh'}))
    expect((await g.json<{repo: {name: string}}[]>(['list', 'repo'])).map((r) => r.repo.name)).not.toContain('fresh')
    expect(await s3Error(s3.send(new DeleteBucketCommand({Bucket: 'fresh'})))).toEqual({name: 'NoSuchBucket', status: 404})
  })

  it('uploads 100 MiB in parts (lib-storage) as one commit with an md5-of-md5s ETag', async () => {
    await g.ok(['create', 'repo', 'big'])
    const data = randomBytes(100 * MiB)
    const up = new Upload({client: s3, params: {Bucket: 'big', Key: 'blob.bin', Body: data}, partSize: 8 * MiB, queueSize: 4})
    const res = await up.done()
    const partMd5s = []
    for (let o = 0; o < data.length; o += 8 * MiB) partMd5s.push(createHash('md5').update(data.subarray(o, o + 8 * MiB)).digest())
    expect(res.ETag).toBe(`"${md5(Buffer.concat(partMd5s))}-${partMd5s.length}"`)
    expect((await commits('big')).length).toBe(1)
    const head = await s3.send(new HeadObjectCommand({Bucket: 'big', Key: 'blob.bin'}))
    expect(head.ContentLength).toBe(data.length)
    expect(head.ETag).toBe(res.ETag)
    // the same bytes through `pach put file` have the same PFS hash
    writeFileSync(join(g.dir, 'blob.bin'), data)
    // (in the same directory: the uploaded file must survive the next write, see tree-huge-entry.test.ts)
    await g.ok(['put', 'file', 'big@master:/copy.bin', '-f', join(g.dir, 'blob.bin')])
    const a = await g.json<{hash: string}>(['inspect', 'file', 'big@master:/blob.bin'])
    const b = await g.json<{hash: string}>(['inspect', 'file', 'big@master:/copy.bin'])
    expect(a.hash).toBe(b.hash)
    const range = await s3.send(new GetObjectCommand({Bucket: 'big', Key: 'blob.bin', Range: `bytes=${50 * MiB}-${50 * MiB + 9}`}))
    expect(await body(range)).toEqual(data.subarray(50 * MiB, 50 * MiB + 10))
  })

  it('multipart: list parts and uploads, abort, wrong part ETags, small parts, empty list', async () => {
    await g.ok(['create', 'repo', 'mp'])
    const c = await s3.send(new CreateMultipartUploadCommand({Bucket: 'mp', Key: 'dir/obj'}))
    const id = c.UploadId!
    const p1 = Buffer.alloc(5 * MiB, 1)
    const e1 = (await s3.send(new UploadPartCommand({Bucket: 'mp', Key: 'dir/obj', UploadId: id, PartNumber: 1, Body: p1}))).ETag!
    const e2 = (await s3.send(new UploadPartCommand({Bucket: 'mp', Key: 'dir/obj', UploadId: id, PartNumber: 2, Body: 'tail'}))).ETag!
    expect((await s3.send(new ListPartsCommand({Bucket: 'mp', Key: 'dir/obj', UploadId: id}))).Parts!.map((p) => [p.PartNumber, p.ETag, p.Size])).toEqual([
      [1, e1, 5 * MiB],
      [2, e2, 4],
    ])
    expect((await s3.send(new ListMultipartUploadsCommand({Bucket: 'mp'}))).Uploads!.map((u) => [u.Key, u.UploadId])).toEqual([['dir/obj', id]])
    const complete = (parts: {PartNumber: number; ETag: string}[]) => s3.send(new CompleteMultipartUploadCommand({Bucket: 'mp', Key: 'dir/obj', UploadId: id, MultipartUpload: {Parts: parts}}))
    expect(await s3Error(complete([{PartNumber: 1, ETag: '"00000000000000000000000000000000"'}]))).toEqual({name: 'InvalidPart', status: 400})
    expect(await s3Error(complete([{PartNumber: 2, ETag: e2}, {PartNumber: 1, ETag: e1}]))).toEqual({name: 'InvalidPartOrder', status: 400})
    expect(await s3Error(complete([]))).toEqual({name: 'MalformedXML', status: 400})
    expect((await commits('mp')).length).toBe(0)
    await complete([{PartNumber: 1, ETag: e1}, {PartNumber: 2, ETag: e2}])
    const got = await body(await s3.send(new GetObjectCommand({Bucket: 'mp', Key: 'dir/obj'})))
    expect(sha(got)).toBe(sha(Buffer.concat([p1, Buffer.from('tail')])))
    expect((await s3.send(new ListMultipartUploadsCommand({Bucket: 'mp'}))).Uploads ?? []).toEqual([])

    const c2 = await s3.send(new CreateMultipartUploadCommand({Bucket: 'mp', Key: 'small'}))
    const s1 = (await s3.send(new UploadPartCommand({Bucket: 'mp', Key: 'small', UploadId: c2.UploadId, PartNumber: 1, Body: 'a'}))).ETag!
    const s2 = (await s3.send(new UploadPartCommand({Bucket: 'mp', Key: 'small', UploadId: c2.UploadId, PartNumber: 2, Body: 'b'}))).ETag!
    expect(await s3Error(s3.send(new CompleteMultipartUploadCommand({Bucket: 'mp', Key: 'small', UploadId: c2.UploadId, MultipartUpload: {Parts: [{PartNumber: 1, ETag: s1}, {PartNumber: 2, ETag: s2}]}})))).toEqual({
      name: 'EntityTooSmall',
      status: 400,
    })
    await s3.send(new AbortMultipartUploadCommand({Bucket: 'mp', Key: 'small', UploadId: c2.UploadId}))
    expect(await s3Error(s3.send(new AbortMultipartUploadCommand({Bucket: 'mp', Key: 'small', UploadId: c2.UploadId})))).toEqual({name: 'NoSuchUpload', status: 404})
    expect((await commits('mp')).length).toBe(1)
  })

  it('verifies signatures: a wrong secret is refused, any equal pair works', async () => {
    const bad = g.client({key: 'someone', secret: 'other'})
    expect(await s3Error(bad.send(new ListBucketsCommand({})))).toEqual({name: 'SignatureDoesNotMatch', status: 403})
    bad.destroy()
    const other = g.client({key: 'another-key'})
    expect((await other.send(new ListBucketsCommand({}))).Buckets!.length).toBeGreaterThan(0)
    other.destroy()
  })
})
