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
import {ControlChannel, datumScript, shq} from '../../src/runner/shell-protocol.js'

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
    expect(runLine(['pwd'], {}, {workingDir: '/nonexistent/dir'}).control).toBe('D n0nce 126\n')
  })

  it('quotes for the shell', () => {
    expect(shq("a'b")).toBe("'a'\\''b'")
    expect(shq('')).toBe("''")
  })
})

describe('ControlChannel', () => {
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
