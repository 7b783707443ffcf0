/**
 * E2E: pipelines with `input.pfs.s3: true` and `s3_out: true` (issue 15; Pachyderm's
 * s3g_sidecar_test.go), through the built CLI with the real per-job gateway and the real aws
 * CLI (Debian's /usr/bin/aws: on the host for the local runner, in pach-test/awscli:1 for
 * Docker). Checked with pach commands: the output commit's files, job and datum counts.
 *
 * - FullS3 (both runners): /pfs/<s3 input> exists and is empty, /pfs/out is not the output
 *   (a file left there is lost), `s3 ls` lists exactly the job's buckets, the input bucket
 *   holds the input commit's files, an upper-cased copy lands in the output commit;
 * - S3Chain: three s3 pipelines, each appending a line read from the one before;
 * - skipping: an s3 input crossed with a `/*` input multiplies its datums; with s3_out no
 *   datum is ever skipped and the output starts empty (an input file removed takes its
 *   output with it);
 * - the union and join refusals, with Pachyderm's messages;
 * - the same pipeline run by `pach serve`'s daemon (a separate path from `pach run`), and
 *   CreatePipelineV2 refusing a union the CLI refuses, in the same words.
 *
 * Docker needs an engine and pach-test/awscli:1 (.ci/setup-docker.sh): skipped locally
 * without them, a failure under CI=true.
 */
import {execFileSync} from 'node:child_process'
import {status} from '@grpc/grpc-js'
import {describe, expect, it} from 'vitest'
import {serve, until} from '../helpers/serve.js'
import {bind, jobs, lastJob, outputFiles, pipeline, project, runnerIt, writeSpec, type RP, type RunnerName} from './pipelines-util.js'

const TIMEOUT = 180_000
const AWS_IMAGE = 'pach-test/awscli:1'

/** runnerIt, also requiring the aws CLI image for docker. */
function s3It(runner: RunnerName): typeof it {
  const base = runnerIt(runner)
  if (runner !== 'docker' || base !== it) return base
  try {
    execFileSync('docker', ['image', 'inspect', AWS_IMAGE], {stdio: 'ignore', timeout: 30_000})
    return it
  } catch {
    const problem = `image ${AWS_IMAGE} is missing (run .ci/setup-docker.sh as root)`
    if (process.env.CI === 'true') {
      return ((name: string, opts: object) =>
        it(name, opts, () => {
          throw new Error(problem)
        })) as unknown as typeof it
    }
    return it.skip as unknown as typeof it
  }
}

/** A spec whose code runs `script` with `$A` = the aws CLI on the job's endpoint. */
function s3Pipeline(name: string, script: string, input: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const spec = pipeline(name, `set -e; A="/usr/bin/aws --endpoint-url $S3_ENDPOINT"; ${script}`, input, extra)
  ;(spec.transform as Record<string, unknown>).image = AWS_IMAGE
  return spec
}

async function create(rp: RP, spec: Record<string, unknown>): Promise<void> {
  await rp.okr(['create', 'pipeline', '-f', writeSpec(rp.p, spec.pipeline ? (spec.pipeline as {name: string}).name : 'spec', spec)])
}

const FULL = [
  'o=/tmp/pach-s3-test.$$; mkdir -p $o/in $o/up',
  // two aws calls at once (each starts in about a second): the bucket list and the download
  "{ $A s3 ls | awk '{print $3}' > $o/up/buckets & }",
  '$A s3 cp --quiet --recursive s3://input_repo $o/in',
  'wait',
  'ls -A /pfs/input_repo | wc -l | tr -d " " > $o/up/pfs_count',
  'ls /pfs > $o/up/pfs_ls',
  '(cd $o/in && find . -type f | sed "s#^./##" | sort) > $o/up/s3_files',
  'tr a-z A-Z < $o/in/foo > $o/up/result',
  '$A s3 cp --quiet --recursive $o/up s3://out/',
  'rm -rf $o',
  'echo lost > /pfs/out/lost',
].join('; ')

describe.concurrent.each(['local', 'docker'] as const)('s3 pipelines (%s runner)', (runner) => {
  const rit = s3It(runner)

  rit('FullS3: empty /pfs/<input>, exactly the job buckets, output only through bucket out', {timeout: TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, runner)
    await rp.ok(['create', 'repo', 'input_repo'])
    await rp.ok(['put', 'file', 'input_repo@master:/foo'], {input: 'foo\n'})
    await rp.ok(['put', 'file', 'input_repo@master:/dir/bar'], {input: 'bar\n'})
    await create(rp, s3Pipeline('full', FULL, {pfs: {repo: 'input_repo', glob: '/', s3: true}}, {s3_out: true}))
    const j = await lastJob(rp, 'full')
    expect(j.state, j.reason).toBe('JOB_SUCCESS')
    expect([j.data_total, j.data_processed]).toEqual([1, 1])
    expect(await outputFiles(rp, 'full@master')).toEqual({
      '/buckets': 'input_repo\nout\n',
      '/pfs_count': '0\n',
      '/pfs_ls': 'input_repo\nout\n',
      '/result': 'FOO\n',
      '/s3_files': 'dir/bar\nfoo\n',
    })
    // the output commit is the job's: versioned with it, with the input commit as provenance
    const c = await rp.json(['inspect', 'commit', `full@${j.job.id}`])
    expect(c.finished).toBeTruthy()
    expect(c.error ?? '').toBe('')
  })

  if (runner === 'local') {
    rit('S3Chain: three s3 pipelines each append a line read from the one before', {timeout: TIMEOUT}, async (ctx) => {
      const rp = await project(ctx, runner)
      await rp.ok(['create', 'repo', 'chain'])
      await rp.ok(['put', 'file', 'chain@master:/file'], {input: 'start\n'})
      const step = (name: string, from: string) =>
        s3Pipeline(name, `$A s3 cp s3://${from}/file - | { cat; echo ${name}; } | $A s3 cp - s3://out/file`, {pfs: {repo: from, glob: '/', s3: true}}, {s3_out: true})
      await rp.okr(['create', 'pipeline', '-f', writeSpec(rp.p, 'chain', [step('c1', 'chain'), step('c2', 'c1'), step('c3', 'c2')])])
      expect(await outputFiles(rp, 'c1@master')).toEqual({'/file': 'start\nc1\n'})
      expect(await outputFiles(rp, 'c3@master')).toEqual({'/file': 'start\nc1\nc2\nc3\n'})
      for (const p of ['c1', 'c2', 'c3']) expect((await lastJob(rp, p)).state).toBe('JOB_SUCCESS')
    })

    rit('an s3 input in a cross multiplies the datums; with s3_out none is skipped and the output starts empty', {timeout: TIMEOUT}, async (ctx) => {
      const rp = await project(ctx, runner)
      await rp.ok(['create', 'repo', 'cfg'])
      await rp.ok(['create', 'repo', 'items'])
      await rp.ok(['put', 'file', 'cfg@master:/suffix'], {input: '1'})
      await rp.ok(['put', 'file', 'items@master:/a'], {input: 'a'})
      await rp.ok(['put', 'file', 'items@master:/b'], {input: 'b'})
      // one call per datum: the datum's item, uploaded under its name
      const script = 'cat "$items" | $A s3 cp - s3://out/$(basename "$items")'
      await create(rp, s3Pipeline('x', script, {cross: [{pfs: {repo: 'cfg', glob: '/', s3: true}}, {pfs: {repo: 'items', glob: '/*'}}]}, {s3_out: true}))
      let j = await lastJob(rp, 'x')
      expect([j.state, j.data_total, j.data_processed, j.data_skipped]).toEqual(['JOB_SUCCESS', 2, 2, 0])
      const ds = (await rp.json(['list', 'datum', `x@${j.job.id}`])) as {data: {file: {path: string; commit: {repo: {name: string}}}}[]}[]
      expect(ds.map((d) => d.data.map((f) => `${f.file.commit.repo.name}:${f.file.path}`).join(' ')).sort()).toEqual(['cfg:/ items:/a', 'cfg:/ items:/b'])
      expect(await outputFiles(rp, 'x@master')).toEqual({'/a': 'a', '/b': 'b'})

      // one item gone, one new: every datum runs again (none skipped), /a's output is gone
      await rp.ok(['start', 'commit', 'items@master'])
      await rp.ok(['delete', 'file', 'items@master:/a'])
      await rp.ok(['put', 'file', 'items@master:/c'], {input: 'c'})
      await rp.okr(['finish', 'commit', 'items@master'])
      j = await lastJob(rp, 'x')
      expect([j.state, j.data_total, j.data_processed, j.data_skipped]).toEqual(['JOB_SUCCESS', 2, 2, 0])
      expect(await outputFiles(rp, 'x@master')).toEqual({'/b': 'b', '/c': 'c'})

      expect((await jobs(rp, 'x')).length).toBe(2)
    })
  }
})

describe('s3 pipeline refusals and pach serve', () => {
  it('refuses s3 inputs in a union or a join with Pachyderm\'s messages, creating nothing', {timeout: TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, 'local')
    await rp.ok(['create', 'repo', 'a'])
    await rp.ok(['create', 'repo', 'b'])
    for (const kind of ['union', 'join'] as const) {
      const leaf = (repo: string, s3: boolean) => ({pfs: {repo, glob: s3 ? '/' : '/*', s3, ...(kind === 'join' ? {join_on: '$1'} : {})}})
      const r = await rp.run(['create', 'pipeline', '-f', writeSpec(rp.p, kind, pipeline(kind, 'true', {[kind]: [leaf('a', true), leaf('b', false)]}))])
      expect(r.exitCode, r.stderr).toBe(2)
      expect(r.stderr).toContain(`input.${kind}: S3 inputs in ${kind} expressions are not supported`)
    }
    expect(await rp.json(['list', 'pipeline'])).toEqual([])
  })

  it('pach serve runs an s3 job through its daemon', {timeout: TIMEOUT}, async () => {
    const served = await serve({args: ['--runner', 'local']})
    const rp = bind(served.project, 'local')
    const detached = {env: {PACH_DETACH: '1'}}
    await rp.ok(['create', 'repo', 'input_repo'], detached)
    await rp.ok(['put', 'file', 'input_repo@master:/foo'], {...detached, input: 'foo\n'})
    await rp.ok(['create', 'pipeline', '-f', writeSpec(rp.p, 'full', s3Pipeline('full', FULL, {pfs: {repo: 'input_repo', glob: '/', s3: true}}, {s3_out: true}))], detached)
    const j = await until('the daemon to run the job', async () => {
      const [job] = (await rp.json(['list', 'job', '-p', 'full'])) as {state: string; reason: string}[]
      return job && ['JOB_SUCCESS', 'JOB_FAILURE', 'JOB_KILLED'].includes(job.state) ? job : undefined
    }, 60_000)
    expect(j.state, j.reason).toBe('JOB_SUCCESS')
    expect(await outputFiles(rp, 'full@master')).toMatchObject({'/buckets': 'input_repo\nout\n', '/pfs_count': '0\n', '/result': 'FOO\n', '/s3_files': 'foo\n'})
    // CreatePipelineV2 refuses what the CLI refuses, in the same words
    const c = served.client
    const union = pipeline('u', 'true', {union: [{pfs: {repo: 'input_repo', glob: '/', s3: true}}, {pfs: {repo: 'full', glob: '/*'}}]})
    const e = (await c.unary(c.pps, 'CreatePipelineV2', {create_pipeline_request_json: JSON.stringify(union)}).catch((x: unknown) => x)) as {code: number; details: string}
    expect(e.code).toBe(status.INVALID_ARGUMENT)
    expect(e.details).toContain('input.union: S3 inputs in union expressions are not supported')
  })
})
