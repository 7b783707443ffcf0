// Hostile and broken requests against a real `pach serve` S3 gateway: each gets an S3 error
// (never a 500), nothing is stored, and the server keeps serving. Also the token rule: with a
// token, only the token signs; anonymous and presigned requests are refused.
import {GetObjectCommand, ListBucketsCommand, PutObjectCommand, S3ServiceException} from '@aws-sdk/client-s3'
import {execa} from 'execa'
import {createHash, randomBytes} from 'node:crypto'
import {request} from 'node:http'
import {connect} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN} from '../helpers/cli.js'
import {startGateway, type Gateway} from './helpers.js'

interface Res {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

function raw(g: Gateway, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string, opts: {endEarly?: boolean} = {}): Promise<Res> {
  const u = new URL(g.endpoint)
  return new Promise((resolve, reject) => {
    const req = request({host: u.hostname, port: Number(u.port), method, path, headers, agent: false}, (res) => {
      const parts: Buffer[] = []
      res.on('data', (d: Buffer) => parts.push(d))
      res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString()}))
    })
    req.on('error', (e) => (opts.endEarly ? resolve({status: 0, headers: {}, body: String(e)}) : reject(e)))
    if (opts.endEarly) {
      req.write(body ?? '')
      setTimeout(() => req.destroy(), 100)
      return
    }
    req.end(body)
  })
}

const codeOf = (r: Res) => /<Code>([^<]*)<\/Code>/.exec(r.body)?.[1]

let g: Gateway
const count = async (repo: string) => (await g.json<unknown[]>(['list', 'commit', repo])).length

beforeAll(async () => {
  g = await startGateway()
  await g.ok(['create', 'repo', 'trav'])
  await g.ok(['create', 'repo', 'keep'])
  await g.ok(['put', 'file', 'keep@master:/file.txt'], 'kept')
})
afterAll(async () => {
  await g?.stop()
})

describe('bad input', () => {
  it('refuses path traversal, absolute keys, NUL and glob characters in keys, storing nothing', async () => {
    for (const path of ['/trav/a/../x', '/trav/%2e%2e/x', '/trav/..', '/trav//etc/passwd', '/trav/a%00b', '/trav/./x', '/trav/a//b', '/trav/x*', '/trav/%ZZ']) {
      const r = await raw(g, 'PUT', path, {'content-length': '1'}, 'x')
      expect(r.status, path).toBe(400)
      expect(['InvalidFilePath', 'InvalidURI'], `${path}: ${r.body}`).toContain(codeOf(r))
    }
    expect(await count('trav')).toBe(0)
    const d = await raw(g, 'DELETE', '/keep/../keep/file.txt')
    expect(d.status).toBe(400)
    expect(await g.ok(['get', 'file', 'keep@master:/file.txt'])).toBe('kept')
  })

  it('malformed XML is MalformedXML and deletes nothing', async () => {
    for (const body of ['<Delete><Object><Key>file.txt</Key></Object>', 'not xml at all', '<Other/>', '<Delete></Delete>', '']) {
      const r = await raw(g, 'POST', '/keep?delete', {'content-length': String(Buffer.byteLength(body))}, body)
      expect(r.status, body).toBe(400)
      expect(codeOf(r), body).toBe('MalformedXML')
    }
    const u = await raw(g, 'POST', '/keep/obj?uploads')
    const id = /<UploadId>([0-9a-f]+)<\/UploadId>/.exec(u.body)![1]
    const c = await raw(g, 'POST', `/keep/obj?uploadId=${id}`, {}, '<CompleteMultipartUpload><Part>')
    expect(codeOf(c)).toBe('MalformedXML')
    expect(await count('keep')).toBe(1)
    expect(await g.ok(['get', 'file', 'keep@master:/file.txt'])).toBe('kept')
  })

  it('a wrong signature, a malformed Authorization, an expired or tampered presigned URL: 403/400, nothing stored', async () => {
    const date = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
    const auth = `AWS4-HMAC-SHA256 Credential=k/${date.slice(0, 8)}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`
    const r = await raw(g, 'PUT', '/trav/signed.txt', {authorization: auth, 'x-amz-date': date, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-length': '2'}, 'hi')
    expect([r.status, codeOf(r)]).toEqual([403, 'SignatureDoesNotMatch'])
    const m = await raw(g, 'GET', '/', {authorization: 'AWS4-HMAC-SHA256 garbage'})
    expect([m.status, codeOf(m)]).toEqual([400, 'AuthorizationHeaderMalformed'])
    const old = await raw(g, 'GET', '/', {authorization: auth.replace(date.slice(0, 8), '20200101'), 'x-amz-date': '20200101T000000Z'})
    expect([old.status, codeOf(old)]).toEqual([403, 'RequestTimeTooSkewed'])
    const pre = await raw(g, 'GET', `/keep/file.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=k%2F${date.slice(0, 8)}%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=${date}&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=${'1'.repeat(64)}`)
    expect([pre.status, codeOf(pre)]).toEqual([403, 'SignatureDoesNotMatch'])
    expect(await count('trav')).toBe(0)
  })

  it('bodies that do not match their digests or framing store nothing', async () => {
    const sha = createHash('sha256').update('other').digest('hex')
    const a = await raw(g, 'PUT', '/trav/a.txt', {'x-amz-content-sha256': sha, 'content-length': '5'}, 'hello')
    expect([a.status, codeOf(a)]).toEqual([400, 'XAmzContentSHA256Mismatch'])
    const b = await raw(g, 'PUT', '/trav/b.txt', {'content-md5': createHash('md5').update('other').digest('base64'), 'content-length': '5'}, 'hello')
    expect([b.status, codeOf(b)]).toEqual([400, 'BadDigest'])
    const c = await raw(g, 'PUT', '/trav/c.txt', {'content-md5': 'short', 'content-length': '5'}, 'hello')
    expect([c.status, codeOf(c)]).toEqual([400, 'InvalidDigest'])
    const chunked = '5\r\nhel'
    const d = await raw(g, 'PUT', '/trav/d.txt', {'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'content-encoding': 'aws-chunked', 'content-length': String(chunked.length)}, chunked)
    expect([d.status, codeOf(d)]).toEqual([400, 'IncompleteBody'])
    const e = await raw(g, 'PUT', '/trav/e.txt', {'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'content-length': '9'}, 'zz\r\nabc\r\n')
    expect([e.status, codeOf(e)]).toEqual([400, 'InvalidArgument'])
    const f = await raw(g, 'PUT', '/trav/f.txt', {'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'content-length': '5'}, '0\r\n\r\n')
    expect([f.status, codeOf(f)]).toEqual([403, 'AccessDenied'])
    // a client that sends half its body and goes away
    await raw(g, 'PUT', '/trav/half.txt', {'content-length': '1000'}, 'only a little', {endEarly: true})
    await new Promise((r) => setTimeout(r, 300))
    expect(await count('trav')).toBe(0)
  })

  it('a large body (hashed off the event loop) that does not match its x-amz-content-sha256 or Content-MD5 stores nothing; one that matches gets its MD5 as ETag', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17)
    const sha = createHash('sha256').update(body).digest('hex')
    const md5 = createHash('md5').update(body).digest()
    const wrongSha = await raw(g, 'PUT', '/trav/big-a', {'x-amz-content-sha256': createHash('sha256').update('other').digest('hex'), 'content-length': String(body.length)}, body)
    expect([wrongSha.status, codeOf(wrongSha)]).toEqual([400, 'XAmzContentSHA256Mismatch'])
    const wrongMd5 = await raw(g, 'PUT', '/trav/big-b', {'content-md5': createHash('md5').update('other').digest('base64'), 'content-length': String(body.length)}, body)
    expect([wrongMd5.status, codeOf(wrongMd5)]).toEqual([400, 'BadDigest'])
    const u = await raw(g, 'POST', '/trav/big-p?uploads')
    const id = /<UploadId>([0-9a-f]+)<\/UploadId>/.exec(u.body)![1]
    const part = await raw(g, 'PUT', `/trav/big-p?partNumber=1&uploadId=${id}`, {'x-amz-content-sha256': createHash('sha256').update('other').digest('hex'), 'content-length': String(body.length)}, body)
    expect([part.status, codeOf(part)]).toEqual([400, 'XAmzContentSHA256Mismatch'])
    expect(await count('trav')).toBe(0)
    const ok = await raw(g, 'PUT', '/trav/big-ok', {'x-amz-content-sha256': sha, 'content-md5': md5.toString('base64'), 'content-length': String(body.length)}, body)
    expect([ok.status, ok.headers.etag]).toEqual([200, `"${md5.toString('hex')}"`])
    const okPart = await raw(g, 'PUT', `/trav/big-p?partNumber=1&uploadId=${id}`, {'x-amz-content-sha256': sha, 'content-length': String(body.length)}, body)
    expect([okPart.status, okPart.headers.etag]).toEqual([200, `"${md5.toString('hex')}"`])
    const got = await execa('node', [BIN, 'get', 'file', 'trav@master:/big-ok'], {cwd: g.dir, encoding: 'buffer'})
    expect(createHash('sha256').update(got.stdout).digest('hex')).toBe(sha)
    await g.ok(['delete', 'file', 'trav@master:/big-ok'])
  })

  it('oversize headers, a garbage request line, unknown methods and subresources, bad parameters: errors, and the server keeps serving', async () => {
    const big = await raw(g, 'GET', '/', {'x-big': 'a'.repeat(20_000)}).catch(() => ({status: 431, headers: {}, body: ''}))
    expect([400, 431]).toContain(big.status)
    const line = await new Promise<string>((resolve) => {
      const u = new URL(g.endpoint)
      const s = connect(Number(u.port), u.hostname, () => s.write('THIS IS NOT HTTP\r\n\r\n'))
      let out = ''
      s.on('data', (d) => (out += d.toString()))
      s.on('close', () => resolve(out))
      s.on('error', () => resolve(out))
    })
    expect(line).toMatch(/^HTTP\/1\.1 400/)
    expect((await raw(g, 'PATCH', '/keep/file.txt')).status).toBe(405)
    const acl = await raw(g, 'GET', '/keep?acl')
    expect([acl.status, codeOf(acl)]).toEqual([501, 'NotImplemented'])
    const bad = await raw(g, 'GET', '/bad!name/x')
    expect([bad.status, codeOf(bad)]).toEqual([400, 'InvalidBucketName'])
    const dots = await raw(g, 'GET', '/a..b')
    expect([dots.status, codeOf(dots)]).toEqual([400, 'InvalidBucketName'])
    expect(codeOf(await raw(g, 'GET', '/keep?max-keys=abc'))).toBe('InvalidArgument')
    expect(codeOf(await raw(g, 'GET', '/keep?list-type=2&continuation-token=%%%'))).toBe('InvalidURI')
    expect(codeOf(await raw(g, 'GET', '/keep?list-type=2&continuation-token=Zm9v'))).toBe('InvalidArgument')
    expect(codeOf(await raw(g, 'PUT', '/keep/x?partNumber=0&uploadId=abc', {'content-length': '0'}))).toBe('InvalidArgument')
    expect(codeOf(await raw(g, 'PUT', '/keep/x?partNumber=1&uploadId=../../etc', {'content-length': '0'}))).toBe('NoSuchUpload')
    const inj = await raw(g, 'GET', '/keep/file.txt?response-content-disposition=a%0D%0ASet-Cookie:%20x')
    expect([inj.status, codeOf(inj), inj.headers['set-cookie']]).toEqual([400, 'InvalidArgument', undefined])
    const disp = await raw(g, 'GET', '/keep/file.txt?response-content-disposition=attachment')
    expect(disp.headers['content-disposition']).toBe('attachment')
    // CreateBucket with no body and no Content-Length at all
    const mb = await new Promise<number>((resolve) => {
      const u = new URL(g.endpoint)
      const sock = connect(Number(u.port), u.hostname, () => sock.write(`PUT /nolength HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n\r\n`))
      let out = ''
      sock.on('data', (d) => (out += d.toString()))
      sock.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(out)?.[1] ?? 0)))
    })
    expect(mb).toBe(200)
    const err = await raw(g, 'GET', '/keep/none.txt')
    expect(err.headers['x-amz-request-id']).toBe(/<RequestId>([^<]*)<\/RequestId>/.exec(err.body)![1])
    const pre = await raw(g, 'OPTIONS', '/keep/file.txt', {origin: 'http://example.com', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type'})
    expect(pre.status).toBe(200)
    expect(pre.headers['access-control-allow-origin']).toBe('*')
    expect(pre.headers['access-control-allow-headers']).toBe('content-type')
    const ok = await raw(g, 'GET', '/keep/file.txt', {origin: 'http://example.com'})
    expect([ok.status, ok.body, ok.headers['access-control-allow-origin']]).toEqual([200, 'kept', '*'])
    expect(g.stderr()).not.toMatch(/internal error/)
  })
})

describe('with a token', () => {
  let t: Gateway
  beforeAll(async () => {
    t = await startGateway({token: 'sekrit'})
    await t.ok(['create', 'repo', 'r'])
  })
  afterAll(async () => {
    await t?.stop()
  })

  it('only the token signs; anonymous and presigned requests are refused', async () => {
    const anon = await raw(t, 'GET', '/')
    expect([anon.status, codeOf(anon)]).toEqual([403, 'AccessDenied'])
    const wrong = t.client({key: 'default', secret: 'default'})
    await expect(wrong.send(new ListBucketsCommand({}))).rejects.toMatchObject({name: 'InvalidAccessKeyId'})
    wrong.destroy()
    const right = t.client()
    await right.send(new PutObjectCommand({Bucket: 'r', Key: 'k', Body: 'v'}))
    const got = await right.send(new GetObjectCommand({Bucket: 'r', Key: 'k'}))
    expect(await got.Body!.transformToString()).toBe('v')
    right.destroy()
    const pre = await raw(t, 'GET', '/r/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=sekrit%2F20260101%2Fus-east-1%2Fs3%2Faws4_request')
    expect([pre.status, codeOf(pre)]).toEqual([403, 'AccessDenied'])
    try {
      await t.client({key: 'sekrit', secret: 'nope'}).send(new ListBucketsCommand({}))
      throw new Error('expected a refusal')
    } catch (e) {
      expect((e as S3ServiceException).name).toBe('SignatureDoesNotMatch')
    }
  })

  it('pach serve refuses S3 beyond loopback without a token, in one line; --no-s3 turns it off', async () => {
    const r = await execa('node', [BIN, 'serve', '--address', 'localhost:0', '--s3-address', '0.0.0.0:0'], {cwd: t.dir, reject: false, env: {PACH_DETACH: ''}})
    expect(r.exitCode).not.toBe(0)
    expect(String(r.stderr).trim().split('\n')).toHaveLength(1)
    expect(String(r.stderr)).toMatch(/refusing to serve S3 on 0\.0\.0\.0/)
    const off = await startGateway({args: ['--no-s3']})
    expect(off.endpoint).toBeUndefined()
    await off.stop()
  })
})
