/**
 * Shared helpers for the pipeline (PPS) e2e suite (not a test file itself).
 *
 * Every scenario is written once as a function of the runner and run for `local` and
 * `docker`. Docker scenarios need an engine and the image `pach-test/busybox:1`
 * (`.ci/setup-docker.sh`): when either is missing they are skipped locally, and FAIL when
 * CI=true (a skipped test is not a passed test in CI).
 */
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {it} from 'vitest'
import {tmpProject, type Project, type RunResult} from '../helpers/cli.js'

export const IMAGE = 'pach-test/busybox:1'
export const RUNNERS = ['local', 'docker'] as const
export type RunnerName = (typeof RUNNERS)[number]
export const DATUM_RE = /^[0-9a-f]{64}$/

/** Generous per-test budget: a scenario makes 20-40 CLI calls and runs several jobs. */
export const SCENARIO_TIMEOUT = 600_000

let dockerChecked: string | undefined | null = null
/** Why the docker runner cannot be used here, or undefined when it can. */
export function dockerProblem(): string | undefined {
  if (dockerChecked !== null) return dockerChecked
  try {
    execFileSync('docker', ['info'], {stdio: 'ignore', timeout: 30_000})
  } catch (e) {
    return (dockerChecked = `\`docker info\` failed: ${(e as Error).message.split('\n')[0]}`)
  }
  try {
    execFileSync('docker', ['image', 'inspect', IMAGE], {stdio: 'ignore', timeout: 30_000})
  } catch {
    return (dockerChecked = `image ${IMAGE} is missing (run .ci/setup-docker.sh as root)`)
  }
  return (dockerChecked = undefined)
}

/**
 * Call inside `describe.each(RUNNERS)`: returns the `it` to use for this runner. For docker
 * without an engine/image: `it.skip` outside CI; with CI=true every test FAILS (its body is
 * replaced by the reason), so a CI run can never pass without having run them.
 */
export function runnerIt(runner: RunnerName): typeof it {
  if (runner !== 'docker') return it
  const problem = dockerProblem()
  if (!problem) return it
  if (process.env.CI === 'true') {
    const failing = (name: string, opts: object) =>
      it(name, opts, () => {
        throw new Error(`docker runner unavailable in CI: ${problem}`)
      })
    return failing as unknown as typeof it
  }
  return it.skip as unknown as typeof it
}

/** A fresh initialised project for a concurrent test (cleanup on that test's context), bound to a runner. */
export async function project(ctx: {onTestFinished: (fn: () => void) => void}, runner: RunnerName): Promise<RP> {
  return bind(await tmpProject(true, ctx), runner)
}

/** A project bound to a runner: every call carries PACH_RUNNER. */
export interface RP {
  p: Project
  runner: RunnerName
  run(args: string[], opts?: {input?: string | Buffer; cwd?: string; env?: Record<string, string>}): Promise<RunResult>
  ok(args: string[], opts?: {input?: string | Buffer; cwd?: string; env?: Record<string, string>}): Promise<string>
  json<T = any>(args: string[], opts?: {input?: string | Buffer; cwd?: string}): Promise<T>
  /** run and expect exit 0; returns the whole result (stderr carries job lines) */
  okr(args: string[], opts?: {input?: string | Buffer; cwd?: string}): Promise<RunResult>
}

export function bind(p: Project, runner: RunnerName): RP {
  const run: RP['run'] = (args, opts = {}) => p.run(args, {...opts, env: {PACH_RUNNER: runner, ...opts.env}})
  const okr: RP['okr'] = async (args, opts = {}) => {
    const r = await run(args, opts)
    if (r.exitCode !== 0) throw new Error(`pach ${args.join(' ')} exited ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
    return r
  }
  return {
    p,
    runner,
    run,
    okr,
    ok: async (args, opts) => (await okr(args, opts)).stdout,
    json: async (args, opts) => JSON.parse((await okr([...args, '--json'], opts)).stdout),
  }
}

/** Write a spec (an object or several) to <project>/specs/<file>.json; returns the path. */
export function writeSpec(p: Project, file: string, spec: unknown): string {
  const dir = join(p.dir, 'specs')
  mkdirSync(dir, {recursive: true})
  const path = join(dir, `${file}.json`)
  writeFileSync(path, JSON.stringify(spec, null, 2))
  return path
}

/** A spec with the test image; `input` and the rest as given. */
export function pipeline(name: string, cmd: string | string[], input: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const {transform, ...rest} = extra as {transform?: Record<string, unknown>}
  return {
    pipeline: {name},
    transform: {image: IMAGE, cmd: typeof cmd === 'string' ? ['sh', '-c', cmd] : cmd, ...transform},
    input,
    ...rest,
  }
}

/** Make local files under <project>/<sub>/ (paths relative, content as given); returns the dir. */
export function localTree(p: Project, sub: string, files: Record<string, string>): string {
  const dir = join(p.dir, sub)
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), {recursive: true})
    writeFileSync(join(dir, rel), content)
  }
  return dir
}

/** Put a local dir's content at the root of repo@master in ONE commit: `put file -r repo@master -f .` run inside it. */
export async function putTree(rp: RP, repo: string, dir: string): Promise<string> {
  const r = await rp.json(['put', 'file', '-r', `${repo}@master`, '-f', '.'], {cwd: dir})
  return r.commit.id as string
}

/** Every file of a commit (recursively) with its content, via one `get file -r -o`. */
export async function outputFiles(rp: RP, ref: string): Promise<Record<string, string>> {
  const dest = mkdtempSync(join(rp.p.dir, 'get-'))
  rmSync(dest, {recursive: true, force: true})
  await rp.ok(['get', 'file', '-r', `${ref}:/`, '-o', dest])
  const out: Record<string, string> = {}
  const walk = (d: string, rel: string) => {
    for (const n of readdirSync(d).sort()) {
      const abs = join(d, n)
      if (statSync(abs).isDirectory()) walk(abs, `${rel}/${n}`)
      else out[`${rel}/${n}`] = readFileSync(abs, 'utf8')
    }
  }
  walk(dest, '')
  rmSync(dest, {recursive: true, force: true})
  return out
}

export interface Job {
  job: {pipeline: {name: string}; id: string}
  state: string
  reason: string
  data_processed: number
  data_skipped: number
  data_total: number
  data_failed: number
  data_recovered: number
  output_commit: {id: string; repo: {name: string}}
  pipeline_version: number
  [k: string]: any
}

export interface Datum {
  datum: {id: string; job: {id: string}}
  state: string
  reason: string
  data: {file: {path: string; commit: {id: string; repo: {name: string}}}; file_type: string}[]
}

/** Jobs of a pipeline, newest first. */
export const jobs = (rp: RP, pipeline: string): Promise<Job[]> => rp.json(['list', 'job', '-p', pipeline])
export const lastJob = async (rp: RP, pipeline: string): Promise<Job> => (await jobs(rp, pipeline))[0]!

/** The newest job of every pipeline, from one `list job` call. */
export async function latestJobs(rp: RP): Promise<Record<string, Job>> {
  const out: Record<string, Job> = {}
  for (const j of (await rp.json(['list', 'job'])) as Job[]) out[j.job.pipeline.name] ??= j
  return out
}

/** Datums of a job, keyed by the (single) input path of each datum. */
export async function datumsByPath(rp: RP, pipeline: string, id: string): Promise<Record<string, Datum>> {
  const ds = (await rp.json(['list', 'datum', `${pipeline}@${id}`])) as Datum[]
  return Object.fromEntries(ds.map((d) => [d.data.map((f) => f.file.path).join(','), d]))
}

/** The `data` of each datum as "repo:path" lists. */
export const datumFiles = (ds: Datum[]): string[][] => ds.map((d) => d.data.map((f) => `${f.file.commit.repo.name}:${f.file.path}`))

/** Order-insensitive comparison key for a list of datums. */
export const asSet = (ds: string[][], sortInside = false): string[] => ds.map((d) => (sortInside ? [...d].sort() : d).join(' + ')).sort()
