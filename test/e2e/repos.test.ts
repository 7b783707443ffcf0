/**
 * E2E: init, project discovery, repos and projects (pachctl create/list/inspect/update/delete).
 */
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it, vi} from 'vitest'
import {tmpProject} from '../helpers/cli.js'
import {expectJsonError, expectUserError, putText} from './_util.js'

// each test makes ~10-20 CLI calls; give a loaded machine room (no test depends on timing)
vi.setConfig({testTimeout: 240_000})

describe('init and project discovery', () => {
  it('init twice in the same directory is refused (exit 5), the first init stands', async () => {
    const p = await tmpProject()
    expect(existsSync(join(p.dir, '.pach'))).toBe(true)
    const r = await p.run(['init'])
    expectUserError(r, 5, /already/)
    // the existing project still works
    await p.ok(['create', 'repo', 'still-works'])
    const repos = await p.json(['list', 'repo'])
    expect(repos.map((x: any) => x.repo.name)).toEqual(['still-works'])
  })

  it('init DIR creates DIR/.pach and prints the path', async () => {
    const p = await tmpProject(false)
    const out = await p.ok(['init', 'sub'])
    expect(out).toContain(join(p.dir, 'sub', '.pach'))
    expect(existsSync(join(p.dir, 'sub', '.pach'))).toBe(true)
    const j = await p.json(['list', 'repo'], {}).catch((e) => e)
    // p.dir itself is not a project
    expect(j).toBeInstanceOf(Error)
    expect(await p.ok(['list', 'repo', '--json'], {cwd: join(p.dir, 'sub')})).toBe('[]\n')
  })

  it('outside a project: exit 10 with a one-line hint mentioning `pach init`', async () => {
    const p = await tmpProject(false)
    const r = await p.run(['list', 'repo'])
    const line = expectUserError(r, 10)
    expect(line).toContain('pach init')
    expect(r.stdout).toBe('')
    // with --json: a JSON error envelope on stdout, still one line on stderr
    const j = await p.run(['list', 'repo', '--json'])
    const err = expectJsonError(j, 10)
    expect(err.code).toBe('NOT_A_PACH_REPO')
  })

  it('an unknown command is one usage line (exit 2) naming the closest command; `help` works without a plugin', async () => {
    const p = await tmpProject(false)
    const r = await p.run(['list', 'repox'])
    const line = expectUserError(r, 2, /unknown command "list repox"/)
    expect(line).toContain('pach list repo')
    expectUserError(await p.run(['frobnicate']), 2, /unknown command "frobnicate" \(run `pach help`/)
    const help = await p.ok(['help', 'list', 'repo'])
    expect(help).toContain('USAGE')
    expect(help).toContain('pach list repo')
  })

  it('--pach-dir and PACH_DIR select a project from another cwd; a subdirectory finds the project upward', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'remote-one'])
    const other = await tmpProject(false)
    const names = (x: string) => (JSON.parse(x) as any[]).map((r) => r.repo.name)

    expect(names(await other.ok(['list', 'repo', '--json', '--pach-dir', join(p.dir, '.pach')]))).toEqual(['remote-one'])
    expect(names(await other.ok(['list', 'repo', '--json'], {env: {PACH_DIR: join(p.dir, '.pach')}}))).toEqual(['remote-one'])
    // a --pach-dir that is not a project
    expectUserError(await other.run(['list', 'repo', '--pach-dir', other.dir]), 10)
  })
})

describe('repos', () => {
  it('create / inspect / list / update / delete with pachctl JSON shapes', async () => {
    const p = await tmpProject()
    const created = await p.json(['create', 'repo', 'images', '-d', 'raw images'])
    expect(created.repo).toEqual({name: 'images', type: 'user', project: {name: 'default'}})

    const info = await p.json(['inspect', 'repo', 'images'])
    expect(info).toMatchObject({
      repo: {name: 'images', type: 'user', project: {name: 'default'}},
      description: 'raw images',
      branches: [],
      details: {size_bytes: 0},
    })
    expect(Number.isNaN(Date.parse(info.created))).toBe(false)

    // content makes a master branch and a size
    await putText(p, 'images@master:/a.txt', 'hello world')
    const after = await p.json(['inspect', 'repo', 'images'])
    expect(after.details.size_bytes).toBe(11)
    expect(after.branches.map((b: any) => b.name)).toEqual(['master'])
    expect(after.branches[0].repo.name).toBe('images')

    // plural alias
    const list = await p.json(['list', 'repos'])
    expect(list).toHaveLength(1)
    expect(list[0]).toMatchObject({repo: {name: 'images', type: 'user', project: {name: 'default'}}, description: 'raw images', details: {size_bytes: 11}})

    await p.ok(['update', 'repo', 'images', '-d', 'new text'])
    expect((await p.json(['inspect', 'repo', 'images'])).description).toBe('new text')

    // human list has the pachctl header
    const human = await p.ok(['list', 'repo'])
    expect(human.split('\n')[0]).toMatch(/PROJECT\s+NAME\s+CREATED\s+SIZE \(MASTER\)\s+DESCRIPTION/)

    await p.ok(['delete', 'repo', 'images'])
    expectUserError(await p.run(['inspect', 'repo', 'images']), 4)
    expect(await p.json(['list', 'repo'])).toEqual([])
  })

  it('invalid names exit 2 (one line, nothing created); duplicates exit 5; unknown repos exit 4', async () => {
    const p = await tmpProject()
    for (const bad of ['bad name', 'a/b', 'x.y.z']) {
      expectUserError(await p.run(['create', 'repo', bad]), 2, /invalid/)
    }
    expect(await p.json(['list', 'repo'])).toEqual([])

    await p.ok(['create', 'repo', 'ok_name-1'])
    expectUserError(await p.run(['create', 'repo', 'ok_name-1']), 5, /already exists/)
    const dup = await p.run(['create', 'repo', 'ok_name-1', '--json'])
    expectJsonError(dup, 5, 'REPO_EXISTS')

    expectUserError(await p.run(['inspect', 'repo', 'nope']), 4, /nope/)
    expectUserError(await p.run(['delete', 'repo', 'nope']), 4)
    expectUserError(await p.run(['update', 'repo', 'nope', '-d', 'x']), 4)
    expectUserError(await p.run(['list', 'commit', 'nope']), 4)
  })

  it('list repo --all shows only user repos when there are no pipelines; --type filters; delete repo --all', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'repo', 'r1'])
    await p.ok(['create', 'repo', 'r2'])
    const all = await p.json(['list', 'repo', '--all'])
    expect(all.map((r: any) => r.repo.name).sort()).toEqual(['r1', 'r2'])
    expect(all.every((r: any) => r.repo.type === 'user')).toBe(true)
    expect(await p.json(['list', 'repo', '--type', 'meta'])).toEqual([])
    expect(await p.json(['list', 'repo', '--type', 'spec'])).toEqual([])
    // delete repo --all removes every user repo of the project
    await p.ok(['delete', 'repo', '--all'])
    expect(await p.json(['list', 'repo'])).toEqual([])
  })
})

describe('projects', () => {
  it('create / list / inspect / update projects; --project namespaces repos', async () => {
    const p = await tmpProject()
    const projects0 = await p.json(['list', 'project'])
    expect(projects0.map((x: any) => x.project.name)).toEqual(['default'])

    await p.ok(['create', 'project', 'ml', '-d', 'machine learning'])
    const info = await p.json(['inspect', 'project', 'ml'])
    expect(info).toMatchObject({project: {name: 'ml'}, description: 'machine learning'})
    expect((await p.json(['list', 'projects'])).map((x: any) => x.project.name).sort()).toEqual(['default', 'ml'])
    await p.ok(['update', 'project', 'ml', '-d', 'changed'])
    expect((await p.json(['inspect', 'project', 'ml'])).description).toBe('changed')

    // same repo name in two projects
    await p.ok(['create', 'repo', 'data', '--project', 'ml'])
    await p.ok(['create', 'repo', 'data'])
    await putText(p, 'data@master:/only-in-ml.txt', 'x', ['--project', 'ml'])
    const mlRepos = await p.json(['list', 'repo', '--project', 'ml'])
    expect(mlRepos).toHaveLength(1)
    expect(mlRepos[0].repo).toEqual({name: 'data', type: 'user', project: {name: 'ml'}})
    expect(mlRepos[0].details.size_bytes).toBe(1)
    const defRepos = await p.json(['list', 'repo'])
    expect(defRepos).toHaveLength(1)
    expect(defRepos[0].repo.project.name).toBe('default')
    expect(defRepos[0].details.size_bytes).toBe(0)
    expect(await p.json(['list', 'repo', '-A'])).toHaveLength(2)
    // PACH_PROJECT env selects the project too
    const viaEnv = JSON.parse(await p.ok(['list', 'file', 'data@master', '--json'], {env: {PACH_PROJECT: 'ml'}}))
    expect(viaEnv.map((f: any) => f.file.path)).toEqual(['/only-in-ml.txt'])

    // errors
    expectUserError(await p.run(['create', 'project', 'ml']), 5)
    expectUserError(await p.run(['create', 'project', 'bad name']), 2)
    expectUserError(await p.run(['inspect', 'project', 'nope']), 4)
    expectUserError(await p.run(['create', 'repo', 'x', '--project', 'nope']), 4)
  })

  it('delete project is refused while it has repos, unless --force', async () => {
    const p = await tmpProject()
    await p.ok(['create', 'project', 'tmp'])
    await p.ok(['create', 'repo', 'r', '--project', 'tmp'])
    expectUserError(await p.run(['delete', 'project', 'tmp']), 5, /repo/)
    expect((await p.json(['inspect', 'project', 'tmp'])).project.name).toBe('tmp')
    await p.ok(['delete', 'project', 'tmp', '--force'])
    expectUserError(await p.run(['inspect', 'project', 'tmp']), 4)
    expect(await p.json(['list', 'repo', '-A'])).toEqual([])
    // an empty project deletes without --force
    await p.ok(['create', 'project', 'empty'])
    await p.ok(['delete', 'project', 'empty'])
    expect((await p.json(['list', 'project'])).map((x: any) => x.project.name)).toEqual(['default'])
  })
})
