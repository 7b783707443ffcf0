/**
 * Concurrency torture (issue 4): several pach processes on one `.pach` at once.
 *
 * - WRITERS clients, each running OPS `pach put file` processes one after another, half into
 *   one shared repo (every put a one-off commit on the same branch) and half into the
 *   client's own repo, while two `pach run` processes race for the same pending job (local
 *   runner, one `sleep` per datum, so the job is running the whole time).
 * - Afterwards: every put exited 0 and made exactly one commit (none lost, none duplicated:
 *   the shared branch's history is a chain of WRITERS*OPS/2 commits, each holding every
 *   file of the ones before it); no "SQLITE_BUSY" / "database is locked" reached the user;
 *   the job succeeded with the right output; every datum ran exactly once (each appends a
 *   line to a host file named after it); `fsck` is clean.
 *
 * Counts: PACH_CONCURRENCY_OPS (default 50 per client, as the issue asks) and
 * PACH_CONCURRENCY_WRITERS (default 4).
 */
import {execa} from 'execa'
import {mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {BIN, tmpProject, type RunResult} from '../helpers/cli.js'

const WRITERS = Number(process.env.PACH_CONCURRENCY_WRITERS ?? 4)
const OPS = Number(process.env.PACH_CONCURRENCY_OPS ?? 50)
const DATUMS = 24
const LOCK_RE = /SQLITE_BUSY|database is locked|SQLITE_LOCKED/i

describe('concurrency', () => {
  it(`${WRITERS} clients × ${OPS} puts (shared and own repos) while two pach run race for one job`, {timeout: 900_000}, async (ctx) => {
    const p = await tmpProject(true, ctx)
    const env = {PACH_RUNNER: 'local', PACH_DETACH: ''}
    const pach = (args: string[], opts: {input?: string; env?: Record<string, string>} = {}): Promise<RunResult> =>
      execa('node', [BIN, ...args], {cwd: p.dir, env: {...env, ...opts.env}, input: opts.input, reject: false, stripFinalNewline: false}).then((r) => ({
        stdout: String(r.stdout),
        stderr: String(r.stderr),
        exitCode: r.exitCode ?? -1,
      }))
    const ok = async (args: string[], opts: {input?: string; env?: Record<string, string>} = {}) => {
      const r = await pach(args, opts)
      expect(r.exitCode, `pach ${args.join(' ')}\n${r.stderr}`).toBe(0)
      return r.stdout
    }

    // the job: DATUMS files, each datum sleeps and records that it ran in a host dir
    const ran = join(p.dir, 'ran')
    mkdirSync(ran)
    const src = join(p.dir, 'src')
    mkdirSync(src)
    for (let i = 0; i < DATUMS; i++) writeFileSync(join(src, `f${String(i).padStart(2, '0')}`), `datum ${i}\n`)
    await ok(['create', 'repo', 'slow'])
    await ok(['create', 'repo', 'shared'])
    for (let w = 0; w < WRITERS; w++) await ok(['create', 'repo', `own${w}`])
    await ok(['put', 'file', 'slow@master', '-r', '-f', src])
    const spec = {
      pipeline: {name: 'work'},
      input: {pfs: {repo: 'slow', glob: '/*/*'}}, // put -r -f src puts the files under /src
      transform: {cmd: ['sh', '-c', `n=$(basename $slow); echo x >> "$RAN/$n"; sleep 0.4; tr a-z A-Z < $slow > /pfs/out/$n`], env: {RAN: ran}},
      parallelism_spec: {constant: 2},
    }
    writeFileSync(join(p.dir, 'work.json'), JSON.stringify(spec))
    await ok(['create', 'pipeline', '-f', 'work.json'], {env: {PACH_DETACH: '1'}})
    expect(JSON.parse(await ok(['list', 'job', '-p', 'work', '--json']))[0].state).toBe('JOB_CREATED')

    // two runners race for the job while the writers write
    const runs = [pach(['run']), pach(['run'])]
    const failures: string[] = []
    const writer = async (w: number) => {
      for (let k = 0; k < OPS; k++) {
        const target = k % 2 === 0 ? `shared@master:/w${w}/k${k}` : `own${w}@master:/k${k}`
        const r = await pach(['put', 'file', target, '-f', '-'], {input: `${w}/${k}\n`})
        if (r.exitCode !== 0 || LOCK_RE.test(r.stderr)) failures.push(`put ${target}: exit ${r.exitCode}: ${r.stderr.trim()}`)
      }
    }
    const t0 = Date.now()
    await Promise.all(Array.from({length: WRITERS}, (_, w) => writer(w)))
    const writeMs = Date.now() - t0
    const runResults = await Promise.all(runs)
    expect(failures).toEqual([])
    for (const r of runResults) {
      expect(r.exitCode, r.stderr).toBe(0)
      expect(r.stderr).not.toMatch(LOCK_RE)
    }

    // shared: one commit per put, chained, the head holding every file
    const sharedPuts = WRITERS * Math.ceil(OPS / 2)
    const commits = JSON.parse(await ok(['list', 'commit', 'shared@master', '--json'])) as {commit: {id: string}; parent_commit?: {id: string}}[]
    expect(commits).toHaveLength(sharedPuts)
    expect(new Set(commits.map((c) => c.commit.id)).size).toBe(sharedPuts)
    for (let i = 0; i + 1 < commits.length; i++) expect(commits[i]!.parent_commit?.id).toBe(commits[i + 1]!.commit.id)
    const shared = JSON.parse(await ok(['glob', 'file', 'shared@master:/**', '--json'])) as {file: {path: string}; file_type: string}[]
    const sharedFiles = shared.filter((f) => f.file_type === 'FILE').map((f) => f.file.path)
    expect(sharedFiles).toHaveLength(sharedPuts)
    for (let w = 0; w < WRITERS; w++) {
      const own = JSON.parse(await ok(['list', 'commit', `own${w}@master`, '--json'])) as unknown[]
      expect(own).toHaveLength(Math.floor(OPS / 2))
      const files = JSON.parse(await ok(['list', 'file', `own${w}@master:/`, '--json'])) as unknown[]
      expect(files).toHaveLength(Math.floor(OPS / 2))
    }
    // contents of a sample
    expect(await ok(['get', 'file', `shared@master:/w${WRITERS - 1}/k0`])).toBe(`${WRITERS - 1}/0\n`)
    expect(await ok(['get', 'file', 'own0@master:/k1'])).toBe('0/1\n')

    // the job: succeeded once, every datum ran exactly once, right output
    const jobs = JSON.parse(await ok(['list', 'job', '-p', 'work', '--json'])) as {state: string; data_processed: number}[]
    expect(jobs).toHaveLength(1)
    expect(jobs[0]).toMatchObject({state: 'JOB_SUCCESS', data_processed: DATUMS})
    const counts = readdirSync(ran).map((n) => [n, readFileSync(join(ran, n), 'utf8')])
    expect(counts).toHaveLength(DATUMS)
    for (const [n, c] of counts) expect(c, `datum ${n} ran ${c!.length / 2} times`).toBe('x\n')
    expect(await ok(['get', 'file', 'work@master:/f07'])).toBe('DATUM 7\n')

    await ok(['fsck'])
    ctx.annotate(`${WRITERS * OPS} puts by ${WRITERS} clients in ${(writeMs / 1000).toFixed(1)} s alongside a ${DATUMS}-datum job and two pach run`)
  })
})
