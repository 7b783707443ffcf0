/**
 * Attached runs (Runner.runAttached, `pach debug datum`) on the local runner in both of its
 * modes (bubblewrap, and /pfs rewriting without it) and on the Docker runner: a datum's
 * layout (inputs read-only at /pfs, /pfs/out written to outDir), stdin fed, stdout and stderr
 * streamed to the terminal as they come, the exit code reported, the signal ending the code,
 * nothing left behind.
 */
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {PassThrough} from 'node:stream'
import {describe, expect, it, onTestFinished} from 'vitest'
import type {AttachSpec, Terminal} from '../../src/core/pps/runner.js'
import {createDockerRunner} from '../../src/runner/docker.js'
import {runLocalAttached} from '../../src/runner/local-attach.js'

/** a datum's two directories: inputs (in/x) and an empty out */
function dirs(): {inputsDir: string; outDir: string} {
  const root = mkdtempSync(join(tmpdir(), 'pach-attach-test-'))
  onTestFinished(() => rmSync(root, {recursive: true, force: true}))
  mkdirSync(join(root, 'pfs', 'in'), {recursive: true})
  mkdirSync(join(root, 'pfs', 'out'))
  mkdirSync(join(root, 'out'))
  writeFileSync(join(root, 'pfs', 'in', 'x'), 'input-x')
  return {inputsDir: join(root, 'pfs'), outDir: join(root, 'out')}
}

/** a terminal that is not one; what reaches stdout and stderr, in order of arrival */
function terminal(): {terminal: Terminal; out: string[]; err: string[]} {
  const out: string[] = []
  const err: string[] = []
  const sink = (to: string[]) => Object.assign(new PassThrough().on('data', (c: Buffer) => to.push(c.toString())), {on: PassThrough.prototype.on, off: PassThrough.prototype.off})
  return {terminal: {stdin: new PassThrough(), stdout: sink(out) as unknown as Terminal['stdout'], stderr: sink(err)}, out, err}
}

/** the process has exited (gone, or a zombie waiting for its reaper) */
const gone = (pid: number) => {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return true
  }
}

const spec = (over: Partial<AttachSpec>, t: Terminal): AttachSpec => ({name: 'debug-t', image: 'pach-test/busybox:1', network: false, cmd: ['sh'], env: {}, shell: false, terminal: t, ...dirs(), ...over})

const LAYOUT = 'cat /pfs/in/x; echo " $IN"; echo oops >&2; echo written > /pfs/out/o; (echo no > /pfs/in/x) 2>/dev/null && echo inputs-writable; read line; echo "stdin=$line"; exit 6'

describe.each([{kind: 'bwrap' as const, bwrap: 'bwrap', netIsolation: true}, {kind: 'rewrite' as const}])('local attached runs ($kind)', (mode) => {
  it("run in a datum's layout: stdin fed, output streamed, the exit code reported", async () => {
    const t = terminal()
    const s = spec({cmd: ['sh', '-c', LAYOUT], env: {IN: '/pfs/in/x'}, stdin: 'hello\n'}, t.terminal)
    expect(await runLocalAttached(s, mode)).toEqual({exitCode: 6})
    // inputs are read-only only with bubblewrap; without it /pfs in env values is rewritten
    if (mode.kind === 'bwrap') expect(t.out.join('')).toBe('input-x /pfs/in/x\nstdin=hello\n')
    else expect(t.out.join('')).toMatch(/^input-x \S+\/pfs\/in\/x\n(inputs-writable\n)?stdin=hello\n$/)
    expect(t.err.join('')).toBe('oops\n')
    expect(readFileSync(join(s.outDir, 'o'), 'utf8')).toBe('written\n')
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith(`pach-worker-${process.pid}-`))).toEqual([])
  })

  it('the signal ends the code and what it started', async () => {
    const t = terminal()
    const abort = new AbortController()
    const run = runLocalAttached(spec({cmd: ['sh', '-c', 'sleep 300 & echo "started $!"; wait'], signal: abort.signal}, t.terminal), mode)
    for (let i = 0; i < 50 && !/started \d+/.test(t.out.join('')); i++) await new Promise((r) => setTimeout(r, 100))
    const bg = Number(/started (\d+)/.exec(t.out.join(''))![1])
    abort.abort()
    expect(await run).toEqual({exitCode: -1, error: 'interrupted'})
    for (let i = 0; i < 50 && !gone(bg); i++) await new Promise((r) => setTimeout(r, 100))
    expect(gone(bg)).toBe(true)
  })
})

const dockerOk = (() => {
  try {
    execFileSync('docker', ['image', 'inspect', 'pach-test/busybox:1'], {stdio: 'ignore', timeout: 30_000})
    return true
  } catch {
    return false
  }
})()

describe.skipIf(!dockerOk && process.env.CI !== 'true')('docker attached runs', () => {
  it("run in a worker's container: stdin fed, output streamed, the exit code reported, the container removed", async () => {
    const runner = await createDockerRunner()
    onTestFinished(() => runner.close())
    const t = terminal()
    const s = spec({cmd: ['sh', '-c', LAYOUT], env: {IN: '/pfs/in/x'}, stdin: 'hello\n'}, t.terminal)
    expect(await runner.runAttached(s)).toEqual({exitCode: 6})
    expect(t.out.join('')).toBe('input-x /pfs/in/x\nstdin=hello\n')
    expect(t.err.join('')).toBe('oops\n')
    expect(readFileSync(join(s.outDir, 'o'), 'utf8')).toBe('written\n')
    const left = execFileSync('docker', ['ps', '-aq', '--filter', `label=io.pach.owner=${(await import('node:os')).hostname()}/${process.pid}`], {encoding: 'utf8'}).trim()
    expect(left).toBe('')

    // a shell whose stdin has already ended (as /dev/null) ends at once
    const t3 = terminal()
    const ended = t3.terminal.stdin as PassThrough
    ended.end()
    ended.resume()
    await new Promise((r) => setImmediate(r))
    expect(await runner.runAttached(spec({cmd: ['/bin/sh'], shell: true}, t3.terminal))).toEqual({exitCode: 0})

    const abort = new AbortController()
    const t2 = terminal()
    const run = runner.runAttached(spec({cmd: ['sh', '-c', 'echo started; sleep 300'], signal: abort.signal}, t2.terminal))
    for (let i = 0; i < 100 && !t2.out.join('').includes('started'); i++) await new Promise((r) => setTimeout(r, 100))
    abort.abort()
    expect(await run).toEqual({exitCode: -1, error: 'interrupted'})
  })
})
