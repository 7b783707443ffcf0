/**
 * E2E: `pach debug datum` on each runner — a failed datum rerun with its output live and its
 * exit code; a secret env var and a cross input seen exactly as the job saw them; `--shell`
 * driven through a pipe and through a terminal (script(1)); nothing written reaches a repo;
 * `-f SPEC --input` for a spec not created; bad input one line each.
 */
import {execa} from 'execa'
import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect} from 'vitest'
import {BIN} from '../helpers/cli.js'
import {commitIds, expectUserError} from './_util.js'
import {lastJob, localTree, outputFiles, pipeline, project, putTree, RUNNERS, runnerIt, type RP, writeSpec} from './pipelines-util.js'

const TIMEOUT = 120_000

/** Every repo's commit ids and every pipeline's job count: what must not change. */
async function snapshot(rp: RP, repos: string[]): Promise<string> {
  const out: Record<string, unknown> = {}
  for (const r of repos) out[r] = await commitIds(rp.p, r)
  out.jobs = ((await rp.json(['list', 'job'])) as unknown[]).length
  out.pipelines = ((await rp.json(['list', 'pipeline'])) as {pipeline: {name: string}}[]).map((p) => p.pipeline.name).sort()
  return JSON.stringify(out)
}

/** The path `pach: … /pfs/out (N files) is in DIR` names. */
const outDirOf = (stderr: string) => /is in (\S+)\s*$/m.exec(stderr)?.[1]

describe.concurrent.each(RUNNERS)('debug datum [%s runner]', (runner) => {
  const rit = runnerIt(runner)

  rit('a failed datum is rerun with its output live and its exit code; --json, --out; nothing reaches a repo', {timeout: TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, runner)
    await rp.ok(['create', 'repo', 'in'])
    await putTree(rp, 'in', localTree(rp.p, 'data', {good: 'g\n', bad: 'b\n'}))
    const cmd = 'echo "processing $in"; cp "$in" /pfs/out/; if [ "$(cat "$in")" = b ]; then echo "boom: cannot parse $in" >&2; exit 7; fi'
    await rp.ok(['create', 'pipeline', '-f', writeSpec(rp.p, 'p', pipeline('p', cmd, {pfs: {repo: 'in', glob: '/*'}}))])
    const job = await lastJob(rp, 'p')
    expect(job.state).toBe('JOB_FAILURE')
    const before = await snapshot(rp, ['in', 'p'])

    const r = await rp.run(['debug', 'datum', `p@${job.job.id}`, '/bad'])
    expect(r.exitCode, r.stderr).toBe(3)
    expect(r.stdout).toBe('processing /pfs/in/bad\n')
    expect(r.stderr).toContain('boom: cannot parse /pfs/in/bad\n')
    const last = r.stderr.trim().split('\n').at(-1)!
    expect(last).toMatch(/^pach: datum [0-9a-f]{12}: user code exited with code 7; \/pfs\/out \(1 file\) is in \S+$/)
    const kept = outDirOf(r.stderr)!
    expect(readFileSync(join(kept, 'bad'), 'utf8')).toBe('b\n')
    // only /pfs/out is kept (no inputs, no secrets)
    expect(readdirSync(join(kept, '..'))).toEqual(['out'])
    rmSync(join(kept, '..'), {recursive: true, force: true})

    // --json: the error envelope carries the run; user code's stdout went to stderr
    const j = await rp.run(['debug', 'datum', `p@${job.job.id}`, '/bad', '--json'])
    expect(j.exitCode).toBe(3)
    const env = JSON.parse(j.stdout).error
    expect(env.code).toBe('DATUM_FAILED')
    expect(env.data).toMatchObject({mode: 'run', exit_code: 7, succeeded: false, state: 'FAILED', inputs: [{name: 'in', repo: 'in', path: '/bad'}]})
    expect(j.stderr).toContain('processing /pfs/in/bad')
    rmSync(join(env.data.out_dir, '..'), {recursive: true, force: true})

    // the good datum by its id (as list datum prints it), copied out with --out
    const good = ((await rp.json(['list', 'datum', `p@${job.job.id}`])) as {datum: {id: string}; data: {file: {path: string}}[]}[]).find((d) => d.data[0]!.file.path === '/good')!
    const dest = join(rp.p.dir, 'debug-out')
    const ok = await rp.json(['debug', 'datum', `p@${job.job.id}`, good.datum.id, '--out', dest])
    expect(ok).toMatchObject({datum: {id: good.datum.id}, state: 'SUCCESS', exit_code: 0, succeeded: true, out_dir: dest, out_files: 1, image: 'pach-test/busybox:1'})
    expect(readFileSync(join(dest, 'good'), 'utf8')).toBe('g\n')
    // --out must be new or empty
    expectUserError(await rp.run(['debug', 'datum', `p@${job.job.id}`, good.datum.id.slice(0, 12), '--out', dest]), 2, /debug-out exists and is not an empty directory/)

    expect(await snapshot(rp, ['in', 'p'])).toBe(before)
  })

  rit('a secret env var and a cross input are what the job saw; --shell through a pipe and a terminal shows the mounts', {timeout: TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, runner)
    const manifest = join(rp.p.dir, 'secret.json')
    writeFileSync(manifest, JSON.stringify({kind: 'Secret', metadata: {name: 'tok'}, stringData: {value: 's3cr3t'}}))
    await rp.ok(['create', 'secret', '-f', manifest])
    await rp.ok(['create', 'repo', 'in'])
    await rp.ok(['create', 'repo', 'cfg'])
    await putTree(rp, 'in', localTree(rp.p, 'in', {a: 'A\n', b: 'B\n'}))
    await putTree(rp, 'cfg', localTree(rp.p, 'cfg', {c1: 'one\n', c2: 'two\n'}))
    const line = 'echo "$TOKEN|$in|$cfg|$(cat $in $cfg)|$PACH_DATUM_ID|$PACH_JOB_ID|$MODE"'
    const spec = pipeline('x', `${line}; ${line} > /pfs/out/$(basename $in)-$(basename $cfg)`, {cross: [{pfs: {repo: 'in', glob: '/*'}}, {pfs: {repo: 'cfg', glob: '/*'}}]}, {
      transform: {env: {MODE: 'prod'}, secrets: [{name: 'tok', key: 'value', env_var: 'TOKEN'}]},
    })
    await rp.ok(['create', 'pipeline', '-f', writeSpec(rp.p, 'x', spec)])
    const job = await lastJob(rp, 'x')
    expect(job.state).toBe('JOB_SUCCESS')
    const outputs = await outputFiles(rp, 'x@master')
    expect(Object.keys(outputs)).toHaveLength(4)
    const before = await snapshot(rp, ['in', 'cfg', 'x'])

    // /a alone is in two datums of the cross
    expectUserError(await rp.run(['debug', 'datum', `x@${job.job.id}`, '/a']), 2, /^pach: 2 datums of job x@[0-9a-f]+ match \/a \([0-9a-f]{12}, [0-9a-f]{12}\) \(add input paths/)
    const r = await rp.run(['debug', 'datum', `x@${job.job.id}`, '/a', '--input', '/c2'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toBe(outputs['/a-c2'])
    rmSync(join(outDirOf(r.stderr)!, '..'), {recursive: true, force: true})
    expect(r.stdout).toMatch(new RegExp(`^s3cr3t\\|/pfs/in/a\\|/pfs/cfg/c2\\|A\\ntwo\\|[0-9a-f]{64}\\|${job.job.id}\\|prod\\n$`))

    // --shell with commands on stdin: the same mounts and environment, inputs read-only
    const sh = await rp.run(['debug', 'datum', `x@${job.job.id}`, '/b,/c1', '--shell'], {input: 'ls /pfs; cat /pfs/in/b /pfs/cfg/c1; echo "tok=$TOKEN"; echo x > /pfs/in/b || echo read-only; echo kept > /pfs/out/k\n'})
    expect(sh.exitCode, sh.stderr).toBe(0)
    expect(sh.stdout).toBe('cfg\nin\nout\nB\none\ntok=s3cr3t\nread-only\n')
    expect(sh.stderr).toMatch(/shell exited with code 0; \/pfs\/out \(1 file\) is in \S+/)
    const kept = outDirOf(sh.stderr)!
    expect(readFileSync(join(kept, 'k'), 'utf8')).toBe('kept\n')
    rmSync(join(kept, '..'), {recursive: true, force: true})

    // a terminal: the shell gets a TTY (script(1) gives pach one)
    const tty = await execa('script', ['-qec', `node ${BIN} debug datum x@${job.job.id} /b,/c1 --shell`, '/dev/null'], {
      cwd: rp.p.dir,
      env: {PACH_RUNNER: runner, PACH_DETACH: ''},
      input: 'tty; echo "in=$in"; exit 5\n',
      reject: false,
      timeout: 60_000,
    })
    expect(tty.exitCode, String(tty.stdout)).toBe(0)
    expect(String(tty.stdout)).toMatch(/\/dev\/pts\/\d+/)
    expect(String(tty.stdout)).toContain('in=/pfs/in/b')
    expect(String(tty.stdout)).toMatch(/shell exited with code 5; \/pfs\/out is empty/)

    expect(await snapshot(rp, ['in', 'cfg', 'x'])).toBe(before)
  })

  rit('-f SPEC --input debugs a spec not created; bad input is one line each', {timeout: TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, runner)
    await rp.ok(['create', 'repo', 'in'])
    await putTree(rp, 'in', localTree(rp.p, 'data', {'d/one': '1\n', 'd/two': '2\n'}))
    const file = writeSpec(rp.p, 'draft', pipeline('draft', 'ls $in; echo "job=[$PACH_JOB_ID]"; cat $in/two > /pfs/out/two', {pfs: {repo: 'in', glob: '/d'}}))
    const before = await snapshot(rp, ['in'])
    const r = await rp.run(['debug', 'datum', '-f', file, '--input', '/d'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toBe('one\ntwo\njob=[]\n')
    expect(r.stderr).toMatch(/^datum [0-9a-f]{12} on .*: \/pfs\/in\/d \(in@[0-9a-f]{8}\)$/m)
    const kept = outDirOf(r.stderr)!
    expect(readFileSync(join(kept, 'two'), 'utf8')).toBe('2\n')
    rmSync(join(kept, '..'), {recursive: true, force: true})
    expect(await snapshot(rp, ['in'])).toBe(before)

    // with -f the positional argument names the datum
    const again = await rp.run(['debug', 'datum', '-f', file, '/d', '--json'])
    expect(again.exitCode, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({job: null, state: null, exit_code: 0, out_files: 1})
    expect(again.stderr).toContain('one\ntwo\njob=[]\n')
    rmSync(join(JSON.parse(again.stdout).out_dir, '..'), {recursive: true, force: true})

    // bad input
    const s3 = writeSpec(rp.p, 's3', pipeline('s3', 'true', {pfs: {repo: 'in', glob: '/', s3: true}}))
    expectUserError(await rp.run(['debug', 'datum', '-f', s3, '/']), 2, /^pach: pipeline "s3" reads or writes through S3 .*debug datum does not serve its S3 gateway/)
    expectUserError(await rp.run(['debug', 'datum', '-f', file, '--input', '/nope']), 4, /^pach: no datum of spec draft matches \/nope/)
    expectUserError(await rp.run(['debug', 'datum', '-f', file]), 2, /^pach: name the datum of spec draft to debug/)
    await rp.ok(['create', 'pipeline', '-f', file])
    const job = await lastJob(rp, 'draft')
    expectUserError(await rp.run(['debug', 'datum', `draft@${'0'.repeat(32)}`, '/d']), 4, /^pach: job draft@0{32} not found/)
    expectUserError(await rp.run(['debug', 'datum', `nopipe@${job.job.id}`, '/d']), 4, /^pach: pipeline nopipe not found/)
    expectUserError(await rp.run(['debug', 'datum', `draft@${job.job.id}`, '/d/one']), 4, /^pach: no datum of job draft@[0-9a-f]+ matches \/d\/one/)
    expectUserError(await rp.run(['debug', 'datum', `draft@${job.job.id}`, 'f'.repeat(64)]), 4, /no datum of job/)
    expectUserError(await rp.run(['debug', 'datum', `draft@${job.job.id}`, '/d', '--shell', '--json']), 2, /--shell is interactive/)
    expectUserError(await rp.run(['debug', 'datum']), 2, /needs <pipeline>@<job-id>/)
  })
})

describe('debug datum [docker runner]: the image the job ran with', () => {
  const rit = runnerIt('docker')
  const docker = (...args: string[]) => execFileSync('docker', args, {encoding: 'utf8', timeout: 30_000}).trim()

  rit('a tag moved since the job (an image rebuilt) still debugs with the image id the job recorded', {timeout: TIMEOUT}, async (ctx) => {
    // pach-test/busybox:2 is busybox:1 with /VERSION = "2" (.ci/setup-docker.sh)
    const tag = `pach-test/debug-${randomBytes(4).toString('hex')}:v`
    docker('tag', 'pach-test/busybox:1', tag)
    ctx.onTestFinished(() => void docker('rmi', tag))
    const rp = await project(ctx, 'docker')
    await rp.ok(['create', 'repo', 'in'])
    await putTree(rp, 'in', localTree(rp.p, 'data', {a: '1\n'}))
    const spec = {pipeline: {name: 'v'}, transform: {image: tag, cmd: ['sh', '-c', 'cat /VERSION 2>/dev/null || echo 1']}, input: {pfs: {repo: 'in', glob: '/*'}}}
    await rp.ok(['create', 'pipeline', '-f', writeSpec(rp.p, 'v', spec)])
    const job = await lastJob(rp, 'v')
    docker('tag', 'pach-test/busybox:2', tag)
    const r = await rp.run(['debug', 'datum', `v@${job.job.id}`, '/a', '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stderr).toContain('\n1\n')
    expect(JSON.parse(r.stdout).image).toBe(docker('image', 'inspect', '-f', '{{.Id}}', 'pach-test/busybox:1'))
    // a spec not created has no job: its tag as it is now
    const f = await rp.run(['debug', 'datum', '-f', writeSpec(rp.p, 'v2', spec), '/a'])
    expect(f.stdout).toBe('2\n')
  })
})
