// The S3 gateway's pure parts: SigV4 (AWS's published examples), the aws-chunked decoder
// (signed chunks, unsigned trailers, framing errors), bucket names, Range parsing, and the
// listing pager over an in-memory tree (order, prefixes, delimiters, resuming after a key).
import {createHash} from 'node:crypto'
import {crc32} from 'node:zlib'
import {describe, expect, it} from 'vitest'
import {parseBucketName} from '../../src/server/s3/bucket-name.js'
import {ChunkedDecoder} from '../../src/server/s3/chunked.js'
import {S3Error} from '../../src/server/s3/errors.js'
import {parseRange} from '../../src/server/s3/gateway.js'
import {decodeToken, encodeToken, listPage, walkKeys, type TreeChild, type TreeSource} from '../../src/server/s3/listing.js'
import {awsEncode, cachedSigningKey, canonicalRequest, chunkSignature, parseAuthHeader, parseQuery, scopeOf, sign, signingKey, stringToSign} from '../../src/server/s3/sigv4.js'

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
const cred = {accessKey: 'AKIAIOSFODNN7EXAMPLE', date: '20130524', region: 'us-east-1', service: 's3'}
const DATE = '20130524T000000Z'

function sigOf(method: string, path: string, query: [string, string][], headers: Record<string, string>, signed: string[], payload: string) {
  const canonical = canonicalRequest({method, path, query, headers, signedHeaders: signed, payloadHash: payload})
  return sign(signingKey(SECRET, cred), stringToSign(DATE, scopeOf(cred), canonical))
}

async function decode(d: ChunkedDecoder, body: Buffer | string, split = 7): Promise<Buffer> {
  const b = Buffer.from(body)
  async function* src() {
    for (let i = 0; i < b.length; i += split) yield b.subarray(i, i + split)
  }
  const out: Buffer[] = []
  for await (const x of d.decode(src())) out.push(x)
  return Buffer.concat(out)
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (e) {
    if (e instanceof S3Error) return e.code
    throw e
  }
  return 'ok'
}

describe('SigV4', () => {
  it("matches AWS's GET example (header auth)", () => {
    const headers = {host: 'examplebucket.s3.amazonaws.com', range: 'bytes=0-9', 'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'x-amz-date': DATE}
    expect(sigOf('GET', '/test.txt', [], headers, ['host', 'range', 'x-amz-content-sha256', 'x-amz-date'], headers['x-amz-content-sha256'])).toBe('f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41')
  })

  it("matches AWS's presigned URL example (query auth, UNSIGNED-PAYLOAD)", () => {
    const q = parseQuery('X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host')
    expect(sigOf('GET', '/test.txt', q, {host: 'examplebucket.s3.amazonaws.com'}, ['host'], 'UNSIGNED-PAYLOAD')).toBe('aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404')
  })

  it('encodes the path and query the AWS way; parses the header or refuses it', () => {
    const c = canonicalRequest({method: 'GET', path: '/b/a b+(1)/ü', query: parseQuery('prefix=a+b&uploads&x=%2F'), headers: {host: 'h'}, signedHeaders: ['host'], payloadHash: 'UNSIGNED-PAYLOAD'})
    expect(c.split('\n').slice(0, 3)).toEqual(['GET', '/b/a%20b%2B%281%29/%C3%BC', 'prefix=a%20b&uploads=&x=%2F'])
    expect(parseAuthHeader(`AWS4-HMAC-SHA256 Credential=k/20130524/any-region/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'a'.repeat(64)}`).credential.region).toBe('any-region')
    expect(() => parseAuthHeader('AWS4-HMAC-SHA256 Credential=k')).toThrow(S3Error)
    // plain text passes through as is; anything else is escaped ("/" only kept in paths)
    expect(awsEncode('a-b_c.d~e/f', true)).toBe('a-b_c.d~e/f')
    expect(awsEncode('a-b_c.d~e/f', false)).toBe('a-b_c.d~e%2Ff')
    expect(awsEncode('', false)).toBe('')
  })

  it('remembers signing keys per secret and scope, and derives each the same as signingKey', () => {
    const other = {...cred, date: '20130525'}
    expect(cachedSigningKey(SECRET, cred).equals(signingKey(SECRET, cred))).toBe(true)
    expect(cachedSigningKey(SECRET, cred)).toBe(cachedSigningKey(SECRET, cred))
    expect(cachedSigningKey(SECRET, other).equals(signingKey(SECRET, other))).toBe(true)
    expect(cachedSigningKey(SECRET, other).equals(cachedSigningKey(SECRET, cred))).toBe(false)
    expect(cachedSigningKey('another', cred).equals(cachedSigningKey(SECRET, cred))).toBe(false)
    expect(cachedSigningKey(SECRET, {...cred, region: 'eu-west-1'}).equals(signingKey(SECRET, {...cred, region: 'eu-west-1'}))).toBe(true)
  })
})

describe('aws-chunked', () => {
  it("verifies AWS's signed-chunk example and decodes it", async () => {
    const headers = {
      host: 's3.amazonaws.com',
      'content-encoding': 'aws-chunked',
      'content-length': '66824',
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'x-amz-date': DATE,
      'x-amz-decoded-content-length': '66560',
      'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    }
    const signed = ['content-encoding', 'content-length', 'host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-decoded-content-length', 'x-amz-storage-class']
    const seed = sigOf('PUT', '/examplebucket/chunkObject.txt', [], headers, signed, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD')
    expect(seed).toBe('4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9')
    const key = signingKey(SECRET, cred)
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
    const c1 = Buffer.alloc(65536, 'a')
    const c2 = Buffer.alloc(1024, 'a')
    const s1 = chunkSignature(key, DATE, scopeOf(cred), seed, sha(c1))
    expect(s1).toBe('ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648')
    const s2 = chunkSignature(key, DATE, scopeOf(cred), s1, sha(c2))
    const s3 = chunkSignature(key, DATE, scopeOf(cred), s2, sha(Buffer.alloc(0)))
    const body = Buffer.concat([Buffer.from(`10000;chunk-signature=${s1}\r\n`), c1, Buffer.from(`\r\n400;chunk-signature=${s2}\r\n`), c2, Buffer.from(`\r\n0;chunk-signature=${s3}\r\n\r\n`)])
    expect(body.length).toBe(66824)
    const signing = {key, amzDate: DATE, scope: scopeOf(cred), seed}
    expect(await decode(new ChunkedDecoder({signing, decodedLength: 66560}), body, 4096)).toEqual(Buffer.concat([c1, c2]))
    const tampered = Buffer.from(body)
    tampered[200] = 0x62
    expect(await code(decode(new ChunkedDecoder({signing}), tampered, 4096))).toBe('SignatureDoesNotMatch')
  })

  it('decodes an unsigned stream with a checksum trailer, and checks the checksum', async () => {
    const data = Buffer.from('hello, chunked world')
    const c = Buffer.alloc(4)
    c.writeUInt32BE(crc32(data) >>> 0)
    const body = `a\r\n${data.subarray(0, 10)}\r\na\r\n${data.subarray(10)}\r\n0\r\nx-amz-checksum-crc32:${c.toString('base64')}\r\n\r\n`
    const d = new ChunkedDecoder({decodedLength: data.length})
    expect((await decode(d, body)).toString()).toBe(data.toString())
    expect(d.trailers['x-amz-checksum-crc32']).toBe(c.toString('base64'))
    expect(await code(decode(new ChunkedDecoder(), body.replace(c.toString('base64'), 'AAAAAA==')))).toBe('BadDigest')
  })

  it('refuses broken framing with a 400, never hangs', async () => {
    expect(await code(decode(new ChunkedDecoder(), '5\r\nabc'))).toBe('IncompleteBody')
    expect(await code(decode(new ChunkedDecoder(), 'zz\r\nabc\r\n0\r\n\r\n'))).toBe('InvalidArgument')
    expect(await code(decode(new ChunkedDecoder(), '3\r\nabcXX0\r\n\r\n'))).toBe('InvalidArgument')
    expect(await code(decode(new ChunkedDecoder(), 'f'.repeat(5000)))).toBe('InvalidArgument')
    expect(await code(decode(new ChunkedDecoder({decodedLength: 9}), '3\r\nabc\r\n0\r\n\r\n'))).toBe('IncompleteBody')
    expect(await code(decode(new ChunkedDecoder(), '3\r\nabc\r\n'))).toBe('IncompleteBody')
  })
})

describe('bucket names', () => {
  it("parses Pachyderm's forms", () => {
    const id = '0123456789ab4def0123456789abcdef'
    expect(parseBucketName('images')).toEqual({project: 'default', repo: 'images', branch: 'master'})
    expect(parseBucketName('dev.images')).toEqual({project: 'default', repo: 'images', branch: 'dev'})
    expect(parseBucketName('dev.images.proj')).toEqual({project: 'proj', repo: 'images', branch: 'dev'})
    expect(parseBucketName(`${id}.images`)).toEqual({project: 'default', repo: 'images', branch: 'master', commit: id})
    expect(parseBucketName(`${id}.dev.images.proj`)).toEqual({project: 'proj', repo: 'images', branch: 'dev', commit: id})
    for (const bad of ['', 'a.b.c.d', 'a..b', 'a b', `${id}.a.b.c.d`, 'a!b']) expect(() => parseBucketName(bad), bad).toThrow(/invalid bucket name/)
  })
})

describe('Range', () => {
  it('parses single ranges; unsatisfiable ones are 416; others are ignored', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual([0, 9])
    expect(parseRange('bytes=90-', 100)).toEqual([90, 99])
    expect(parseRange('bytes=-10', 100)).toEqual([90, 99])
    expect(parseRange('bytes=-500', 100)).toEqual([0, 99])
    expect(parseRange('bytes=50-5000', 100)).toEqual([50, 99])
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable')
    expect(parseRange('bytes=-0', 100)).toBe('unsatisfiable')
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined()
    expect(parseRange('items=0-1', 100)).toBeUndefined()
    expect(parseRange('bytes=9-2', 100)).toBeUndefined()
  })
})

describe('listing pager', () => {
  type Dir = {[name: string]: Dir | string}
  type C = TreeChild<Dir>
  /** an in-memory tree sorted as the tree store sorts (`name`, `name/` for directories), counting reads */
  function source(root: Dir) {
    let reads = 0
    const src: TreeSource<Dir, C> = {
      root,
      *children(dir, from) {
        const keyed = Object.entries(dir)
          .map(([name, v]) => ({key: typeof v === 'string' ? name : `${name}/`, name, dir: typeof v === 'string' ? undefined : v}))
          .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
        for (const e of keyed) {
          if (e.key < from) continue
          reads++
          yield {name: e.name, dir: e.dir}
        }
      },
    }
    return {src, reads: () => reads}
  }
  const tree: Dir = {'a-c': 'x', a: {b: 'x', c: {d: 'x'}}, a0: 'x', b: 'x', 'sub-file': 'x', sub: {x: 'x', deep: {y: 'x'}}}
  const keys = (o: Parameters<typeof walkKeys>[1]) => [...walkKeys(source(tree).src, o)].map((i) => ('key' in i ? i.key : `P:${i.prefix}`))

  it('walks keys in S3 (byte) order', () => {
    expect(keys({prefix: '', delimiter: '', after: '', max: 1000})).toEqual(['a-c', 'a/b', 'a/c/d', 'a0', 'b', 'sub-file', 'sub/deep/y', 'sub/x'])
  })

  it('rolls up at "/" and at another delimiter, inside a prefix', () => {
    expect(keys({prefix: '', delimiter: '/', after: '', max: 1000})).toEqual(['a-c', 'P:a/', 'a0', 'b', 'sub-file', 'P:sub/'])
    expect(keys({prefix: 'a/', delimiter: '/', after: '', max: 1000})).toEqual(['a/b', 'P:a/c/'])
    expect(keys({prefix: 'a', delimiter: '/', after: '', max: 1000})).toEqual(['a-c', 'P:a/', 'a0'])
    expect(keys({prefix: 'sub', delimiter: '-', after: '', max: 1000})).toEqual(['P:sub-', 'sub/deep/y', 'sub/x'])
    expect(keys({prefix: 'a/c/d', delimiter: '/', after: '', max: 1000})).toEqual(['a/c/d'])
    expect(keys({prefix: 'zzz', delimiter: '', after: '', max: 1000})).toEqual([])
  })

  it('resumes after a key or a common prefix, and pages to the end without repeats', () => {
    expect(keys({prefix: '', delimiter: '', after: 'a/c', max: 1000})).toEqual(['a/c/d', 'a0', 'b', 'sub-file', 'sub/deep/y', 'sub/x'])
    expect(keys({prefix: '', delimiter: '/', after: 'a/', max: 1000})).toEqual(['a0', 'b', 'sub-file', 'P:sub/'])
    for (const delimiter of ['', '/']) {
      const all: string[] = []
      let after = ''
      for (;;) {
        const p = listPage(source(tree).src, {prefix: '', delimiter, after, max: 2})
        all.push(...p.items.map((i) => ('key' in i ? i.key : i.prefix)))
        if (!p.truncated) break
        after = p.next!
      }
      expect(all).toEqual(keys({prefix: '', delimiter, after: '', max: 1000}).map((k) => k.replace(/^P:/, '')))
    }
    expect(listPage(source(tree).src, {prefix: '', delimiter: '', after: '', max: 0})).toEqual({items: [], truncated: false})
  })

  it('a page reads about max entries after seeking, not the ones before it', () => {
    const big: Dir = {}
    for (let i = 0; i < 5000; i++) big[`k${String(i).padStart(5, '0')}`] = 'x'
    const s = source(big)
    const p = listPage(s.src, {prefix: '', delimiter: '', after: 'k03000', max: 100})
    expect(p.items.length).toBe(100)
    expect(s.reads()).toBeLessThanOrEqual(102)
  })

  it('continuation tokens round-trip and foreign ones are refused', () => {
    expect(decodeToken(encodeToken('a/b ü'))).toBe('a/b ü')
    expect(decodeToken('not a token!')).toBeUndefined()
    expect(decodeToken(Buffer.from('x').toString('base64url'))).toBeUndefined()
  })
})
