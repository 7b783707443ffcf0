// `pach serve` restarts itself once with glibc's malloc tuned (src/cli/malloc-reexec.ts): the
// parent must be invisible (same --json line, exit code, signals) and must leave no server behind.
import {execa} from 'execa'
import {existsSync, readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {childCommand, needsReexec, runsOnGlibc, SERVE_MALLOC_ENV} from '../../src/cli/malloc-reexec.js'
import {BIN, tmpProject} from '../helpers/cli.js'
import {serve, until} from '../helpers/serve.js'

const children = (pid: number) =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
    .trim()
    .split(' ')
    .filter(Boolean)
    .map(Number)
const environ = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')
const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))

describe('pach serve re-executes itself with malloc tuned', () => {
  it('decides from the environment and the C library; rebuilds the command line for node and for the single executable', () => {
    expect(needsReexec({}, SERVE_MALLOC_ENV, true)).toBe(true)
    expect(needsReexec({}, SERVE_MALLOC_ENV, false)).toBe(false)
    expect(needsReexec({MALLOC_MMAP_THRESHOLD_: '1048576'}, SERVE_MALLOC_ENV, true)).toBe(false)
    expect(needsReexec({MALLOC_MMAP_THRESHOLD_: ''}, SERVE_MALLOC_ENV, true)).toBe(false)
    const p = {execPath: '/usr/bin/node', execArgv: ['--enable-source-maps'], argv: ['/usr/bin/node', '/x/bin/run.js', 'serve', '--json']}
    expect(childCommand(p, false)).toEqual({file: '/usr/bin/node', args: ['--enable-source-maps', '/x/bin/run.js', 'serve', '--json']})
    const sea = {execPath: '/x/pach', execArgv: [], argv: ['/x/pach', '/x/pach', 'serve', '--json']}
    expect(childCommand(sea, true)).toEqual({file: '/x/pach', args: ['serve', '--json']})
    // this suite's machines run glibc: the rest of the file depends on it
    expect(runsOnGlibc()).toBe(true)
  })

  it('serves from one child with the tuned environment and the same arguments; the --json line is the same as without the re-exec; SIGTERM stops both, exit 0', async () => {
    const s = await serve({args: ['--no-s3']})
    const pid = s.proc.pid!
    const [child, ...more] = children(pid)
    expect(more).toEqual([])
    expect(environ(child!)).toContain('MALLOC_MMAP_THRESHOLD_=131072')
    expect(environ(pid)).not.toContain('MALLOC_MMAP_THRESHOLD_=131072')
    expect(cmdline(child!).slice(1)).toEqual(cmdline(pid).slice(1))
    const direct = await serve({project: await tmpProject(), args: ['--no-s3'], env: {MALLOC_MMAP_THRESHOLD_: '131072'}})
    expect(children(direct.proc.pid!)).toEqual([])
    const shape = (line: string) => line.replace(/:\d+/g, ':PORT')
    expect(shape(s.line)).toBe(shape(direct.line))
    expect(Object.keys(JSON.parse(s.line))).toEqual(['address', 'pachd_address'])
    expect((await s.client.unary(s.client.health, 'Check', {service: ''})).status).toBe('SERVING')
    expect(await s.stop()).toBe(0)
    expect(alive(child!)).toBe(false)
    expect(s.stderr()).toBe('pach serve: stopping\n')
    expect(await direct.stop()).toBe(0)
  })

  it('SIGINT to the parent is forwarded once (a graceful stop, exit 0); SIGKILL of the parent stops the child too', async () => {
    const s = await serve({args: ['--no-s3']})
    const [child] = children(s.proc.pid!)
    s.proc.kill('SIGINT')
    expect((await s.proc).exitCode).toBe(0)
    expect(alive(child!)).toBe(false)
    expect(s.stderr()).toBe('pach serve: stopping\n')

    const k = await serve({project: s.project, args: ['--no-s3']})
    const [orphan] = children(k.proc.pid!)
    k.proc.kill('SIGKILL')
    await k.proc
    await until('the child to stop', () => (alive(orphan!) ? undefined : true), 10_000)
  })

  it("the parent ends as the child does: its exit code, its --json error, or the signal that killed it", async () => {
    const p = await tmpProject(false)
    const run = (env: Record<string, string>) => execa('node', [BIN, 'serve', '--json'], {cwd: p.dir, env, reject: false})
    const [re, direct] = await Promise.all([run({}), run({MALLOC_MMAP_THRESHOLD_: '131072'})])
    expect(re.exitCode).toBe(10)
    expect([re.exitCode, re.stdout, re.stderr]).toEqual([direct.exitCode, direct.stdout, direct.stderr])
    expect(JSON.parse(re.stdout).error.code).toBe('NOT_A_PACH_REPO')

    const s = await serve({args: ['--no-s3']})
    const [child] = children(s.proc.pid!)
    process.kill(child!, 'SIGKILL')
    const r = await s.proc
    expect(r.signal).toBe('SIGKILL')
  })
})
