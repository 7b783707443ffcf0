/**
 * Runner conformance: one suite, run against the fake, local (bubblewrap and path-rewriting
 * modes) and docker runners, plus the checks only one runner can make (container
 * isolation, bubblewrap leaving the host untouched, runner selection).
 *
 * Docker tests need an engine and the image pach-test/busybox:1 (.ci/setup-docker.sh makes
 * both). Without them they are skipped locally and FAIL when CI=true: a skipped test is not
 * a passed test in CI. The same rule holds for the bubblewrap tests.
 */
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it, onTestFinished} from 'vitest'
import type Dockerode from 'dockerode'
import {RunnerError} from '../../src/core/errors.js'
import type {DatumRunResult, DatumTask, Runner, Worker, WorkerSpec} from '../../src/core/pps/runner.js'
import {createDockerRunner, DockerRunner, type DockerWorker} from '../../src/runner/docker.js'
import {FakeRunner, type FakeContext} from '../helpers/fake-runner.js'
import {createLocalRunner, LocalRunner, rewritePfs} from '../../src/runner/local.js'
import {NO_DOCKER_NOTICE, pingSocket, selectRunner} from '../../src/runner/select.js'

const IMAGE = 'pach-test/busybox:1'
const IN_CI = process.env.CI === 'true'

// ---------------------------------------------------------------- environment probes

async function probeDocker(): Promise<{ok: true; docker: Dockerode} | {ok: false; reason: string}> {
  try {
    const {default: Docker} = await import('dockerode')
    const docker = new Docker()
    const ping = await Promise.race([docker.ping().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 2000))])
    if (!ping) return {ok: false, reason: 'the Docker engine did not answer within 2 s'}
    try {
      await docker.getImage(IMAGE).inspect()
    } catch {
      return {ok: false, reason: `image ${IMAGE} is missing (run .ci/setup-docker.sh)`}
    }
    return {ok: true, docker}
  } catch (e) {
    return {ok: false, reason: `no Docker engine (${(e as Error).message}); run .ci/setup-docker.sh`}
  }
}

const dockerProbe = await probeDocker()
const bwrapProbe = (await createLocalRunner()).sandbox!

/** describe() that is skipped locally but fails in CI when its prerequisite is missing. */
function describeIf(ok: boolean, reason: string, name: string, body: () => void): void {
  if (ok) describe(name, body)
  else if (IN_CI) describe(name, () => it(`prerequisite: ${reason}`, () => expect.fail(`${name}: ${reason} (CI=true, so this is a failure, not a skip)`)))
  else describe.skip(`${name} (${reason})`, body)
}

// ---------------------------------------------------------------- fake user code
// The suite's commands are `sh -c <script>`. For the fake runner each script has a node:fs
// implementation with the same observable behaviour, so the same assertions hold.

const S = {
  readWrite: 'wc -c < /pfs/in/a.txt > /pfs/out/count && cp /pfs/in/sub/b.txt /pfs/out/b.txt && ls /pfs > /pfs/out/ls',
  stdin: 'cat > /pfs/out/stdin',
  stdinCount: 'wc -c > /pfs/out/n',
  env: 'printf %s "$FOO" > /pfs/out/foo && cat "$in/a.txt" > /pfs/out/via-env',
  output: 'echo out; echo err >&2; echo out2',
  exit3: 'exit 3',
  sleep: 'sleep 30 & sleep 30; wait',
  echoOk: 'echo ok > /pfs/out/ok',
  writeInput: 'echo x > /pfs/in/a.txt',
  createInPfs: 'touch /pfs/new',
  catInput: 'cat /pfs/in/a.txt > /pfs/out/copy',
  idPwd: 'id -u; pwd',
} as const

const FAKE: Record<string, (ctx: FakeContext) => number | Promise<number>> = {
  [S.readWrite]: (c) => {
    writeFileSync(join(c.outDir, 'count'), `${readFileSync(join(c.inputsDir, 'in/a.txt')).length}\n`)
    writeFileSync(join(c.outDir, 'b.txt'), readFileSync(join(c.inputsDir, 'in/sub/b.txt')))
    const names = [...readdirSync(c.inputsDir).filter((n) => n !== 'out'), 'out'].sort()
    writeFileSync(join(c.outDir, 'ls'), names.join('\n') + '\n')
    return 0
  },
  [S.stdin]: (c) => (writeFileSync(join(c.outDir, 'stdin'), c.stdin ?? ''), 0),
  [S.stdinCount]: (c) => (writeFileSync(join(c.outDir, 'n'), `${Buffer.byteLength(c.stdin ?? '')}\n`), 0),
  [S.env]: (c) => {
    writeFileSync(join(c.outDir, 'foo'), c.env.FOO ?? '')
    writeFileSync(join(c.outDir, 'via-env'), readFileSync(join(c.inputsDir, c.env.in!.replace(/^\/pfs\//, ''), 'a.txt')))
    return 0
  },
  [S.output]: (c) => (c.output('stdout', 'out\n'), c.output('stderr', 'err\n'), c.output('stdout', 'out2\n'), 0),
  [S.exit3]: () => 3,
  [S.sleep]: (c) => new Promise<number>((r) => {
    const t = setTimeout(() => r(0), 30_000)
    c.signal.addEventListener('abort', () => (clearTimeout(t), r(137)))
  }),
  [S.echoOk]: (c) => (writeFileSync(join(c.outDir, 'ok'), 'ok\n'), 0),
  [S.catInput]: (c) => (writeFileSync(join(c.outDir, 'copy'), readFileSync(join(c.inputsDir, 'in/a.txt'))), 0),
}

function fakeRunner(): FakeRunner {
  return new FakeRunner((ctx) => {
    const impl = ctx.cmd[0] === 'sh' && ctx.cmd[1] === '-c' ? FAKE[ctx.cmd[2]!] : undefined
    if (!impl) {
      ctx.output('stderr', `${ctx.cmd[0]}: not found\n`)
      return 127
    }
    return impl(ctx)
  })
}

// ---------------------------------------------------------------- harness

interface Target {
  name: string
  make(): Promise<Runner>
  /** the runner makes /pfs (other than /pfs/out) read-only */
  readOnlyInputs: boolean
  /** says why a datum cannot start (every real runner; not the fake) */
  startErrors?: boolean
}

interface Harness {
  worker: Worker
  inputsDir: string
  outDir: string
  run(cmd: string | string[], task?: Partial<DatumTask>): Promise<DatumRunResult & {stdout: string; stderr: string}>
  out(name: string): string
  refill(files: Record<string, string>): void
}

const FILES = {'in/a.txt': 'hello\n', 'in/sub/b.txt': 'bee\n'}

function writeTree(dir: string, files: Record<string, string>): void {
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), {recursive: true})
    writeFileSync(join(dir, p), content)
  }
}

/** Empty a directory in place (as the job service does), keeping `keep`. */
function clearDir(dir: string, keep?: string): void {
  for (const n of readdirSync(dir)) if (n !== keep) rmSync(join(dir, n), {recursive: true, force: true})
}

async function harness(runner: Runner, spec: Partial<WorkerSpec> = {}, files: Record<string, string> = FILES): Promise<Harness> {
  const root = mkdtempSync(join(tmpdir(), 'pach-runner-test-'))
  const inputsDir = join(root, 'pfs')
  const outDir = join(root, 'out')
  mkdirSync(inputsDir)
  mkdirSync(outDir)
  writeTree(inputsDir, files)
  let worker: Worker | undefined
  onTestFinished(async () => {
    await worker?.close()
    rmSync(root, {recursive: true, force: true})
  })
  worker = await runner.startWorker({image: IMAGE, inputsDir, outDir, network: false, name: 'conformance', ...spec})
  return {
    worker,
    inputsDir,
    outDir,
    async run(cmd, task = {}) {
      let stdout = ''
      let stderr = ''
      const r = await worker.run({
        cmd: typeof cmd === 'string' ? ['sh', '-c', cmd] : cmd,
        env: {},
        onOutput: (s, c) => (s === 'stdout' ? (stdout += c.toString()) : (stderr += c.toString())),
        ...task,
      })
      return {...r, stdout, stderr}
    },
    out: (name) => readFileSync(join(outDir, name), 'utf8'),
    refill(f) {
      clearDir(inputsDir, 'out')
      clearDir(outDir)
      writeTree(inputsDir, f)
    },
  }
}

/**
 * Wall-clock bounds are what a loaded 2-core machine gives, not what an idle one does: they
 * only tell a killed datum from one that ran to its end (S.sleep sleeps 30 s). Per-datum
 * speed is measured by bench/pipelines.mjs, not asserted here.
 */
const KILL_BOUND_MS = 20_000

// ---------------------------------------------------------------- the conformance suite

function conformance(t: Target): void {
  let runner: Runner
  beforeAll(async () => {
    runner = await t.make()
  })
  afterAll(async () => {
    await runner?.close?.()
  })

  it('reads /pfs/<input>/… and writes /pfs/out/…', async () => {
    const h = await harness(runner)
    const r = await h.run(S.readWrite)
    expect(r, r.stderr).toMatchObject({exitCode: 0, timedOut: false})
    expect(h.out('count').trim()).toBe('6')
    expect(h.out('b.txt')).toBe('bee\n')
    expect(h.out('ls').split('\n').filter(Boolean)).toEqual(['in', 'out'])
  })

  it('delivers stdin, and gives EOF when there is none', async () => {
    const h = await harness(runner)
    expect((await h.run(S.stdin, {stdin: 'a\nb\n'})).exitCode).toBe(0)
    expect(h.out('stdin')).toBe('a\nb\n')
    const r = await h.run(S.stdin, {timeoutMs: 10_000})
    expect(r).toMatchObject({exitCode: 0, timedOut: false})
    expect(h.out('stdin')).toBe('')
  })

  it('delivers a large stdin completely', async () => {
    const h = await harness(runner)
    const big = 'x'.repeat(1023) + '\n'
    const r = await h.run(S.stdinCount, {stdin: big.repeat(2048)})
    expect(r.exitCode).toBe(0)
    expect(h.out('n').trim()).toBe(String(2048 * 1024))
  })

  it('delivers env (values with spaces, /pfs paths)', async () => {
    const h = await harness(runner)
    const r = await h.run(S.env, {env: {FOO: 'bar baz', in: '/pfs/in'}})
    expect(r.exitCode, r.stderr).toBe(0)
    expect(h.out('foo')).toBe('bar baz')
    expect(h.out('via-env')).toBe('hello\n')
  })

  it('streams stdout and stderr separately', async () => {
    const h = await harness(runner)
    const r = await h.run(S.output)
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toBe('out\nout2\n')
    expect(r.stderr).toBe('err\n')
  })

  it('propagates the exit code and resolves (never rejects) for non-zero exits', async () => {
    const h = await harness(runner)
    const r = await h.run(S.exit3)
    expect(r).toMatchObject({exitCode: 3, timedOut: false})
    const missing = await h.run(['/nonexistent/pach-no-such-command'])
    expect(missing.exitCode).not.toBe(0)
    expect((await h.run([])).exitCode).not.toBe(0)
    // the worker is still usable
    expect((await h.run(S.echoOk)).exitCode).toBe(0)
    expect(h.out('ok')).toBe('ok\n')
  })

  if (t.startErrors) {
    it('says why a command cannot start (with its exit code) and leaves the datum output to user code', async () => {
      const h = await harness(runner)
      const r = await h.run(['pach-no-such-command', 'x'])
      expect(r).toMatchObject({timedOut: false, stderr: '', stdout: ''})
      // 127 from a shell, 126 from the runtime (exec per datum)
      expect(r.error).toMatch(/^could not start: command pach-no-such-command not found( in image \S+)? \(exit 12[67]\)$/)
      expect(r.exitCode).toBe(Number(/exit (\d+)\)$/.exec(r.error!)![1]))
      expect((await h.run(S.output)).stderr).toBe('err\n')
      // Docker creates a missing working directory when the container starts; a local shell cannot
      if (runner.kind !== 'local') return
      const wd = await harness(runner, {workingDir: '/pfs/no-such-dir'})
      const w = await wd.run(['pwd'])
      expect(w).toMatchObject({exitCode: 126, stderr: ''})
      expect(w.error).toMatch(/^could not start: cannot enter the working directory \/pfs\/no-such-dir \(exit 126\)$/)
      expect((await wd.run(S.echoOk)).exitCode).toBe(126)
    })
  }

  it('kills a datum at its timeout, reports timedOut, and stays usable', async () => {
    const h = await harness(runner)
    const t0 = Date.now()
    const r = await h.run(S.sleep, {timeoutMs: 500})
    const took = Date.now() - t0
    expect(r.timedOut).toBe(true)
    expect(r.exitCode).toBe(-1)
    expect(r.error).toMatch(/timed out/)
    expect(took).toBeGreaterThanOrEqual(450)
    expect(took).toBeLessThan(KILL_BOUND_MS)
    const next = await h.run(S.echoOk)
    expect(next, next.stderr).toMatchObject({exitCode: 0, timedOut: false})
  })

  it('kills a datum when its signal aborts', async () => {
    const h = await harness(runner)
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 300)
    const t0 = Date.now()
    const r = await h.run(S.sleep, {signal: ac.signal, timeoutMs: 20_000})
    expect(Date.now() - t0).toBeLessThan(KILL_BOUND_MS)
    expect(r).toMatchObject({exitCode: -1, timedOut: false})
    expect(r.error).toMatch(/abort/)
    const already = await h.run(S.echoOk, {signal: ac.signal})
    expect(already.exitCode).toBe(-1)
    expect((await h.run(S.echoOk)).exitCode).toBe(0)
  })

  if (t.readOnlyInputs)
    it('keeps inputs read-only: writing /pfs/in/… or creating /pfs/x fails', async () => {
    const h = await harness(runner)
    const w = await h.run(S.writeInput)
    expect(w.exitCode).not.toBe(0)
    expect(readFileSync(join(h.inputsDir, 'in/a.txt'), 'utf8')).toBe('hello\n')
    const c = await h.run(S.createInPfs)
    expect(c.exitCode).not.toBe(0)
    expect(existsSync(join(h.inputsDir, 'new'))).toBe(false)
  })

  it('sees new inputs after the job service empties and refills the dirs in place', async () => {
    const h = await harness(runner)
    expect((await h.run(S.catInput)).exitCode).toBe(0)
    expect(h.out('copy')).toBe('hello\n')
    h.refill({'in/a.txt': 'second\n'})
    const r = await h.run(S.catInput)
    expect(r.exitCode, r.stderr).toBe(0)
    expect(h.out('copy')).toBe('second\n')
  })

  it('reuses one worker for 50 datums', async () => {
    const h = await harness(runner)
    for (let i = 0; i < 50; i++) {
      h.refill({'in/a.txt': `datum ${i}\n`})
      const r = await h.run(S.catInput)
      expect(r, r.stderr).toMatchObject({exitCode: 0, timedOut: false})
      expect(h.out('copy')).toBe(`datum ${i}\n`)
    }
  })
}

// ---------------------------------------------------------------- targets

describe('fake runner', () => {
  conformance({name: 'fake', make: async () => fakeRunner(), readOnlyInputs: false})

  it('reports a thrown error as a failed datum, records calls', async () => {
    const runner = new FakeRunner(() => {
      throw new Error('boom')
    })
    const h = await harness(runner)
    const r = await h.run(['x'], {env: {A: '1'}, stdin: 's\n'})
    expect(r).toMatchObject({exitCode: -1, timedOut: false, error: 'user code threw: boom'})
    expect(runner.calls).toEqual([{worker: 'conformance', cmd: ['x'], env: {A: '1'}, stdin: 's\n'}])
    expect(runner.workersStarted).toBe(1)
  })
})

describeIf(bwrapProbe.sandbox === 'bwrap', `bubblewrap does not work here (${bwrapProbe.reason})`, 'local runner (bubblewrap)', () => {
  conformance({name: 'local+bwrap', make: () => createLocalRunner({sandbox: 'bwrap'}), readOnlyInputs: true, startErrors: true})

  it('describes itself and leaves the host untouched (no /pfs; only the <inputsDir>/out mount point)', async () => {
    const hadPfs = existsSync('/pfs')
    const runner = await createLocalRunner({sandbox: 'bwrap'})
    expect(runner.describe()).toBe('local (bubblewrap)')
    const h = await harness(runner)
    expect((await h.run(S.readWrite)).exitCode).toBe(0)
    expect(existsSync('/pfs')).toBe(hadPfs)
    expect(readdirSync(h.inputsDir).sort()).toEqual(['in', 'out'])
    expect(readdirSync(h.outDir).sort()).toEqual(['b.txt', 'count', 'ls'])
  })

  it('has no network unless the spec asks for it', async () => {
    const runner = await createLocalRunner({sandbox: 'bwrap'})
    const ifaces = (r: {stdout: string}) =>
      r.stdout
        .split('\n')
        .slice(2)
        .map((l) => l.split(':')[0]!.trim())
        .filter(Boolean)
        .sort()
    const off = await harness(runner)
    const r = await off.run('cat /proc/net/dev')
    expect(r.exitCode).toBe(0)
    expect(ifaces(r)).toEqual(['lo'])
    const on = await harness(runner, {network: true})
    expect(ifaces(await on.run('cat /proc/net/dev')).length).toBeGreaterThan(1)
  })

  it('runs in spec.workingDir', async () => {
    const runner = await createLocalRunner({sandbox: 'bwrap'})
    const h = await harness(runner, {workingDir: '/tmp'})
    expect((await h.run('pwd')).stdout).toBe('/tmp\n')
  })
})

describe('local runner (no bubblewrap: /pfs rewritten)', () => {
  conformance({name: 'local-rewrite', make: () => createLocalRunner({sandbox: 'none'}), readOnlyInputs: false, startErrors: true})

  it('describes itself', async () => {
    expect((await createLocalRunner({sandbox: 'none'})).describe()).toBe('local (no bubblewrap: /pfs paths rewritten)')
  })

  it('rewrites /pfs only where it starts a path', () => {
    const r = (s: string) => rewritePfs(s, '/W')
    expect(r('/pfs')).toBe('/W/pfs')
    expect(r('/pfs/in/a.txt')).toBe('/W/pfs/in/a.txt')
    expect(r('cat /pfs/in/a > /pfs/out/b')).toBe('cat /W/pfs/in/a > /W/pfs/out/b')
    expect(r('x=/pfs/in:"/pfs/out"')).toBe('x=/W/pfs/in:"/W/pfs/out"')
    expect(r('/data/pfs/x /pfsx /pfs.d $HOME/pfs')).toBe('/data/pfs/x /pfsx /pfs.d $HOME/pfs')
  })
})

describe('LocalRunner', () => {
  it('fails clearly when bubblewrap is required but missing', async () => {
    const runner = new LocalRunner({sandbox: 'bwrap', bwrapPath: '/nonexistent/bwrap'})
    const root = mkdtempSync(join(tmpdir(), 'pach-runner-test-'))
    onTestFinished(() => rmSync(root, {recursive: true, force: true}))
    await expect(runner.startWorker({image: '', inputsDir: join(root, 'i'), outDir: join(root, 'o'), network: false, name: 'x'})).rejects.toThrow(RunnerError)
    expect(runner.describe()).toBe('local (no bubblewrap: /pfs paths rewritten)')
  })
})

describeIf(dockerProbe.ok, dockerProbe.ok ? '' : dockerProbe.reason, 'docker runner', () => {
  const docker = dockerProbe.ok ? dockerProbe.docker : (undefined as unknown as Dockerode)
  conformance({name: 'docker', make: () => createDockerRunner(), readOnlyInputs: true, startErrors: true})

  // the fallback for images without /bin/sh: one `docker exec` per datum
  describe('exec per datum', () => {
    conformance({name: 'docker-exec', make: () => createDockerRunner({execPerDatum: true}), readOnlyInputs: true, startErrors: true})
  })

  let runner: DockerRunner
  let execRunner: DockerRunner
  beforeAll(async () => {
    runner = await createDockerRunner()
    execRunner = await createDockerRunner({execPerDatum: true})
  })
  afterAll(async () => {
    await runner?.close()
    await execRunner?.close()
  })

  it('describes itself with the engine version; resolves image ids, pulling an image the engine lacks', async () => {
    expect(runner.describe()).toMatch(/^docker \d+\.\d+/)
    expect(await runner.imageId(IMAGE)).toMatch(/^sha256:[0-9a-f]{64}$/)
    // not in the engine, so pulled from Docker Hub: no such repository there (or no network here)
    await expect(runner.imageId('pach-test/no-such-image:1')).rejects.toThrow(/^cannot pull image pach-test\/no-such-image:1 from Docker Hub \(docker\.io\): .+; .+/)
    await expect(harness(runner, {image: 'pach-test/no-such-image:1'})).rejects.toThrow(/^image pach-test\/no-such-image:1 is not in the Docker engine/)
  })

  it('has no network (only lo) unless the spec asks for it', async () => {
    const off = await harness(runner)
    const r = await off.run('ls /sys/class/net')
    expect(r.stdout.split(/\s+/).filter(Boolean)).toEqual(['lo'])
    const c = await docker.getContainer((off.worker as DockerWorker).containerId!).inspect()
    expect(c.HostConfig.NetworkMode).toBe('none')
    const on = await harness(runner, {network: true})
    expect((await on.run('ls /sys/class/net')).stdout).toMatch(/eth0/)
  })

  it('is not privileged: no mknod, no mount, no added capabilities, no-new-privileges', async () => {
    const h = await harness(runner)
    const mk = await h.run('mknod /tmp/null2 c 1 3')
    expect(mk.exitCode).not.toBe(0)
    const mnt = await h.run('mkdir -p /tmp/m && mount -t tmpfs none /tmp/m')
    expect(mnt.exitCode).not.toBe(0)
    const c = await docker.getContainer((h.worker as DockerWorker).containerId!).inspect()
    expect(c.HostConfig.Privileged).toBe(false)
    expect(c.HostConfig.CapAdd ?? []).toEqual([])
    expect(c.HostConfig.CapDrop).toEqual(expect.arrayContaining(['NET_RAW', 'MKNOD']))
    expect(c.HostConfig.SecurityOpt).toContain('no-new-privileges')
  })

  it('applies memory and cpu limits', async () => {
    const h = await harness(runner, {memoryBytes: 64 * 1024 * 1024, cpu: 0.5})
    const c = await docker.getContainer((h.worker as DockerWorker).containerId!).inspect()
    expect(c.HostConfig.Memory).toBe(64 * 1024 * 1024)
    expect(c.HostConfig.NanoCpus).toBe(500_000_000)
  })

  it('never mounts the Docker socket', async () => {
    const h = await harness(runner)
    const r = await h.run("test ! -e /var/run/docker.sock && test ! -e /run/docker.sock && find / \\( -path /proc -o -path /sys \\) -prune -o -name 'docker.sock*' -print")
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toBe('')
    const c = await docker.getContainer((h.worker as DockerWorker).containerId!).inspect()
    expect(JSON.stringify(c.HostConfig.Binds)).not.toContain('docker.sock')
    for (const host of ['/var/run/docker.sock', '/run/docker.sock', '/run', '/var/run', '/']) {
      await expect(harness(runner, {mounts: [{host, container: '/secret'}]})).rejects.toThrow(/Docker socket/)
    }
  })

  it('mounts secrets read-only and honours user and workingDir', async () => {
    const secret = mkdtempSync(join(tmpdir(), 'pach-secret-'))
    onTestFinished(() => rmSync(secret, {recursive: true, force: true}))
    writeFileSync(join(secret, 'token'), 's3cr3t')
    const h = await harness(runner, {mounts: [{host: join(secret, 'token'), container: '/secrets/token'}], user: '65534', workingDir: '/tmp'})
    const r = await h.run('cat /secrets/token; echo; id -u; pwd; echo x > /secrets/token || echo ro')
    expect(r.stdout).toBe('s3cr3t\n65534\n/tmp\nro\n')
  })

  it('is what selectRunner auto picks when the engine answers', async () => {
    expect(await pingSocket('/var/run/docker.sock', 1000)).toBe(true)
    const notes: string[] = []
    const r = await selectRunner('auto', (m) => notes.push(m))
    expect(r.kind).toBe('docker')
    expect(notes).toEqual([])
    await r.close?.()
  })

  it('runs datums in one long-lived shell per worker, through a hidden control mount removed on close', async () => {
    const h = await harness(runner, {user: '65534'})
    const w = h.worker as DockerWorker
    expect(w.mode).toBe('shell')
    const c = await docker.getContainer(w.containerId!).inspect()
    const bind = (c.HostConfig.Binds ?? []).find((b) => b.endsWith(':/.pach-worker:rw'))
    expect(bind).toBeDefined()
    const ctl = bind!.split(':')[0]!
    expect(existsSync(ctl)).toBe(true)
    // every datum is a child of the same shell: its parent pid does not change
    const a = await h.run('echo $PPID', {stdin: 'x\n'})
    const b = await h.run('echo $PPID')
    expect(a.exitCode).toBe(0)
    expect(a.stdout).toBe(b.stdout)
    // the control mount is the only writable place besides /pfs/out and the container's own fs;
    // a link planted there is never followed by pach
    const plant = await h.run('ln -sf /etc/passwd /.pach-worker/evil && ln -sf /pfs/in/a.txt /.pach-worker/stdin; echo ok')
    expect(plant.stdout).toBe('ok\n')
    const r = await h.run('cat', {stdin: 'fresh\n'})
    expect(r.stdout).toBe('fresh\n')
    expect(readFileSync(join(h.inputsDir, 'in/a.txt'), 'utf8')).toBe('hello\n')
    await h.worker.close()
    expect(existsSync(ctl)).toBe(false)
    expect(existsSync(dirname(ctl))).toBe(false)
  })

  it('rejects a mount over the control directory', async () => {
    const secret = mkdtempSync(join(tmpdir(), 'pach-secret-'))
    onTestFinished(() => rmSync(secret, {recursive: true, force: true}))
    await expect(harness(runner, {mounts: [{host: secret, container: '/.pach-worker'}]})).rejects.toThrow(/reserved/)
  })

  it('passes argv and env byte for byte (quotes, $, backquotes, newlines, odd env names)', async () => {
    const argv = ["it's", 'a b', '$HOME', '`id`', '"q"', 'new\nline', '\\', '', '*', ';exit 9', "'\\''"]
    const env = {X: "it's $HOME `id` \"q\"\nnext", EMPTY: ''}
    for (const r of [runner, execRunner]) {
      const h = await harness(r)
      const a = await h.run(['printf', '<%s>', ...argv])
      expect(a, a.stderr).toMatchObject({exitCode: 0})
      expect(a.stdout).toBe(argv.map((x) => `<${x}>`).join(''))
      const e = await h.run('printf "<%s>" "$X" "$EMPTY" "${EMPTY+set}"', {env})
      expect(e.stdout).toBe(`<${env.X}><><set>`)
      const odd = await h.run(['env'], {env: {'a-b.c': 'v w', X: "'"}})
      expect(odd.stdout.split('\n')).toEqual(expect.arrayContaining(['a-b.c=v w', "X='"]))
    }
  })

  it('reports a worker shell that dies, and starts a fresh container for the next datum', async () => {
    const h = await harness(runner)
    const first = (h.worker as DockerWorker).containerId
    const r = await h.run('kill -9 $PPID; sleep 5')
    expect(r).toMatchObject({exitCode: -1, timedOut: false})
    expect(r.error).toMatch(/shell exited unexpectedly/)
    const next = await h.run(S.echoOk)
    expect(next, next.stderr).toMatchObject({exitCode: 0})
    expect((h.worker as DockerWorker).containerId).not.toBe(first)
  })

  it('falls back to an exec per datum for an image without /bin/sh', async () => {
    const tag = `pach-test/nosh:${process.pid}`
    const maker = await docker.createContainer({Image: IMAGE, Entrypoint: ['/bin/busybox', 'rm', '/bin/sh'], HostConfig: {NetworkMode: 'none'}})
    await maker.start()
    await maker.wait()
    await maker.commit({repo: tag.split(':')[0], tag: tag.split(':')[1]})
    await maker.remove({force: true})
    onTestFinished(async () => {
      await docker.getImage(tag).remove({force: true}).catch(() => undefined)
    })
    const h = await harness(runner, {image: tag})
    expect((h.worker as DockerWorker).mode).toBe('exec')
    const r = await h.run(['/bin/busybox', 'cat', '/pfs/in/a.txt'])
    expect(r).toMatchObject({exitCode: 0, stdout: 'hello\n'})
    const e = await h.run(['/bin/busybox', 'env'], {env: {X: "a 'b'"}})
    expect(e.stdout.split('\n')).toContain("X=a 'b'")
    expect((await h.run(['/bin/busybox', 'false'])).exitCode).toBe(1)
  })

  it('recreates the container after a timeout; close removes it', async () => {
    const h = await harness(runner)
    const first = (h.worker as DockerWorker).containerId!
    expect((await h.run(S.sleep, {timeoutMs: 300})).timedOut).toBe(true)
    expect((await h.run(S.echoOk)).exitCode).toBe(0)
    const second = (h.worker as DockerWorker).containerId!
    expect(second).not.toBe(first)
    await expect(docker.getContainer(first).inspect()).rejects.toMatchObject({statusCode: 404})
    await h.worker.close()
    await expect(docker.getContainer(second).inspect()).rejects.toMatchObject({statusCode: 404})
  })
})

describe('docker runner without an engine', () => {
  it('fails with a one-line RunnerError', async () => {
    const {default: Docker} = await import('dockerode')
    const dead = new Docker({socketPath: '/nonexistent/docker.sock'})
    await expect(createDockerRunner({docker: dead})).rejects.toThrow(/^cannot reach the Docker engine \(ENOENT[^\n]*\); start it or use --runner local$/)
    const root = mkdtempSync(join(tmpdir(), 'pach-runner-test-'))
    onTestFinished(() => rmSync(root, {recursive: true, force: true}))
    const err = await new DockerRunner(dead)
      .startWorker({image: IMAGE, inputsDir: join(root, 'i'), outDir: join(root, 'o'), network: false, name: 'x'})
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RunnerError)
    expect((err as Error).message).toMatch(/^cannot reach the Docker engine/)
    expect((err as Error).message).not.toContain('\n')
  })
})

describe('selectRunner', () => {
  it('local → the local runner, no notice', async () => {
    const notes: string[] = []
    const r = await selectRunner('local', (m) => notes.push(m))
    expect(r.kind).toBe('local')
    expect(notes).toEqual([])
  })

  it('auto without an engine → local, with a one-line notice', async () => {
    const notes: string[] = []
    const t0 = Date.now()
    const r = await selectRunner('auto', (m) => notes.push(m), {socketPath: '/nonexistent/docker.sock'})
    expect(r.kind).toBe('local')
    expect(notes).toEqual([NO_DOCKER_NOTICE])
    expect(Date.now() - t0).toBeLessThan(3000)
  })

  it('docker without an engine → RunnerError', async () => {
    const saved = process.env.DOCKER_HOST
    process.env.DOCKER_HOST = 'unix:///nonexistent/docker.sock'
    onTestFinished(() => {
      if (saved === undefined) delete process.env.DOCKER_HOST
      else process.env.DOCKER_HOST = saved
    })
    await expect(selectRunner('docker', () => undefined)).rejects.toThrow(/cannot reach the Docker engine .*; start it or use --runner local/)
  })

})
