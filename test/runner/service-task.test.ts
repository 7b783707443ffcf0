/**
 * Long-running tasks (Runner.startService) on the local runner, in both of its modes
 * (bubblewrap, and /pfs rewriting without it), and on the Docker runner: output streamed as
 * it comes, inputs at /pfs, stdin fed, the exit code reported, `stop` ending the code and
 * what it started, nothing left behind.
 */
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it, onTestFinished} from 'vitest'
import type {ServiceSpec, ServiceTask} from '../../src/core/pps/runner.js'
import {createDockerRunner} from '../../src/runner/docker.js'
import {startLocalService} from '../../src/runner/local-service.js'

function inputs(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pach-svc-test-'))
  onTestFinished(() => rmSync(dir, {recursive: true, force: true}))
  mkdirSync(join(dir, 'in'))
  writeFileSync(join(dir, 'in', 'x'), 'input-x')
  return dir
}

/** `out` collects stdout as it comes */
function spec(over: Partial<ServiceSpec>, out: string[]): ServiceSpec {
  return {name: 'default-t', image: 'pach-test/busybox:1', cmd: ['sh'], env: {}, onOutput: (s, c) => s === 'stdout' && out.push(c.toString()), ...over}
}

const gone = (pid: number) => {
  try {
    return /^\d+ \(.*\) Z/.test(execFileSync('cat', [`/proc/${pid}/stat`], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}))
  } catch {
    return true
  }
}

const scratchOfMine = () => readdirSync(tmpdir()).filter((n) => n.startsWith(`pach-service-${process.pid}-`))

describe.each([{kind: 'bwrap' as const}, {kind: 'rewrite' as const}])('local long-running tasks ($kind)', (mode) => {
  const m = mode.kind === 'bwrap' ? {kind: 'bwrap' as const, bwrap: 'bwrap'} : {kind: 'rewrite' as const}

  it('see their inputs at /pfs and their env, get stdin, stream output and report the exit code', async () => {
    const out: string[] = []
    // sh reading its script from stdin (transform.stdin)
    const t = await startLocalService(spec({stdin: 'echo from-stdin; cat /pfs/in/x\n', inputsDir: inputs(), cmd: ['sh']}, out), m)
    expect(await t.done).toEqual({exitCode: 0})
    expect(out.join('')).toContain('from-stdin')
    const t2 = await startLocalService(spec({env: {GREETING: 'hi'}, inputsDir: inputs(), cmd: ['sh', '-c', 'cat /pfs/in/x; echo " $GREETING"; exit 4']}, out), m)
    expect(await t2.done).toEqual({exitCode: 4})
    expect(out.join('')).toContain('input-x hi')
    expect(scratchOfMine()).toEqual([])
  })

  it('stop ends the code and what it started in the background', async () => {
    const out: string[] = []
    const t: ServiceTask = await startLocalService(spec({cmd: ['sh', '-c', 'sleep 300 & echo "started $!"; wait']}, out), m)
    for (let i = 0; i < 50 && !/started \d+/.test(out.join('')); i++) await new Promise((r) => setTimeout(r, 100))
    const bg = Number(/started (\d+)/.exec(out.join(''))![1])
    expect(gone(bg)).toBe(false)
    const t0 = Date.now()
    await t.stop()
    expect(Date.now() - t0).toBeLessThan(5000)
    expect((await t.done).exitCode).toBe(-1)
    expect(gone(bg)).toBe(true)
    expect(scratchOfMine()).toEqual([])
  })

  it('refuses a port mapping it cannot make (no forwarder on the host)', async () => {
    await expect(startLocalService(spec({cmd: ['true'], ports: [{external: 30080, internal: 8080}]}, []), m)).rejects.toThrow(/cannot map port 30080 to 8080/)
  })
})

describe('docker long-running tasks', () => {
  it('run the cmd in a container with stdin, stream its output, and stop leaves no container', async () => {
    const runner = await createDockerRunner()
    onTestFinished(() => runner.close())
    const out: string[] = []
    const t = await runner.startService(spec({stdin: 'echo from-stdin; cat /pfs/in/x; exit 3\n', inputsDir: inputs(), cmd: ['sh']}, out))
    expect(await t.done).toEqual({exitCode: 3})
    expect(out.join('')).toContain('from-stdin')
    expect(out.join('')).toContain('input-x')
    const long = await runner.startService(spec({name: 'default-long', cmd: ['sh', '-c', 'echo up; exec sleep 300']}, out))
    for (let i = 0; i < 50 && !out.join('').includes('up'); i++) await new Promise((r) => setTimeout(r, 100))
    await long.stop()
    const left = execFileSync('docker', ['ps', '-a', '--filter', 'label=io.pach.service=default-long', '--format', '{{.ID}}'], {encoding: 'utf8'}).trim()
    expect(left).toBe('')
  })
})
