/**
 * E2E: what pach says about a pipeline spec, through the built CLI (issue 11, "nothing
 * silently ignored"): a notice per cluster-only field; egress refused before anything is
 * created (s3 inputs and s3_out run: test/e2e/s3-pipelines.test.ts); every validation problem in one run, one line each;
 * `create/update pipeline --dry-run` changing nothing; `list pipeline --spec` printing specs
 * `create pipeline` takes back; `edit pipeline` through $EDITOR (a small script here); the
 * join_on/group_by capture-group warning; inputs shown in spec order. Jobs run on the local
 * runner.
 */
import {chmodSync, existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import type {RunResult} from '../helpers/cli.js'
import {expectUserError} from './_util.js'
import {localTree, pipeline, project, putTree, writeSpec, type RP} from './pipelines-util.js'

const TIMEOUT = 120_000

/** stderr lines starting with `prefix` */
const linesOf = (r: RunResult, prefix: string) => r.stderr.split('\n').filter((l) => l.startsWith(prefix))

/** A user error listing several problems: the exit code, only "pach: " lines on stderr, one per problem, no stack. */
function expectProblems(r: RunResult, exitCode: number, patterns: RegExp[]): string[] {
  const ctx = `exit ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`
  expect(r.exitCode, ctx).toBe(exitCode)
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '')
  expect(lines, ctx).toHaveLength(patterns.length)
  lines.forEach((l, i) => {
    expect(l, ctx).toMatch(/^pach: /)
    expect(l, ctx).toMatch(patterns[i]!)
  })
  expect(r.stderr + r.stdout, ctx).not.toContain('    at ')
  return lines
}

/** repos a and b with two files each; a pipeline reading (b ⨯ a) in that order. */
async function crossSetup(rp: RP): Promise<string> {
  for (const repo of ['a', 'b']) {
    await rp.ok(['create', 'repo', repo])
    await putTree(rp, repo, localTree(rp.p, `local-${repo}`, {[`${repo}1`]: `${repo}1\n`}))
  }
  return writeSpec(rp.p, 'ba', pipeline('ba', 'cat /pfs/b/* /pfs/a/* > /pfs/out/both', {cross: [{pfs: {repo: 'b', glob: '/*'}}, {pfs: {repo: 'a', glob: '/*'}}]}))
}

/** An executable editor script in the project: `sh` code run with the file as $1. */
function editorScript(rp: RP, name: string, body: string): string {
  const path = join(rp.p.dir, name)
  writeFileSync(path, `#!/bin/sh\nset -e\n${body}\n`)
  chmodSync(path, 0o755)
  return path
}

describe('pipeline specs', () => {
  it('prints one notice per cluster-only field, on create, update and --dry-run', {timeout: TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, 'local')
    await rp.ok(['create', 'repo', 'in'])
    const spec = (name: string) => pipeline(name, 'true', {pfs: {repo: 'in', glob: '/*'}}, {autoscaling: true, pod_patch: '[]', scheduling_spec: {node_selector: {disk: 'ssd'}}})
    const file = writeSpec(rp.p, 'two', [spec('one'), spec('two')])
    const fields = ['autoscaling', 'scheduling_spec', 'pod_patch']
    for (const args of [['create', 'pipeline', '-f', file, '--dry-run'], ['create', 'pipeline', '-f', file], ['update', 'pipeline', '-f', file, '--dry-run'], ['update', 'pipeline', '-f', file]]) {
      const r = await rp.run(args)
      expect(r.exitCode, r.stderr).toBe(0)
      const notices = linesOf(r, 'notice: ')
      // once per field, naming both pipelines
      expect(notices.map((l) => fields.find((f) => l.includes(`: ${f} has no effect`)))).toEqual(fields)
      for (const l of notices) expect(l).toMatch(/^notice: pipelines "one", "two": \w+ has no effect when pach runs the pipeline \(it is kept in the spec for a Pachyderm cluster\)$/)
    }
    // a spec without such fields gets none
    const plain = writeSpec(rp.p, 'plain', pipeline('plain', 'true', {pfs: {repo: 'in', glob: '/*'}}))
    expect(linesOf(await rp.run(['create', 'pipeline', '-f', plain]), 'notice: ')).toEqual([])
  })

  it('refuses egress (but not s3_out nor s3 inputs), creating nothing', {timeout: TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, 'local')
    await rp.ok(['create', 'repo', 'in'])
    const file = writeSpec(
      rp.p,
      'eg',
      pipeline('eg', 'true', {cross: [{pfs: {repo: 'in', glob: '/*'}}, {pfs: {repo: 'in', name: 'whole', glob: '/', s3: true}}]}, {egress: {URL: 's3://bucket/dir'}, s3_out: true, autoscaling: true}),
    )
    for (const extra of [[], ['--dry-run']]) {
      const r = await rp.run(['create', 'pipeline', '-f', file, ...extra])
      expectProblems(r, 2, [/^pach: .*eg\.json: pipeline "eg": egress: copying a job's output to external storage is not supported by pach yet \(remove "egress" and copy the output yourself/])
      expect(linesOf(r, 'notice: ')).toEqual([]) // nothing about a spec that was refused
    }
    const j = await rp.run(['create', 'pipeline', '-f', file, '--json'])
    expect(j.exitCode).toBe(2)
    const env = JSON.parse(j.stdout).error as {code: string; message: string; data: {errors: {field: string}[]}}
    expect(env.code).toBe('UNSUPPORTED_SPEC_FIELD')
    expect(env.message).toMatch(/egress: copying a job's output to external storage is not supported by pach yet$/)
    expect(env.data.errors.map((e) => e.field)).toEqual(['egress'])
    // nothing was created, and an update to a refused spec leaves the pipeline as it was
    expect(await rp.json(['list', 'pipeline'])).toEqual([])
    expect((await rp.json(['list', 'repo'])).map((r: {repo: {name: string}}) => r.repo.name)).toEqual(['in'])
    await rp.ok(['create', 'pipeline', '-f', writeSpec(rp.p, 'eg-ok', pipeline('eg', 'true', {pfs: {repo: 'in', glob: '/*'}}))])
    expectProblems(await rp.run(['update', 'pipeline', '-f', file]), 2, [/egress/])
    expect((await rp.json(['inspect', 'pipeline', 'eg'])).version).toBe(1)
  })

  it('creates a spout (no input, no job) and a service; list datum -f says a spout has no datums', {timeout: TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, 'local')
    await rp.ok(['create', 'repo', 'in'])
    const file = writeSpec(rp.p, 'spout', {pipeline: {name: 'feed'}, transform: {cmd: ['sh', '-c', 'sleep 1']}, spout: {}})
    await rp.ok(['create', 'pipeline', '-f', file])
    const svc = writeSpec(rp.p, 'svc', pipeline('svc', 'true', {pfs: {repo: 'in', glob: '/'}}, {service: {internal_port: 8888, external_port: 30888}}))
    await rp.ok(['create', 'pipeline', '-f', svc])
    const info = await rp.json(['inspect', 'pipeline', 'feed'])
    expect(info).toMatchObject({type: 'PIPELINE_TYPE_SPOUT', state: 'PIPELINE_STANDBY'})
    expect(info.reason).toMatch(/pach serve/)
    expect((await rp.json(['inspect', 'pipeline', 'svc'])).type).toBe('PIPELINE_TYPE_SERVICE')
    // the spout's output head is finished (its code commits on top) and it has no job
    const [head] = await rp.json(['list', 'commit', 'feed@master'])
    expect(head.finished).toBeTruthy()
    expect(await rp.json(['list', 'job', '-p', 'feed'])).toEqual([])
    expectUserError(await rp.run(['list', 'datum', '-f', file]), 2, /pipeline "feed": a spout has no input, so no datums to list/)
  })

  it('reports every validation problem of a file in one run, one line each', {timeout: TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, 'local')
    const file = writeSpec(rp.p, 'bad', [
      {pipeline: {name: 'x'}, transform: {cmdd: ['sh']}, input: {cross: [{pfs: {repo: 'a'}}, {pfs: {repo: 'b', glob: '/*', lazy: 'yes'}}]}, datum_tries: -1, job_timeout: 'abc'},
      {pipeline: {name: 'y'}, transform: {cmd: ['sh']}, input: {pfs: {repo: 'a', glob: '/[', name: 'out'}}},
    ])
    expectProblems(await rp.run(['create', 'pipeline', '-f', file]), 2, [
      /bad\.json: pipeline "x": unknown field transform\.cmdd \(did you mean "cmd"\?\)/,
      /pipeline "x": input\.cross\[1\]\.pfs\.lazy must be true or false, got string "yes"$/,
      /pipeline "x": transform\.cmd: no command specified/,
      /pipeline "x": input\.cross\[0\]\.pfs\.glob is required/,
      /pipeline "x": datum_tries must be a positive integer, got number -1$/,
      /pipeline "x": job_timeout "abc" is not a duration/,
      /pipeline "y": input\.pfs\.name: an input cannot be named "out"/,
      /pipeline "y": input\.pfs\.glob "\/\[" is invalid/,
    ])
    // and across files
    const other = writeSpec(rp.p, 'other', {pipeline: {name: 'z'}, transform: {cmd: ['sh']}})
    expectProblems(await rp.run(['create', 'pipeline', '-f', other, '-f', file]), 2, [/other\.json: pipeline "z": input is required/, ...Array<RegExp>(8).fill(/bad\.json: pipeline "[xy]": /)])
    const r = await rp.run(['update', 'pipeline', '-f', file, '--dry-run', '--json'])
    const env = JSON.parse(r.stdout) as {error: {code: string; message: string; data: {errors: {field: string; message: string}[]}}}
    expect(env.error.code).toBe('INVALID_SPEC')
    expect(env.error.message).toMatch(/unknown field transform\.cmdd .* \(and 7 more errors\)$/)
    expect(env.error.data.errors.map((e) => e.field)).toEqual(['transform.cmdd', 'input.cross[1].pfs.lazy', 'transform.cmd', 'input.cross[0].pfs.glob', 'datum_tries', 'job_timeout', 'input.pfs.name', 'input.pfs.glob'])
  })

  it('update pipeline --dry-run checks as an update would and changes nothing', {timeout: TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, 'local')
    const file = await crossSetup(rp)
    await rp.ok(['create', 'pipeline', '-f', file])
    const jobs = (await rp.json(['list', 'job'])).length
    const changed = writeSpec(rp.p, 'ba2', pipeline('ba', 'cat /pfs/a/* > /pfs/out/a', {cross: [{pfs: {repo: 'b', glob: '/*'}}, {pfs: {repo: 'a', glob: '/*'}}]}, {description: 'only a', datum_timeout: '30s'}))
    const text = await rp.ok(['update', 'pipeline', '-f', changed, '--dry-run'])
    expect(text).toMatch(/^Name: ba\nDescription: only a\nParallelism Spec: constant:1\nDatum Timeout: 30s\nJob Timeout: none\nInput: \{\n/)
    expect(text).toContain('Output Branch: master\nTransform: {\n  "image": "pach-test/busybox:1",')
    expect(text).not.toContain('"lazy"') // empty fields left out, as pachctl's text does
    const [eff] = await rp.json(['update', 'pipeline', '-f', changed, '--dry-run'])
    expect(eff.description).toBe('only a')
    expect(eff.salt).toBe((await rp.json(['inspect', 'pipeline', 'ba'])).details.salt) // the salt an update keeps
    const info = await rp.json(['inspect', 'pipeline', 'ba'])
    expect(info.version).toBe(1)
    expect(info.details.description).toBe('')
    expect((await rp.json(['list', 'job'])).length).toBe(jobs)
    // the checks an update makes against the project
    const missing = writeSpec(rp.p, 'missing', pipeline('ba', 'true', {pfs: {repo: 'nope', glob: '/*'}}))
    expectUserError(await rp.run(['update', 'pipeline', '-f', missing, '--dry-run']), 4, /repo nope not found/)
    expectUserError(await rp.run(['create', 'pipeline', '-f', file, '--dry-run']), 5, /pipeline "ba" already exists/)
  })

  it('list pipeline --spec prints specs that create pipeline takes back', {timeout: TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, 'local')
    const file = await crossSetup(rp)
    await rp.ok(['create', 'pipeline', '-f', file])
    await rp.ok(['create', 'pipeline', '-f', writeSpec(rp.p, 'cp', pipeline('cp', 'cp /pfs/ba/* /pfs/out/', {pfs: {repo: 'ba', glob: '/'}}, {datum_tries: 5}))])
    const out = await rp.ok(['list', 'pipeline', '--spec'])
    expect(out.startsWith('{\n  "pipeline": {')).toBe(true)
    const infos = await rp.json(['list', 'pipeline'])
    const specs = (await rp.json(['list', 'pipeline', '--spec'])) as {pipeline: {name: string}; datum_tries: number}[]
    expect(specs).toEqual(infos.map((i: {details: unknown}) => i.details))
    expect(specs.find((s) => s.pipeline.name === 'cp')!.datum_tries).toBe(5)
    expect(await rp.json(['list', 'pipeline', 'cp', '--spec'])).toEqual([specs.find((s) => s.pipeline.name === 'cp')])
    const yaml = await rp.ok(['list', 'pipeline', '--spec', '-o', 'yaml'])
    expect(yaml).toMatch(/name: cp/)
    expectUserError(await rp.run(['list', 'pipeline', '--spec', '--raw']), 2, /cannot set both --raw and --spec/)
    // the stream loads into a fresh project as it is, and makes the same specs
    const copy = await project(ctx, 'local')
    for (const repo of ['a', 'b']) await copy.ok(['create', 'repo', repo])
    const saved = join(copy.p.dir, 'all.json')
    writeFileSync(saved, out)
    await copy.ok(['create', 'pipeline', '-f', saved])
    expect(await copy.json(['list', 'pipeline', '--spec'])).toEqual(specs)
  })

  it('edit pipeline opens the spec in $EDITOR (or --editor), validates it and updates', {timeout: TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, 'local')
    const file = await crossSetup(rp)
    await rp.ok(['create', 'pipeline', '-f', file])
    const seen = join(rp.p.dir, 'seen.json')
    const edit = editorScript(rp, 'edit.sh', `cp "$1" ${JSON.stringify(seen)}\nsed -i 's|cat /pfs/b/\\* /pfs/a/\\* > /pfs/out/both|cat /pfs/a/* > /pfs/out/only-a|' "$1"`)
    const r = await rp.run(['edit', 'pipeline', 'ba', '--reprocess'], {env: {EDITOR: edit}})
    expect(r.exitCode, r.stderr).toBe(0)
    // the editor got the spec as the user wrote it
    expect(JSON.parse(readFileSync(seen, 'utf8'))).toEqual(JSON.parse(readFileSync(file, 'utf8')))
    const info = await rp.json(['inspect', 'pipeline', 'ba'])
    expect(info.version).toBe(2)
    expect(info.details.transform.cmd).toEqual(['sh', '-c', 'cat /pfs/a/* > /pfs/out/only-a'])
    expect(JSON.parse(info.user_spec_json).transform.cmd[2]).toBe('cat /pfs/a/* > /pfs/out/only-a')
    expect(await rp.ok(['get', 'file', 'ba@master:/only-a'])).toBe('a1\n') // the update ran its job, reprocessing (--reprocess)

    // unchanged: nothing happens
    const same = await rp.run(['edit', 'pipeline', 'ba'], {env: {EDITOR: 'true'}})
    expect(same.exitCode, same.stderr).toBe(0)
    expect(same.stderr).toContain('Pipeline unchanged, no update will be performed.')
    expect((await rp.json(['inspect', 'pipeline', 'ba'])).version).toBe(2)

    // --editor wins over $EDITOR; YAML with -o yaml; a broken spec changes nothing and is kept
    const yamlSeen = join(rp.p.dir, 'seen.yaml')
    const breakIt = editorScript(rp, 'break.sh', `cp "$1" ${JSON.stringify(yamlSeen)}\nsed -i 's|glob: /\\*|glob: "/["|; s|^transform:|transform:\\n  cmdd: [x]|' "$1"`)
    const broken = await rp.run(['edit', 'pipeline', 'ba', '--editor', breakIt, '-o', 'yaml'], {env: {EDITOR: 'false'}})
    expect(broken.exitCode, broken.stderr).toBe(2)
    expect(readFileSync(yamlSeen, 'utf8')).toMatch(/^pipeline:\n {2}name: ba\n/)
    const kept = /your edited spec is kept in (\S+\.yaml);/.exec(broken.stderr)?.[1]
    expect(kept && existsSync(kept), broken.stderr).toBe(true)
    const problems = linesOf(broken, 'pach: ')
    expect(problems).toHaveLength(3)
    expect(problems[0]).toMatch(/unknown field transform\.cmdd/)
    expect(problems.slice(1).every((l) => /input\.cross\[\d\]\.pfs\.glob "\/\[" is invalid/.test(l))).toBe(true)
    expect((await rp.json(['inspect', 'pipeline', 'ba'])).version).toBe(2)

    // an edit cannot rename; a failing editor changes nothing
    const rename = editorScript(rp, 'rename.sh', `sed -i 's|"name": "ba"|"name": "other"|' "$1"`)
    expect(linesOf(await rp.run(['edit', 'pipeline', 'ba'], {env: {EDITOR: rename}}), 'pach: ')).toEqual([
      expect.stringMatching(/pipeline\.name: an edit cannot rename pipeline "ba" \(to "other"\) \(create a new pipeline/),
    ])
    const failed = await rp.run(['edit', 'pipeline', 'ba', '--json'], {env: {EDITOR: 'false'}})
    expect(failed.exitCode).toBe(1)
    expect(JSON.parse(failed.stdout).error.code).toBe('EDITOR_FAILED')
    expect(failed.stderr).toMatch(/^pach: editor "false" exited with status 1; nothing changed/)
    expect((await rp.json(['inspect', 'pipeline', 'ba'])).version).toBe(2)
    expectUserError(await rp.run(['edit', 'pipeline', 'nope'], {env: {EDITOR: 'true'}}), 4, /pipeline nope not found/)
  })

  it('warns when join_on/group_by uses a capture group the glob lacks, at create and in list datum -f', {timeout: TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, 'local')
    for (const repo of ['vols', 'meta']) await rp.ok(['create', 'repo', repo])
    await putTree(rp, 'vols', localTree(rp.p, 'local-vols', {'p1/x.vol': '1', 'p2/y.vol': '2'}))
    await putTree(rp, 'meta', localTree(rp.p, 'local-meta', {'p1.txt': 'm1', 'p2.txt': 'm2'}))
    const file = writeSpec(rp.p, 'j', pipeline('j', 'true', {join: [{pfs: {repo: 'vols', glob: '/*/*.vol', join_on: '$1'}}, {pfs: {repo: 'meta', glob: '/(*).txt', join_on: '$1'}}]}))
    const warning = /^warning: \S*\/j\.json: pipeline "j": input\.join\[0\]\.pfs\.join_on "\$1" refers to capture group 1, but glob "\/\*\/\*\.vol" has no capture groups, so every file of this input gets the same join key "" \(the join pairs every file with every other\); put the part to match in parentheses, e\.g\. "\/\(\*\)\/\*\.vol"$/
    const preview = await rp.run(['list', 'datum', '-f', file])
    expect(preview.exitCode, preview.stderr).toBe(0)
    expect(linesOf(preview, 'warning: ')).toEqual([expect.stringMatching(warning)])
    const created = await rp.run(['create', 'pipeline', '-f', file])
    expect(created.exitCode, created.stderr).toBe(0)
    expect(linesOf(created, 'warning: ')).toEqual([expect.stringMatching(warning)])
    // with the glob fixed: no warning
    const fixed = writeSpec(rp.p, 'k', pipeline('k', 'true', {join: [{pfs: {repo: 'vols', glob: '/(*)/*.vol', join_on: '$1'}}, {pfs: {repo: 'meta', glob: '/(*).txt', join_on: '$1'}}]}))
    expect(linesOf(await rp.run(['list', 'datum', '-f', fixed]), 'warning: ')).toEqual([])
  })

  it('list pipeline and list datum show cross/join inputs in spec order', {timeout: TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, 'local')
    const file = await crossSetup(rp)
    await rp.ok(['create', 'pipeline', '-f', file])
    expect(await rp.ok(['list', 'pipeline'])).toMatch(/\n\S+\s+ba\s+1\s+\(b:\/\* ⨯ a:\/\*\)\s/)
    expect((await rp.json(['inspect', 'pipeline', 'ba'])).details.input.cross.map((c: {pfs: {repo: string}}) => c.pfs.repo)).toEqual(['b', 'a'])
    const [job] = await rp.json(['list', 'job', '-p', 'ba'])
    const table = await rp.ok(['list', 'datum', `ba@${job.job.id}`])
    const row = table.split('\n')[1]!
    expect(row.indexOf('b@')).toBeGreaterThan(0)
    expect(row.indexOf('b@')).toBeLessThan(row.indexOf('a@'))
    const preview = (await rp.ok(['list', 'datum', '-f', file])).split('\n')[1]!
    expect(preview.indexOf('b@')).toBeLessThan(preview.indexOf('a@'))
    // the datums are still Pachyderm's: their files come in input-name order in --json
    const [d] = await rp.json(['list', 'datum', `ba@${job.job.id}`])
    expect(d.data.map((f: {file: {commit: {repo: {name: string}}}}) => f.file.commit.repo.name)).toEqual(['a', 'b'])
    expect(await rp.ok(['get', 'file', 'ba@master:/both'])).toBe('b1\na1\n')
  })
})

describe('pipeline defaults (pachctl create/inspect/update/delete defaults)', () => {
  it('fill what specs leave out: cluster, then project, then the spec (null deletes); --regenerate updates pipelines', {timeout: TIMEOUT}, async (ctx) => {
    const rp = await project(ctx, 'local')
    await rp.ok(['create', 'repo', 'in'])
    await putTree(rp, 'in', localTree(rp.p, 'local-in', {f: 'f\n'}))
    const plain = {pipeline: {name: 'p'}, transform: {cmd: ['sh', '-c', 'cp /pfs/in/* /pfs/out/']}, input: {pfs: {repo: 'in', glob: '/*'}}}
    await rp.ok(['create', 'pipeline', '-f', writeSpec(rp.p, 'p', plain)])
    const details = async (name: string) => (await rp.json(['inspect', 'pipeline', name])).details
    expect((await details('p')).datum_tries).toBe(3)

    // project defaults (camelCase like protojson), previewed, then set and applied to p
    const defaults = {createPipelineRequest: {datumTries: 7, transform: {image: 'pach-test/busybox:1'}}}
    const dry = await rp.run(['create', 'defaults', '--regenerate', '--dry-run'], {input: JSON.stringify(defaults)})
    expect(dry.stdout).toBe('affected pipelines:\n\t p\n')
    expect(await rp.json(['inspect', 'defaults'])).toEqual({})
    expect((await rp.json(['inspect', 'pipeline', 'p'])).version).toBe(1)
    expect(await rp.ok(['create', 'defaults', '--regenerate'], {input: JSON.stringify(defaults)})).toBe('affected pipelines:\n\t p\n')
    expect(await rp.json(['inspect', 'defaults'])).toEqual(defaults)
    expect(JSON.parse(await rp.ok(['inspect', 'defaults']))).toEqual(defaults)
    const p = await rp.json(['inspect', 'pipeline', 'p'])
    expect([p.version, p.details.datum_tries, p.details.transform.image]).toEqual([2, 7, 'pach-test/busybox:1'])
    expect(JSON.parse(p.user_spec_json)).toEqual(plain) // the user's spec is kept as written

    // cluster defaults sit under project defaults; a spec's null deletes a default
    await rp.ok(['create', 'defaults', '--cluster', '-f', writeSpec(rp.p, 'cluster', {create_pipeline_request: {datum_tries: 2, parallelism_spec: {constant: 2}}})])
    const q = {...plain, pipeline: {name: 'q'}, transform: {...plain.transform, image: null}}
    const [eff] = await rp.json(['create', 'pipeline', '-f', writeSpec(rp.p, 'q', q), '--dry-run'])
    expect([eff.datum_tries, eff.parallelism_spec.constant, eff.transform.image]).toEqual([7, 2, 'ubuntu:20.04'])
    // p was made before the cluster defaults: regenerating would give it their parallelism
    expect(await rp.ok(['update', 'defaults', '--regenerate', '--dry-run'], {input: JSON.stringify(defaults)})).toBe('affected pipelines:\n\t p\n')
    expect(await rp.ok(['update', 'defaults', '--regenerate', '--dry-run', '--project', 'default', '--cluster'], {input: JSON.stringify({create_pipeline_request: {}})})).toBe('no affected pipelines\n')

    // bad defaults: every problem, nothing stored
    const bad = await rp.run(['create', 'defaults'], {input: JSON.stringify({create_pipeline_request: {datum_tries: 'x', foo: 1}})})
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr.split('\n').filter(Boolean)).toEqual([
      'pach: <stdin>: create_pipeline_request.datum_tries must be an integer (a number or a numeric string), got string "x"',
      'pach: <stdin>: unknown field create_pipeline_request.foo (field names are snake_case or lowerCamelCase, as in Pachyderm)',
    ])
    expect(await rp.json(['inspect', 'defaults'])).toEqual(defaults)

    // deleting the project defaults leaves the cluster's; regenerate applies that
    expect(await rp.ok(['delete', 'defaults', '--regenerate'])).toBe('affected pipelines:\n\t p\n')
    expect(await rp.json(['inspect', 'defaults'])).toEqual({})
    const after = await details('p')
    expect([after.datum_tries, after.parallelism_spec.constant, after.transform.image]).toEqual([2, 2, 'ubuntu:20.04'])
    expect(await rp.json(['inspect', 'defaults', '--cluster'])).toEqual({create_pipeline_request: {datum_tries: 2, parallelism_spec: {constant: 2}}})
    expectUserError(await rp.run(['inspect', 'defaults', '--project', 'nope']), 4, /project nope not found/)

    // a deleted project's defaults go with it: a project made again under its name has none
    await rp.ok(['create', 'project', 'lab'])
    await rp.ok(['create', 'defaults', '--project', 'lab'], {input: JSON.stringify({create_pipeline_request: {datum_tries: 5}})})
    expect(await rp.json(['inspect', 'defaults', '--project', 'lab'])).toEqual({create_pipeline_request: {datum_tries: 5}})
    await rp.ok(['delete', 'project', 'lab'])
    await rp.ok(['create', 'project', 'lab'])
    expect(await rp.json(['inspect', 'defaults', '--project', 'lab'])).toEqual({})
  })
})
