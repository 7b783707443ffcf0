/**
 * `pach serve` alongside the CLI: concurrent writers from both sides lose nothing, and a
 * server killed in the middle of a large upload leaves no trace of it.
 */
import {randomBytes} from 'node:crypto'
import {describe, expect, it} from 'vitest'
import {PachdClient} from '../../src/client/pachd-client.js'
import {serve} from '../helpers/serve.js'

const repo = {name: 'shared', type: 'user', project: {name: 'default'}}
const onMaster = {repo, id: '', branch: {repo, name: 'master'}}

function* putOne(path: string, content: string) {
  yield {set_commit: onMaster}
  yield {delete_file: {path, datum: ''}}
  yield {add_file: {path, datum: '', raw: {value: Buffer.from(content)}}}
}

describe('pach serve with the CLI on the same project', () => {
  it('4 API clients × 50 writes alongside 2 CLI writers: every write lands, fsck is clean', {timeout: 240_000}, async () => {
    const s = await serve()
    await s.project.ok(['create', 'repo', 'shared'])
    const clients = Array.from({length: 4}, () => new PachdClient(s.url))
    const api = clients.map(async (c, i) => {
      for (let j = 0; j < 50; j++) await c.send(c.pfs, 'ModifyFile', putOne(`/api${i}/f${j}`, `api ${i} ${j}`))
    })
    const cli = [0, 1].map(async (k) => {
      for (let j = 0; j < 8; j++) await s.project.ok(['put', 'file', `shared@master:/cli${k}/f${j}`, '-f', '-'], {input: `cli ${k} ${j}`})
    })
    await Promise.all([...api, ...cli])
    for (const c of clients) c.close()
    const files = (await s.project.json(['glob', 'file', 'shared@master:/*/*'])) as {file: {path: string}}[]
    expect(files).toHaveLength(4 * 50 + 2 * 8)
    expect(await s.project.ok(['get', 'file', 'shared@master:/api3/f49'])).toBe('api 3 49')
    expect(await s.project.ok(['get', 'file', 'shared@master:/cli1/f7'])).toBe('cli 1 7')
    const commits = (await s.project.json(['list', 'commit', 'shared@master'])) as unknown[]
    expect(commits).toHaveLength(4 * 50 + 2 * 8)
    await s.project.ok(['fsck'])
  })

  it('SIGKILL during a large ModifyFile: no new commit, no file, and the next serve starts cleanly', {timeout: 120_000}, async () => {
    const s = await serve()
    await s.project.ok(['create', 'repo', 'shared'])
    await s.project.ok(['put', 'file', 'shared@master:/before', '-f', '-'], {input: 'x'})
    const head = ((await s.project.json(['inspect', 'commit', 'shared@master'])) as {commit: {id: string}}).commit.id
    const c = s.client
    const chunk = randomBytes(2 << 20)
    let sent = 0
    async function* big() {
      yield {set_commit: onMaster}
      for (let i = 0; i < 512; i++) {
        // stop feeding once the server is dead; the kill comes after ~200 MiB
        sent += chunk.length
        if (sent === 200 << 20) s.proc.kill('SIGKILL')
        yield {add_file: {path: '/big', datum: '', raw: {value: chunk}}}
      }
    }
    await expect(c.send(c.pfs, 'ModifyFile', big())).rejects.toBeTruthy()
    await s.proc.catch(() => undefined)
    const after = await serve({project: s.project})
    const info = (await s.project.json(['inspect', 'commit', 'shared@master'])) as {commit: {id: string}}
    expect(info.commit.id).toBe(head)
    const names = ((await s.project.json(['list', 'file', 'shared@master:/'])) as {file: {path: string}}[]).map((f) => f.file.path)
    expect(names).toEqual(['/before'])
    await s.project.ok(['fsck'])
    expect((await after.client.unary(after.client.health, 'Check', {service: ''})).status).toBe('SERVING')
  })
})
