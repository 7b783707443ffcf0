// The per-job S3 gateway (S3SidecarServer, the core's S3Sidecar) in-process over a temp
// project: only the job's buckets exist; inputs are pinned to their commit and read-only;
// `out` takes writes into the job's open output commit and shows nothing; only the job's key
// pair signs; `close` stops it.
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3'
import {describe, expect, it} from 'vitest'
import {parseCommit} from '../../src/core/pfs/refs.js'
import {S3SidecarServer} from '../../src/server/s3/sidecar.js'
import {tempPach, text} from '../helpers/project.js'

async function s3Error(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (e) {
    if (e instanceof S3ServiceException) return `${e.$metadata.httpStatusCode} ${e.name}`
    throw e
  }
  return 'ok'
}

describe('S3 sidecar (worker driver)', () => {
  it("serves exactly one job's buckets: pinned read-only inputs, a write-only out", async () => {
    const {pach} = tempPach('pach-s3-sidecar-')
    pach.repos.create('default', 'input_repo')
    const first = await pach.files.put('default', parseCommit('input_repo@master'), [{path: '/foo', open: text('v1')}])
    await pach.files.put('default', parseCommit('input_repo@master'), [{path: '/foo', open: text('v2')}])
    pach.repos.create('default', 'outrepo')
    const started = pach.commits.start('default', parseCommit('outrepo@master'), {}) as {commit: {id: string}}
    const outId = started.commit.id
    const sidecar = new S3SidecarServer(pach)
    const h = await sidecar.open(
      {pipeline: 'p', project: 'default', jobId: 'j'},
      {inputs: [{bucket: 'in', commit: {project: 'default', repo: 'input_repo', commit: first.commit.id}}], out: {project: 'default', repo: 'outrepo', commit: outId}},
      {host: 'localhost'},
    )
    expect(h.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect([h.accessKey, h.secretKey]).toEqual(['default', 'default'])
    const s3 = new S3Client({endpoint: h.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: {accessKeyId: h.accessKey, secretAccessKey: h.secretKey}, maxAttempts: 1})
    try {
      expect((await s3.send(new ListBucketsCommand({}))).Buckets!.map((b) => b.Name)).toEqual(['in', 'out'])
      // the input is the job's commit (v1), not the branch head (v2)
      expect(await (await s3.send(new GetObjectCommand({Bucket: 'in', Key: 'foo'}))).Body!.transformToString()).toBe('v1')
      expect((await s3.send(new ListObjectsV2Command({Bucket: 'in'}))).Contents!.map((c) => c.Key)).toEqual(['foo'])
      expect(await s3Error(s3.send(new PutObjectCommand({Bucket: 'in', Key: 'x', Body: 'x'})))).toBe('501 NotImplemented')
      expect(await s3Error(s3.send(new DeleteObjectCommand({Bucket: 'in', Key: 'foo'})))).toBe('501 NotImplemented')
      await s3.send(new PutObjectCommand({Bucket: 'out', Key: 'result.txt', Body: 'done'}))
      expect(pach.files.readAll('default', {commit: {repo: {name: 'outrepo', type: 'user'}, id: outId}, path: '/result.txt', hasPath: true}).toString()).toBe('done')
      expect(await s3Error(s3.send(new GetObjectCommand({Bucket: 'out', Key: 'result.txt'})))).toBe('404 NoSuchKey')
      expect((await s3.send(new ListObjectsV2Command({Bucket: 'out'}))).KeyCount).toBe(0)
      await s3.send(new DeleteObjectCommand({Bucket: 'out', Key: 'result.txt'}))
      await s3.send(new DeleteObjectCommand({Bucket: 'out', Key: 'result.txt'}))
      expect(await s3Error(s3.send(new GetObjectCommand({Bucket: 'foobar', Key: 'x'})))).toBe('404 NoSuchBucket')
      expect(await s3Error(s3.send(new CreateBucketCommand({Bucket: 'new'})))).toBe('501 NotImplemented')
      const other = new S3Client({endpoint: h.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: {accessKeyId: 'x', secretAccessKey: 'x'}, maxAttempts: 1})
      expect(await s3Error(other.send(new ListBucketsCommand({})))).toBe('403 InvalidAccessKeyId')
      other.destroy()
    } finally {
      s3.destroy()
    }
    await h.close()
    await expect(fetch(`${h.endpoint}/`)).rejects.toThrow()
  })
})
