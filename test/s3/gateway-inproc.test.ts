// The gateway in-process over a temp project, for what needs its options: a long
// CompleteMultipartUpload answers 200 at once and keeps the connection alive with spaces, then
// the result — or S3's <Error> inside the 200 body, which the SDK reports as an error.
import {CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, S3Client, S3ServiceException, UploadPartCommand} from '@aws-sdk/client-s3'
import {describe, expect, it, onTestFinished} from 'vitest'
import {parseCommit} from '../../src/core/pfs/refs.js'
import {MasterDriver} from '../../src/server/s3/driver.js'
import {Etags} from '../../src/server/s3/etags.js'
import {MultipartStore} from '../../src/server/s3/multipart.js'
import {listenS3} from '../../src/server/s3/server.js'
import {tempPach, text} from '../helpers/project.js'

describe('gateway options', () => {
  it('a slow CompleteMultipartUpload streams its 200; a late failure is an <Error> in it', async () => {
    const {pach} = tempPach('pach-s3-inproc-')
    pach.repos.create('default', 'r')
    await pach.files.put('default', parseCommit('r@master'), [{path: '/file', open: text('a file')}])
    const bugs: unknown[] = []
    const l = await listenS3('127.0.0.1', 0, {
      pach,
      driver: new MasterDriver(pach),
      auth: {},
      etags: new Etags(pach),
      multipart: new MultipartStore(pach.ctx),
      kick() {},
      onBug: (_w, e) => bugs.push(e),
      completeKeepAliveMs: 0,
    })
    onTestFinished(() => l.close())
    const s3 = new S3Client({endpoint: `http://127.0.0.1:${l.port}`, forcePathStyle: true, region: 'us-east-1', credentials: {accessKeyId: 'k', secretAccessKey: 'k'}, maxAttempts: 1})
    onTestFinished(() => s3.destroy())
    const upload = async (key: string) => {
      const c = await s3.send(new CreateMultipartUploadCommand({Bucket: 'r', Key: key}))
      const p = await s3.send(new UploadPartCommand({Bucket: 'r', Key: key, UploadId: c.UploadId, PartNumber: 1, Body: 'part one'}))
      return s3.send(new CompleteMultipartUploadCommand({Bucket: 'r', Key: key, UploadId: c.UploadId, MultipartUpload: {Parts: [{PartNumber: 1, ETag: p.ETag}]}}))
    }
    const done = await upload('ok.txt')
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-1"$/)
    expect(done.VersionId).toBeUndefined() // the streamed answer: its headers went out before the commit existed
    expect(await (await s3.send(new GetObjectCommand({Bucket: 'r', Key: 'ok.txt'}))).Body!.transformToString()).toBe('part one')
    // `file` is a file: writing under it fails only when the commit is made
    const failed = await upload('file/under').then(
      () => undefined,
      (e: S3ServiceException) => e,
    )
    expect(failed?.name).toBe('InvalidFilePath')
    expect(failed?.$metadata.httpStatusCode).toBe(503) // the SDK marks a 200 carrying <Error> as 503 (retryable); the fast path would be 400
    expect(bugs).toEqual([])
  })
})
