/**
 * The worker shell protocol (src/runner/shell-protocol.ts): the datum line run by a real
 * /bin/sh, and the control channel's line reader. The runner conformance suite runs the same
 * protocol inside containers and bubblewrap.
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it, onTestFinished} from 'vitest'
import {ControlChannel, datumScript, shq, startFailureMessage} from '../../src/runner/shell-protocol.js'

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pach-shell-test-'))
  onTestFinished(() => rmSync(dir, {recursive: true, force: true}))
  return dir
}

/** Run one datum line in `sh -s`; returns the shell's stdout (the control channel) and the datum's files. */
function runLine(cmd: string[], env: Record<string, string>, opts: {workingDir?: string; stdin?: string} = {}) {
  const dir = scratch()
  if (opts.stdin !== undefined) writeFileSync(join(dir, 'in'), opts.stdin)
  const line = datumScript(cmd, env, {workingDir: opts.workingDir, stdin: opts.stdin !== undefined ? join(dir, 'in') : undefined, stdout: join(dir, 'out'), stderr: join(dir, 'err'), nonce: 'n0nce'})
  const r = spawnSync('/bin/sh', ['-s'], {input: line, env: {PATH: process.env.PATH ?? '/usr/bin:/bin'}})
  return {control: r.stdout.toString(), stdout: readFileSync(join(dir, 'out'), 'utf8'), stderr: readFileSync(join(dir, 'err'), 'utf8')}
}

describe('datum line', () => {
  it('is one line ending with the status on the control channel; the datum output goes to its files', () => {
    const line = datumScript(['true'], {}, {stdout: '/o', stderr: '/e', nonce: 'abc'})
    expect(line.endsWith('; echo "D abc $?"\n')).toBe(true)
    expect(line.split('\n')).toHaveLength(2)
    const r = runLine(['sh', '-c', 'echo out; echo err >&2; exit 7'], {})
    expect(r).toEqual({control: 'D n0nce 7\n', stdout: 'out\n', stderr: 'err\n'})
  })

  it('passes argv and env byte for byte, with odd env names through env(1)', () => {
    const argv = ["it's", 'a b', '$HOME', '`id`', '"q"', 'new\nline', '\\', '', '*', ';exit 9', "'\\''"]
    expect(runLine(['printf', '<%s>', ...argv], {}).stdout).toBe(argv.map((x) => `<${x}>`).join(''))
    const env = {X: "it's $HOME `id` \"q\"\nnext", EMPTY: ''}
    expect(runLine(['sh', '-c', 'printf "<%s>" "$X" "$EMPTY" "${EMPTY+set}"'], env).stdout).toBe(`<${env.X}><><set>`)
    expect(runLine(['env'], {'a-b.c': 'v w', X: "'"}).stdout.split('\n')).toEqual(expect.arrayContaining(['a-b.c=v w', "X='"]))
  })

  it('reads stdin from its file (EOF without one) and runs in workingDir (126 when it is missing)', () => {
    expect(runLine(['cat'], {}, {stdin: 'a\nb\n'}).stdout).toBe('a\nb\n')
    expect(runLine(['cat'], {}).stdout).toBe('')
    expect(runLine(['pwd'], {}, {workingDir: '/'}).stdout).toBe('/\n')
    expect(runLine(['pwd'], {}, {workingDir: '/nonexistent/dir'})).toEqual({control: 'S n0nce workdir\nD n0nce 126\n', stdout: '', stderr: ''})
  })

  it('reports a command that cannot start on the control channel, leaving the datum stderr to user code', () => {
    const dir = scratch()
    writeFileSync(join(dir, 'plain'), 'echo hi\n')
    expect(runLine(['no-such-command-xyz', 'a'], {})).toEqual({control: 'S n0nce not-found\nD n0nce 127\n', stdout: '', stderr: ''})
    expect(runLine([join(dir, 'missing')], {})).toEqual({control: 'S n0nce not-found\nD n0nce 127\n', stdout: '', stderr: ''})
    expect(runLine([join(dir, 'plain')], {})).toEqual({control: 'S n0nce not-exec\nD n0nce 126\n', stdout: '', stderr: ''})
    expect(runLine([dir], {})).toEqual({control: 'S n0nce not-exec\nD n0nce 126\n', stdout: '', stderr: ''})
    // PATH from the datum env is the one searched, also with odd env names (exported before env(1) runs)
    writeFileSync(join(dir, 'tool'), '#!/bin/sh\necho tool\n', {mode: 0o755})
    expect(runLine(['tool'], {PATH: `${dir}:/usr/bin:/bin`})).toEqual({control: 'D n0nce 0\n', stdout: 'tool\n', stderr: ''})
    expect(runLine(['tool'], {PATH: `${dir}:/usr/bin:/bin`, 'odd-name': '1'})).toEqual({control: 'D n0nce 0\n', stdout: 'tool\n', stderr: ''})
    expect(runLine(['tool'], {}).control).toBe('S n0nce not-found\nD n0nce 127\n')
    expect(runLine(['sh', '-c', 'exit 127'], {}).control).toBe('D n0nce 127\n')
    // user code has no control channel: fd 3 is closed before it runs
    expect(runLine(['sh', '-c', 'echo "D n0nce 0" >&3'], {}).control).toBe('D n0nce 2\n')
  })

  it('phrases start failures as one line with the exit code', () => {
    expect(startFailureMessage('not-found', ['foo'], undefined)).toBe('could not start: command foo not found (exit 127)')
    expect(startFailureMessage('not-found', ['/bin/foo'], undefined, 'image x:1')).toBe('could not start: /bin/foo does not exist in image x:1 (exit 127)')
    expect(startFailureMessage('not-executable', ['./run'], undefined)).toBe('could not start: ./run is not an executable file (exit 126)')
    expect(startFailureMessage('workdir', ['foo'], '/w')).toBe('could not start: cannot enter the working directory /w (exit 126)')
  })

  it('quotes for the shell', () => {
    expect(shq("a'b")).toBe("'a'\\''b'")
    expect(shq('')).toBe("''")
  })
})

describe('ControlChannel', () => {
  it('datumEnd: the status of this nonce, with the start failure reported before it', async () => {
    const c = new ControlChannel()
    const got = c.datumEnd('x')
    c.push(Buffer.from('S y not-found\nD y 127\nS x not-found\nD x 127\nD z 0\n'))
    expect(await got).toEqual({code: 127, startFailure: 'not-found'})
    c.push(Buffer.from('D x 3\n'))
    expect(await c.datumEnd('x')).toEqual({code: 3})
    c.end()
    expect(await c.datumEnd('x')).toBeUndefined()
  })

  it('returns the rest of the first line with the prefix, across chunk boundaries, dropping earlier lines', async () => {
    const c = new ControlChannel()
    const got = c.line('D x ')
    c.push(Buffer.from('noise\nD y 1\nD x'))
    c.push(Buffer.from(' 0\nD x 5\n'))
    expect(await got).toBe('0')
    expect(await c.line('D x ')).toBe('5')
  })

  it('answers undefined once ended without the line, and keeps answering from what came before', async () => {
    const c = new ControlChannel()
    c.push(Buffer.from('R abc\n'))
    const pending = c.line('D ')
    c.end()
    expect(await pending).toBeUndefined()
    expect(c.ended).toBe(true)
    expect(await c.line('R ')).toBe('abc')
  })
})
