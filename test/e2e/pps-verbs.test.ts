/**
 * E2E: pachctl's verbs and hints around jobs and commands — `logs -j PIPELINE@ID`,
 * `delete job`, unknown commands (nearest command, pachctl pointers, the user's words as
 * typed), "did you mean" for unknown repo/branch/pipeline names, jobs with no datums,
 * `draw pipeline` as a DAG, and `npm run build` swapping dist/ in atomically.
 */
import {describe, expect, it} from 'vitest'
import {tmpProject} from '../helpers/cli.js'
import {expectJsonError, expectUserError} from './_util.js'
import {pipeline, project, writeSpec} from './pipelines-util.js'

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

  it('a pachctl command pach does not have points at what to use instead', async () => {
    const p = await tmpProject(false)
    expect(expectUserError(await p.run(['mount', 'images@master:/', '/tmp/x']), 2)).toMatch(/^pach: `mount` is a pachctl command pach does not have: .*`pach get file -r REPO@BRANCH:\/ -o DIR`.*pach watch/)
    expect(expectUserError(await p.run(['restart', 'datum', 'edges@0123', '/a']), 2)).toMatch(/`restart datum` is a pachctl command .*datum_timeout.*`pach stop job PIPELINE@ID`.*`pach rerun pipeline PIPELINE`/)
    expect(expectUserError(await p.run(['config', 'get', 'active-context']), 2)).toMatch(/`config get active-context` is a pachctl command .*no cluster contexts.*--pach-dir/)
    expect(expectUserError(await p.run(['auth', 'login']), 2)).toMatch(/`auth` is a pachctl command .*no cluster/)
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
