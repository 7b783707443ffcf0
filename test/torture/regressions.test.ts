/**
 * Regression tests for the faults the crash torture (test/torture/crash.ts) found, each
 * reproduced deterministically: the state a SIGKILL leaves behind is built directly.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import {join} from 'node:path'
import Database from 'better-sqlite3'
import {describe, expect, it, onTestFinished} from 'vitest'
import {defaultConfig, writeConfig} from '../../src/core/config.js'
import {initPach, openPach} from '../../src/core/pach.js'
import {parseCommit} from '../../src/core/pfs/refs.js'
import type {Runner} from '../../src/core/pps/runner.js'
import {parseSpecs} from '../../src/core/pps/spec/index.js'
import {createDockerRunner} from '../../src/runner/docker.js'
import {CONTROL_LABEL, OWNER_LABEL, WORKER_LABEL} from '../../src/runner/container-policy.js'
import {createLocalRunner} from '../../src/runner/local.js'
import {BIN} from '../helpers/cli.js'
import {dockerProblem, Proj, randomBytesFor} from './crash.js'

function tmpDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pach-regress-'))
  onTestFinished(() => rmSync(dir, {recursive: true, force: true}))
  return dir
}

describe('pach init killed half-way', () => {
  it('leaves no pach.db unless the default project is in it', async () => {
    const dir = tmpDir()
    // an init that dies after the schema exists but before the default project row (a
    // throwing clock stands in for the SIGKILL; config.json is there from the first attempt)
    mkdirSync(join(dir, '.pach'))
    writeConfig(join(dir, '.pach'), defaultConfig('2026-01-01T00:00:00.000Z'))
    expect(() =>
      initPach(dir, {
        now: () => {
          throw new Error('killed')
        },
      }),
    ).toThrow('killed')
    expect(readdirSync(join(dir, '.pach')).filter((f) => f.startsWith('pach.db'))).toEqual([])
    // what a SIGKILL leaves instead: a temporary database of a dead process
    const dead = spawnSync('true').pid!
    writeFileSync(join(dir, '.pach', `pach.db.init-${dead}`), 'half')

    const p = new Proj(dir, BIN)
    const notYet = await p.run(['list', 'repo'])
    expect(notYet.code).toBe(10) // not a pach project: init did not finish
    await p.ok(['init'])
    expect(readdirSync(join(dir, '.pach')).filter((f) => f.startsWith('pach.db'))).toEqual(['pach.db'])
    await p.ok(['create', 'repo', 'r'])
    expect(await p.json(['list', 'project'])).toMatchObject([{project: {name: 'default'}}])
  })
})

/** A pid that is certainly not running any more. */
function deadPid(): number {
  const r = spawnSync('true')
  return r.pid!
}

const docker = (...args: string[]) => spawnSync('docker', args, {encoding: 'utf8', timeout: 60_000})

describe('docker runner after a killed pach', () => {
  const problem = dockerProblem()
  const dit = problem && process.env.CI !== 'true' ? it.skip : it

  dit('removes the worker containers (and control dirs) of dead pach processes, and only those', async () => {
    if (problem) throw new Error(`docker unavailable in CI: ${problem}`)
    const ctl = mkdtempSync(join(tmpdir(), 'pach-docker-'))
    mkdirSync(join(ctl, 'w'))
    const create = (owner: string, control: string) => {
      const r = docker('create', '--label', `${WORKER_LABEL}=torture`, '--label', `${OWNER_LABEL}=${owner}`, '--label', `${CONTROL_LABEL}=${control}`, 'pach-test/busybox:1', 'sleep', '600')
      expect(r.status, r.stderr).toBe(0)
      const id = r.stdout.trim()
      onTestFinished(() => void docker('rm', '-f', id))
      return id
    }
    const orphan = create(`${hostname()}/${deadPid()}`, ctl)
    const alive = create(`${hostname()}/${process.pid}`, '/nonexistent/pach-docker-x')
    const elsewhere = create(`another-host/${deadPid()}`, '/nonexistent/pach-docker-y')
    onTestFinished(() => rmSync(ctl, {recursive: true, force: true}))

    const runner = await createDockerRunner()
    await runner.close()

    const exists = (id: string) => docker('inspect', id).status === 0
    expect(exists(orphan)).toBe(false)
    expect(existsSync(ctl)).toBe(false)
    expect(exists(alive)).toBe(true)
    expect(exists(elsewhere)).toBe(true)
  })
})

describe('local runner after a killed pach', () => {
  it('removes the scratch dirs of dead pach processes in the temp dir, and only those', async () => {
    const dead = deadPid()
    const mk = (name: string) => {
      const dir = join(tmpdir(), name)
      mkdirSync(dir)
      writeFileSync(join(dir, 'stdout'), 'left behind')
      onTestFinished(() => rmSync(dir, {recursive: true, force: true}))
      return dir
    }
    const orphans = [mk(`pach-worker-${dead}-aaaaaa`), mk(`pach-local-${dead}-bbbbbb`)]
    const mine = mk(`pach-worker-${process.pid}-cccccc`)
    const unrelated = mk(`pach-worker-notapid-${dead}`)
    await createLocalRunner({sandbox: 'none'})
    for (const d of orphans) expect(existsSync(d), d).toBe(false)
    expect(existsSync(mine)).toBe(true)
    expect(existsSync(unrelated)).toBe(true)
  })
})

describe('fsck after a writer was killed', () => {
  it('reports the temp packs it left as garbage (and not those of a live writer); gc removes them', async () => {
    const dir = tmpDir()
    const p = new Proj(dir, BIN)
    await p.ok(['init'])
    // what a put killed mid-pack leaves: a partial temp pack in objects/tmp
    const tmp = join(dir, '.pach', 'objects', 'tmp', `${'ab'.repeat(32)}.${deadPid()}.0.tmp`)
    writeFileSync(tmp, Buffer.alloc(5000, 1))
    const report = await p.json(['fsck'])
    expect(report.ok).toBe(true)
    expect(report.garbage).toMatchObject({tmp_files: 1, bytes: 5000})
    expect(await p.ok(['fsck'])).toContain('1 temp files of interrupted writes')

    // while a live process holds a write lease, the temp files are its work in progress
    const db = new Database(join(dir, '.pach', 'pach.db'))
    db.prepare("INSERT INTO leases(id, kind, pid, host, started) VALUES ('x', 'write', ?, ?, '')").run(process.pid, hostname())
    db.close()
    expect((await p.json(['fsck'])).garbage).toMatchObject({tmp_files: 0, bytes: 0})
    const db2 = new Database(join(dir, '.pach', 'pach.db'))
    db2.prepare("DELETE FROM leases WHERE id = 'x'").run()
    db2.close()

    await p.ok(['gc'])
    expect(existsSync(tmp)).toBe(false)
    expect((await p.json(['fsck'])).garbage).toMatchObject({packs: 0, blobs: 0, trees: 0, tmp_files: 0, bytes: 0})
  })
})

describe('gc and an OS crash', () => {
  it('unlinks a pack only after the transaction that unindexes it is synced (synchronous=FULL)', async () => {
    const dir = tmpDir()
    const p = new Proj(dir, BIN)
    await p.ok(['init'])
    await p.ok(['create', 'repo', 'g'])
    // one pack, mostly dead after the deletion (repacked), and a dropped commit's pack (deleted)
    mkdirSync(join(dir, 'in', 'live'), {recursive: true})
    mkdirSync(join(dir, 'in', 'dead'))
    for (let i = 0; i < 20; i++) writeFileSync(join(dir, 'in', 'live', `l${i}`), randomBytesFor(`l${i}`, 4096))
    for (let i = 0; i < 20; i++) writeFileSync(join(dir, 'in', 'dead', `d${i}`), randomBytesFor(`d${i}`, 65536))
    await p.ok(['start', 'commit', 'g@master'])
    await p.ok(['put', 'file', '-r', 'g@master:/in', '-f', join(dir, 'in')])
    await p.ok(['delete', 'file', 'g@master:/in/dead'])
    await p.ok(['finish', 'commit', 'g@master'])
    writeFileSync(join(dir, 'big'), randomBytesFor('big', 300_000))
    await p.ok(['put', 'file', 'g@master:/big', '-f', join(dir, 'big')])
    await p.ok(['delete', 'commit', 'g@master'])

    const pach = openPach({pachDir: join(dir, '.pach')})
    try {
      const modes: number[] = []
      const unlink = pach.ctx.store.deletePackFile.bind(pach.ctx.store)
      pach.ctx.store.deletePackFile = (hex: string) => {
        modes.push(Number(pach.db.pragma('synchronous', {simple: true})))
        unlink(hex)
      }
      const r = await pach.gc()
      expect(r.repacked_packs).toBe(1)
      expect(r.deleted_packs).toBeGreaterThanOrEqual(1)
      expect(modes.length).toBeGreaterThanOrEqual(2)
      expect(new Set(modes)).toEqual(new Set([2])) // FULL
      expect(Number(pach.db.pragma('synchronous', {simple: true}))).toBe(1) // NORMAL again
    } finally {
      pach.close()
    }
    expect((await p.json(['fsck'])).ok).toBe(true)
  })
})

describe('job scratch space after a killed pach run', () => {
  it('gc removes dirs of jobs no live process runs; pach run removes the dead run\'s dir when it recovers the job', async () => {
    const dir = tmpDir()
    const p = new Proj(dir, BIN, {PACH_RUNNER: 'local'})
    await p.ok(['init'])
    await p.ok(['create', 'repo', 'raw'])
    writeFileSync(join(dir, 'a'), 'a\n')
    await p.ok(['put', 'file', 'raw@master:/a', '-f', join(dir, 'a')])
    writeFileSync(join(dir, 'spec.json'), JSON.stringify({pipeline: {name: 'cp'}, transform: {image: 'x', cmd: ['sh', '-c', 'cp "$raw" /pfs/out/']}, input: {pfs: {repo: 'raw', glob: '/*'}}}))
    await p.ok(['create', 'pipeline', '-f', join(dir, 'spec.json')], {PACH_DETACH: ''})
    writeFileSync(join(dir, 'b'), 'b\n')
    const job = (await p.json<{commit: {id: string}}>(['put', 'file', 'raw@master:/b', '-f', join(dir, 'b')])).commit.id
    // what a SIGKILL mid-job leaves: the job running under a dead pid, and its scratch dir
    const jobs = join(dir, '.pach', 'tmp', 'jobs')
    const scratch = (name: string) => {
      mkdirSync(join(jobs, name, 'w0', 'pfs'), {recursive: true})
      writeFileSync(join(jobs, name, 'w0', 'pfs', 'input'), Buffer.alloc(10_000))
      return join(jobs, name)
    }
    const staleJob = (id: string) => {
      const db = new Database(join(dir, '.pach', 'pach.db'))
      db.prepare("UPDATE jobs SET state = 'JOB_RUNNING', lease_pid = ?, lease_host = ? WHERE id = ?").run(deadPid(), hostname(), id)
      db.close()
    }
    const killedRun = scratch(`cp-${job}`)
    staleJob(job)
    // the user stops the job instead of running it again: only gc can reclaim the dir
    await p.ok(['stop', 'job', `cp@${job}`])
    expect(existsSync(killedRun)).toBe(true)
    const stray = scratch('cp-0123456789abcdef0123456789abcdef.deleting-1-2')
    const gc = await p.json<{job_dirs: number}>(['gc'])
    expect(gc.job_dirs).toBe(2)
    expect(existsSync(killedRun)).toBe(false)
    expect(existsSync(stray)).toBe(false)

    // the usual recovery is the next `pach run`: it resets the job and removes the dead run's
    // dir, also when the job then never runs (here its commit was deleted after the kill)
    writeFileSync(join(dir, 'c'), 'c\n')
    const job2 = (await p.json<{commit: {id: string}}>(['put', 'file', 'raw@master:/c', '-f', join(dir, 'c')])).commit.id
    const killedRun2 = scratch(`cp-${job2}`)
    staleJob(job2)
    await p.ok(['delete', 'commit', job2])
    await p.ok(['run'])
    expect(existsSync(killedRun2)).toBe(false)
    expect((await p.json<{state: string}>(['inspect', 'job', `cp@${job2}`])).state).toBe('JOB_KILLED')
  })
})

describe('a job killed right after it finished', () => {
  it('has no scratch dir left: it is removed before the finish transaction commits', async () => {
    const dir = tmpDir()
    const pach = initPach(dir)
    onTestFinished(() => pach.close())
    pach.repos.create('default', 'raw')
    const text = (s: string) => async function* () {
      yield Buffer.from(s)
    }
    await pach.files.put('default', parseCommit('raw@master'), [{path: '/a', open: text('a')}, {path: '/b', open: text('b')}])
    const copy: Runner = {
      kind: 'fake',
      describe: () => 'fake',
      async startWorker(spec) {
        return {
          async run() {
            for (const n of readdirSync(join(spec.inputsDir, 'raw'))) writeFileSync(join(spec.outDir, n), readFileSync(join(spec.inputsDir, 'raw', n)))
            return {exitCode: 0, timedOut: false, durationMs: 0}
          },
          async close() {},
        }
      },
    }
    // observe the work dir at the instant the job row turns JOB_SUCCESS, inside the transaction
    const seen: boolean[] = []
    pach.db.function('work_dir_exists', (pipeline: unknown, id: unknown) => {
      seen.push(existsSync(join(pach.pachDir, 'tmp', 'jobs', `${pipeline}-${id}`)))
      return 0
    })
    pach.db.exec("CREATE TEMP TRIGGER seen AFTER UPDATE OF state ON jobs WHEN NEW.state = 'JOB_SUCCESS' BEGIN SELECT work_dir_exists(NEW.pipeline, NEW.id); END")
    pach.pipelines.put(parseSpecs(JSON.stringify({pipeline: {name: 'cp'}, transform: {cmd: ['cp']}, input: {pfs: {repo: 'raw', glob: '/*'}}}), 'cp.json').specs[0]!, {update: false, reprocess: false, file: 'cp.json'})
    const jobs = await pach.jobs.runPending({runner: async () => copy})
    expect(jobs.map((j) => j.state)).toEqual(['JOB_SUCCESS'])
    expect(seen).toEqual([false])
  })
})
