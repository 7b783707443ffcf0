// Real S3 clients against one `pach serve`: the aws CLI (s3 and s3api), boto3 (/usr/bin/python3),
// s3cmd and rclone, each from the shell with its own config in a temp dir: buckets, a small
// and a multipart upload, listings past 1,000 keys, ranged and whole downloads, copy, delete,
// a commit-pinned read — each checked against `pach` (commits, file contents). The aws CLI is
// Debian's /usr/bin/aws (the one .ci/run installs; a pip one earlier on PATH may be another
// major version).
import {execa} from 'execa'
import {createHash, randomBytes} from 'node:crypto'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startGateway, type Gateway} from './helpers.js'

const MiB = 1024 * 1024
const AWS = '/usr/bin/aws'
const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex')
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

let g: Gateway
let work: string
let big: Buffer
const small = 'small file, through S3\n'

beforeAll(async () => {
  g = await startGateway()
  work = join(g.dir, 'work')
  mkdirSync(work)
  big = randomBytes(20 * MiB)
  writeFileSync(join(work, 'small.txt'), small)
  writeFileSync(join(work, 'big.bin'), big)
  // a repo with more than 1,000 keys for the listings
  const many = join(work, 'many')
  mkdirSync(join(many, 'd'), {recursive: true})
  for (let i = 0; i < 1050; i++) writeFileSync(join(many, `f${String(i).padStart(4, '0')}`), String(i))
  writeFileSync(join(many, 'd', 'inner'), 'inner')
  await g.ok(['create', 'repo', 'many'])
  await g.ok(['put', 'file', '-r', 'many@master:/', '-f', many])
})
afterAll(async () => {
  await g?.stop()
})

const commits = async (repo: string) => (await g.json<{commit: {id: string}}[]>(['list', 'commit', repo])).map((c) => c.commit.id)

describe('S3 clients', () => {
  it('aws CLI: mb, cp (small and multipart), ls past 1,000 keys, ranged s3api get, copy, rm, a pinned commit', async () => {
    const aws = async (...args: string[]) => {
      const quiet = args[0] === 's3' && ['cp', 'rm', 'mv', 'sync'].includes(args[1]!) ? ['--only-show-errors'] : []
      const r = await execa(AWS, ['--endpoint-url', g.endpoint, ...args, ...quiet], {env: g.awsEnv('awscli'), reject: false, cwd: work, stripFinalNewline: false})
      if (r.exitCode !== 0) throw new Error(`aws ${args.join(' ')}: ${r.stderr}${r.stdout}`)
      return String(r.stdout)
    }
    await aws('s3', 'mb', 's3://awsrepo')
    await aws('s3', 'cp', 'small.txt', 's3://awsrepo/small.txt')
    const afterSmall = await commits('awsrepo')
    await aws('s3', 'cp', 'big.bin', 's3://master.awsrepo.default/data/big.bin')
    expect((await commits('awsrepo')).length).toBe(afterSmall.length + 1)
    expect(await g.ok(['get', 'file', 'awsrepo@master:/small.txt'])).toBe(small)
    const ls = await aws('s3', 'ls', 's3://awsrepo/')
    expect(ls).toMatch(/PRE data\//)
    expect(ls).toMatch(/small\.txt/)
    expect((await aws('s3', 'ls', 's3://many/', '--recursive')).trim().split('\n').length).toBe(1051)
    const v1 = JSON.parse(await aws('s3api', 'list-objects', '--bucket', 'many', '--page-size', '400')) as {Contents: unknown[]}
    expect(v1.Contents.length).toBe(1051)
    await aws('s3', 'cp', 's3://awsrepo/data/big.bin', 'down.bin')
    expect(sha(readFileSync(join(work, 'down.bin')))).toBe(sha(big))
    const head = JSON.parse(await aws('s3api', 'head-object', '--bucket', 'awsrepo', '--key', 'data/big.bin')) as {ETag: string; ContentLength: number}
    expect(head.ContentLength).toBe(big.length)
    expect(head.ETag).toMatch(/^"[0-9a-f]{32}-3"$/)
    await aws('s3api', 'get-object', '--bucket', 'awsrepo', '--key', 'data/big.bin', '--range', 'bytes=100-199', 'part.bin')
    expect(readFileSync(join(work, 'part.bin'))).toEqual(big.subarray(100, 200))
    await aws('s3', 'cp', 's3://awsrepo/small.txt', 's3://awsrepo/copy.txt')
    expect(await g.ok(['get', 'file', 'awsrepo@master:/copy.txt'])).toBe(small)
    const pinned = afterSmall[0]!
    await aws('s3', 'rm', 's3://awsrepo/small.txt')
    expect((await g.pach(['inspect', 'file', 'awsrepo@master:/small.txt'])).exitCode).toBe(4)
    expect(await aws('s3', 'cp', `s3://${pinned}.master.awsrepo.default/small.txt`, '-')).toBe(small)
  })

  it('boto3: create, upload (small and multipart), paginate v1 and v2, range, copy, presigned GET (SigV4 and SigV2), delete(s), SigV2 requests', async () => {
    const r = await execa('/usr/bin/python3', [join(import.meta.dirname, 'boto3_client.py'), g.endpoint, work], {reject: false, env: {AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent'}})
    if (r.exitCode !== 0) throw new Error(`boto3: ${r.stderr}`)
    const out = JSON.parse(String(r.stdout))
    expect(out.buckets).toEqual(expect.arrayContaining(['master.botorepo.default', 'master.many.default']))
    expect(out.v2_keys).toBe(1051)
    expect(out.v1_keys).toBe(1051)
    expect(out.top).toEqual(['big.bin', 'dir/'])
    expect(out.big_sha256).toBe(sha(big))
    expect(out.big_etag).toMatch(/^"[0-9a-f]{32}-3"$/)
    expect(out.range).toBe(small.slice(0, 5))
    expect(out.presigned).toBe(small)
    expect(out.etag_small).toBe(`"${md5(small)}"`)
    expect(out.deleted).toEqual(['absent', 'dir/small.txt'])
    expect(out.left).toEqual(['big.bin'])
    expect(out.gone).toBe('NoSuchKey')
    expect(out.v2_list).toEqual(['v2.txt'])
    expect(out.v2_presigned).toBe('signed v2')
    expect(out.v2_bad).toBe('SignatureDoesNotMatch')
    const files = (await g.json<{file: {path: string}}[]>(['list', 'file', 'botorepo@master'])).map((f) => f.file.path)
    expect(files).toEqual(['/big.bin', '/v2.txt'])
  })

  it('s3cmd: mb, put (small and multipart, whose MD5 ETags it verifies), ls, get, del', async () => {
    const cfg = join(work, 's3cmd.cfg')
    const host = g.endpoint.replace('http://', '')
    writeFileSync(cfg, `[default]\naccess_key = s3cmd\nsecret_key = s3cmd\nhost_base = ${host}\nhost_bucket = ${host}\nuse_https = False\nsignature_v2 = False\nmultipart_chunk_size_mb = 8\ncheck_ssl_certificate = False\n`)
    const s3cmd = async (...args: string[]) => {
      const r = await execa('s3cmd', ['-c', cfg, '--no-progress', ...args], {reject: false, cwd: work, env: {HOME: work}})
      if (r.exitCode !== 0) throw new Error(`s3cmd ${args.join(' ')}: ${r.stderr}${r.stdout}`)
      return String(r.stdout)
    }
    await s3cmd('mb', 's3://scmd')
    await s3cmd('put', 'small.txt', 's3://scmd/small.txt')
    await s3cmd('put', 'big.bin', 's3://scmd/big.bin')
    const ls = await s3cmd('ls', 's3://scmd/')
    expect(ls).toMatch(/s3:\/\/scmd\/big\.bin/)
    expect(ls).toMatch(/s3:\/\/scmd\/small\.txt/)
    await s3cmd('get', '--force', 's3://scmd/big.bin', 'scmd-big.bin')
    expect(sha(readFileSync(join(work, 'scmd-big.bin')))).toBe(sha(big))
    expect((await s3cmd('ls', 's3://many/')).trim().split('\n').length).toBe(1051) // 1,050 files and DIR d/
    await s3cmd('del', 's3://scmd/small.txt')
    expect((await g.json<{file: {path: string}}[]>(['list', 'file', 'scmd@master'])).map((f) => f.file.path)).toEqual(['/big.bin'])
  })

  it('rclone: copy a directory (multipart for the big file), check MD5s, cat, delete', async () => {
    const cfg = join(work, 'rclone.conf')
    writeFileSync(cfg, `[pach]\ntype = s3\nprovider = Other\naccess_key_id = rclone\nsecret_access_key = rclone\nendpoint = ${g.endpoint}\nforce_path_style = true\n`)
    const env: Record<string, string | undefined> = {...process.env, AWS_CA_BUNDLE: undefined, HOME: work}
    const rclone = async (...args: string[]) => {
      const r = await execa('rclone', ['--config', cfg, '--s3-upload-cutoff', '8M', '--s3-chunk-size', '5M', ...args], {reject: false, cwd: work, env, extendEnv: false, stripFinalNewline: false})
      if (r.exitCode !== 0) throw new Error(`rclone ${args.join(' ')}: ${r.stderr}`)
      return String(r.stdout)
    }
    const src = join(work, 'rc')
    mkdirSync(join(src, 'sub'), {recursive: true})
    writeFileSync(join(src, 'small.txt'), small)
    writeFileSync(join(src, 'sub', 'big.bin'), big)
    await rclone('mkdir', 'pach:rcl')
    await rclone('copy', src, 'pach:rcl')
    expect((await rclone('lsf', '-R', 'pach:rcl')).trim().split('\n').sort()).toEqual(['small.txt', 'sub/', 'sub/big.bin'])
    await rclone('check', src, 'pach:rcl')
    expect(await rclone('cat', 'pach:rcl/small.txt')).toBe(small)
    expect(await g.ok(['get', 'file', 'rcl@master:/small.txt'])).toBe(small)
    await rclone('deletefile', 'pach:rcl/small.txt')
    expect((await g.json<{file: {path: string}}[]>(['list', 'file', 'rcl@master'])).map((f) => f.file.path)).toEqual(['/sub/'])
  })
})
