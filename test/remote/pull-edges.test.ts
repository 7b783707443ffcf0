/**
 * `pach pull` at its edges, as a user runs it against a `pach serve` remote: data written by
 * the official Python SDK arrives equal; an unknown repo or branch, an unreachable remote, a
 * diverged local branch and a rewritten remote branch are each refused in one line, with the
 * way out.
 */
import {execa} from 'execa'
import {existsSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {connectRemote} from '../../src/client/connect.js'
import {pullSource} from '../../src/client/pull-source.js'
import {tmpProject} from '../helpers/cli.js'
import {serve} from '../helpers/serve.js'
import {SDK_PYTHON} from '../helpers/sdk.js'
import {commit, createRepo, localFiles, localHistory, pull, remoteFiles, remoteHistory} from './pull-util.js'

const LONG = `/${'deep/'.repeat(30)}${'n'.repeat(120)}.txt`

describe('pach pull', () => {
  it('reads a whole tree of small files in one stream (GetFileTAR, long names by PAX), equal to the remote', {timeout: 60_000}, async () => {
    const s = await serve()
    const c = s.client
    await createRepo(c, 'many')
    const edits: Record<string, string | Buffer> = {[LONG]: 'long name', '/empty': '', '/odd.bin': Buffer.alloc(513, 3)}
    for (let i = 0; i < 40; i++) edits[`/d${i % 3}/f${i}.txt`] = `file ${i} `.repeat(i + 1)
    const head = await commit(c, 'many', 'forty', edits)
    // the adapter's reading of the archive: every file, with its bytes
    const remote = {name: s.url, address: s.url, project: 'default', source: 'address' as const}
    const source = pullSource(await connectRemote(remote), remote)
    try {
      const seen: Record<string, string> = {}
      for await (const e of source.readAll!('default', 'many', head)) {
        const parts: Buffer[] = []
        for await (const b of e.data) parts.push(Buffer.from(b))
        seen[e.path] = Buffer.concat(parts).toString('latin1')
        expect(Buffer.concat(parts).length).toBe(e.size)
      }
      expect(seen).toEqual(Object.fromEntries(Object.entries(edits).map(([p, v]) => [p, Buffer.from(v).toString('latin1')])))
    } finally {
      source.close()
    }
    const local = await tmpProject()
    const total = Object.values(edits).reduce((n, v) => n + Buffer.from(v).length, 0)
    expect(await pull(local, s.url, 'many')).toMatchObject({commits: 1, files: 43, bytes_received: total, bytes_skipped: 0})
    expect(localFiles(local, 'many', head)).toEqual(await remoteFiles(c, 'many', head))
    expect(await local.ok(['get', 'file', `many@master:${LONG}`])).toBe('long name')
  })

  it('pulls what the official Python SDK wrote, naming the remote by a pachctl context', {timeout: 90_000}, async () => {
    const python = SDK_PYTHON
    expect(existsSync(python), `${python} (the SDK's venv: \`node scripts/python-tests.mjs --venv-only\`; npm test makes it first)`).toBe(true)
    const s = await serve()
    const script = `
import sys
from pachyderm_sdk import Client
from pachyderm_sdk.api import pfs
c = Client.from_pachd_address(sys.argv[1])
repo = pfs.Repo(name="sdk", type="user", project=pfs.Project(name="default"))
c.pfs.create_repo(repo=repo, description="written by the SDK")
branch = pfs.Branch(repo=repo, name="master")
with c.pfs.commit(branch=branch, description="sdk one") as cm:
    cm.put_file_from_bytes(path="/x.bin", data=bytes(range(256)) * 4096)
    cm.put_file_from_bytes(path="/dir/y.txt", data=b"yankee")
with c.pfs.commit(branch=branch, description="sdk two") as cm:
    cm.delete_file(path="/dir/y.txt")
    cm.put_file_from_bytes(path="/z.txt", data=b"zulu")
`
    const py = await execa(python!, ['-c', script, s.url], {reject: false})
    expect(py.exitCode, py.stderr).toBe(0)
    const history = await remoteHistory(s.client, 'sdk')
    expect(history.map((h) => h.description)).toEqual(['sdk two', 'sdk one'])
    const local = await tmpProject()
    // REMOTE as a pachctl context, as a pachctl user has it
    const config = join(local.dir, 'pachctl.json')
    writeFileSync(config, JSON.stringify({v2: {active_context: 'other', contexts: {lab: {pachd_address: s.url}, other: {pachd_address: 'grpc://127.0.0.1:1'}}}}))
    const r = await local.run(['pull', 'lab', 'sdk', '--json'], {env: {PACH_CONFIG: config}})
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.json()).toMatchObject({remote: 'lab', commits: 2, bytes_received: 1024 * 1024 + 6 + 4})
    expect(localHistory(local, 'sdk')).toEqual(history)
    for (const h of history) expect(localFiles(local, 'sdk', h.id)).toEqual(await remoteFiles(s.client, 'sdk', h.id))
  })

  it('refuses an unknown repo or branch, an unreachable remote, a diverged local branch and a rewritten remote branch, each in one line', {timeout: 60_000}, async () => {
    const s = await serve()
    const c = s.client
    await createRepo(c, 'images')
    await commit(c, 'images', 'one', {'/a': 'a'})
    const local = await tmpProject()

    const noRepo = await local.run(['pull', s.url, 'nope', '--json'])
    expect([noRepo.exitCode, noRepo.json().error.code]).toEqual([4, 'REPO_NOT_FOUND'])
    const noBranch = await local.run(['pull', s.url, 'images@dev'])
    expect(noBranch.exitCode).toBe(4)
    expect(noBranch.stderr).toMatch(/^pach: branch images@dev not found on grpc:\/\/\S+ \(.*\)\n$/)

    const closed = createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const port = (closed.address() as {port: number}).port
    await new Promise((r) => closed.close(r))
    const down = await local.run(['pull', `grpc://127.0.0.1:${port}`, 'images'])
    expect(down.exitCode).toBe(1)
    expect(down.stderr).toMatch(/^pach: cannot reach pachd at grpc:\/\/127\.0\.0\.1:\d+ \(.*ECONNREFUSED.*\n$/)
    expect(down.stderr.split('\n')).toHaveLength(2)

    await pull(local, s.url, 'images')
    await local.ok(['put', 'file', 'images@master:/local.txt', '-f', '-'], {input: 'mine'})
    // nothing new on the remote: up to date, the local commit waits for a push
    expect(await pull(local, s.url, 'images')).toMatchObject({commits: 0})
    const theirs = await commit(c, 'images', 'two', {'/b': 'b'})
    const diverged = await local.run(['pull', s.url, 'images', '--json'])
    expect(diverged.exitCode).toBe(5)
    expect(diverged.json().error).toMatchObject({code: 'BRANCH_DIVERGED', data: {ahead: 1, behind: 1}})
    expect(diverged.json().error.hint).toContain('images@master:')
    // the way out: the remote branch into another local branch
    expect(await pull(local, s.url, 'images@master:upstream')).toMatchObject({commits: 1, head: theirs})
    expect(await local.ok(['get', 'file', 'images@upstream:/b'])).toBe('b')
    expect(await local.ok(['get', 'file', 'images@master:/local.txt'])).toBe('mine')

    // the remote rewrote the branch (the pulled head dropped, another commit made): refused too
    await c.unary(c.pfs, 'DropCommitSet', {commit_set: {id: theirs}})
    await commit(c, 'images', 'three', {'/c': 'c'})
    const rewritten = await local.run(['pull', s.url, 'images@master:upstream'])
    expect(rewritten.exitCode).toBe(5)
    expect(rewritten.stderr).toMatch(new RegExp(`^pach: .*images@master was rewritten: its history no longer holds commit ${theirs}.*\\n$`))
    expect(localHistory(local, 'images', 'upstream')[0]!.id).toBe(theirs)
  })
})
