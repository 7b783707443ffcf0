/**
 * E2E: the single executable (dist/bin/pach-<os>-<cpu>, `npm run build:binary`; issue 12).
 *
 * The binary runs with an environment that has no Node in it: PATH is a directory of links to
 * every program on this PATH except node, nodejs, npm, npx and corepack; no NODE_* variables;
 * its own XDG_CACHE_HOME, so the first start writes the SQLite addon out. It runs the smoke
 * flow (init, put/get/list, a pipeline on the local runner and one on Docker, fsck; an s3
 * pipeline on the local runner, whose sandbox relay the binary itself runs), and
 * bin/run.js (the npm package) reads the same project: every `--json` output and exit code
 * must be the same.
 *
 * No binary: every test fails (`npm test` builds it first: its pretest is `npm run build:binary`). The
 * Docker scenario follows pipelines-util's runnerIt (skipped without an engine locally, failing
 * in CI).
 */
import {execFileSync} from 'node:child_process'
import {execa} from 'execa'
import {chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {delimiter, join, resolve} from 'node:path'
import {describe, expect, it} from 'vitest'
import {PachdClient} from '../../src/client/pachd-client.js'
import {runPach, tmpProject, type Exe, type Project} from '../helpers/cli.js'
import {inPty} from '../helpers/pty.js'
import {bind, IMAGE, pipeline, runnerIt, writeSpec} from './pipelines-util.js'

const NAME = `pach-${process.platform}-${process.arch}`
const BINARY = resolve(import.meta.dirname, '../../dist/bin', NAME)
const NODE_PROGRAMS = new Set(['node', 'nodejs', 'npm', 'npx', 'corepack'])

/** A PATH directory linking every program on this PATH but Node's (first one of a name wins). */
function pathWithoutNode(dir: string): string {
  mkdirSync(dir, {recursive: true})
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    let names: string[]
    try {
      names = readdirSync(d)
    } catch {
      continue
    }
    for (const n of names) {
      if (NODE_PROGRAMS.has(n) || existsSync(join(dir, n))) continue
      try {
        if (statSync(join(d, n)).isFile()) symlinkSync(join(d, n), join(dir, n))
      } catch {
        // a dangling link on PATH
      }
    }
  }
  return dir
}

/** The binary with a Node-free environment and a cache directory of its own. */
function binaryExe(ctx: {onTestFinished: (fn: () => void) => void}): Exe & {cache: string} {
  const root = mkdtempSync(join(tmpdir(), 'pach-binary-env-'))
  ctx.onTestFinished(() => rmSync(root, {recursive: true, force: true}))
  const env: Record<string, string> = {PATH: pathWithoutNode(join(root, 'bin')), XDG_CACHE_HOME: join(root, 'cache')}
  for (const k of ['HOME', 'USER', 'TMPDIR', 'DOCKER_HOST', 'DOCKER_CONFIG', 'LANG']) if (process.env[k] !== undefined) env[k] = process.env[k]!
  return {file: BINARY, env, cache: env.XDG_CACHE_HOME!}
}

/** The npm package (bin/run.js) on the same project directory. */
function npmOn(p: Project): Project {
  return {
    dir: p.dir,
    run: (args, opts = {}) => runPach(args, {cwd: opts.cwd ?? p.dir, input: opts.input, env: opts.env}),
    ok: async (args, opts) => {
      const r = await runPach(args, {cwd: opts?.cwd ?? p.dir, input: opts?.input, env: opts?.env})
      if (r.exitCode !== 0) throw new Error(`bin/run.js ${args.join(' ')} exited ${r.exitCode}: ${r.stderr}`)
      return r.stdout
    },
    json: async (args) => JSON.parse(await npmOn(p).ok([...args, '--json'])),
  }
}

/** Each command with --json through both: same exit code, same stdout. */
async function sameJson(binary: Project, npm: Project, commands: string[][]): Promise<void> {
  for (const args of commands) {
    const [b, n] = [await binary.run([...args, '--json']), await npm.run([...args, '--json'])]
    expect({args, exit: b.exitCode, stdout: b.stdout}, b.stderr).toEqual({args, exit: n.exitCode, stdout: n.stdout})
  }
}

const describeBinary = describe

describeBinary(`the single executable (dist/bin/${NAME})`, () => {
  it('exists (CI builds it with `npm run build:binary` before the tests)', () => {
    expect(existsSync(BINARY), `${BINARY} is missing: run \`npm run build:binary\``).toBe(true)
    expect(statSync(BINARY).mode & 0o111).not.toBe(0)
    const [sum, file] = readFileSync(`${BINARY}.sha256`, 'utf8').trim().split(/\s+/)
    expect(file).toBe(NAME)
    expect(execFileSync('sha256sum', [BINARY], {encoding: 'utf8'}).split(' ')[0]).toBe(sum)
  })

  it('runs with no node on PATH: version says binary and the commit, as the npm package does', async (ctx) => {
    const exe = binaryExe(ctx)
    expect(() => execFileSync('sh', ['-c', 'command -v node || command -v nodejs'], {env: exe.env, stdio: 'pipe'})).toThrow()
    const p = await tmpProject(false, ctx, exe)
    const v = await p.json(['version'])
    const npm = await npmOn(p).json(['version'])
    expect(v).toMatchObject({pachctl: npm.pachctl, git_commit: npm.git_commit, platform: `${process.platform}-${process.arch}`, distribution: 'binary'})
    expect(npm.distribution).toBe('npm package')
    const root = resolve(import.meta.dirname, '../..')
    if (existsSync(join(root, '.git'))) expect(v.git_commit).toBe(execFileSync('git', ['rev-parse', 'HEAD'], {cwd: root, encoding: 'utf8'}).trim())
    expect(await p.ok(['version'])).toMatch(new RegExp(`^COMPONENT\\s+VERSION\\npach\\s+${v.pachctl.replace(/\./g, '\\.')}\\ncommit\\s+${v.git_commit.slice(0, 12)}.*\\ndistribution\\s+binary \\(`))
    // unknown command and usage errors: same line, same exit code
    for (const args of [['lst', 'repo'], ['list', 'repo', '--bogus']]) {
      const [b, n] = [await p.run(args), await npmOn(p).run(args)]
      expect({exit: b.exitCode, stderr: b.stderr}).toEqual({exit: n.exitCode, stderr: n.stderr})
    }
    for (const args of [['help'], ['help', 'list'], ['help', 'list', 'repo']]) expect(await p.ok(args)).toBe(await npmOn(p).ok(args))
    // the nearest command, whose ties go to the first command in oclif's sorted list (src/cli/binary.ts inKnownOrder)
    for (const args of [['lis', 'rep'], ['creat', 'brnch', 'x@y'], ['stat', 'commit']]) expect((await p.run(args)).stderr).toBe((await npmOn(p).run(args)).stderr)
    // oclif's DEBUG logging works in the binary too (its `debug` is set up only when DEBUG is set)
    const debug = await p.run(['version'], {env: {DEBUG: 'oclif:config'}})
    expect(debug.stderr).toMatch(/oclif:config config done/)
    expect((await npmOn(p).run(['version'], {env: {DEBUG: 'oclif:config'}})).stderr).toMatch(/oclif:config config done/)
  })

  it('`pach serve` from the binary restarts itself with malloc tuned (its argv is not node\'s): one child, the same --json line, SIGINT stops both with exit 0', {timeout: 120_000}, async (ctx) => {
    const exe = binaryExe(ctx)
    const p = await tmpProject(true, ctx, exe)
    const proc = execa(exe.file, ['serve', '--address', 'localhost:0', '--json', '--no-s3'], {cwd: p.dir, env: exe.env, extendEnv: false, reject: false, buffer: false})
    ctx.onTestFinished(() => void proc.kill('SIGKILL'))
    const line = await new Promise<string>((res, rej) => {
      let out = ''
      proc.stdout!.on('data', (d: Buffer) => {
        out += d
        if (out.includes('\n')) res(out.split('\n')[0]!)
      })
      void proc.then((r) => rej(new Error(`serve exited ${r.exitCode}`)))
    })
    expect(Object.keys(JSON.parse(line))).toEqual(['address', 'pachd_address'])
    const kids = readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number)
    expect(kids).toHaveLength(1)
    const child = kids[0]!
    expect(readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').filter(Boolean)).toEqual([BINARY, 'serve', '--address', 'localhost:0', '--json', '--no-s3'])
    expect(readFileSync(`/proc/${child}/environ`, 'utf8').split('\0')).toContain('MALLOC_MMAP_THRESHOLD_=131072')
    const client = new PachdClient(`grpc://${JSON.parse(line).address}`)
    expect((await client.unary(client.health, 'Check', {service: ''})).status).toBe('SERVING')
    client.close()
    proc.kill('SIGINT')
    expect((await proc).exitCode).toBe(0)
    expect(existsSync(`/proc/${child}`)).toBe(false)
  })

  it('smoke flow on the local runner: init, put/get/list, a pipeline, fsck; bin/run.js reads the same project alike', {timeout: 300_000}, async (ctx) => {
    const exe = binaryExe(ctx)
    const p = await tmpProject(true, ctx, exe)
    const rp = bind(p, 'local')
    const npm = npmOn(p)
    writeFileSync(join(p.dir, 'a.txt'), 'one two three\n')
    writeFileSync(join(p.dir, 'b.txt'), 'four five\n')
    await rp.ok(['create', 'repo', 'words'])
    await rp.ok(['put', 'file', 'words@master', '-f', 'a.txt', '-f', 'b.txt'])
    expect(await rp.ok(['get', 'file', 'words@master:/a.txt'])).toBe('one two three\n')
    const spec = writeSpec(p, 'count', pipeline('count', 'wc -w < "$words" > /pfs/out/$(basename "$words")', {pfs: {repo: 'words', glob: '/*'}}))
    await rp.ok(['create', 'pipeline', '-f', spec])
    expect((await rp.ok(['get', 'file', 'count@master:/a.txt'])).trim()).toBe('3')
    // one more file: one more datum, from either build
    writeFileSync(join(p.dir, 'c.txt'), 'six\n')
    await npm.ok(['put', 'file', 'words@master', '-f', 'c.txt'], {env: {PACH_RUNNER: 'local'}})
    expect((await rp.ok(['get', 'file', 'count@master:/c.txt'])).trim()).toBe('1')
    expect((await rp.run(['fsck'])).exitCode).toBe(0)
    await sameJson(p, npm, [
      ['list', 'repo'],
      ['inspect', 'repo', 'words'],
      ['list', 'branch', 'words'],
      ['list', 'commit', 'words@master'],
      ['list', 'file', 'words@master'],
      ['list', 'file', 'count@master'],
      ['glob', 'file', 'words@master:/*.txt'],
      ['list', 'pipeline'],
      ['list', 'job'],
      ['fsck'],
      ['inspect', 'repo', 'nope'],
      ['get', 'file', 'words@master:/missing'],
    ])
    // the addon was written once, into a private per-version directory
    const dirs = readdirSync(join(exe.cache, 'pach'))
    expect(dirs).toHaveLength(1)
    expect(dirs[0]).toMatch(/^\d+\.\d+\.\d+.*-[0-9a-f]{16}$/)
    expect(lstatSync(join(exe.cache, 'pach', dirs[0]!)).mode & 0o777).toBe(0o700)
    expect(lstatSync(join(exe.cache, 'pach', dirs[0]!, 'better_sqlite3.node')).mode & 0o777).toBe(0o500)
  })

  it('`pach top` runs from the binary: the snapshot bin/run.js prints, and the live view (ink, bundled in) in a pseudo-terminal', {timeout: 120_000}, async (ctx) => {
    const exe = binaryExe(ctx)
    const p = await tmpProject(true, ctx, exe)
    const rp = bind(p, 'local')
    await rp.ok(['create', 'repo', 'words'])
    await rp.ok(['create', 'pipeline', '-f', writeSpec(p, 'count', pipeline('count', 'echo counted; wc -w < "$words" > /pfs/out/n', {pfs: {repo: 'words', glob: '/*'}}))])
    await rp.ok(['put', 'file', 'words@master:/a', '-f', '-'], {input: 'one two'})
    const [b, n] = [await p.json(['top']), await npmOn(p).json(['top'])]
    expect({...b, at: undefined}).toEqual({...n, at: undefined})
    expect(b.dag.map((x: {name: string}) => x.name)).toEqual(['words', 'count'])
    const live = await inPty([BINARY, 'top'], {cwd: p.dir, env: exe.env, extendEnv: false, steps: [{until: /⚙ count[\s\S]*counted/, send: 'q'}]})
    expect(live.exitCode).toBe(0)
    expect(live.raw.endsWith('\x1b[?25h')).toBe(true)
  })

  it('an s3 pipeline on the local runner: the gateway and the sandbox relay run from the binary (its execPath is no node)', {timeout: 120_000}, async (ctx) => {
    const p = await tmpProject(true, ctx, binaryExe(ctx))
    const rp = bind(p, 'local')
    await rp.ok(['create', 'repo', 'data'])
    await rp.ok(['put', 'file', 'data@master:/f'], {input: 'abc\n'})
    const script = 'A="/usr/bin/aws --endpoint-url $S3_ENDPOINT"; $A s3 cp s3://data/f - | tr a-z A-Z | $A s3 cp - s3://out/f'
    await rp.ok(['create', 'pipeline', '-f', writeSpec(p, 'up', pipeline('up', script, {pfs: {repo: 'data', glob: '/', s3: true}}, {s3_out: true}))])
    expect(await rp.ok(['get', 'file', 'up@master:/f'])).toBe('ABC\n')
  })

  it('`demo` runs from the binary alone', {timeout: 300_000}, async (ctx) => {
    const exe = binaryExe(ctx)
    const p = await tmpProject(false, ctx, exe)
    const r = await p.run(['demo'], {env: {TMPDIR: p.dir}})
    expect(r.exitCode, r.stderr).toBe(0)
    // the incremental step processed exactly one datum
    expect(r.stdout).toMatch(/count@[0-9a-f]{32}: 1 datum processed, 3 skipped \(of 4\)/)
    expect(r.stdout).toContain(`Demo project left in ${join(p.dir, 'pach-demo-')}`)
  })

  runnerIt('docker')('a pipeline on the Docker runner, from the binary', {timeout: 300_000}, async (ctx) => {
    const exe = binaryExe(ctx)
    const p = await tmpProject(true, ctx, exe)
    const rp = bind(p, 'docker')
    writeFileSync(join(p.dir, 'a.txt'), 'alpha beta\n')
    await rp.ok(['create', 'repo', 'in'])
    await rp.ok(['put', 'file', 'in@master', '-f', 'a.txt'])
    const spec = writeSpec(p, 'upper', pipeline('upper', 'tr a-z A-Z < /pfs/in/a.txt > /pfs/out/a.txt', {pfs: {repo: 'in', glob: '/'}}))
    await rp.ok(['create', 'pipeline', '-f', spec])
    expect(await rp.ok(['get', 'file', 'upper@master:/a.txt'])).toBe('ALPHA BETA\n')
    const jobs = await rp.json(['list', 'job'])
    expect(jobs.map((j: {state: string}) => j.state)).toEqual(['JOB_SUCCESS'])
    expect(JSON.stringify(await rp.json(['inspect', 'pipeline', 'upper']))).toContain(IMAGE)
    await sameJson(p, npmOn(p), [['list', 'job'], ['list', 'file', 'upper@master'], ['inspect', 'pipeline', 'upper'], ['fsck']])
  })

  it('loads the addon only from a cache directory no other user can change: otherwise a private copy for the run', async (ctx) => {
    const exe = binaryExe(ctx)
    const p = await tmpProject(true, ctx, exe)
    const [dir] = readdirSync(join(exe.cache, 'pach'))
    const cached = join(exe.cache, 'pach', dir!)
    const addon = join(cached, 'better_sqlite3.node')
    const good = readFileSync(addon)
    // a file of the wrong size in the private directory: replaced
    chmodSync(addon, 0o600)
    writeFileSync(addon, 'not an addon')
    expect((await p.run(['list', 'repo', '--json'])).stdout).toBe('[]\n')
    expect(readFileSync(addon).equals(good)).toBe(true)
    // a directory others can write: its file is never loaded (a swapped one would fail dlopen), nor rewritten
    chmodSync(cached, 0o777)
    chmodSync(addon, 0o600)
    writeFileSync(addon, Buffer.alloc(good.length, 0))
    const r = await p.run(['list', 'repo', '--json'])
    expect({exit: r.exitCode, stdout: r.stdout, stderr: r.stderr}).toEqual({exit: 0, stdout: '[]\n', stderr: ''})
    expect(readFileSync(addon).equals(Buffer.alloc(good.length, 0))).toBe(true)
    // and the private copy for that run is gone
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('pach-addon-') && lstatSync(join(tmpdir(), n)).mtimeMs > Date.now() - 60_000)).toEqual([])
  })
})
