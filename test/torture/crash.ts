/**
 * Crash torture (issue 4): kill `pach` with SIGKILL at seeded random moments and prove that a
 * killed process never loses a finished commit and never leaves a half-visible one.
 *
 * Concept: a *scenario* builds a base project once per run (the state just before its victim
 * command). Every *kill point* copies that project, runs one victim command (`put file`,
 * `put file -r`, `finish commit`, `pach run`, `squash`/`delete commit`, `gc`) as a real
 * subprocess of bin/run.js, sends SIGKILL after a delay, and then checks:
 *   1. `pach fsck` is clean, or reports only garbage; then `pach gc` removes it (fsck clean,
 *      no garbage, objects/tmp empty);
 *   2. every commit finished before the kill reads back byte-for-byte (`get file -r`, sha256
 *      of every file against the hashes the harness kept when it wrote them);
 *   3. nothing is half-visible: the victim's commit is absent, or open with the old or the new
 *      content, or finished with exactly the new content;
 *   4. recovery works: an interrupted open commit is finished or deleted (the seed decides),
 *      an interrupted job is resumed or restarted by the next `pach run` with the right output,
 *      an interrupted squash/delete/gc can be run again;
 *   5. after recovery fsck is clean again (after gc if the recovery made garbage).
 *
 * When to kill: half of the kill points wait a seeded fraction of the victim's run time
 * (measured by one unkilled run); the other half wait for a store event — a temp pack
 * appearing, the pack files changing, the k-th write to the WAL — and then a seeded 0–10 ms,
 * to land in the narrow windows of the write protocol (see `Trigger`).
 *
 * Reproducible: the seed fixes the order of scenarios, their data, their modes, the recovery
 * choices, each kill's trigger and delay. Where in pach's code the kill lands still depends on
 * machine load; that is why the large run makes hundreds of them. A kill that lands after the
 * victim exited is checked like any other but not counted (the scenario is drawn again).
 * `--point N` (bench/torture.mjs) re-runs kill point N of a seed alone.
 *
 * Plain Node (no vitest import): used by test/torture/crash.test.ts with a small count and by
 * bench/torture.mjs (bundled on the fly with esbuild) with a large one.
 */
import {spawn, spawnSync} from 'node:child_process'
import {createCipheriv, createHash} from 'node:crypto'
import {cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import {join, relative} from 'node:path'

// ------------------------------------------------------------------ options and results

export interface TortureOptions {
  seed: number
  /** SIGKILLs to deliver to a live pach (kills landing after the victim exited do not count) */
  kills: number
  /** built CLI entry (bin/run.js) */
  bin: string
  /** scratch directory (created; everything under it is the harness's) */
  work: string
  /** scenario names (default: every scenario; docker ones only with `docker`) */
  scenarios?: string[]
  /** include the docker-runner scenario */
  docker?: boolean
  /** run only kill point N (a reproduction of one failure) */
  point?: number
  /** smaller data (CI): put-large 8–12 MiB instead of 8–32, put-many 1,000–1,500 files instead of 2,000–4,000 */
  quick?: boolean
  /** keep the projects of failed kill points under work/failed-<n> */
  keepFailures?: boolean
  log?: (line: string) => void
}

export type Outcome = 'untouched' | 'applied' | 'open-old' | 'open-new' | 'job-pending' | 'job-done'

export interface KillPoint {
  index: number
  scenario: string
  mode: string
  delayMs: number
  /** when the delay started: 'start' (the victim's start) or a store event (see TRIGGERS) */
  trigger: Trigger
  /** how long the victim ran (until killed, or until it exited) */
  victimMs: number
  /** the SIGKILL hit a live pach (false: the victim finished first) */
  delivered: boolean
  outcome: Outcome | 'unknown'
  /** what fsck found right after the kill: garbage blobs/packs/trees or temp files */
  garbage: boolean
  problems: string[]
  checkedBytes: number
  lostBytes: number
  ms: number
}

export interface TortureReport {
  seed: number
  points: KillPoint[]
  delivered: number
  survived: number
  failed: number
  checkedBytes: number
  lostBytes: number
  byScenario: Record<string, {delivered: number; survived: number; outcomes: Partial<Record<Outcome | 'unknown', number>>}>
  /** delivered kills by what started their delay */
  byTrigger: Partial<Record<Trigger, number>>
  ms: number
}

// ------------------------------------------------------------------ seeded randomness

/** sfc32 seeded from a string label: the same label always gives the same sequence. */
export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(label: string) {
    const h = createHash('sha256').update(label).digest()
    this.a = h.readUInt32LE(0)
    this.b = h.readUInt32LE(4)
    this.c = h.readUInt32LE(8)
    this.d = h.readUInt32LE(12)
  }

  /** uniform in [0, 1) */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return (t >>> 0) / 4294967296
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!
  }
}

/** `n` pseudo-random bytes determined by `label` (AES-256-CTR keystream: fast for 32 MiB). */
export function randomBytesFor(label: string, n: number): Buffer {
  const key = createHash('sha256').update(label).digest()
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n))
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

// ------------------------------------------------------------------ manifests

/** path → "size:sha256" of every file of a commit (or a local tree). */
export type Manifest = Record<string, string>

const entry = (b: Buffer) => `${b.length}:${sha256(b)}`
const sizeOf = (e: string) => Number(e.slice(0, e.indexOf(':')))
export const manifestBytes = (m: Manifest) => Object.values(m).reduce((a, e) => a + sizeOf(e), 0)

/** Manifest of a local directory, with paths as pach shows them (`/<rel>`, under `prefix`). */
export function localManifest(dir: string, prefix = ''): Manifest {
  const out: Manifest = {}
  const walk = (d: string) => {
    for (const e of readdirSync(d, {withFileTypes: true})) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else out[`${prefix}/${relative(dir, p)}`] = entry(readFileSync(p))
    }
  }
  if (existsSync(dir)) walk(dir)
  return out
}

/** How `got` differs from `want`: readable lines, and the bytes of `want` not read back intact. */
export function compareManifests(want: Manifest, got: Manifest): {diffs: string[]; lost: number} {
  const diffs: string[] = []
  let lost = 0
  for (const [p, e] of Object.entries(want)) {
    if (got[p] === undefined) {
      diffs.push(`missing ${p}`)
      lost += sizeOf(e)
    } else if (got[p] !== e) {
      diffs.push(`changed ${p} (${e} → ${got[p]})`)
      lost += sizeOf(e)
    }
  }
  for (const p of Object.keys(got)) if (want[p] === undefined) diffs.push(`unexpected ${p}`)
  return {diffs: diffs.slice(0, 5).concat(diffs.length > 5 ? [`… ${diffs.length - 5} more`] : []), lost}
}

const sameManifest = (a: Manifest, b: Manifest) => compareManifests(a, b).diffs.length === 0

// ------------------------------------------------------------------ running pach

export interface PachResult {
  pid: number
  code: number | null
  signal: NodeJS.Signals | null
  stdout: Buffer
  stderr: string
  ms: number
}

/** One pach project directory and the CLI that works on it. */
export class Proj {
  private reads = 0

  constructor(readonly dir: string, readonly bin: string, readonly env: Record<string, string> = {}) {}

  private envFor(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {...process.env, PACH_DETACH: '1', ...this.env, ...extra}
    delete env.PACH_DIR
    delete env.PACH_PROJECT
    // pach as a user runs it: vitest's NODE_ENV=test makes oclif look for TypeScript sources
    // on every start (twice the start-up time)
    delete env.NODE_ENV
    return env
  }

  /**
   * Run pach. `killAfterMs` sends SIGKILL after that long; with `killWhen`, the delay starts
   * when that condition (polled every millisecond or so) first holds.
   */
  run(args: string[], opts: {env?: Record<string, string>; killAfterMs?: number; killWhen?: () => boolean; timeoutMs?: number} = {}): Promise<PachResult> {
    const t0 = Date.now()
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [this.bin, ...args], {cwd: this.dir, env: this.envFor(opts.env), stdio: ['ignore', 'pipe', 'pipe']})
      const out: Buffer[] = []
      const err: Buffer[] = []
      child.stdout!.on('data', (b: Buffer) => out.push(b))
      child.stderr!.on('data', (b: Buffer) => err.push(b))
      const arm = () => setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs)
      let kill: NodeJS.Timeout | undefined
      const poll = opts.killWhen
        ? setInterval(() => {
            if (kill || !opts.killWhen!()) return
            kill = arm()
            clearInterval(poll)
          }, 1)
        : undefined
      if (!opts.killWhen && opts.killAfterMs !== undefined) kill = arm()
      const limit = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000)
      child.on('error', reject)
      child.on('close', (code, signal) => {
        if (kill) clearTimeout(kill)
        if (poll) clearInterval(poll)
        clearTimeout(limit)
        resolve({pid: child.pid ?? -1, code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), ms: Date.now() - t0})
      })
    })
  }

  /** Run and require exit 0; returns stdout as text. */
  async ok(args: string[], env?: Record<string, string>): Promise<string> {
    const r = await this.run(args, {env})
    if (r.code !== 0) throw new Error(`pach ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`)
    return r.stdout.toString('utf8')
  }

  async json<T = any>(args: string[], env?: Record<string, string>): Promise<T> {
    return JSON.parse(await this.ok([...args, '--json'], env)) as T
  }

  /** Every file of repo@commit, read back through `get file -r`. */
  async manifest(repo: string, commit: string): Promise<Manifest> {
    const out = join(this.dir, `.readback-${++this.reads}`)
    rmSync(out, {recursive: true, force: true})
    await this.ok(['get', 'file', `${repo}@${commit}:/`, '-r', '-o', out])
    const m = localManifest(out)
    rmSync(out, {recursive: true, force: true})
    return m
  }

  async commits(repo: string): Promise<Map<string, CommitLite>> {
    const list = await this.json<{commit: {id: string}; parent_commit: {id: string} | null; finished: string | null; error: string}[]>(['list', 'commit', repo])
    return new Map(list.map((c) => [c.commit.id, {id: c.commit.id, parent: c.parent_commit?.id ?? null, finished: c.finished !== null, error: c.error}]))
  }

  async head(repo: string, branch = 'master'): Promise<string> {
    return (await this.json<{commit: {id: string}}>(['inspect', 'commit', `${repo}@${branch}`])).commit.id
  }

  /** put file from a local path; returns the commit id. */
  async put(target: string, src: string, extra: string[] = []): Promise<string> {
    return (await this.json<{commit: {id: string}}>(['put', 'file', target, '-f', src, ...extra])).commit.id
  }
}

export interface CommitLite {
  id: string
  parent: string | null
  finished: boolean
  error: string
}

// ------------------------------------------------------------------ checks

/** What one kill point's checks found. */
export class Findings {
  problems: string[] = []
  checkedBytes = 0
  lostBytes = 0
  outcome: Outcome | 'unknown' = 'unknown'
  garbage = false
  /** pid of the killed pach */
  victimPid = -1

  fail(msg: string): void {
    this.problems.push(msg)
  }

  /** repo@id must exist, be finished and read back exactly as `want`. */
  async finished(p: Proj, repo: string, id: string, want: Manifest, commits?: Map<string, CommitLite>): Promise<void> {
    const c = (commits ?? (await p.commits(repo))).get(id)
    this.checkedBytes += manifestBytes(want)
    if (!c) {
      this.fail(`finished commit ${repo}@${id} is gone`)
      this.lostBytes += manifestBytes(want)
      return
    }
    if (!c.finished) this.fail(`finished commit ${repo}@${id} is open again`)
    const got = await p.manifest(repo, id)
    const d = compareManifests(want, got)
    if (d.diffs.length) this.fail(`${repo}@${id} does not read back: ${d.diffs.join('; ')}`)
    this.lostBytes += d.lost
  }

  /** repo@id's content must be one of `allowed` (index returned; -1 after recording a failure). */
  async oneOf(p: Proj, repo: string, id: string, allowed: Manifest[], what: string): Promise<number> {
    const got = await p.manifest(repo, id)
    const i = allowed.findIndex((m) => sameManifest(m, got))
    if (i < 0) this.fail(`${what} ${repo}@${id} is half-visible: ${compareManifests(allowed[allowed.length - 1]!, got).diffs.join('; ')}`)
    return i
  }
}

interface FsckReport {
  ok: boolean
  problems: {kind: string; message: string}[]
  garbage: {packs: number; blobs: number; trees: number; tmp_files: number; bytes: number}
}

function tmpFiles(p: Proj): string[] {
  const dir = join(p.dir, '.pach', 'objects', 'tmp')
  return existsSync(dir) ? readdirSync(dir) : []
}

/**
 * fsck; when it reports garbage (or temp files are left), gc and fsck again, which must be
 * clean with no garbage. Returns whether there was garbage.
 */
export async function fsckAndGc(p: Proj, f: Findings, when: string): Promise<boolean> {
  const fsck = async (): Promise<FsckReport | undefined> => {
    const r = await p.run(['fsck', '--json'])
    let doc: any
    try {
      doc = JSON.parse(r.stdout.toString('utf8'))
    } catch {
      f.fail(`${when}: fsck exited ${r.code ?? r.signal} without a JSON report: ${r.stderr.trim()}`)
      return undefined
    }
    const report = (doc.error ? doc.error.data : doc) as FsckReport
    if (r.code !== 0 || !report.ok) f.fail(`${when}: fsck found problems: ${(report.problems ?? []).map((x) => `${x.kind}: ${x.message}`).slice(0, 3).join('; ') || r.stderr.trim()}`)
    return report
  }
  const first = await fsck()
  if (!first) return false
  const g = first.garbage
  const garbage = g.packs + g.blobs + g.trees + g.tmp_files > 0
  if (!garbage) {
    const left = tmpFiles(p)
    if (left.length) f.fail(`${when}: fsck is silent about ${left.length} temp files in objects/tmp`)
    return false
  }
  const gc = await p.run(['gc', '--json'])
  if (gc.code !== 0) {
    f.fail(`${when}: gc exited ${gc.code ?? gc.signal}: ${gc.stderr.trim()}`)
    return true
  }
  const second = await fsck()
  if (second && second.garbage.packs + second.garbage.blobs + second.garbage.trees + second.garbage.tmp_files > 0) {
    f.fail(`${when}: gc left garbage: ${JSON.stringify(second.garbage)}`)
  }
  const left = tmpFiles(p)
  if (left.length) f.fail(`${when}: gc left ${left.length} temp files in objects/tmp`)
  return true
}

// ------------------------------------------------------------------ scenarios

/** What a scenario hands the engine for one kill point. */
export interface Attempt {
  mode: string
  argv: string[]
  env?: Record<string, string>
  /** checks after the kill (or after an unkilled run), and the recovery */
  check(p: Proj, f: Findings, rng: Rng): Promise<void>
}

/**
 * A base project, built once per run and shared by the scenarios that name it. `from` starts
 * from a copy of another base (and shares its data dir).
 */
export interface BaseSpec {
  name: string
  from?: BaseSpec
  /** keep the garbage the setup made (gc's work); other bases are gc'ed clean, so garbage after a kill is the kill's */
  dirty?: boolean
  /**
   * Build on `p.dir` (already `pach init`ed, or a copy of `from`). Local input files go to
   * `data` (kept for the whole run, not copied per kill point); small state to `p.dir/base.json`.
   */
  setup(p: Proj, data: string, rng: Rng, quick: boolean): Promise<void>
}

export interface Scenario {
  name: string
  base: BaseSpec
  docker?: boolean
  /** store events its victim causes (default: all); the others never start a kill's delay */
  triggers?: Exclude<Trigger, 'start'>[]
  /** Prepare one kill point in a copy of the base project. */
  attempt(p: Proj, data: string, rng: Rng, label: string, quick: boolean): Promise<Attempt>
}

const MiB = 1024 * 1024

/** A local file with pseudo-random content; returns the bytes. */
function writeRandom(path: string, label: string, size: number): Buffer {
  const b = randomBytesFor(label, size)
  mkdirSync(join(path, '..'), {recursive: true})
  writeFileSync(path, b)
  return b
}

const saveBase = (p: Proj, base: unknown) => writeFileSync(join(p.dir, 'base.json'), JSON.stringify(base))
const loadBase = <T>(p: Proj): T => JSON.parse(readFileSync(join(p.dir, 'base.json'), 'utf8')) as T

/**
 * The base of the put scenarios: repo `data` (finished D1 with /keep.bin) and repo `stage`
 * (finished S1 with /old.txt, open S2 with /old.txt and /partial.txt).
 */
interface PfsBase {
  d1: string
  s1: string
  s2: string
  d1m: Manifest
  s1m: Manifest
  s2m: Manifest
}

const pfsBase: BaseSpec = {name: 'pfs', setup: setupPfs}

async function setupPfs(p: Proj, data: string, rng: Rng, quick: boolean): Promise<void> {
  // thousands of small files in 4 directories of 250-1,000 entries each: large directories, so
  // the kills land inside prolly-tree writes (put-many's source, fixed per run)
  const n = quick ? rng.int(1000, 1500) : rng.int(2000, 4000)
  for (let i = 0; i < n; i++) {
    const size = rng.next() < 0.05 ? 0 : rng.int(1, 8192)
    writeRandom(join(data, 'many', `d${String(i % 4).padStart(2, '0')}`, `f${i}.dat`), `small:${i}:${rng.next()}`, size)
  }
  const keep = writeRandom(join(data, 'keep.bin'), `keep:${rng.next()}`, Math.floor(1.5 * MiB))
  await p.ok(['create', 'repo', 'data'])
  const d1 = await p.put('data@master:/keep.bin', join(data, 'keep.bin'))
  await p.ok(['create', 'repo', 'stage'])
  const old = Buffer.from('old\n')
  const partial = Buffer.from('written into the open commit\n')
  writeFileSync(join(data, 'old.txt'), old)
  writeFileSync(join(data, 'partial.txt'), partial)
  const s1 = await p.put('stage@master:/old.txt', join(data, 'old.txt'))
  const s2 = (await p.json<{commit: {id: string}}>(['start', 'commit', 'stage@master'])).commit.id
  await p.put('stage@master:/partial.txt', join(data, 'partial.txt'))
  saveBase(p, {
    d1, s1, s2,
    d1m: {'/keep.bin': entry(keep)},
    s1m: {'/old.txt': entry(old)},
    s2m: {'/old.txt': entry(old), '/partial.txt': entry(partial)},
  } satisfies PfsBase)
}

/**
 * Checks shared by the put scenarios; `add` is what the victim adds. data: D1 intact, plus at
 * most one new commit, finished, on D1, holding D1+add. stage: S1 intact, S2 open holding S2
 * (or S2+add when the victim wrote there); then S2 is finished or deleted (seeded).
 */
async function checkPut(p: Proj, f: Findings, rng: Rng, b: PfsBase, target: 'data' | 'stage', add: Manifest): Promise<void> {
  const data = await p.commits('data')
  await f.finished(p, 'data', b.d1, b.d1m, data)
  const fresh = [...data.values()].filter((c) => c.id !== b.d1)
  if (target === 'data') {
    if (fresh.length > 1) f.fail(`data has ${fresh.length} new commits after one put`)
    const c = fresh[0]
    f.outcome = c ? 'applied' : 'untouched'
    if (c) {
      if (!c.finished) f.fail(`the one-off commit data@${c.id} was left open`)
      if (c.parent !== b.d1) f.fail(`the one-off commit data@${c.id} has parent ${c.parent}, not ${b.d1}`)
      await f.oneOf(p, 'data', c.id, [{...b.d1m, ...add}], 'the new commit')
    }
    const head = await p.head('data')
    if (head !== (c?.id ?? b.d1)) f.fail(`data@master is ${head}, not ${c ? `the new commit ${c.id}` : b.d1}`)
  } else if (fresh.length) f.fail(`data got commits nobody wrote: ${fresh.map((c) => c.id).join(', ')}`)

  const stage = await p.commits('stage')
  await f.finished(p, 'stage', b.s1, b.s1m, stage)
  const s2 = stage.get(b.s2)
  if (!s2) return f.fail(`the open commit stage@${b.s2} vanished`)
  if (s2.finished) f.fail(`the open commit stage@${b.s2} was finished by a put`)
  if (stage.size !== 2) f.fail(`stage has ${stage.size} commits, expected 2`)
  const after = {...b.s2m, ...add}
  const which = await f.oneOf(p, 'stage', b.s2, target === 'stage' ? [b.s2m, after] : [b.s2m], 'the open commit')
  if (target === 'stage') f.outcome = which === 1 ? 'open-new' : 'open-old'

  // recovery: the interrupted open commit can be finished, or deleted
  if (rng.next() < 0.5) {
    await p.ok(['finish', 'commit', `stage@${b.s2}`])
    await f.finished(p, 'stage', b.s2, which === 1 ? after : b.s2m)
  } else {
    await p.ok(['delete', 'commit', `stage@${b.s2}`])
    if ((await p.head('stage')) !== b.s1) f.fail(`after deleting stage@${b.s2} the head is not ${b.s1}`)
  }
}

const putLarge: Scenario = {
  name: 'put-large',
  base: pfsBase,
  async attempt(p, data, rng, label, quick) {
    const b = loadBase<PfsBase>(p)
    const size = rng.int(8 * MiB, quick ? 12 * MiB : 32 * MiB)
    // the victim's file lives in the kill point's copy (its size and bytes change every time)
    const src = join(p.dir, 'big.bin')
    const big = writeRandom(src, `big:${label}`, size)
    const mode = rng.pick(['branch', 'open', 'append'] as const)
    const argv =
      mode === 'branch' ? ['put', 'file', 'data@master:/big.bin', '-f', src]
      : mode === 'open' ? ['put', 'file', 'stage@master:/big.bin', '-f', src]
      : ['put', 'file', 'data@master:/keep.bin', '-f', src, '--append']
    const add: Manifest = mode === 'append' ? {'/keep.bin': entry(Buffer.concat([readFileSync(join(data, 'keep.bin')), big]))} : {'/big.bin': entry(big)}
    return {mode: `${mode} ${(size / MiB).toFixed(1)}MiB`, argv, check: (p2, f, r) => checkPut(p2, f, r, b, mode === 'open' ? 'stage' : 'data', add)}
  },
}

const putMany: Scenario = {
  name: 'put-many',
  base: pfsBase,
  async attempt(p, data, rng) {
    const b = loadBase<PfsBase>(p)
    const mode = rng.pick(['branch', 'open'] as const)
    const src = join(data, 'many')
    const add = localManifest(src, '/many')
    const repo = mode === 'branch' ? 'data' : 'stage'
    return {
      mode: `${mode} ${Object.keys(add).length} files`,
      argv: ['put', 'file', '-r', `${repo}@master:/many`, '-f', src],
      check: (p2, f, r) => checkPut(p2, f, r, b, repo, add),
    }
  },
}

/** The pipelines' transform: every input file comes out with a trailer line. */
export const TRANSFORM_CMD = 'n=$(basename "$raw"); { cat "$raw"; echo "#processed"; } > "/pfs/out/$n"; sleep 0.05'

/** The output the harness expects from TRANSFORM_CMD over an input commit. */
function transformed(m: Manifest, contents: Map<string, Buffer>): Manifest {
  const out: Manifest = {}
  for (const [path, e] of Object.entries(m)) out[path] = entry(Buffer.concat([contents.get(e)!, Buffer.from('#processed\n')]))
  return out
}

/** Every local file under `dir` by its manifest entry (to compute expected outputs). */
function contentsOf(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>()
  const walk = (d: string) => {
    for (const e of readdirSync(d, {withFileTypes: true})) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else {
        const b = readFileSync(p)
        out.set(entry(b), b)
      }
    }
  }
  walk(dir)
  return out
}

/** The base of the pipeline scenarios: repo `raw`, pipeline `copy` (glob /*), one job done, one to do. */
interface PpsBase {
  /** raw@i1 and the first job's output copy@o1 (the pipeline's spec commit set), finished before the kill */
  i1: string
  i1m: Manifest
  o1: string
  /** the change whose job the victim runs (finish-commit: the still open commit) */
  i2: string
  i2m: Manifest
}

const names = (prefix: string, n: number) => Array.from({length: n}, (_, i) => `${prefix}${String(i).padStart(2, '0')}`)

/** Local files `dir/<name>`, 1 B to 64 KiB each; returns `-f` arguments for one put. */
function inputFiles(dir: string, list: string[], label: string, rng: Rng, m: Manifest): string[] {
  for (const n of list) m[`/${n}`] = entry(writeRandom(join(dir, n), `${label}:${n}:${rng.next()}`, rng.int(1, 64 * 1024)))
  return list.flatMap((n) => ['-f', join(dir, n)])
}

/**
 * After a kill in a pipeline project: raw@i1 and copy@i1 intact; raw@i2 finished (or open, for
 * finish-commit) with its content; copy@i2, if finished, exactly TRANSFORM_CMD of raw@i2. Then
 * recovery: an open raw@i2 is finished or its commit set deleted (seeded), `pach run` runs
 * what is left, and copy@master must be the transform of raw@master.
 */
async function checkPps(p: Proj, f: Findings, rng: Rng, b: PpsBase, data: string, runner: string, mayBeOpen: boolean): Promise<void> {
  const contents = contentsOf(data)
  const raw = await p.commits('raw')
  await f.finished(p, 'raw', b.i1, b.i1m, raw)
  const outs = await p.commits('copy')
  await f.finished(p, 'copy', b.o1, transformed(b.i1m, contents), outs)
  const i2 = raw.get(b.i2)
  if (!i2) return f.fail(`input commit raw@${b.i2} vanished`)
  if (i2.finished) await f.finished(p, 'raw', b.i2, b.i2m, raw)
  else {
    if (!mayBeOpen) f.fail(`finished input commit raw@${b.i2} is open again`)
    await f.oneOf(p, 'raw', b.i2, [b.i2m], 'the open input commit')
  }
  const out = outs.get(b.i2)
  if (out?.finished && !out.error) await f.oneOf(p, 'copy', b.i2, [transformed(b.i2m, contents)], 'the output commit')
  f.outcome = out?.finished ? 'job-done' : i2.finished ? 'job-pending' : 'untouched'

  let head = {id: b.i2, out: b.i2, m: b.i2m}
  if (!i2.finished) {
    if (rng.next() < 0.5) await p.ok(['finish', 'commit', `raw@${b.i2}`])
    else {
      await p.ok(['delete', 'commit', b.i2])
      head = {id: b.i1, out: b.o1, m: b.i1m}
    }
  }
  const ran = await p.run(['run', '--runner', runner, '--json'])
  if (ran.code !== 0) f.fail(`pach run after the kill exited ${ran.code ?? ran.signal}: ${ran.stderr.trim().split('\n').slice(-2).join(' | ')}`)
  const jobs = await p.json<{job: {id: string}; state: string; reason: string}[]>(['list', 'job', '-p', 'copy'])
  const left = jobs.filter((j) => !['JOB_SUCCESS', 'JOB_FAILURE', 'JOB_KILLED', 'JOB_UNRUNNABLE'].includes(j.state))
  if (left.length) f.fail(`jobs left unfinished after pach run: ${left.map((j) => `${j.job.id} ${j.state}`).join(', ')}`)
  const job = jobs.find((j) => j.job.id === head.out)
  if (job?.state !== 'JOB_SUCCESS') f.fail(`the job for raw@${head.id} ended ${job?.state ?? 'missing'} ${job?.reason ?? ''}`)
  if ((await p.head('copy')) !== head.out) f.fail(`copy@master is not ${head.out}, the output of raw@${head.id}`)
  await f.finished(p, 'copy', head.out, transformed(head.m, contents))
  // the next `pach run` removes what the killed process left: its job's scratch space …
  const jobsDir = join(p.dir, '.pach', 'tmp', 'jobs')
  const work = () => (existsSync(jobsDir) ? readdirSync(jobsDir) : [])
  const stale = work().filter((n) => !n.includes('.deleting-'))
  if (stale.length) f.fail(`job scratch dirs left in .pach/tmp/jobs: ${stale.join(', ')}`)
  // a removal the kill interrupted (`<dir>.deleting-…`) is gc's
  if (work().length) {
    await p.ok(['gc'])
    if (work().length) f.fail(`gc left job scratch dirs: ${work().join(', ')}`)
  }
  // … and outside .pach
  const scratch = readdirSync(tmpdir()).filter((n) => n.startsWith(`pach-worker-${f.victimPid}-`) || n.startsWith(`pach-local-${f.victimPid}-`))
  if (scratch.length) f.fail(`scratch dirs of the killed pach are still in ${tmpdir()}: ${scratch.join(', ')}`)
  if (runner === 'docker') {
    const left = containersOf(f.victimPid)
    if (left.length) {
      f.fail(`${left.length} worker containers of the killed pach are still there`)
      spawnSync('docker', ['rm', '-f', ...left], {stdio: 'ignore', timeout: 60_000})
    }
  }
}

/** Worker containers created by pach process `pid` on this host. */
function containersOf(pid: number): string[] {
  const ls = spawnSync('docker', ['ps', '-aq', '--filter', `label=io.pach.owner=${hostname()}/${pid}`], {encoding: 'utf8', timeout: 30_000})
  return (ls.stdout ?? '').split('\n').filter(Boolean)
}

/**
 * raw@i1 (12 files) with its job done (copy@o1), and an open commit raw@i2 changing 6 files,
 * adding 10 and deleting 2; its job waits for it.
 */
const ppsOpen: BaseSpec = {
  name: 'pps-open',
  async setup(p, data, rng) {
    const first = names('f', 12)
    await p.ok(['create', 'repo', 'raw'])
    const i1m: Manifest = {}
    const i1 = (await p.json<{commit: {id: string}}>(['put', 'file', 'raw@master:/', ...inputFiles(data, first, 'v1', rng, i1m)])).commit.id
    const spec = {
      pipeline: {name: 'copy'},
      transform: {image: 'pach-test/busybox:1', cmd: ['sh', '-c', TRANSFORM_CMD]},
      input: {pfs: {repo: 'raw', glob: '/*'}},
      parallelism_spec: {constant: 2},
    }
    writeFileSync(join(data, 'copy.json'), JSON.stringify(spec))
    // the first job runs now (not detached); which runner ran it does not matter later
    await p.ok(['create', 'pipeline', '-f', join(data, 'copy.json')], {PACH_RUNNER: 'local', PACH_DETACH: ''})
    const o1 = await p.head('copy')
    const i2 = (await p.json<{commit: {id: string}}>(['start', 'commit', 'raw@master'])).commit.id
    const i2m = {...i1m}
    await p.ok(['put', 'file', 'raw@master:/', ...inputFiles(join(data, 'v2'), [...first.slice(0, 6), ...names('g', 10)], 'v2', rng, i2m)])
    for (const n of first.slice(10)) {
      await p.ok(['delete', 'file', `raw@master:/${n}`])
      delete i2m[`/${n}`]
    }
    saveBase(p, {i1, i1m, o1, i2, i2m} satisfies PpsBase)
  },
}

/** pps-open with raw@i2 finished (detached): its job is pending. */
const ppsPending: BaseSpec = {
  name: 'pps-pending',
  from: ppsOpen,
  async setup(p) {
    await p.ok(['finish', 'commit', 'raw@master'])
  },
}

function ppsScenario(name: string, runner: 'local' | 'docker', victim: 'run' | 'finish'): Scenario {
  const env = {PACH_RUNNER: runner}
  return {
    name,
    base: victim === 'run' ? ppsPending : ppsOpen,
    docker: runner === 'docker',
    async attempt(p, data) {
      const b = loadBase<PpsBase>(p)
      return {
        mode: victim === 'run' ? `pach run (${runner})` : `finish commit + job (${runner})`,
        argv: victim === 'run' ? ['run'] : ['finish', 'commit', 'raw@master'],
        env: {...env, PACH_DETACH: ''},
        check: (p2, f, r) => checkPps(new Proj(p2.dir, p2.bin, env), f, r, b, data, runner, victim === 'finish'),
      }
    },
  }
}

/** repo `hist`: six finished commits; the victim squashes one or deletes the head. */
const histBase: BaseSpec = {
  name: 'hist',
  async setup(p, data, rng) {
    await p.ok(['create', 'repo', 'hist'])
    const steps: [string, number][] = [['a.bin', 2 * MiB], ['b.txt', 300], ['c.bin', MiB], ['d.txt', 4000], ['a.bin', MiB / 2]]
    const list: {id: string; parent: string | null; m: Manifest}[] = []
    let m: Manifest = {}
    const record = (id: string) => list.push({id, parent: list.at(-1)?.id ?? null, m: {...m}})
    for (const [i, [name, size]] of steps.entries()) {
      const b = writeRandom(join(data, `${i}-${name}`), `hist:${i}:${rng.next()}`, size)
      m[`/${name}`] = entry(b)
      record(await p.put(`hist@master:/${name}`, join(data, `${i}-${name}`)))
      if (i === 3) {
        delete m['/b.txt']
        record((await p.json<{commit: {id: string}}>(['delete', 'file', 'hist@master:/b.txt'])).commit.id)
      }
    }
    saveBase(p, list)
  },
}

const squashDelete: Scenario = {
  name: 'squash-delete',
  base: histBase,
  triggers: ['wal'],
  async attempt(p, _data, rng) {
    const list = loadBase<{id: string; m: Manifest; parent: string | null}[]>(p)
    const head = list.find((c) => !list.some((x) => x.parent === c.id))!
    const mode = rng.pick(['squash', 'delete-head', 'delete-set'] as const)
    const target = mode === 'squash' ? rng.pick(list.filter((c) => c.id !== head.id && c.parent !== null)) : head
    const argv = mode === 'squash' ? ['squash', 'commit', `hist@${target.id}`] : mode === 'delete-head' ? ['delete', 'commit', 'hist@master'] : ['delete', 'commit', target.id]
    return {
      mode,
      argv,
      check: async (p2, f) => {
        const commits = await p2.commits('hist')
        for (const c of list) if (c.id !== target.id) await f.finished(p2, 'hist', c.id, c.m, commits)
        f.outcome = commits.has(target.id) ? 'untouched' : 'applied'
        if (commits.has(target.id)) {
          await f.finished(p2, 'hist', target.id, target.m, commits)
          // the interrupted operation can simply be run again
          await p2.ok(argv)
          if ((await p2.commits('hist')).has(target.id)) f.fail(`${argv.join(' ')} run again did not remove ${target.id}`)
        }
        if (commits.size < list.length - 1) f.fail(`hist has ${commits.size} commits, expected ${list.length - 1} or ${list.length}`)
        const want = mode === 'squash' ? head.id : head.parent
        const got = await p2.head('hist')
        if (got !== want) f.fail(`hist@master is ${got}, expected ${want}`)
      },
    }
  },
}

/**
 * gc with work to do: a pack that is mostly garbage (repacked), the packs of a dropped commit
 * and of a deleted repo (deleted), and live data in between that must survive all of it.
 */
const gcBase: BaseSpec = {
  name: 'gc',
  dirty: true,
  async setup(p, data, rng) {
    await p.ok(['create', 'repo', 'g'])
    const g1m: Manifest = {}
    for (let i = 0; i < 40; i++) g1m[`/mixed/live/l${i}`] = entry(writeRandom(join(data, 'mixed', 'live', `l${i}`), `live:${i}:${rng.next()}`, 8192))
    for (let i = 0; i < 40; i++) writeRandom(join(data, 'mixed', 'dead', `d${i}`), `dead:${i}:${rng.next()}`, 64 * 1024)
    const g1 = (await p.json<{commit: {id: string}}>(['start', 'commit', 'g@master'])).commit.id
    await p.ok(['put', 'file', '-r', 'g@master:/mixed', '-f', join(data, 'mixed')])
    await p.ok(['delete', 'file', 'g@master:/mixed/dead'])
    await p.ok(['finish', 'commit', 'g@master'])
    const big1 = writeRandom(join(data, 'big1.bin'), `big1:${rng.next()}`, 6 * MiB)
    const g2 = await p.put('g@master:/big1.bin', join(data, 'big1.bin'))
    writeRandom(join(data, 'big2.bin'), `big2:${rng.next()}`, 6 * MiB)
    await p.put('g@master:/big2.bin', join(data, 'big2.bin'))
    await p.ok(['delete', 'commit', 'g@master'])
    await p.ok(['create', 'repo', 'gone'])
    writeRandom(join(data, 'gone.bin'), `gone:${rng.next()}`, 3 * MiB)
    await p.put('gone@master:/gone.bin', join(data, 'gone.bin'))
    await p.ok(['delete', 'repo', 'gone'])
    saveBase(p, [
      {id: g1, m: g1m},
      {id: g2, m: {...g1m, '/big1.bin': entry(big1)}},
    ])
  },
}

const gcScenario: Scenario = {
  name: 'gc',
  base: gcBase,
  async attempt(p) {
    const keep = loadBase<{id: string; m: Manifest}[]>(p)
    return {
      mode: 'gc',
      argv: ['gc'],
      check: async (p2, f) => {
        const commits = await p2.commits('g')
        for (const c of keep) await f.finished(p2, 'g', c.id, c.m, commits)
        if (commits.size !== keep.length) f.fail(`g has ${commits.size} commits, expected ${keep.length}`)
        f.outcome = f.garbage ? 'untouched' : 'applied'
      },
    }
  },
}

/**
 * purge (issue 16): repo `pg` with keep.bin and secret.bin in one put (one pack holding live
 * and purged blobs: the sweep repacks it), secret.bin changed, then late.txt; pipeline `pgcp`
 * copies each file (glob /*), so each of its 3 output commits holds what its input commit
 * does. The victim purges /secret.bin from the whole history, then recomputes the 3 output
 * commits in place (the repairs, one job each). Every input commit must read back all old or
 * all new (never a mix); every output commit old with an old history, new with a new one
 * (finished if recomputed, else open with the purged tree: the same files); an untouched
 * history purges on a rerun; `pach run` finishes the repairs a kill interrupted; a pending
 * sweep is finished by `pach gc` (what `pach purge log` tells); afterwards no 64-byte probe
 * of either secret version (one every 16 KiB, so every chunk of at least 32 KiB holds one)
 * is left in any pack.
 */
interface PurgeBase {
  commits: {id: string; old: Manifest; new: Manifest}[]
}

const PURGE_ENV = {PACH_RUNNER: 'local', PACH_DETACH: ''}

const purgeBase: BaseSpec = {
  name: 'purge',
  async setup(p, data, rng) {
    await p.ok(['create', 'repo', 'pg'])
    const spec = {pipeline: {name: 'pgcp'}, transform: {cmd: ['sh', '-c', 'cp "$pg" "/pfs/out/$(basename "$pg")"']}, input: {pfs: {repo: 'pg', glob: '/*'}}}
    writeFileSync(join(data, 'pgcp.json'), JSON.stringify(spec))
    await p.ok(['create', 'pipeline', '-f', join(data, 'pgcp.json')], PURGE_ENV)
    const keep = writeRandom(join(data, 'pg1', 'keep.bin'), `pg:keep:${rng.next()}`, MiB)
    const s1 = writeRandom(join(data, 'pg1', 'secret.bin'), `pg:s1:${rng.next()}`, MiB)
    const s2 = writeRandom(join(data, 'pg-secret2.bin'), `pg:s2:${rng.next()}`, MiB / 2)
    const late = writeRandom(join(data, 'pg-late.txt'), `pg:late:${rng.next()}`, 1000)
    const put = async (target: string, src: string, extra: string[] = []) => (await p.json<{commit: {id: string}}>(['put', 'file', target, '-f', src, ...extra], PURGE_ENV)).commit.id
    const c1 = await put('pg@master:/', join(data, 'pg1'), ['-r'])
    const c2 = await put('pg@master:/secret.bin', join(data, 'pg-secret2.bin'))
    const c3 = await put('pg@master:/late.txt', join(data, 'pg-late.txt'))
    const k = {'/keep.bin': entry(keep)}
    saveBase(p, {
      commits: [
        {id: c1, old: {...k, '/secret.bin': entry(s1)}, new: k},
        {id: c2, old: {...k, '/secret.bin': entry(s2)}, new: k},
        {id: c3, old: {...k, '/secret.bin': entry(s2), '/late.txt': entry(late)}, new: {...k, '/late.txt': entry(late)}},
      ],
    } satisfies PurgeBase)
  },
}

/** Pack files holding any 64-byte probe (one every 16 KiB) of `secrets`. */
function packsHolding(p: Proj, secrets: Buffer[]): string[] {
  const probes = secrets.flatMap((b) => Array.from({length: Math.floor((b.length - 64) / 16384) + 1}, (_, i) => b.subarray(i * 16384, i * 16384 + 64)))
  const root = join(p.dir, '.pach', 'objects')
  const out: string[] = []
  const walk = (d: string) => {
    for (const e of readdirSync(d, {withFileTypes: true})) {
      const path = join(d, e.name)
      if (e.isDirectory()) walk(path)
      else {
        const bytes = readFileSync(path)
        if (probes.some((x) => bytes.includes(x))) out.push(relative(p.dir, path))
      }
    }
  }
  walk(root)
  return out
}

const purgeScenario: Scenario = {
  name: 'purge',
  base: purgeBase,
  async attempt(p, data) {
    const b = loadBase<PurgeBase>(p)
    const argv = ['purge', 'file', 'pg@master:/secret.bin', '-m', 'torture']
    return {
      mode: 'purge',
      argv,
      env: PURGE_ENV,
      check: async (p2, f) => {
        const commits = await p2.commits('pg')
        const seen = new Set<number>()
        for (const c of b.commits) {
          const i = await f.oneOf(p2, 'pg', c.id, [c.old, c.new], 'the purged commit')
          if (i >= 0) {
            seen.add(i)
            await f.finished(p2, 'pg', c.id, i === 0 ? c.old : c.new, commits)
          }
        }
        if (seen.size > 1) f.fail('a mix of old and new history after the kill')
        // and the empty commit `create pipeline` started the branch with
        if (commits.size !== b.commits.length + 1) f.fail(`pg has ${commits.size} commits, expected ${b.commits.length + 1}`)
        // the copies: old with the old history; with the new one, new whether recomputed or not yet
        const outs = await p2.commits('pgcp')
        const old = seen.has(0)
        for (const c of b.commits) {
          await f.oneOf(p2, 'pgcp', c.id, [old ? c.old : c.new], old ? 'an output commit of the old history' : 'an output commit of the new history')
          if (old && !outs.get(c.id)?.finished) f.fail(`the output commit pgcp@${c.id} of the old history is open`)
        }
        f.outcome = old ? 'untouched' : [...b.commits].every((c) => outs.get(c.id)?.finished) ? 'applied' : 'job-pending'
        if (old) await p2.ok(argv, PURGE_ENV) // the interrupted purge runs again from the start
        else await p2.ok(['run'], PURGE_ENV) // repairs the kill interrupted run now
        const after = await p2.commits('pgcp')
        for (const c of b.commits) {
          await f.finished(p2, 'pg', c.id, c.new)
          await f.finished(p2, 'pgcp', c.id, c.new, after)
          if (after.get(c.id)?.error) f.fail(`pgcp@${c.id} failed its repair: ${after.get(c.id)!.error}`)
        }
        const log = await p2.json<{sweep_pending: boolean; entries: unknown[]}>(['purge', 'log'])
        if (log.entries.length !== 1) f.fail(`purge log has ${log.entries.length} entries, expected 1`)
        if (log.sweep_pending) await p2.ok(['gc'])
        const left = packsHolding(p2, [readFileSync(join(data, 'pg1', 'secret.bin')), readFileSync(join(data, 'pg-secret2.bin'))])
        if (left.length) f.fail(`purged bytes left in ${left.join(', ')}`)
      },
    }
  },
}

export const SCENARIOS: Scenario[] = [
  putLarge,
  putMany,
  ppsScenario('finish-commit', 'local', 'finish'),
  ppsScenario('job-local', 'local', 'run'),
  ppsScenario('job-docker', 'docker', 'run'),
  squashDelete,
  gcScenario,
  purgeScenario,
]

// ------------------------------------------------------------------ the engine

/** Why docker scenarios cannot run here (undefined when they can). */
export function dockerProblem(): string | undefined {
  if (spawnSync('docker', ['info'], {stdio: 'ignore', timeout: 30_000}).status !== 0) return '`docker info` does not answer'
  if (spawnSync('docker', ['image', 'inspect', 'pach-test/busybox:1'], {stdio: 'ignore', timeout: 30_000}).status !== 0) {
    return 'image pach-test/busybox:1 is missing (.ci/setup-docker.sh)'
  }
  return undefined
}

/**
 * Run the torture (see the header). Every scenario first gets its base and one unkilled run
 * of its victim, which must succeed (its time calibrates the kill delays); then kill points are drawn until
 * `kills` SIGKILLs have hit a live pach: scenarios in seeded rounds (each round a seeded
 * shuffle of all of them; a scenario whose victim outran its kill is retried, so every round
 * kills each scenario once), delays uniform over 10–100% of the calibrated run time.
 */
export async function torture(opts: TortureOptions): Promise<TortureReport> {
  const log = opts.log ?? (() => {})
  const t0 = Date.now()
  const wanted = SCENARIOS.filter((s) => (!opts.scenarios || opts.scenarios.includes(s.name)) && (!s.docker || opts.docker))
  if (wanted.length === 0) throw new Error('no scenario selected')
  rmSync(opts.work, {recursive: true, force: true})
  mkdirSync(opts.work, {recursive: true})

  const built = new Map<BaseSpec, {dir: string; data: string}>()
  const build = async (b: BaseSpec): Promise<{dir: string; data: string}> => {
    const hit = built.get(b)
    if (hit) return hit
    const ts = Date.now()
    const dir = join(opts.work, `base-${b.name}`)
    const parent = b.from ? await build(b.from) : undefined
    const data = parent?.data ?? join(opts.work, `data-${b.name}`)
    mkdirSync(data, {recursive: true})
    const p = new Proj(dir, opts.bin)
    if (parent) cpSync(parent.dir, dir, {recursive: true})
    else {
      mkdirSync(dir, {recursive: true})
      await p.ok(['init'])
    }
    await b.setup(p, data, new Rng(`setup:${opts.seed}:${b.name}`), opts.quick ?? false)
    if (!b.dirty) await p.ok(['gc'])
    log(`base ${b.name}: ${Date.now() - ts} ms`)
    built.set(b, {dir, data})
    return {dir, data}
  }
  // calibration: one unkilled run of each victim on a copy of its base (it must succeed)
  const bases = new Map<string, {dir: string; data: string; ms: number}>()
  const points: KillPoint[] = []
  for (const s of wanted) {
    const {dir, data} = await build(s.base)
    const ms = await calibrate(opts, s, dir, data)
    bases.set(s.name, {dir, data, ms})
    log(`calibrate ${s.name}: victim ${ms} ms unkilled`)
  }

  const rng = new Rng(`torture:${opts.seed}`)
  let round: Scenario[] = []
  let delivered = 0
  const last = opts.point ?? opts.kills * 4
  for (let i = 0; i <= last && (opts.point !== undefined || delivered < opts.kills); i++) {
    if (round.length === 0) round = shuffle(wanted, rng)
    const s = round.shift()!
    const base = bases.get(s.name)!
    const delay = Math.round((0.1 + 0.9 * rng.next()) * base.ms)
    if (opts.point !== undefined && i !== opts.point) continue
    const kp = await killPoint(opts, s, base.dir, base.data, i, delay)
    points.push(kp)
    if (kp.delivered) delivered++
    else {
      // the victim outran the kill (or its trigger never came): retry the scenario so every
      // round still kills each scenario once; after a timed miss, aim within this run time
      if (kp.trigger === 'start') base.ms = Math.min(base.ms, kp.victimMs)
      round.unshift(s)
    }
    log(
      `#${i} ${s.name} [${kp.mode}] kill ${kp.delayMs} ms after ${kp.trigger}: ${kp.delivered ? kp.outcome : 'victim finished first'}${kp.garbage ? ', garbage collected' : ''}` +
        `${kp.problems.length ? `, FAILED: ${kp.problems.join(' / ')}` : ''} (${kp.ms} ms)`,
    )
  }

  const byScenario: TortureReport['byScenario'] = {}
  for (const s of wanted) byScenario[s.name] = {delivered: 0, survived: 0, outcomes: {}}
  for (const k of points) {
    if (!k.delivered) continue
    const s = byScenario[k.scenario]!
    s.delivered++
    if (k.problems.length === 0) s.survived++
    s.outcomes[k.outcome] = (s.outcomes[k.outcome] ?? 0) + 1
  }
  const real = points.filter((k) => k.delivered)
  const byTrigger: TortureReport['byTrigger'] = {}
  for (const k of real) byTrigger[k.trigger] = (byTrigger[k.trigger] ?? 0) + 1
  return {
    byTrigger,
    seed: opts.seed,
    points,
    delivered: real.length,
    survived: real.filter((k) => k.problems.length === 0).length,
    failed: points.filter((k) => k.problems.length > 0).length,
    checkedBytes: points.reduce((a, k) => a + k.checkedBytes, 0),
    lostBytes: points.reduce((a, k) => a + k.lostBytes, 0),
    byScenario,
    ms: Date.now() - t0,
  }
}

function shuffle<T>(xs: readonly T[], rng: Rng): T[] {
  const a = [...xs]
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1))
    ;[a[i], a[j]] = [a[j]!, a[i]!]
  }
  return a
}

/** Run a scenario's victim unkilled on a copy of its base; returns its run time (it must exit 0). */
async function calibrate(opts: TortureOptions, s: Scenario, baseDir: string, data: string): Promise<number> {
  const dir = join(opts.work, 'kp')
  rmSync(dir, {recursive: true, force: true})
  cpSync(baseDir, dir, {recursive: true})
  const p = new Proj(dir, opts.bin)
  const a = await s.attempt(p, data, new Rng(`calibrate:${opts.seed}:${s.name}`), `${opts.seed}:calibrate`, opts.quick ?? false)
  const r = await p.run(a.argv, {env: a.env})
  rmSync(dir, {recursive: true, force: true})
  if (r.code !== 0) throw new Error(`${s.name}: the victim \`pach ${a.argv.join(' ')}\` fails unkilled (exit ${r.code ?? r.signal}): ${r.stderr.trim()}`)
  return r.ms
}

/**
 * When a kill point's delay starts. Half of the kill points count from the victim's start
 * (uniform over its run time); the other half from an event in the store, polled from
 * outside, then a few milliseconds more, to land in the narrow windows of the write protocol:
 * - tmp:  a temp pack appears in objects/tmp (pack bytes being written);
 * - pack: the set of files in objects/packs changes (a pack renamed into place, or gc unlinking);
 * - wal:  the k-th growth of pach.db-wal (k = 1–3: a transaction being committed).
 */
export type Trigger = 'start' | 'tmp' | 'pack' | 'wal'

function trigger(dir: string, kind: Trigger, k: number): (() => boolean) | undefined {
  const pach = join(dir, '.pach')
  // the victim creates and removes these files as we look: a vanished one counts as empty
  const safe = (fn: () => number) => () => {
    try {
      return fn()
    } catch {
      return 0
    }
  }
  const count = (d: string) => safe(() => readdirSync(d).length)()
  const packs = safe(() => readdirSync(join(pach, 'objects', 'packs')).reduce((n, d) => n + count(join(pach, 'objects', 'packs', d)), 0))
  const wal = safe(() => statSync(join(pach, 'pach.db-wal')).size)
  if (kind === 'tmp') return () => count(join(pach, 'objects', 'tmp')) > 0
  if (kind === 'pack') {
    const before = packs()
    return () => packs() !== before
  }
  if (kind === 'wal') {
    let last = wal()
    let seen = 0
    return () => {
      const now = wal()
      if (now > last) seen++
      last = now
      return seen >= k
    }
  }
  return undefined
}

/** One kill point on a fresh copy of the base: the victim, SIGKILL after `delayMs` (none: the calibration run), every check. */
async function killPoint(opts: TortureOptions, s: Scenario, baseDir: string, data: string, index: number, delayMs: number | undefined): Promise<KillPoint> {
  const t0 = Date.now()
  const dir = join(opts.work, 'kp')
  rmSync(dir, {recursive: true, force: true})
  cpSync(baseDir, dir, {recursive: true})
  const p = new Proj(dir, opts.bin)
  const rng = new Rng(`point:${opts.seed}:${s.name}:${index}`)
  const f = new Findings()
  const trig = new Rng(`trigger:${opts.seed}:${s.name}:${index}`)
  const kind: Trigger = delayMs === undefined || trig.next() < 0.5 ? 'start' : trig.pick(s.triggers ?? (['tmp', 'pack', 'wal'] as const))
  if (kind !== 'start') delayMs = trig.int(0, 10)
  const kp: KillPoint = {index, scenario: s.name, mode: '', delayMs: delayMs ?? 0, trigger: kind, victimMs: 0, delivered: false, outcome: 'unknown', garbage: false, problems: f.problems, checkedBytes: 0, lostBytes: 0, ms: 0}
  try {
    const a = await s.attempt(p, data, rng, `${opts.seed}:${index}`, opts.quick ?? false)
    kp.mode = a.mode
    const r = await p.run(a.argv, {env: a.env, killAfterMs: delayMs, killWhen: trigger(dir, kind, trig.int(1, 3))})
    kp.delivered = r.signal === 'SIGKILL' && delayMs !== undefined
    kp.victimMs = r.ms
    f.victimPid = r.pid
    if (r.signal !== 'SIGKILL' && r.code !== 0) {
      f.fail(`the victim \`pach ${a.argv.join(' ')}\` exited ${r.code ?? r.signal} unkilled: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`)
    }
    f.garbage = kp.garbage = await fsckAndGc(p, f, 'after the kill')
    await a.check(p, f, rng)
    await fsckAndGc(p, f, 'after recovery')
  } catch (e) {
    f.fail(`harness: ${(e as Error).message}`)
  }
  kp.outcome = f.outcome
  kp.checkedBytes = f.checkedBytes
  kp.lostBytes = f.lostBytes
  if (f.problems.length && opts.keepFailures) cpSync(dir, join(opts.work, `failed-${index}`), {recursive: true})
  rmSync(dir, {recursive: true, force: true})
  kp.ms = Date.now() - t0
  return kp
}

/** The summary line the script prints (and docs/reliability.md quotes). */
export function summaryLine(r: TortureReport): string {
  const scen = Object.entries(r.byScenario).map(([k, v]) => `${k} ${v.survived}/${v.delivered}`).join(', ')
  const trig = Object.entries(r.byTrigger).map(([k, v]) => `${v} after ${k}`).join(', ')
  return (
    `crash torture seed ${r.seed}: ${r.survived}/${r.delivered} kill points survived (${scen}; ${trig}); ` +
    `${r.failed} failed; ${(r.checkedBytes / MiB).toFixed(0)} MiB of finished commits re-read, bytes lost: ${r.lostBytes}; ${Math.round(r.ms / 1000)} s`
  )
}
