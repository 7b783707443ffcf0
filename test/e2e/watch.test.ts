/**
 * `pach watch DIR REPO@BRANCH` end to end: the built CLI against real file-system events
 * (create, modify, rename, delete, a burst, a large file written slowly), --once, ignore
 * rules, the pipelines a commit triggers, Ctrl-C, and bad input.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {createWriteStream, mkdirSync, renameSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {BIN, tmpProject, type Project} from '../helpers/cli.js'
import {expectUserError} from './_util.js'

interface CommitLine {
  commit: {id: string; branch: {name: string}}
  added: string[]
  changed: string[]
  deleted: string[]
  bytes: number
}

/** A running `pach watch --json`: each commit line as it comes. */
function startWatch(p: Project, args: string[]) {
  const child: ChildProcess = spawn('node', [BIN, 'watch', ...args, '--json'], {cwd: p.dir, env: {...process.env, PACH_DETACH: ''}, stdio: ['ignore', 'pipe', 'pipe']})
  const lines: CommitLine[] = []
  const waiters: (() => void)[] = []
  let buf = ''
  let stderr = ''
  child.stdout!.on('data', (d) => {
    buf += d
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)) as CommitLine)
      buf = buf.slice(i + 1)
      waiters.splice(0).forEach((w) => w())
    }
  })
  const started = new Promise<void>((res) => {
    child.stderr!.on('data', (d) => {
      stderr += d
      if (stderr.includes('Ctrl-C to stop')) res()
    })
  })
  const exited = new Promise<number>((res) => child.on('exit', (code) => res(code ?? -1)))
  let taken = 0
  return {
    started,
    lines,
    stderr: () => stderr,
    /** the next commit line (fails after `ms`) */
    async next(ms = 30_000): Promise<CommitLine> {
      const deadline = Date.now() + ms
      while (lines.length <= taken) {
        if (Date.now() > deadline) throw new Error(`no commit from pach watch within ${ms} ms; stderr: ${stderr}`)
        await new Promise<void>((res) => {
          waiters.push(res)
          setTimeout(res, 200)
        })
      }
      return lines[taken++]!
    },
    /** no further commit line for `ms` */
    async quiet(ms: number): Promise<void> {
      await new Promise((r) => setTimeout(r, ms))
      expect(lines.slice(taken)).toEqual([])
    },
    async stop(): Promise<number> {
      child.kill('SIGINT')
      return exited
    },
    kill: () => child.kill('SIGKILL'),
  }
}

async function setup(ctx: {onTestFinished: (fn: () => void) => void}) {
  const p = await tmpProject(true, ctx)
  await p.ok(['create', 'repo', 'data'])
  const dir = join(p.dir, 'folder')
  mkdirSync(dir)
  return {p, dir}
}

const files = async (p: Project, at = 'data@master') =>
  ((await p.json(['glob', 'file', `${at}:/**`])) as {file: {path: string}; file_type: string}[]).filter((f) => f.file_type === 'FILE').map((f) => f.file.path).sort()

describe('pach watch --once', () => {
  it('commits adds, changes and deletes as one commit, and nothing when nothing changed', async (ctx) => {
    const {p, dir} = await setup(ctx)
    writeFileSync(join(dir, 'a.txt'), 'one')
    mkdirSync(join(dir, 'sub'))
    writeFileSync(join(dir, 'sub', 'b.txt'), 'two')
    const first = JSON.parse(await p.ok(['watch', dir, 'data@master', '--once', '--settle', '0', '--json'])) as CommitLine
    expect(first.added).toEqual(['/a.txt', '/sub/b.txt'])
    expect(await files(p)).toEqual(['/a.txt', '/sub/b.txt'])
    const c = await p.json(['inspect', 'commit', `data@${first.commit.id}`])
    expect(c.description).toBe(`pach watch ${dir}`)

    // unchanged, and touched without a change: no commit
    expect(await p.ok(['watch', dir, 'data@master', '--once', '--settle', '0', '--json'])).toBe('')
    utimesSync(join(dir, 'a.txt'), new Date(), new Date(Date.now() + 5000))
    expect(await p.ok(['watch', dir, 'data@master', '--once', '--settle', '0', '--json'])).toBe('')

    // same size, other bytes: a change found by content; a size change; a delete; an add
    writeFileSync(join(dir, 'a.txt'), 'ONE')
    writeFileSync(join(dir, 'sub', 'b.txt'), 'two, longer')
    writeFileSync(join(dir, 'c.txt'), 'three')
    const second = JSON.parse(await p.ok(['watch', dir, 'data@master', '--once', '--settle', '0', '--json'])) as CommitLine
    expect(second).toMatchObject({added: ['/c.txt'], changed: ['/a.txt', '/sub/b.txt'], deleted: []})
    rmSync(join(dir, 'sub'), {recursive: true})
    const third = JSON.parse(await p.ok(['watch', dir, 'data@master', '--once', '--settle', '0', '--json'])) as CommitLine
    expect(third).toMatchObject({added: [], changed: [], deleted: ['/sub/b.txt']})
    expect(await p.ok(['get', 'file', 'data@master:/a.txt'])).toBe('ONE')
    expect((await p.json(['list', 'commit', 'data'])).length).toBe(3)
  })

  it('leaves out editor temp files, VCS folders and .pachignore patterns, and files put by other means go', async (ctx) => {
    const {p, dir} = await setup(ctx)
    await p.ok(['put', 'file', 'data@master:/elsewhere.txt'], {input: 'x'})
    for (const f of ['keep.csv', 'a.swp', 'notes.txt~', '.#lock', '4913', 'skip.log', 'logs/x.log', 'cache/big.bin', 'cache2/ok.txt']) {
      mkdirSync(join(dir, f, '..'), {recursive: true})
      writeFileSync(join(dir, f), f)
    }
    mkdirSync(join(dir, '.git'))
    writeFileSync(join(dir, '.git', 'HEAD'), 'ref')
    writeFileSync(join(dir, '.pachignore'), '# not data\n*.log\ncache/\n')
    const r = JSON.parse(await p.ok(['watch', dir, 'data@master', '--once', '--settle', '0', '--json'])) as CommitLine
    expect(r.added).toEqual(['/cache2/ok.txt', '/keep.csv'])
    expect(r.deleted).toEqual(['/elsewhere.txt'])
    expect(await files(p)).toEqual(['/cache2/ok.txt', '/keep.csv'])
  })

  it('runs the pipelines its commit triggers', async (ctx) => {
    const {p, dir} = await setup(ctx)
    const spec = {pipeline: {name: 'count'}, input: {pfs: {repo: 'data', glob: '/'}}, transform: {cmd: ['sh', '-c', 'ls /pfs/data | wc -l | tr -d " " > /pfs/out/n']}}
    await p.ok(['create', 'pipeline', '-f', '-'], {input: JSON.stringify(spec), env: {PACH_RUNNER: 'local'}})
    for (const n of ['1', '2', '3']) writeFileSync(join(dir, n), n)
    await p.ok(['watch', dir, 'data@master', '--once', '--settle', '0'], {env: {PACH_RUNNER: 'local'}})
    expect((await p.ok(['get', 'file', 'count@master:/n'])).trim()).toBe('3')
  })

  it('refuses bad input with one line', async (ctx) => {
    const {p, dir} = await setup(ctx)
    expectUserError(await p.run(['watch', join(dir, 'nope'), 'data@master']), 4, /folder .*nope does not exist/)
    writeFileSync(join(dir, 'f'), 'x')
    expectUserError(await p.run(['watch', join(dir, 'f'), 'data@master']), 2, /is not a folder/)
    expectUserError(await p.run(['watch', dir, 'nosuch@master']), 4, /repo nosuch not found/)
    const c = JSON.parse(await p.ok(['watch', dir, 'data@master', '--once', '--settle', '0', '--json'])) as CommitLine
    expectUserError(await p.run(['watch', dir, `data@${c.commit.id}`]), 2, /writes to a branch, not to a commit/)
  })
})

describe('pach watch (live)', () => {
  it('commits the difference on start, then each settled batch of events as one commit; Ctrl-C exits 0', async (ctx) => {
    const {p, dir} = await setup(ctx)
    writeFileSync(join(dir, 'before.txt'), 'offline')
    const w = startWatch(p, [dir, 'data@master', '--debounce', '200', '--settle', '200'])
    ctx.onTestFinished(() => w.kill())
    await w.started
    expect((await w.next()).added).toEqual(['/before.txt'])

    writeFileSync(join(dir, 'new.txt'), 'created')
    expect(await w.next()).toMatchObject({added: ['/new.txt'], changed: [], deleted: []})

    writeFileSync(join(dir, 'new.txt'), 'modified!')
    expect(await w.next()).toMatchObject({added: [], changed: ['/new.txt'], deleted: []})

    renameSync(join(dir, 'new.txt'), join(dir, 'renamed.txt'))
    expect(await w.next()).toMatchObject({added: ['/renamed.txt'], changed: [], deleted: ['/new.txt']})

    rmSync(join(dir, 'before.txt'))
    expect(await w.next()).toMatchObject({added: [], changed: [], deleted: ['/before.txt']})

    // a burst (a copy of many files) is one commit
    mkdirSync(join(dir, 'burst'))
    for (let i = 0; i < 50; i++) writeFileSync(join(dir, 'burst', `f${i}`), `file ${i}`)
    const burst = await w.next()
    expect(burst.added).toHaveLength(50)
    // an editor's swap file makes no commit
    writeFileSync(join(dir, '.renamed.txt.swp'), 'swap')
    await w.quiet(1000)

    expect(await files(p)).toEqual(['/renamed.txt', ...Array.from({length: 50}, (_, i) => `/burst/f${i}`).sort()].sort())
    expect(await w.stop()).toBe(0)
    expect(w.stderr()).toMatch(/pach watch: stopped \(6 commits\)/)
    expect(w.stderr()).not.toContain('    at ')
  })

  it('never commits a large file half-written: 1 GiB written slowly lands whole, in one commit', {timeout: 180_000}, async (ctx) => {
    const {p, dir} = await setup(ctx)
    // pauses longer than the debounce (batches come mid-write) and shorter than the settle time
    const w = startWatch(p, [dir, 'data@master', '--debounce', '200', '--settle', '1500'])
    ctx.onTestFinished(() => w.kill())
    await w.started
    const hash = createHash('sha256')
    const out = createWriteStream(join(dir, 'big.bin'))
    const piece = randomBytes(64 << 20)
    for (let i = 0; i < 16; i++) {
      piece.writeUInt32LE(i, 0)
      hash.update(piece)
      await new Promise<void>((res, rej) => out.write(piece, (e) => (e ? rej(e) : res())))
      await new Promise((r) => setTimeout(r, 500))
    }
    await new Promise<void>((res) => out.end(res))
    const c = await w.next(120_000)
    expect(c.added).toEqual(['/big.bin'])
    expect(c.bytes).toBe(1 << 30)
    // that was the only commit
    expect((await p.json(['list', 'commit', 'data'])).length).toBe(1)
    const info = await p.json(['inspect', 'file', 'data@master:/big.bin'])
    expect(info.size_bytes).toBe(1 << 30)
    const got = createHash('sha256')
    await new Promise<void>((res, rej) => {
      const g = spawn('node', [BIN, 'get', 'file', 'data@master:/big.bin'], {cwd: p.dir, stdio: ['ignore', 'pipe', 'inherit']})
      g.stdout.on('data', (d) => got.update(d))
      g.on('exit', (code) => (code === 0 ? res() : rej(new Error(`get file exited ${code}`))))
    })
    expect(got.digest('hex')).toBe(hash.digest('hex'))
    expect(await w.stop()).toBe(0)
  })
})
