// `pach push` interrupted and resumed, end to end: the built CLI is SIGKILLed while a large
// file is on the wire (a proxy stalls the upload there), then run again against the same remote.
import {randomBytes} from 'node:crypto'
import {execa} from 'execa'
import {describe, expect, it} from 'vitest'
import {BIN} from '../helpers/cli.js'
import {serve} from '../helpers/serve.js'
import {wireCounter} from '../helpers/wire-counter.js'
import {sha, remoteCommits, remoteFiles, localProject, put} from './push-fixture.js'

describe('pach push resumes', () => {
  it('a push killed (SIGKILL) in the middle of a large file resumes: no duplicate remote commit, fsck clean on both sides', {timeout: 120_000}, async () => {
    const s = await serve()
    const {p, pach} = await localProject()
    pach.repos.create('default', 'big')
    await put(pach, 'big@master', {'/small.txt': 'small\n'})
    const data = randomBytes(48 * 1024 * 1024)
    await put(pach, 'big@master', {'/big.bin': data})
    const wire = await wireCounter(s.address)

    const stalled = wire.stallAfter(8 * 1024 * 1024) // the upload hangs a sixth of the way in
    const proc = execa('node', [BIN, 'push', wire.url, 'big'], {cwd: p.dir, reject: false, env: {PACH_DETACH: ''}})
    await stalled
    proc.kill('SIGKILL')
    const killed = await proc
    expect(killed.signal).toBe('SIGKILL')
    expect(wire.up()).toBeLessThan(data.length) // it died mid-upload
    const before = await remoteCommits(s, 'big')
    expect(before.some((c) => !c.finished)).toBe(true) // the interrupted commit is open on the remote

    const r = await p.json(['push', s.url, 'big'])
    expect(r).toMatchObject({commits: 1, files: 1, bytes_sent: data.length})
    const after = await remoteCommits(s, 'big')
    expect(after).toHaveLength(2)
    expect(after.every((c) => c.finished)).toBe(true)
    expect(await remoteFiles(s, 'big')).toEqual({'/big.bin': sha(data), '/small.txt': sha(Buffer.from('small\n'))})
    expect((await p.json(['push', s.url, 'big'])).commits).toBe(0)
    await p.ok(['fsck'])
    await s.project.ok(['fsck'])
  })

  it('Ctrl-C during an upload stops with exit 130 and one line; the next push resumes', {timeout: 90_000}, async () => {
    const s = await serve()
    const {p, pach} = await localProject()
    pach.repos.create('default', 'big')
    const data = randomBytes(24 * 1024 * 1024)
    await put(pach, 'big@master', {'/big.bin': data})
    const wire = await wireCounter(s.address)
    const stalled = wire.stallAfter(4 * 1024 * 1024)
    const proc = execa('node', [BIN, 'push', wire.url, 'big'], {cwd: p.dir, reject: false, env: {PACH_DETACH: ''}})
    await stalled
    proc.kill('SIGINT')
    const r = await proc
    expect(r.exitCode).toBe(130)
    expect(String(r.stderr).trim().split('\n')).toHaveLength(1)
    expect(String(r.stderr)).toBe('pach: push interrupted; the commits already sent stay on the remote (run the same push again to resume it)')
    const again = await p.json(['push', s.url, 'big'])
    expect(again).toMatchObject({commits: 1, bytes_sent: data.length})
    // the dropped root commit left what pachd's deleteCommit leaves behind a dropped root head:
    // one empty finished commit, which the pushed commit now builds on (no second copy of the data)
    const commits = await remoteCommits(s, 'big')
    expect(commits).toHaveLength(2)
    expect(commits.every((c) => c.finished)).toBe(true)
    expect(await s.project.json(['list', 'file', `big@${commits[1]!.id}`])).toEqual([])
    expect(await remoteFiles(s, 'big')).toEqual({'/big.bin': sha(data)})
    await s.project.ok(['fsck'])
  })
})
