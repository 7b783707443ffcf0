/**
 * E2E: pachctl's `--raw [-o json|yaml]` next to pach's `--json`. For every list and inspect
 * command over repos, branches, commits, files, pipelines, jobs and datums: --raw is a stream
 * of one indented JSON object per item (read here as jq reads it, value by value), -o yaml one
 * YAML document per item separated by `---`, both carrying exactly the objects of --json (one
 * document, an array for lists); an empty list prints nothing; a failure prints nothing on
 * stdout; --json with --raw is a usage error.
 */
import {describe, expect, it, vi} from 'vitest'
import YAML from 'yaml'
import {tmpProject, type Project} from '../helpers/cli.js'
import {bind, localTree, pipeline, writeSpec} from './pipelines-util.js'
import {expectUserError, ID_RE, jsonStream} from './_util.js'

vi.setConfig({testTimeout: 600_000})

type Obj = Record<string, any>

/** jq's path lookup: `.a.b` of one object. */
const jq = (o: Obj, path: string): unknown => path.split('.').filter(Boolean).reduce<any>((v, k) => v?.[k], o)

/** Check every raw form of `args` against --json; returns the items. */
async function rawForms(p: Project, args: string[], expectCount?: number): Promise<Obj[]> {
  const doc = JSON.parse(await p.ok([...args, '--json']))
  const items: Obj[] = Array.isArray(doc) ? doc : [doc]
  if (expectCount !== undefined) expect(items, args.join(' ')).toHaveLength(expectCount)

  const raw = await p.ok([...args, '--raw'])
  expect(jsonStream(raw), args.join(' ')).toEqual(items)
  // pachctl's encoder: each object indented by 2, one after the other (here: newline-ended)
  expect(raw).toBe(items.map((o) => JSON.stringify(o, null, 2) + '\n').join(''))
  expect(await p.ok([...args, '--raw', '-o', 'json'])).toBe(raw)
  expect(await p.ok([...args, '-o', 'json'])).toBe(raw)

  const yaml = await p.ok([...args, '--raw', '-o', 'yaml'])
  expect(await p.ok([...args, '-o', 'yaml'])).toBe(yaml)
  const docs = YAML.parseAllDocuments(yaml).map((d) => d.toJS())
  expect(docs, args.join(' ')).toEqual(items)
  // documents after the first open with "---" (Go's yaml encoder), the first does not
  expect(yaml.split(/^---\n/m)).toHaveLength(items.length)
  return items
}

describe('--raw / -o json|yaml (pachctl) and --json (pach)', () => {
  it('repos, branches, commits, files, pipelines, jobs, datums: list and inspect', async () => {
    const p = await tmpProject()
    const rp = bind(p, 'local')
    await p.ok(['create', 'repo', 'images'])
    await p.ok(['create', 'repo', 'labels'])
    await p.ok(['create', 'branch', 'images@dev'])
    const dir = localTree(p, 'local', {'a.txt': 'A\n', 'b.txt': 'B\n', 'c.txt': 'C"}{\n'})
    await p.ok(['put', 'file', 'images@master', '-f', `${dir}/a.txt`])
    await p.ok(['put', 'file', 'images@master', '-f', `${dir}/b.txt`, '-f', `${dir}/c.txt`])
    await rp.ok(['create', 'pipeline', '-f', writeSpec(p, 'cp', pipeline('cp', 'cp "$images" /pfs/out/', {pfs: {repo: 'images', glob: '/*'}}))])

    // `pach list repo --raw | jq .repo.name`
    const repos = await rawForms(p, ['list', 'repo'], 3)
    expect(repos.map((r) => jq(r, '.repo.name')).sort()).toEqual(['cp', 'images', 'labels'])
    for (const r of repos) expect(r.repo).toMatchObject({type: 'user', project: {name: 'default'}})
    await rawForms(p, ['inspect', 'repo', 'images'], 1)

    const branches = await rawForms(p, ['list', 'branch', 'images'], 2)
    expect(branches.map((b) => jq(b, '.branch.name')).sort()).toEqual(['dev', 'master'])
    await rawForms(p, ['inspect', 'branch', 'images@master'], 1)

    const commits = await rawForms(p, ['list', 'commit', 'images@master'], 2)
    for (const c of commits) expect(jq(c, '.commit.id')).toMatch(ID_RE)
    const sets = await rawForms(p, ['list', 'commit'])
    expect(sets.length).toBeGreaterThanOrEqual(2)
    for (const s of sets) expect(jq(s, '.commit_set.id')).toMatch(ID_RE)
    await rawForms(p, ['inspect', 'commit', 'images@master'], 1)

    const files = await rawForms(p, ['list', 'file', 'images@master'], 3)
    expect(files.map((f) => jq(f, '.file.path'))).toEqual(['/a.txt', '/b.txt', '/c.txt'])
    await rawForms(p, ['glob', 'file', 'images@master:/*.txt'], 3)
    await rawForms(p, ['inspect', 'file', 'images@master:/c.txt'], 1)

    const pipelines = await rawForms(p, ['list', 'pipeline'], 1)
    expect(jq(pipelines[0]!, '.pipeline.name')).toBe('cp')
    await rawForms(p, ['inspect', 'pipeline', 'cp'], 1)

    const jobs = await rawForms(p, ['list', 'job'], 1)
    expect(jq(jobs[0]!, '.job.pipeline.name')).toBe('cp')
    expect(jq(jobs[0]!, '.state')).toBe('JOB_SUCCESS')
    const jobId = jq(jobs[0]!, '.job.id') as string
    await rawForms(p, ['inspect', 'job', `cp@${jobId}`], 1)

    const datums = await rawForms(p, ['list', 'datum', `cp@${jobId}`], 3)
    for (const d of datums) expect(jq(d, '.datum.id')).toMatch(/^[0-9a-f]{64}$/)
    await rawForms(p, ['inspect', 'datum', `cp@${jobId}`, jq(datums[0]!, '.datum.id') as string], 1)
  })

  it('an empty list prints nothing; --json prints []', async () => {
    const p = await tmpProject()
    expect(await p.ok(['list', 'repo', '--raw'])).toBe('')
    expect(await p.ok(['list', 'repo', '-o', 'yaml'])).toBe('')
    expect(await p.ok(['list', 'repo', '--json'])).toBe('[]\n')
  })

  it('a failure: one stderr line and nothing on stdout with --raw; the JSON envelope stays --json only', async () => {
    const p = await tmpProject()
    for (const form of [['--raw'], ['-o', 'yaml'], ['--raw', '-o', 'json']]) {
      const r = await p.run(['inspect', 'repo', 'nope', ...form])
      expectUserError(r, 4, /repo nope not found/)
      expect(r.stdout).toBe('')
    }
    const j = await p.run(['inspect', 'repo', 'nope', '--json'])
    expect(j.json().error.code).toBe('REPO_NOT_FOUND')
  })

  it('--json with --raw or -o is a usage error (exit 2)', async () => {
    const p = await tmpProject()
    expectUserError(await p.run(['list', 'repo', '--json', '--raw']), 2, /--json and --raw are two output forms; use one/)
    expectUserError(await p.run(['list', 'repo', '--json', '-o', 'yaml']), 2, /--json and -o are two output forms/)
  })
})
