/**
 * E2E: pachctl's verbs and hints around jobs and commands — `logs -j PIPELINE@ID`,
 * `delete job`, unknown commands (nearest command, pachctl pointers, the user's words as
 * typed), "did you mean" for unknown repo/branch/pipeline names, jobs with no datums,
 * `draw pipeline` as a DAG, and `npm run build` swapping dist/ in atomically.
 */
import {execa} from 'execa'
import {cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {BIN, tmpProject} from '../helpers/cli.js'
import {expectJsonError, expectUserError} from './_util.js'
import {jobs, pipeline, project, writeSpec, type Job, type RP} from './pipelines-util.js'

describe('unknown commands', () => {
  it('answer with the nearest command as a command line to copy, the user\'s words as typed', async () => {
    const p = await tmpProject(false)
    const put = expectUserError(await p.run(['put', 'fil', 'repo@b:/p', '-f', 'my file.txt']), 2)
    expect(put).toBe("pach: unknown command \"put fil\" (did you mean `pach put file repo@b:/p -f 'my file.txt'`?)")
    expect(expectUserError(await p.run(['lst', 'jobs', '-p', 'edges']), 2)).toBe('pach: unknown command "lst jobs" (did you mean `pach list job -p edges`?)')
    // a verb alone is nearer than a command that happens to be as close
    expect(expectUserError(await p.run(['lis']), 2)).toMatch(/^pach: unknown command "lis" \(did you mean `pach list`\? it takes one of: branch, commit, datum, file, job, /)
    // a known verb with a noun it does not take: the nouns it does, and the words as typed
    expect(expectUserError(await p.run(['list', 'repo@b:/p']), 2)).toMatch(/^pach: unknown command "list repo@b:\/p" \(`pach list` takes one of: branch, commit, /)
  })

  it('a pachctl command pach does not have points at what to use instead; one it has under another name, at that', async () => {
    const p = await tmpProject(false)
    expect(expectUserError(await p.run(['mount', 'images@master:/', '/tmp/x']), 2)).toMatch(/^pach: `mount` is a pachctl command pach does not have: pach has no FUSE mount; .*`pach get file -r REPO@BRANCH:\/ -o DIR`.*pach watch/)
    expect(expectUserError(await p.run(['config', 'get', 'active-context']), 2)).toMatch(/`config get active-context` is a pachctl command .*no cluster contexts.*--pach-dir/)
    expect(expectUserError(await p.run(['auth', 'login']), 2)).toMatch(/`auth` is a pachctl command .*no cluster/)
    // one pach has under another name: that command, with the arguments as typed
    expect(expectUserError(await p.run(['validate', 'pipeline', '-f', 'edges.json']), 2)).toBe(
      "pach: unknown command \"validate pipeline\" (pachctl's `validate pipeline` is `pach create pipeline --dry-run` here: `pach create pipeline --dry-run -f edges.json`)",
    )
  })
})

describe('unknown names', () => {
  it('a repo, branch, pipeline or input repo that is a typo of an existing one gets "did you mean"', async (ctx) => {
    const rp = await project(ctx, 'local')
    await rp.ok(['create', 'repo', 'images'])
    await rp.ok(['create', 'repo', 'labels'])
    await rp.ok(['put', 'file', 'images@master:/a', '-f', '-'], {input: 'a'})
    await rp.ok(['create', 'branch', 'images@dev'])
    await rp.ok(['create', 'pipeline', '-f', writeSpec(rp.p, 'edges', pipeline('edges', 'true', {pfs: {repo: 'images', glob: '/*'}}))])

    expect(expectUserError(await rp.run(['list', 'file', 'imgaes@master']), 4)).toBe(
      'pach: repo imgaes not found (did you mean "images"? otherwise create it with `pach create repo imgaes`)',
    )
    expect(expectUserError(await rp.run(['list', 'file', 'images@mastr']), 4)).toBe(
      'pach: branch mastr not found in repo images (did you mean "master"? otherwise list branches with `pach list branch images`)',
    )
    expect(expectUserError(await rp.run(['inspect', 'pipeline', 'edgse']), 4)).toBe('pach: pipeline edgse not found (did you mean "edges"? otherwise list pipelines with `pach list pipeline`)')
    const spec = writeSpec(rp.p, 'typo', pipeline('typo', 'true', {pfs: {repo: 'lables', glob: '/*'}}))
    expect(expectUserError(await rp.run(['create', 'pipeline', '-f', spec]), 4)).toMatch(/input\.pfs\.repo: repo lables not found \(did you mean "labels"\? otherwise create it/)
    // --json carries the suggestion as data
    const e = expectJsonError(await rp.run(['inspect', 'repo', 'imagse', '--json']), 4, 'REPO_NOT_FOUND') as {data?: {suggestion?: string}}
    expect(e.data?.suggestion).toBe('images')
    // nothing near: the usual hint alone
    expect(expectUserError(await rp.run(['list', 'file', 'zzzz@master']), 4)).toBe('pach: repo zzzz not found (create it with `pach create repo zzzz`)')
  })
})

type Line = {pipeline: string; job: string; datum: string; message: string}

/** Two pipelines over one repo; each datum prints "<pipeline> <file>". Returns the last put's commit id. */
async function twoPipelines(rp: RP): Promise<string> {
  await rp.ok(['create', 'repo', 'data'])
  await rp.ok(['put', 'file', 'data@master:/a', '-f', '-'], {input: 'a'})
  for (const name of ['up', 'low']) {
    await rp.ok(['create', 'pipeline', '-f', writeSpec(rp.p, name, pipeline(name, `for f in /pfs/data/*; do echo "${name} $f"; done; cp /pfs/data/* /pfs/out/`, {pfs: {repo: 'data', glob: '/*'}}))])
  }
  return (await rp.json(['put', 'file', 'data@master:/b', '-f', '-'], {input: 'b'})).commit.id as string
}

describe('logs', () => {
  it('-j PIPELINE@ID, every pipeline without -p/-j, --inputs, --since; pachctl\'s refusals in one line', async (ctx) => {
    const rp = await project(ctx, 'local')
    const id = await twoPipelines(rp)

    // -j PIPELINE@ID: that job only (it ran /b; /a was skipped)
    const one = (await rp.json(['logs', '-j', `up@${id}`])) as Line[]
    expect(one.map((l) => [l.pipeline, l.job, l.message])).toEqual([['up', id, 'up /pfs/data/b']])
    expect(await rp.ok(['logs', '--job', `up@${id}`])).toBe('up /pfs/data/b\n')
    // pach's older form, -p P -j ID, still works
    expect(await rp.ok(['logs', '-p', 'up', '-j', id])).toBe('up /pfs/data/b\n')
    // no -p/-j: every pipeline's logs (four datums ran: a and b in up and low)
    const all = (await rp.json(['logs'])) as Line[]
    expect(all.map((l) => l.message).sort()).toEqual(['low /pfs/data/a', 'low /pfs/data/b', 'up /pfs/data/a', 'up /pfs/data/b'])
    // --inputs: lines of the datums that read /a, in every pipeline
    const a = (await rp.json(['logs', '--inputs', '/a'])) as Line[]
    expect(a.map((l) => l.message).sort()).toEqual(['low /pfs/data/a', 'up /pfs/data/a'])
    // --since: a window that ends before the lines were written keeps none; a wide one keeps all
    expect(await rp.json(['logs', '-p', 'low', '--since', '1h'])).toHaveLength(2)
    expect(JSON.parse(await rp.ok(['logs', '-p', 'low', '--since', '1h', '--json'], {env: {PACH_NOW: '2099-01-01T00:00:00Z'}}))).toEqual([])

    expectUserError(await rp.run(['logs', '-p', 'up', '-j', `up@${id}`]), 2, /only one of --pipeline and --job should be specified/)
    expectUserError(await rp.run(['logs', '-j', id]), 2, /invalid job .*expected <pipeline>@<job-id>/)
    expectUserError(await rp.run(['logs', '--master', '-p', 'up']), 2, /--master: pach runs no master or worker process/)
    expectUserError(await rp.run(['logs', '-j', `upp@${id}`]), 4, /pipeline upp not found \(did you mean "up"\?/)
  })
})

describe('delete job', () => {
  it('removes a finished job (its output commit stays); kills, then removes, a job waiting to run', async (ctx) => {
    const rp = await project(ctx, 'local')
    const id = await twoPipelines(rp)
    const before = await jobs(rp, 'up')
    expect(before.map((j) => j.job.id)).toContain(id)

    expect(await rp.ok(['delete', 'job', `up@${id}`])).toBe('')
    expect((await jobs(rp, 'up')).map((j) => j.job.id)).toEqual(before.map((j) => j.job.id).filter((x) => x !== id))
    expectUserError(await rp.run(['inspect', 'job', `up@${id}`]), 4, /job up@[0-9a-f]{32} not found/)
    expect((await rp.json(['inspect', 'commit', `up@${id}`])).commit.id).toBe(id)
    expect(await rp.ok(['get', 'file', `up@${id}:/b`])).toBe('b')
    // the other pipeline's job of the same commit set is untouched
    expect((await rp.json(['inspect', 'job', `low@${id}`])).state).toBe('JOB_SUCCESS')
    // the next job plans against the nearest earlier successful job, and the project checks clean
    const c = (await rp.json(['put', 'file', 'data@master:/c', '-f', '-'], {input: 'c'})).commit.id
    expect(await rp.json(['inspect', 'job', `up@${c}`])).toMatchObject({state: 'JOB_SUCCESS', data_total: 3})
    expect(await rp.ok(['get', 'file', `up@${c}:/c`])).toBe('c')
    await rp.ok(['fsck'])

    // a job waiting to run: killed ("job deleted" on its output commit), then removed
    const d = (await rp.json(['put', 'file', 'data@master:/d', '-f', '-', '--detach'], {input: 'd'})).commit.id
    const del = await rp.json(['delete', 'job', `up@${d}`])
    expect(del).toEqual({job: {pipeline: {name: 'up', project: {name: 'default'}}, id: d}, state: 'JOB_KILLED'})
    expect((await rp.json(['inspect', 'commit', `up@${d}`])).error).toBe('job deleted')
    expectUserError(await rp.run(['delete', 'job', `up@${d}`]), 4, /job up@[0-9a-f]{32} not found/)
    expectUserError(await rp.run(['delete', 'job', 'up']), 2, /expected <pipeline>@<job-id>/)
  })

  it('a running job is refused with one line saying to stop it first', async (ctx) => {
    const rp = await project(ctx, 'local')
    await rp.ok(['create', 'repo', 'data'])
    await rp.ok(['create', 'pipeline', '--detach', '-f', writeSpec(rp.p, 'slow', pipeline('slow', 'sleep 30', {pfs: {repo: 'data', glob: '/*'}}))])
    const id = (await rp.json(['put', 'file', 'data@master:/a', '-f', '-', '--detach'], {input: 'a'})).commit.id
    const run = execa('node', [BIN, 'run'], {cwd: rp.p.dir, env: {PACH_RUNNER: 'local'}, reject: false})
    try {
      let state = ''
      for (let i = 0; i < 200 && state !== 'JOB_RUNNING'; i++) {
        state = ((await rp.json(['inspect', 'job', `slow@${id}`])) as Job).state
        if (state !== 'JOB_RUNNING') await new Promise((r) => setTimeout(r, 100))
      }
      expect(state).toBe('JOB_RUNNING')
      const line = expectUserError(await rp.run(['delete', 'job', `slow@${id}`]), 5)
      expect(line).toBe(`pach: job slow@${id} is running (JOB_RUNNING); it cannot be deleted (stop it first with \`pach stop job slow@${id}\`)`)
      await rp.ok(['stop', 'job', `slow@${id}`])
    } finally {
      await run
    }
    expect(await rp.ok(['delete', 'job', `slow@${id}`])).toBe('')
    expect((await jobs(rp, 'slow')).map((j) => j.job.id)).not.toContain(id)
  })
})

describe('jobs with no datums', () => {
  it('say why in list job, inspect job and the job line: a glob that matched nothing, an empty input, a join that paired none', async (ctx) => {
    const rp = await project(ctx, 'local')
    await rp.ok(['create', 'repo', 'data'])
    const r0 = await rp.okr(['create', 'pipeline', '-f', writeSpec(rp.p, 'csv', pipeline('csv', 'cp /pfs/data/* /pfs/out/', {pfs: {repo: 'data', glob: '/*.csv'}}))])
    const first = (await jobs(rp, 'csv'))[0]!
    expect(first.notice).toBe(`0 datums: data@${(await rp.json(['inspect', 'commit', 'data@master'])).commit.id} is empty; no job of pipeline csv has had a datum`)
    expect(r0.stderr).toContain(`job csv@${first.job.id}: success (0 processed, 0 skipped, 0 failed of 0) — 0 datums: data@`)

    const put = await rp.okr(['put', 'file', 'data@master:/a.txt', '-f', '-', '--json'], {input: 'a'})
    const id = JSON.parse(put.stdout).commit.id as string
    const notice = `0 datums: glob "/*.csv" matched nothing in data@${id}; no job of pipeline csv has had a datum`
    expect((await rp.json(['inspect', 'job', `csv@${id}`])).notice).toBe(notice)
    expect(put.stderr).toContain(`— ${notice}`)
    expect(await rp.ok(['inspect', 'job', `csv@${id}`])).toContain(`\nNotice: ${notice}\n`)
    expect(await rp.ok(['list', 'job', '-p', 'csv'])).toContain(`success: ${notice}`)

    // once a datum exists, that job has no notice and the older ones no longer say "no job has had a datum"
    const c = (await rp.json(['put', 'file', 'data@master:/b.csv', '-f', '-'], {input: 'b'})).commit.id
    const [latest, zero] = await jobs(rp, 'csv')
    expect(latest!.job.id).toBe(c)
    expect(latest!.notice).toBeUndefined()
    expect(zero!.notice).toBe(`0 datums: glob "/*.csv" matched nothing in data@${id}`)

    // a join whose globs match but whose keys pair nothing
    await rp.ok(['create', 'repo', 'keys'])
    await rp.ok(['put', 'file', 'keys@master:/z.csv', '-f', '-'], {input: 'z'})
    const join = {join: [{pfs: {repo: 'data', glob: '/(*).csv', join_on: '$1'}}, {pfs: {repo: 'keys', glob: '/(*).csv', join_on: '$1'}}]}
    await rp.ok(['create', 'pipeline', '-f', writeSpec(rp.p, 'j', pipeline('j', 'true', join))])
    expect((await jobs(rp, 'j'))[0]!.notice).toBe('0 datums: every glob matched, but the join paired none of the files (check join_on/group_by); no job of pipeline j has had a datum')
  })
})

describe('draw pipeline', () => {
  it('draws a DAG: a pipeline with two parents appears once, with an edge from each', async (ctx) => {
    const rp = await project(ctx, 'local')
    await rp.ok(['create', 'repo', 'images'])
    await rp.ok(['create', 'pipeline', '-f', writeSpec(rp.p, 'edges', pipeline('edges', 'true', {pfs: {repo: 'images', glob: '/*'}}))])
    const montage = pipeline('montage', 'true', {cross: [{pfs: {repo: 'images', glob: '/'}}, {pfs: {repo: 'edges', glob: '/'}}]})
    await rp.ok(['create', 'pipeline', '-f', writeSpec(rp.p, 'montage', montage)])
    const drawn = await rp.ok(['draw', 'pipeline'])
    for (const name of ['images', 'edges', 'montage']) expect(drawn.split(name).length - 1, drawn).toBe(1)
    expect(drawn).toBe(
      [
        '┌──────────┐',
        '│ ▣ images │',
        '└─────┬────┘',
        '      ├───────┐',
        '      │       ▼',
        '      │  ┌─────────┐',
        '      │  │ ⚙ edges │',
        '      │  └────┬────┘',
        '      └───┐   │',
        '          ├───┘',
        '          ▼',
        '    ┌───────────┐',
        '    │ ⚙ montage │',
        '    └───────────┘',
        '',
        '▣ repo   ⚙ pipeline',
        '',
      ].join('\n'),
    )
    const nodes = ((await rp.json(['draw', 'pipeline'])) as {nodes: {name: string; kind: string; inputs: string[]}[]}).nodes
    expect(nodes.map((n) => ({...n, inputs: [...n.inputs].sort()})).sort((a, b) => (a.name < b.name ? -1 : 1))).toEqual([
      {name: 'edges', kind: 'pipeline', inputs: ['images']},
      {name: 'images', kind: 'repo', inputs: []},
      {name: 'montage', kind: 'pipeline', inputs: ['edges', 'images']},
    ])
  })
})

describe('npm run build', () => {
  it('swaps dist/ in whole: a pach started during a build runs, a failed build leaves the old dist/ working', {timeout: 300_000}, async (ctx) => {
    // a copy of the sources (node_modules linked), so this build cannot disturb the dist/ other tests run
    const root = join(import.meta.dirname, '../..')
    const dir = mkdtempSync(join(tmpdir(), 'pach-build-'))
    ctx.onTestFinished(() => rmSync(dir, {recursive: true, force: true}))
    for (const f of ['package.json', 'tsconfig.json', 'src', 'scripts', 'bin']) cpSync(join(root, f), join(dir, f), {recursive: true})
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'))
    const build = () => execa('node', [join(dir, 'scripts', 'build.mjs')], {cwd: dir, reject: false, all: true})
    const version = () => execa('node', [join(dir, 'bin', 'run.js'), 'version'], {cwd: dir, reject: false})

    const first = await build()
    expect(first.exitCode, first.all).toBe(0)
    expect((await version()).exitCode).toBe(0)

    // starts while a second build runs: every one works
    const second = build()
    let done = false
    void second.finally(() => (done = true))
    const failures: string[] = []
    let starts = 0
    while (!done) {
      const v = await version()
      starts++
      if (v.exitCode !== 0) failures.push(v.stderr)
    }
    expect((await second).exitCode).toBe(0)
    expect(failures).toEqual([])
    expect(starts).toBeGreaterThan(3)
    expect(readdirSync(dir).filter((n) => n.startsWith('.build-'))).toEqual([])

    // a build that does not compile: non-zero, the previous dist/ still runs, no staging dir left
    writeFileSync(join(dir, 'src', 'commands', 'version.ts'), 'export default class {\n  broken(: number) {}\n}\n')
    const failed = await build()
    expect(failed.exitCode).not.toBe(0)
    expect((await version()).stdout).toMatch(/^COMPONENT\s+VERSION\npach\s+\S+/)
    expect(readdirSync(dir).filter((n) => n.startsWith('.build-'))).toEqual([])
  })
})
