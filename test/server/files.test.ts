// pfs_v2's file methods through a real `pach serve`, driven the way pachctl and the Python SDK
// drive them: ModifyFile in 2 MiB gzip messages and in the SDK's 19 MiB ones, GetFile,
// GetFileTAR's byte layout, the listings, and what a cancelled upload leaves (nothing).
import {credentials, Metadata, status, type ServiceError} from '@grpc/grpc-js'
import {createHash, randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {createServer} from 'node:http'
import {join} from 'node:path'
import {describe, expect, it, onTestFinished} from 'vitest'
import {grpcObject} from '../../src/server/grpc/definitions.js'
import type {ProtoGrpcType} from '../../src/server/proto/gen/pfs.js'
import type {ModifyFileRequest} from '../../src/server/proto/gen/pfs_v2/ModifyFileRequest.js'
import {PachdClient} from '../../src/client/pachd-client.js'
import {ChangeFeed} from '../../src/core/db/change-feed.js'
import {parseFile} from '../../src/core/pfs/refs.js'
import {bind, buildServer} from '../../src/server/grpc/server.js'
import {tempPach} from '../helpers/project.js'
import {serve, type Served} from '../helpers/serve.js'

const MiB = 1024 * 1024
const repo = (name = 'images') => ({name, type: 'user', project: {name: 'default'}})
const onBranch = (branch = 'master', name = 'images') => ({repo: repo(name), id: '', branch: {repo: repo(name), name: branch}})
const byId = (id: string, name = 'images') => ({repo: repo(name), id, branch: null})
const file = (path: string, commit: object = onBranch()) => ({commit, path, datum: ''})
const raw = (path: string, bytes: Buffer | string): ModifyFileRequest => ({add_file: {path, raw: {value: Buffer.from(bytes)}}})
const del = (path: string): ModifyFileRequest => ({delete_file: {path}})
const setCommit = (c: object = onBranch()): ModifyFileRequest => ({set_commit: c})

async function modify(s: Served, reqs: Iterable<ModifyFileRequest> | AsyncIterable<ModifyFileRequest>) {
  return s.client.send(s.client.pfs, 'ModifyFile', reqs)
}

async function getFile(s: Served, path: string, commit: object = onBranch(), offset = 0, method: 'GetFile' | 'GetFileTAR' = 'GetFile') {
  const parts: Buffer[] = []
  for await (const m of s.client.stream(s.client.pfs, method, {file: file(path, commit), offset})) parts.push(Buffer.from(m.value!))
  return {bytes: Buffer.concat(parts), messages: parts.map((p) => p.length)}
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

async function commits(s: Served, repoName = 'images'): Promise<{id: string; finished: string | null}[]> {
  const list = await s.project.json<{commit: {id: string}; finished: string | null}[]>(['list', 'commit', repoName])
  return list.map((c) => ({id: c.commit.id, finished: c.finished}))
}

async function started(s: Served): Promise<Served> {
  await s.project.ok(['create', 'repo', 'images'])
  return s
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** A pfs_v2 client of its own channel that gzips every message, as `pachctl put file -c` does. */
function gzipClient(s: Served) {
  const o = grpcObject() as unknown as ProtoGrpcType
  return new o.pfs_v2.API(s.address, credentials.createInsecure(), {
    'grpc.default_compression_algorithm': 2,
    'grpc.max_send_message_length': 20 * MiB,
  })
}

function expectGrpc(e: unknown, code: number, details: string | RegExp) {
  const err = e as ServiceError
  expect(err.code).toBe(code)
  if (typeof details === 'string') expect(err.details).toBe(details)
  else expect(err.details).toMatch(details)
}

describe('pach serve: ModifyFile', () => {
  it("takes pachctl's upload (delete_file, then add_files of 2 MiB, gzip-compressed) as one one-off commit, read back byte for byte by GetFile and the CLI", async () => {
    const s = await started(await serve())
    const data = randomBytes(9 * MiB + 123)
    const before = await commits(s)
    const c = gzipClient(s)
    await new Promise<void>((resolve, reject) => {
      const w = c.ModifyFile(new Metadata(), (err) => (err ? reject(err) : resolve()))
      w.write(setCommit())
      w.write(del('/big.bin'))
      for (let at = 0; at < data.length; at += 2 * MiB) w.write(raw('/big.bin', data.subarray(at, at + 2 * MiB)))
      w.end()
    })
    c.close()
    const after = await commits(s)
    expect(after.length).toBe(before.length + 1)
    expect(after[0]!.finished).not.toBeNull()
    const got = await getFile(s, '/big.bin')
    expect(got.bytes.length).toBe(data.length)
    expect(sha(got.bytes)).toBe(sha(data))
    expect(Math.max(...got.messages)).toBeLessThanOrEqual(2 * MiB)
    const out = join(s.project.dir, 'out.bin')
    await s.project.ok(['get', 'file', 'images@master:/big.bin', '-o', out])
    expect(sha(readFileSync(out))).toBe(sha(data))
    // offset skips bytes
    const tail = await getFile(s, '/big.bin', onBranch(), 9 * MiB)
    expect(tail.bytes.equals(data.subarray(9 * MiB))).toBe(true)
    const info = await s.client.unary(s.client.pfs, 'InspectFile', {file: file('/big.bin')})
    expect(info).toMatchObject({file_type: 'FILE', size_bytes: data.length, file: {path: '/big.bin'}})
    expect(info.hash!.length).toBe(32)
    expect(info.committed).not.toBeNull()
  })

  it("takes the Python SDK's sequence into an open commit: delete_file, an empty raw, then 19 MiB chunks", async () => {
    const s = await started(await serve())
    const {commit} = await s.project.json<{commit: {id: string}}>(['start', 'commit', 'images@master'])
    const data = randomBytes(20 * MiB + 7) // one full 19 MiB message and the rest
    const reqs = [setCommit(byId(commit.id)), del('/a.bin'), raw('/a.bin', '')]
    for (let at = 0; at < data.length; at += 19 * MiB) reqs.push(raw('/a.bin', data.subarray(at, at + 19 * MiB)))
    await modify(s, reqs)
    // the open commit holds it before it is finished, and no other commit was made
    expect(sha((await getFile(s, '/a.bin', byId(commit.id))).bytes)).toBe(sha(data))
    expect((await commits(s)).map((c) => c.id)).toContain(commit.id)
    await s.project.ok(['finish', 'commit', `images@${commit.id}`])
    expect(sha((await getFile(s, '/a.bin')).bytes)).toBe(sha(data))
  })

  it('creates empty files from an empty raw (Python) and from an add_file with no source (Go); add_file appends, delete_file then add_file overwrites', async () => {
    const s = await started(await serve())
    await modify(s, [setCommit(), raw('/empty-py', ''), {add_file: {path: '/empty-go'}}, raw('/x', 'ab'), raw('/y', '1'), raw('/x', 'cd')])
    for (const p of ['/empty-py', '/empty-go']) {
      const info = await s.client.unary(s.client.pfs, 'InspectFile', {file: file(p)})
      expect(info).toMatchObject({file_type: 'FILE', size_bytes: 0})
      expect((await getFile(s, p)).bytes.length).toBe(0)
    }
    expect((await getFile(s, '/x')).bytes.toString()).toBe('abcd')
    // a later ModifyFile appends to what the branch holds
    await modify(s, [setCommit(), raw('/x', 'ef'), raw('/y', '2')])
    expect((await getFile(s, '/x')).bytes.toString()).toBe('abcdef')
    expect((await getFile(s, '/y')).bytes.toString()).toBe('12')
    // overwrite, as pachctl without -a sends it; a delete of a missing path is a no-op
    await modify(s, [setCommit(), del('/x'), raw('/x', 'new'), del('/nope')])
    expect((await getFile(s, '/x')).bytes.toString()).toBe('new')
    // the empty file is in the listing
    const names = (await collect(s.client.stream(s.client.pfs, 'ListFile', {file: file('/')}))).map((f) => f.file!.path)
    expect(names).toEqual(['/empty-go', '/empty-py', '/x', '/y'])
  })

  it('copies a directory (copy_file), in order with the writes around it, and appends to a copied file in the same stream', async () => {
    const s = await started(await serve())
    await modify(s, [setCommit(), raw('/dir/a', 'A'), raw('/dir/sub/b', 'B')])
    const [head] = await commits(s)
    await modify(s, [
      setCommit(),
      {copy_file: {dst: '/copy', src: file('/dir', byId(head!.id)), append: false}},
      raw('/copy/a', '+'),
      del('/dir/sub'),
    ])
    expect((await getFile(s, '/copy/a')).bytes.toString()).toBe('A+')
    expect((await getFile(s, '/copy/sub/b')).bytes.toString()).toBe('B')
    await expect(getFile(s, '/dir/sub/b')).rejects.toMatchObject({code: status.NOT_FOUND})
    // copy with append adds the source's bytes to what is there
    await modify(s, [setCommit(), {copy_file: {dst: '/copy/a', src: file('/dir/a'), append: true}}])
    expect((await getFile(s, '/copy/a')).bytes.toString()).toBe('A+A')
  })

  it('fetches an http add_file URL, and refuses other schemes', async () => {
    const s = await started(await serve())
    const body = randomBytes(300 * 1024)
    const http = createServer((_req, res) => res.end(body))
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()))
    try {
      const port = (http.address() as {port: number}).port
      await modify(s, [setCommit(), {add_file: {path: '/web', url: {URL: `http://127.0.0.1:${port}/x`, recursive: false, concurrency: 0}}}])
      expect(sha((await getFile(s, '/web')).bytes)).toBe(sha(body))
    } finally {
      http.close()
    }
    await expect(modify(s, [setCommit(), {add_file: {path: '/f', url: {URL: 'file:///etc/passwd'}}}])).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringContaining('only http:// and https://'),
    })
  })

  it("makes a one-off commit on a finished branch and on a missing one; refuses an explicit finished commit id, and malformed streams with pachd's texts", async () => {
    const s = await started(await serve())
    await s.project.ok(['put', 'file', 'images@master:/seed', '-f', '-'], {input: 'seed'})
    const before = await commits(s)
    await modify(s, [setCommit(), raw('/one', '1')])
    const after = await commits(s)
    expect(after.length).toBe(before.length + 1)
    expect(after[0]!.finished).not.toBeNull()
    expect(after[0]!.id).not.toBe(before[0]!.id)
    // the one-off commit keeps the parent's files
    expect((await getFile(s, '/seed')).bytes.toString()).toBe('seed')
    // a branch that does not exist yet gets its first commit
    await modify(s, [setCommit(onBranch('dev')), raw('/d', 'dev')])
    expect((await getFile(s, '/d', onBranch('dev'))).bytes.toString()).toBe('dev')
    // an explicit finished commit id is refused, and nothing is written
    const all = await commits(s)
    const finished = after[0]!.id
    const e = await modify(s, [setCommit(byId(finished)), raw('/late', 'x')]).catch((x) => x)
    expectGrpc(e, status.UNKNOWN, `commit default/images@${finished} has already finished`)
    expect(await commits(s)).toEqual(all)
    // a stream that does not start with set_commit, or sets it twice: pachd's texts, nothing written
    expectGrpc(await modify(s, [raw('/a', 'x')]).catch((x) => x), status.UNKNOWN, 'first message must be a commit')
    expectGrpc(await modify(s, []).catch((x) => x), status.UNKNOWN, 'first message must be a commit')
    expectGrpc(await modify(s, [setCommit(), raw('/a', 'x'), setCommit()]).catch((x) => x), status.UNKNOWN, 'cannot set commit')
    expectGrpc(await modify(s, [setCommit(onBranch('master', 'nope'))]).catch((x) => x), status.NOT_FOUND, 'repo default/nope not found')
    expect(await commits(s)).toEqual(all)
  })

  it('leaves no commit and no partial file when the client cancels mid-stream (fsck clean)', async () => {
    const s = await started(await serve())
    await s.project.ok(['put', 'file', 'images@master:/seed', '-f', '-'], {input: 'seed'})
    const before = await commits(s)
    const {commit: open} = await s.project.json<{commit: {id: string}}>(['start', 'commit', 'images@master'])
    for (const target of [onBranch(), byId(open.id)]) {
      const ac = new AbortController()
      let sent = 0
      const reqs = async function* () {
        yield setCommit(target)
        for (;;) {
          yield raw('/partial', randomBytes(MiB))
          if (++sent === 4) {
            await new Promise((r) => setTimeout(r, 300))
            ac.abort()
            return
          }
        }
      }
      await expect(s.client.send(s.client.pfs, 'ModifyFile', reqs(), {signal: ac.signal})).rejects.toMatchObject({code: status.CANCELLED})
    }
    // the server has seen the cancel once a later call is answered; the open commit is still open and empty of it
    await expect(s.client.unary(s.client.pfs, 'InspectFile', {file: file('/partial', byId(open.id))})).rejects.toMatchObject({code: status.NOT_FOUND})
    await s.project.ok(['finish', 'commit', `images@${open.id}`])
    const after = await commits(s)
    expect(after.map((c) => c.id).sort()).toEqual([...before.map((c) => c.id), open.id].sort())
    await expect(getFile(s, '/partial')).rejects.toMatchObject({code: status.NOT_FOUND})
    await s.project.ok(['fsck'])
  })

  it('streams a 300 MiB upload without holding it: the server’s peak RSS grows by less than 150 MiB', async () => {
    const s = await started(await serve())
    const hwm = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${s.pid}/status`, 'utf8'))![1]) * 1024
    await modify(s, [setCommit(), raw('/warm', randomBytes(4 * MiB))]) // first-use allocations are not the upload's
    const start = hwm()
    const total = 300 * MiB
    const reqs = function* () {
      yield setCommit()
      for (let at = 0; at < total; at += 2 * MiB) yield raw('/huge', randomBytes(2 * MiB))
    }
    await modify(s, reqs())
    const growth = hwm() - start
    console.log(`ModifyFile of 300 MiB: pach serve peak RSS grew by ${(growth / MiB).toFixed(1)} MiB (VmHWM ${(start / MiB).toFixed(0)} → ${((start + growth) / MiB).toFixed(0)} MiB)`)
    expect(growth).toBeLessThan(150 * MiB)
    // the bytes themselves are checked by the tests above; here: all of them arrived, once
    const info = await s.client.unary(s.client.pfs, 'InspectFile', {file: file('/huge')})
    expect(info.size_bytes).toBe(total)
  }, 120_000)
})

describe('pach serve: GetFile to a slow reader', () => {
  it('holds no more than a few messages of a 300 MiB file the client has not taken yet: the server’s RSS grows by less than 100 MiB', async () => {
    const s = await started(await serve())
    const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${s.pid}/status`, 'utf8'))![1]) * 1024
    const total = 300 * MiB
    const body = randomBytes(total)
    await modify(s, [setCommit(), raw('/warm', randomBytes(4 * MiB))])
    await modify(s, (function* () {
      yield setCommit()
      for (let at = 0; at < total; at += 2 * MiB) yield raw('/huge', body.subarray(at, at + 2 * MiB))
    })())
    const start = rss()
    let peak = start
    const sampler = setInterval(() => (peak = Math.max(peak, rss())), 20)
    const hash = createHash('sha256')
    let got = 0
    try {
      for await (const m of s.client.stream(s.client.pfs, 'GetFile', {file: file('/huge'), offset: 0})) {
        hash.update(m.value!)
        got += m.value!.length
        await new Promise((r) => setTimeout(r, 5)) // a reader slower than the store
      }
    } finally {
      clearInterval(sampler)
    }
    console.log(`GetFile of 300 MiB to a slow reader: pach serve RSS grew by ${((peak - start) / MiB).toFixed(1)} MiB`)
    expect(got).toBe(total)
    expect(hash.digest('hex')).toBe(sha(body))
    expect(peak - start).toBeLessThan(100 * MiB)
  }, 120_000)
})

describe('pach serve: ModifyFile with a pipeline token', () => {
  it("writes only the pipeline's own output repo (PERMISSION_DENIED elsewhere, nothing written)", async () => {
    const {pach} = tempPach('pach-serve-token-')
    pach.repos.create('default', 'sp')
    pach.repos.create('default', 'other')
    const feed = new ChangeFeed(join(pach.pachDir, 'pach.db'))
    const shutdown = new AbortController()
    const server = buildServer({
      deps: {pach, feed, identity: {clusterId: 'c', deploymentId: 'd', version: {major: 2, minor: 12, micro: 0, git_commit: '', git_tree_modified: '', build_date: '', platform: '', runtime: ''}}, kick: () => {}},
      auth: {token: 'root-token', pipelineTokens: new Map([['spout-token', {project: 'default', pipeline: 'sp'}]])},
      shutdown: shutdown.signal,
      onBug: (m, e) => {
        throw new Error(`bug in ${m}: ${String(e)}`)
      },
    })
    const port = await bind(server, 'localhost:0')
    const c = new PachdClient(`grpc://localhost:${port}`, {token: 'spout-token'})
    onTestFinished(() => {
      c.close()
      shutdown.abort()
      server.forceShutdown()
      feed.close()
    })
    await c.send(c.pfs, 'ModifyFile', [setCommit(onBranch('master', 'sp')), raw('/out', 'ok')])
    expect(pach.files.readAll('default', parseFile('sp@master:/out')).toString()).toBe('ok')
    const e = await c.send(c.pfs, 'ModifyFile', [setCommit(onBranch('master', 'other')), raw('/x', 'no')]).catch((x) => x)
    expectGrpc(e, status.PERMISSION_DENIED, /^pipeline:default\/sp is not authorized to perform this operation - needs permissions \[REPO_WRITE\] on REPO default\/other\./)
    // nothing was written: the one-off commit that would have made master never happened
    expect(() => pach.files.readAll('default', parseFile('other@master:/x'))).toThrow(/branch master not found/)
  })
})

// ------------------------------------------------------------------ reads

/** A tar archive as its 512-byte records: every entry's header fields and content. */
function parseTar(buf: Buffer) {
  const out: {name: string; typeflag: string; size: number; mode: string; uid: string; gid: string; mtime: string; magic: string; version: string; checksumOk: boolean; content: Buffer}[] = []
  let at = 0
  const str = (b: Buffer) => b.toString('latin1').replace(/\0.*$/s, '')
  while (at + 512 <= buf.length) {
    const h = buf.subarray(at, at + 512)
    if (h.every((x) => x === 0)) break
    const size = parseInt(str(h.subarray(124, 136)), 8)
    let sum = 0
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!
    const prefix = str(h.subarray(345, 500))
    const name = str(h.subarray(0, 100))
    out.push({
      name: prefix ? `${prefix}/${name}` : name,
      typeflag: String.fromCharCode(h[156]!),
      size,
      mode: h.subarray(100, 108).toString('latin1'),
      uid: h.subarray(108, 116).toString('latin1'),
      gid: h.subarray(116, 124).toString('latin1'),
      mtime: h.subarray(136, 148).toString('latin1'),
      magic: h.subarray(257, 263).toString('latin1'),
      version: h.subarray(263, 265).toString('latin1'),
      checksumOk: parseInt(str(h.subarray(148, 155)), 8) === sum && h[155] === 0x20,
      content: buf.subarray(at + 512, at + 512 + size),
    })
    at += 512 + Math.ceil(size / 512) * 512
  }
  return {entries: out, end: at, trailer: buf.subarray(at)}
}

describe('pach serve: reading files', () => {
  async function fixture() {
    const s = await started(await serve())
    const long = `/deep/${'d'.repeat(60)}/${'f'.repeat(70)}.txt` // > 100 bytes: USTAR prefix split
    await modify(s, [setCommit(), raw('/a.txt', 'hello'), raw('/dir/b.txt', 'b'.repeat(600)), raw('/dir/sub/c', ''), raw('/dir.txt', 'dt'), raw(long, 'long'), raw('/ünï.txt', 'u')])
    return {s, long}
  }

  it("GetFileTAR writes Go's archive/tar layout (absolute names, dirs with / and typeflag 5, zero mode/ids/mtime, USTAR, the / entry, two zero blocks); GetFile wants one regular file", async () => {
    const {s, long} = await fixture()
    const {bytes} = await getFile(s, '/', onBranch(), 0, 'GetFileTAR')
    // byte for byte what Go's archive/tar writes for these entries as pachd does (a tar.Writer per
    // entry with tar.Header{Name, Size}, then Close): sha256 recorded from go1.26 on this fixture
    expect(bytes.length).toBe(10752)
    expect(sha(bytes)).toBe('db8f42692635878bfe09e161a922df8c336b7c0eeebb7e4e29290ecaf9493f41')
    const tar = parseTar(bytes)
    const plain = tar.entries.filter((e) => e.typeflag !== 'x')
    expect(plain.map((e) => [e.name, e.typeflag, e.size])).toEqual([
      ['/', '5', 0],
      ['/a.txt', '0', 5],
      ['/deep/', '5', 0],
      [`/deep/${'d'.repeat(60)}/`, '5', 0],
      [long, '0', 4],
      ['/dir.txt', '0', 2],
      ['/dir/', '5', 0],
      ['/dir/b.txt', '0', 600],
      ['/dir/sub/', '5', 0],
      ['/dir/sub/c', '0', 0],
      ['/n.txt', '0', 1], // the non-ASCII name's USTAR field is Go's toASCII of it; the PAX record before it has the real one
    ])
    for (const e of tar.entries) {
      expect(e).toMatchObject({mode: '0000000\0', uid: '0000000\0', gid: '0000000\0', mtime: '00000000000\0', magic: 'ustar\0', version: '00', checksumOk: true})
    }
    const pax = tar.entries.find((e) => e.typeflag === 'x')!
    expect(pax.name).toBe('/PaxHeaders.0/n.txt')
    expect(pax.content.toString('utf8')).toBe(`${Buffer.byteLength(' path=/ünï.txt\n') + 2} path=/ünï.txt\n`)
    expect(plain.find((e) => e.name === '/dir/b.txt')!.content.toString()).toBe('b'.repeat(600))
    // after the last entry: exactly two zero blocks
    expect(tar.trailer.length).toBe(1024)
    expect(tar.trailer.every((x) => x === 0)).toBe(true)
    expect(bytes.length % 512).toBe(0)

    // a directory: it and everything under it; a glob: each match (and a matched dir's subtree)
    const dir = parseTar((await getFile(s, '/dir', onBranch(), 0, 'GetFileTAR')).bytes)
    expect(dir.entries.map((e) => e.name)).toEqual(['/dir/', '/dir/b.txt', '/dir/sub/', '/dir/sub/c'])
    const glob = parseTar((await getFile(s, '/d*', onBranch(), 0, 'GetFileTAR')).bytes)
    expect(glob.entries.map((e) => e.name)).toEqual(['/deep/', `/deep/${'d'.repeat(60)}/`, long, '/dir.txt', '/dir/', '/dir/b.txt', '/dir/sub/', '/dir/sub/c'])
    await expect(getFile(s, '/nope*', onBranch(), 0, 'GetFileTAR')).rejects.toMatchObject({code: status.NOT_FOUND})

    // GetFile: a glob that must match one regular file, with pachd's texts otherwise
    expect((await getFile(s, '/a.*')).bytes.toString()).toBe('hello')
    expect((await getFile(s, 'a.txt')).bytes.toString()).toBe('hello') // no leading slash
    await expect(getFile(s, '/dir')).rejects.toMatchObject({code: status.UNKNOWN, details: 'cannot get directory or non-regular file. Use GetFileTAR instead'})
    await expect(getFile(s, '/')).rejects.toMatchObject({code: status.UNKNOWN, details: 'cannot get directory or non-regular file. Use GetFileTAR instead'})
    await expect(getFile(s, '/dir/*.txt')).resolves.toMatchObject({bytes: Buffer.from('b'.repeat(600))})
    await expect(getFile(s, '/*.txt')).rejects.toMatchObject({code: status.UNKNOWN, details: 'matched multiple files. Use GetFileTAR instead'})
    const [head] = await commits(s)
    await expect(getFile(s, '/nope')).rejects.toMatchObject({code: status.NOT_FOUND, details: `file /nope not found in repo default/images at commit ${head!.id}`})
  })

  it('InspectFile, ListFile (pages), WalkFile (pages), GlobFile and DiffFile', async () => {
    const {s, long} = await fixture()
    const c = s.client
    const paths = async (m: 'ListFile' | 'WalkFile', req: object) => (await collect(c.stream(c.pfs, m, req as never))).map((f) => (f as {file: {path: string}}).file.path)
    const dirInfo = await c.unary(c.pfs, 'InspectFile', {file: file('/dir')})
    expect(dirInfo).toMatchObject({file_type: 'DIR', size_bytes: 600, file: {path: '/dir/'}})
    expect((await c.unary(c.pfs, 'InspectFile', {file: file('/')})).file!.path).toBe('/')

    expect(await paths('ListFile', {file: file('/')})).toEqual(['/a.txt', '/deep/', '/dir.txt', '/dir/', '/ünï.txt'])
    expect(await paths('ListFile', {file: file('/dir')})).toEqual(['/dir/b.txt', '/dir/sub/'])
    expect(await paths('ListFile', {file: file('/a.txt')})).toEqual(['/a.txt'])
    expect(await paths('ListFile', {file: file('/nope')})).toEqual([])
    expect(await paths('ListFile', {file: file('/'), number: 2})).toEqual(['/a.txt', '/deep/'])
    expect(await paths('ListFile', {file: file('/'), number: 2, paginationMarker: file('/deep/')})).toEqual(['/dir.txt', '/dir/'])
    expect(await paths('ListFile', {file: file('/'), number: 2, reverse: true})).toEqual(['/ünï.txt', '/dir/'])
    expect(await paths('ListFile', {file: file('/'), number: 2, reverse: true, paginationMarker: file('/dir/')})).toEqual(['/dir.txt', '/deep/'])
    await expect(paths('ListFile', {file: file('/'), reverse: true})).rejects.toMatchObject({code: status.UNKNOWN, details: 'number must be > 0 when reverse is true'})

    expect(await paths('WalkFile', {file: file('/dir')})).toEqual(['/dir/', '/dir/b.txt', '/dir/sub/', '/dir/sub/c'])
    expect(await paths('WalkFile', {file: file('/')})).toEqual(['/', '/a.txt', '/deep/', `/deep/${'d'.repeat(60)}/`, long, '/dir.txt', '/dir/', '/dir/b.txt', '/dir/sub/', '/dir/sub/c', '/ünï.txt'])
    expect(await paths('WalkFile', {file: file('/dir'), number: 2, paginationMarker: file('/dir/b.txt')})).toEqual(['/dir/sub/', '/dir/sub/c'])
    await expect(paths('WalkFile', {file: file('/nope')})).rejects.toMatchObject({code: status.NOT_FOUND})

    const glob = await collect(c.stream(c.pfs, 'GlobFile', {commit: onBranch(), pattern: '/dir/**'}))
    expect(glob.map((f) => [f.file!.path, f.file_type])).toEqual([
      ['/dir/b.txt', 'FILE'],
      ['/dir/sub/', 'DIR'],
      ['/dir/sub/c', 'FILE'],
    ])

    // DiffFile: against the parent by default, directories included as pachd's differ has them
    // (a directory differs when anything under it does); shallow stops at the direct children
    await modify(s, [setCommit(), raw('/dir/sub/new', 'n'), del('/a.txt')])
    const sides = (d: {new_file?: {file?: {path?: string} | null} | null; old_file?: {file?: {path?: string} | null} | null}) => [d.new_file?.file?.path ?? null, d.old_file?.file?.path ?? null]
    const diff = await collect(c.stream(c.pfs, 'DiffFile', {new_file: file('/'), shallow: false}))
    expect(diff.map(sides)).toEqual([
      ['/', '/'],
      [null, '/a.txt'],
      ['/dir/', '/dir/'],
      ['/dir/sub/', '/dir/sub/'],
      ['/dir/sub/new', null],
    ])
    const modified = diff.find((d) => d.new_file?.file?.path === '/dir/')!
    expect([modified.new_file!.size_bytes, modified.old_file!.size_bytes]).toEqual([601, 600])
    const shallow = await collect(c.stream(c.pfs, 'DiffFile', {new_file: file('/'), shallow: true}))
    expect(shallow.map(sides)).toEqual([
      ['/', '/'],
      [null, '/a.txt'],
      ['/dir/', '/dir/'],
    ])
    // an explicit old side: the first commit against the latest, under /dir
    const [latest, first] = await commits(s)
    const back = await collect(c.stream(c.pfs, 'DiffFile', {new_file: file('/dir', byId(first!.id)), old_file: file('/dir', byId(latest!.id))}))
    expect(back.map(sides)).toEqual([
      ['/dir/', '/dir/'],
      ['/dir/sub/', '/dir/sub/'],
      [null, '/dir/sub/new'],
    ])
  })
})
