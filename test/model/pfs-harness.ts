/**
 * Drives random PFS operation sequences against pach and the in-memory model (pfs-model.ts)
 * and checks they agree after every step.
 *
 * - Ops are plain JSON (so a failing sequence prints, and is pasted back as a regression
 *   example). A commit chosen at random is `{pick: n}`: the n-th commit of the repo, newest
 *   first, modulo their number, resolved against the model when the op runs.
 * - `Pfs` is the surface under test, with two implementations: the core library in-process
 *   and the built CLI (`bin/run.js --json`). Both answer with the same pachctl-shaped objects,
 *   or with the error's code.
 * - Model commits are named m1, m2, …; pach's ids are learned by lining up `list commit
 *   <repo>` (newest first) with the model's list, and must stay a bijection.
 */
import {cpSync, existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import fc from 'fast-check'
import {expect} from 'vitest'
import {readConfig, writeConfig} from '../../src/core/config.js'
import {PachError} from '../../src/core/errors.js'
import {isCommitId, parseCommit, parseFile, parseRepo} from '../../src/core/pfs/refs.js'
import {initPach, openPach} from '../../src/core/pach.js'
import type {FsckReport} from '../../src/core/maintenance/fsck.js'
import type {BranchInfo, CommitInfo, FileInfo} from '../../src/core/types.js'
import {pseudoRandom} from '../e2e/_util.js'
import type {Project} from '../helpers/cli.js'
import {allPaths, dirs, GLOBS, glob, isDir, listDir, PfsModel, Refusal, subtree, type Addr, type MRepo, type Row, type Tree} from './pfs-model.js'

// ------------------------------------------------------------------ operations

export type Pick = {pick: number}
/** The n-th path (files, then directories) of the commit copied from or to, modulo their number. */
export type Nth = {nth: number}
export type At = {branch: string; anc?: string} | Pick
export type To = {branch: string} | Pick
/** A short text, or `len` pseudo-random bytes (several chunks with the tests' small chunker). */
export type Data = string | {len: number; seed: number}

export type Op =
  | {op: 'put'; repo: string; to: To; path: string; data: Data; append?: true}
  | {op: 'delete'; repo: string; to: To; path: string}
  | {op: 'copy'; from: {repo: string; at: At; path: string | Nth}; repo: string; to: To; path: string | Nth; append?: true}
  | {op: 'start'; repo: string; branch: string; parent?: Pick}
  | {op: 'finish'; repo: string; at: To}
  | {op: 'squash'; repo: string; at: At}
  | {op: 'drop'; repo: string; at: At}
  | {op: 'branch'; repo: string; branch: string; head?: At}
  | {op: 'unbranch'; repo: string; branch: string}
  | {op: 'read'; repo: string; at: At}
  | {op: 'gc'}

export const REPOS = ['a', 'b']
const BRANCHES = ['master', 'dev', 'x']
// names around "/" in byte order ("-" < "." < "/" < "0") so path order is exercised
const PATHS = ['/x', '/a', '/a.txt', '/a-b', '/a0', '/a/x', '/a/y', '/a/c/x', '/a/c', '/b/x', '/b/a/x', '/']
const ANCESTRY = ['^', '^^', '~', '~2', '^2', '^0', '.0', '.1', '.2']

const repoArb = fc.constantFrom(...REPOS)
const branchArb = fc.oneof({weight: 3, arbitrary: fc.constant(BRANCHES[0]!)}, fc.constantFrom(...BRANCHES.slice(1)))
const pathArb = fc.constantFrom(...PATHS)
// small picks are the newest commits (often the open one)
const pickArb: fc.Arbitrary<Pick> = fc.record({pick: fc.oneof(fc.nat(2), fc.nat(30))})
const toArb: fc.Arbitrary<To> = fc.oneof({weight: 5, arbitrary: fc.record({branch: branchArb})}, {weight: 1, arbitrary: pickArb})
const atArb: fc.Arbitrary<At> = fc.oneof(
  {weight: 3, arbitrary: fc.record({branch: branchArb})},
  {weight: 2, arbitrary: fc.record({branch: branchArb, anc: fc.constantFrom(...ANCESTRY)})},
  {weight: 2, arbitrary: pickArb},
)
const dataArb: fc.Arbitrary<Data> = fc.oneof(
  {weight: 5, arbitrary: fc.string({unit: fc.constantFrom('a', 'b', 'c'), maxLength: 6})},
  {weight: 1, arbitrary: fc.record({len: fc.integer({min: 60, max: 900}), seed: fc.integer({min: 1, max: 0x7fffffff})})},
)
const yes = fc.constant(true as const)
// copies between existing paths: directories onto files, files onto directories, merges
const somePathArb = fc.oneof(pathArb, {weight: 2, arbitrary: fc.record({nth: fc.nat(20)})})
const fromArb = fc.record({repo: repoArb, at: atArb, path: somePathArb})

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  {weight: 6, arbitrary: fc.record({op: fc.constant('put' as const), repo: repoArb, to: toArb, path: pathArb, data: dataArb})},
  {weight: 2, arbitrary: fc.record({op: fc.constant('put' as const), repo: repoArb, to: toArb, path: pathArb, data: dataArb, append: yes})},
  {weight: 2, arbitrary: fc.record({op: fc.constant('delete' as const), repo: repoArb, to: toArb, path: pathArb})},
  {weight: 4, arbitrary: fc.record({op: fc.constant('copy' as const), from: fromArb, repo: repoArb, to: toArb, path: somePathArb})},
  {weight: 1, arbitrary: fc.record({op: fc.constant('copy' as const), from: fromArb, repo: repoArb, to: toArb, path: somePathArb, append: yes})},
  {weight: 2, arbitrary: fc.record({op: fc.constant('start' as const), repo: repoArb, branch: branchArb})},
  {weight: 1, arbitrary: fc.record({op: fc.constant('start' as const), repo: repoArb, branch: branchArb, parent: pickArb})},
  {weight: 4, arbitrary: fc.record({op: fc.constant('finish' as const), repo: repoArb, at: toArb})},
  {weight: 1, arbitrary: fc.record({op: fc.constant('squash' as const), repo: repoArb, at: atArb})},
  {weight: 1, arbitrary: fc.record({op: fc.constant('drop' as const), repo: repoArb, at: atArb})},
  {weight: 2, arbitrary: fc.record({op: fc.constant('branch' as const), repo: repoArb, branch: branchArb, head: atArb})},
  {weight: 1, arbitrary: fc.record({op: fc.constant('branch' as const), repo: repoArb, branch: branchArb})},
  {weight: 1, arbitrary: fc.record({op: fc.constant('unbranch' as const), repo: repoArb, branch: branchArb})},
  {weight: 1, arbitrary: fc.record({op: fc.constant('read' as const), repo: repoArb, at: atArb})},
  {weight: 2, arbitrary: fc.constant({op: 'gc' as const})},
)

export const bytesOf = (d: Data): Buffer => (typeof d === 'string' ? Buffer.from(d) : pseudoRandom(d.len, d.seed))

// ------------------------------------------------------------------ the surface under test

export type Outcome<T> = {ok: true; value: T} | {ok: false; code: string}

/** pach's PFS verbs, addressed the way pachctl addresses them. */
export interface Pfs {
  createRepo(name: string): Promise<Outcome<unknown>>
  put(file: string, data: Buffer, append: boolean): Promise<Outcome<unknown>>
  deleteFile(file: string): Promise<Outcome<unknown>>
  copy(src: string, dst: string, append: boolean): Promise<Outcome<unknown>>
  startCommit(branch: string, parent?: string): Promise<Outcome<unknown>>
  finishCommit(commit: string): Promise<Outcome<unknown>>
  /** `<commit-set-id>` or `<repo>@<ref>` */
  squashCommit(target: string): Promise<Outcome<unknown>>
  dropCommit(target: string): Promise<Outcome<unknown>>
  createBranch(branch: string, head?: string): Promise<Outcome<unknown>>
  deleteBranch(branch: string): Promise<Outcome<unknown>>
  listCommit(target: string): Promise<Outcome<CommitInfo[]>>
  listBranch(repo: string): Promise<Outcome<BranchInfo[]>>
  listFile(file: string): Promise<Outcome<FileInfo[]>>
  glob(commit: string, pattern: string): Promise<Outcome<FileInfo[]>>
  getFile(file: string): Promise<Outcome<Buffer>>
  gc(): Promise<Outcome<unknown>>
  fsck(): Promise<Outcome<FsckReport>>
}

async function attempt<T>(f: () => T | Promise<T>): Promise<Outcome<T>> {
  try {
    return {ok: true, value: await f()}
  } catch (e) {
    if (e instanceof PachError) return {ok: false, code: e.code}
    throw e
  }
}

/** The core library, in-process, over the project at `pachDir` (close it when done). */
export function libraryPfs(pachDir: string): Pfs & {close(): void} {
  const P = 'default'
  let pach = openPach({pachDir})
  const squashTarget = (t: string) => (isCommitId(t) ? t : parseCommit(t))
  return {
    createRepo: (name) => attempt(() => pach.repos.create(P, name)),
    put: (file, data, append) =>
      attempt(() => {
        const f = parseFile(file)
        const open = async function* () {
          yield data
        }
        return pach.files.put(P, f.commit, [{path: f.path, open}], {append})
      }),
    deleteFile: (file) =>
      attempt(() => {
        const f = parseFile(file)
        return pach.files.delete(P, f.commit, [f.path])
      }),
    copy: (src, dst, append) => attempt(() => pach.files.copy(P, parseFile(src), parseFile(dst), {append})),
    startCommit: (branch, parent) => attempt(() => pach.commits.start(P, parseCommit(branch), {parent})),
    finishCommit: (commit) => attempt(() => pach.commits.finish(P, parseCommit(commit), {})),
    squashCommit: (t) => attempt(() => pach.commits.squash(P, squashTarget(t), (r, c) => pach.hooks.isSpecCommit(r, c))),
    dropCommit: (t) => attempt(() => pach.commits.drop(P, squashTarget(t))),
    createBranch: (branch, head) =>
      attempt(() => {
        const b = parseCommit(branch)
        return pach.branches.create(P, b.repo, b.branch!, {head})
      }),
    deleteBranch: (branch) =>
      attempt(() => {
        const b = parseCommit(branch)
        return pach.branches.delete(P, b.repo, b.branch!, false)
      }),
    listCommit: (t) => attempt(() => pach.commits.list(P, parseCommit(t))),
    listBranch: (repo) => attempt(() => pach.branches.list(P, parseRepo(repo))),
    listFile: (file) => attempt(() => [...pach.files.list(P, parseFile(file))]),
    glob: (commit, pattern) => attempt(() => pach.files.glob(P, parseCommit(commit), pattern)),
    getFile: (file) => attempt(() => pach.files.readAll(P, parseFile(file))),
    async gc() {
      const r = await attempt(() => pach.gc())
      // a fresh handle: reads after gc must not be served by pack files still open from before
      pach.close()
      pach = openPach({pachDir})
      return r
    },
    fsck: () => attempt(() => pach.fsck({readData: true})),
    close: () => pach.close(),
  }
}

/** The built CLI: one `bin/run.js … --json` process per call. */
export function cliPfs(p: Project): Pfs {
  const json = async <T>(args: string[], input?: Buffer): Promise<Outcome<T>> => {
    const r = await p.run([...args, '--json'], {input})
    if (r.exitCode === 0) return {ok: true, value: r.json<T>()}
    const envelope = r.json<{error?: {code: string}}>()
    expect(envelope.error, `pach ${args.join(' ')}: no error envelope\n${r.stdout}\n${r.stderr}`).toBeDefined()
    return {ok: false, code: envelope.error!.code}
  }
  const flag = (on: boolean, f: string) => (on ? [f] : [])
  const out = join(p.dir, 'get-file.out')
  return {
    createRepo: (name) => json(['create', 'repo', name]),
    put: (file, data, append) => json(['put', 'file', file, '-f', '-', ...flag(append, '--append')], data),
    deleteFile: (file) => json(['delete', 'file', file]),
    copy: (src, dst, append) => json(['copy', 'file', src, dst, ...flag(append, '--append')]),
    startCommit: (branch, parent) => json(['start', 'commit', branch, ...(parent ? ['-p', parent] : [])]),
    finishCommit: (commit) => json(['finish', 'commit', commit]),
    squashCommit: (t) => json(['squash', 'commit', t]),
    dropCommit: (t) => json(['delete', 'commit', t]),
    createBranch: (branch, head) => json(['create', 'branch', branch, ...(head ? ['--head', head] : [])]),
    deleteBranch: (branch) => json(['delete', 'branch', branch]),
    listCommit: (t) => json(['list', 'commit', t]),
    listBranch: (repo) => json(['list', 'branch', repo]),
    listFile: (file) => json(['list', 'file', file]),
    glob: (commit, pattern) => json(['glob', 'file', `${commit}:${pattern}`]),
    async getFile(file) {
      rmSync(out, {force: true})
      const r = await json(['get', 'file', file, '-o', out])
      return r.ok ? {ok: true, value: readFileSync(out)} : r
    },
    gc: () => json(['gc']),
    fsck: () => json(['fsck']),
  }
}

/**
 * Small chunks (64..256 bytes) so that short contents span several chunks and appends
 * re-chunk; no fsync (nothing here tests durability). Set before any file is written.
 */
export function useSmallChunks(pachDir: string): void {
  const cfg = readConfig(pachDir)
  writeConfig(pachDir, {...cfg, chunker: {...cfg.chunker, minSize: 64, avgSize: 128, maxSize: 256}, fsync: false})
}

let template: string | undefined
// tmpfs when there is one: creating and removing a project costs 30 ms on a busy disk, 6 ms there
const TMP = process.env.PACH_MODEL_TMP ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir())

/** A fresh project for one in-process sequence (a copy of one initialised template). */
export function modelProject(): {pachDir: string; dispose(): void} {
  if (!template) {
    template = mkdtempSync(join(TMP, 'pach-model-template-'))
    const init = initPach(template)
    useSmallChunks(init.pachDir)
    init.close()
    process.once('exit', () => rmSync(template!, {recursive: true, force: true}))
  }
  const dir = mkdtempSync(join(TMP, 'pach-model-'))
  cpSync(join(template, '.pach'), join(dir, '.pach'), {recursive: true})
  return {pachDir: join(dir, '.pach'), dispose: () => rmSync(dir, {recursive: true, force: true})}
}

// ------------------------------------------------------------------ model ↔ pach ids and hashes

/** Model commit id ↔ pach commit id, a bijection learned as commits appear. */
export class IdMap {
  private toPach = new Map<string, string>()
  private toModel = new Map<string, string>()

  bind(model: string, pach: string, ctx: string): void {
    const known = this.toPach.get(model)
    expect(known ?? pach, `${ctx}: model commit ${model} is pach ${known}, now ${pach}`).toBe(pach)
    const owner = this.toModel.get(pach)
    expect(owner ?? model, `${ctx}: pach commit ${pach} is model ${owner}, now ${model}`).toBe(model)
    this.toPach.set(model, pach)
    this.toModel.set(pach, model)
  }

  pach(model: string): string {
    const id = this.toPach.get(model)
    if (!id) throw new Error(`model commit ${model} has no pach id yet`)
    return id
  }
}

/**
 * Content addressing, checked across a whole sequence: equal bytes have equal hashes however
 * they were written (whole, appended, copied), and different bytes different hashes; the same
 * for directories over their files.
 */
export class HashBook {
  private byKey = new Map<string, string>()
  private byHash = new Map<string, string>()

  see(key: string, hash: string, ctx: string): void {
    const h = this.byKey.get(key)
    expect(h ?? hash, `${ctx}: equal content, different hashes`).toBe(hash)
    const k = this.byHash.get(hash)
    expect(k ?? key, `${ctx}: different content, same hash ${hash}`).toBe(key)
    this.byKey.set(key, hash)
    this.byHash.set(hash, key)
  }
}

const contentKey = (b: Buffer) => `f:${b.toString('base64')}`
const dirKey = (t: Tree, p: string) => `d:${JSON.stringify(subtree(t, p).map(([rel, b]) => [rel, b.toString('base64')]).sort())}`

// ------------------------------------------------------------------ one sequence

/** What the sequences did, over the whole test file (printed with PACH_MODEL_STATS=1). */
export const stats = {sequences: 0, steps: 0, skipped: 0, outcomes: {} as Record<string, number>}

const must = <T>(o: Outcome<T>, ctx: string): T => {
  if (!o.ok) throw new Error(`${ctx}: pach refused with ${o.code}`)
  return o.value
}

const rowOf = (f: FileInfo): Row => ({path: f.file.path, type: f.file_type, size: f.size_bytes})

/** Apply ops to a model and to pach; after every step the two must agree. */
export class Sequence {
  readonly model = new PfsModel()
  readonly ids = new IdMap()
  readonly hashes = new HashBook()
  readonly log: string[] = []
  /** ref → the [pach commit, model tree] last checked there: unchanged heads are not re-read */
  private checked = new Map<string, [string, Tree]>()

  /**
   * @param act where the ops go
   * @param observe what the state is read through after each step (may reopen the project)
   */
  constructor(
    private readonly act: Pfs,
    private readonly observe: () => Pfs,
  ) {}

  async setup(): Promise<void> {
    for (const r of REPOS) {
      this.model.createRepo(r)
      must(await this.act.createRepo(r), `create repo ${r}`)
    }
  }

  async run(ops: readonly Op[]): Promise<void> {
    stats.sequences++
    await this.setup()
    for (const op of ops) {
      await this.step(op)
      // after gc every commit is read again: it must not have collected anything live
      await this.check(this.observe(), op.op === 'gc' ? 'all' : 'changed')
    }
    await this.check(this.observe(), 'all')
    await this.fsck(this.observe())
  }

  /** fsck (reading every blob) finds no problem. */
  async fsck(pfs: Pfs): Promise<void> {
    const ctx = `fsck after:\n  ${this.log.join('\n  ')}`
    expect(must(await pfs.fsck(), ctx).problems, ctx).toEqual([])
  }

  /** `{pick}` → a model commit id (undefined when the repo has no commit yet). */
  private pick(repo: string, a: At): Addr | undefined {
    if (!('pick' in a)) return a
    const cs = this.model.commits(this.model.repo(repo))
    return cs.length ? {id: cs[a.pick % cs.length]!.id} : undefined
  }

  /** `{nth}` → a path of the commit at `at` (one of PATHS when it has none or `at` does not resolve). */
  private nth(repo: string, at: Addr, p: string | Nth): string {
    if (typeof p === 'string') return p
    const tree = refusalOf(() => this.model.resolve(this.model.repo(repo), at)) ? undefined : this.model.resolve(this.model.repo(repo), at).tree
    const paths = tree?.size ? allPaths(tree) : PATHS
    return paths[p.nth % paths.length]!
  }

  private ref(repo: string, a: Addr): string {
    return 'id' in a ? `${repo}@${this.ids.pach(a.id)}` : `${repo}@${a.branch}${a.anc ?? ''}`
  }

  /** Apply one op to both sides and compare the outcomes (ok, or the same error code). */
  async step(op: Op): Promise<void> {
    const m = this.model
    const ctx = `step ${this.log.length + 1} ${JSON.stringify(op)}`
    let want: () => void
    let got: () => Promise<Outcome<unknown>>
    switch (op.op) {
      case 'put':
      case 'delete': {
        const to = this.pick(op.repo, op.to)
        if (!to) return this.skip(ctx)
        const file = `${this.ref(op.repo, to)}:${op.path}`
        if (op.op === 'delete') {
          want = () => m.deleteFile(op.repo, to, op.path)
          got = () => this.act.deleteFile(file)
        } else {
          const data = bytesOf(op.data)
          want = () => m.put(op.repo, to, op.path, data, op.append)
          got = () => this.act.put(file, data, op.append ?? false)
        }
        break
      }
      case 'copy': {
        const at = this.pick(op.from.repo, op.from.at)
        const to = this.pick(op.repo, op.to)
        if (!at || !to) return this.skip(ctx)
        const path = this.nth(op.from.repo, at, op.from.path)
        const dst = this.nth(op.repo, to, op.path)
        want = () => m.copy({repo: op.from.repo, addr: at, path}, op.repo, to, dst, op.append)
        got = () => this.act.copy(`${this.ref(op.from.repo, at)}:${path}`, `${this.ref(op.repo, to)}:${dst}`, op.append ?? false)
        break
      }
      case 'start': {
        const parent = op.parent && this.pick(op.repo, op.parent)
        if (op.parent && !parent) return this.skip(ctx)
        const pid = parent && 'id' in parent ? parent.id : undefined
        want = () => m.start(op.repo, op.branch, pid)
        got = () => this.act.startCommit(`${op.repo}@${op.branch}`, pid && this.ids.pach(pid))
        break
      }
      case 'finish':
      case 'squash':
      case 'drop': {
        const at = this.pick(op.repo, op.at)
        if (!at) return this.skip(ctx)
        // squash/drop by id use the commit-set form (`squash commit <id>`)
        const target = op.op !== 'finish' && 'id' in at ? this.ids.pach(at.id) : this.ref(op.repo, at)
        want = () => m[op.op](op.repo, at)
        got = () => (op.op === 'finish' ? this.act.finishCommit(target) : op.op === 'squash' ? this.act.squashCommit(target) : this.act.dropCommit(target))
        break
      }
      case 'branch': {
        const head = op.head && this.pick(op.repo, op.head)
        if (op.head && !head) return this.skip(ctx)
        want = () => m.createBranch(op.repo, op.branch, head)
        got = () => this.act.createBranch(`${op.repo}@${op.branch}`, head && this.ref(op.repo, head))
        break
      }
      case 'unbranch':
        want = () => m.deleteBranch(op.repo, op.branch)
        got = () => this.act.deleteBranch(`${op.repo}@${op.branch}`)
        break
      case 'gc':
        want = () => undefined
        got = () => this.act.gc()
        break
      case 'read': {
        const at = this.pick(op.repo, op.at)
        if (!at) return this.skip(ctx)
        this.log.push(ctx)
        stats.steps++
        return this.checkRead(this.observe(), op.repo, at, ctx)
      }
    }
    const expected = refusalOf(want)
    const outcome = await got()
    this.log.push(`${ctx} → ${expected ?? 'ok'}`)
    stats.steps++
    const key = `${op.op}${'append' in op && op.append ? ' --append' : ''} → ${expected ?? 'ok'}`
    stats.outcomes[key] = (stats.outcomes[key] ?? 0) + 1
    expect(outcome.ok ? undefined : outcome.code, `${ctx}: pach ${outcome.ok ? 'accepted' : `refused (${outcome.code})`}, the model ${expected ? `refuses (${expected})` : 'accepts'}`).toBe(expected)
  }

  private skip(ctx: string): void {
    stats.skipped++
    this.log.push(`${ctx} → skipped (no commit to pick)`)
  }

  /**
   * A read at any address (ancestry included): the same commit, or the same refusal; then
   * `list file` and `get file` of every path, existing or not.
   */
  private async checkRead(pfs: Pfs, repo: string, at: Addr, ctx: string): Promise<void> {
    const expected = refusalOf(() => this.model.resolve(this.model.repo(repo), at))
    const ref = this.ref(repo, at)
    if (expected) {
      const o = await pfs.listFile(`${ref}:/`)
      expect(o.ok ? undefined : o.code, `${ctx}: list file ${ref}`).toBe(expected)
      return
    }
    const tree = this.model.resolve(this.model.repo(repo), at).tree
    await this.checkTree(pfs, ref, tree, ctx)
    for (const p of PATHS) {
      const kind = tree.has(p) ? 'file' : p === '/' || isDir(tree, p) ? 'dir' : undefined
      const list = await pfs.listFile(`${ref}:${p}`)
      const wantList = kind === 'file' ? [{path: p, type: 'FILE', size: tree.get(p)!.length}] : kind === 'dir' ? listDir(tree, p) : 'FILE_NOT_FOUND'
      expect(list.ok ? list.value.map(rowOf) : list.code, `${ctx}: list file ${ref}:${p}`).toEqual(wantList)
      const get = await pfs.getFile(`${ref}:${p}`)
      const wantGet = kind === 'file' ? tree.get(p)!.toString('base64') : kind === 'dir' ? 'IS_A_DIRECTORY' : 'FILE_NOT_FOUND'
      expect(get.ok ? get.value.toString('base64') : get.code, `${ctx}: get file ${ref}:${p}`).toBe(wantGet)
    }
  }

  /**
   * Commits, branches and histories of every repo, and the files of: the branch heads that
   * changed since the last check ('changed'), every branch head ('heads'), or every commit
   * ('all'). `globs` are the patterns compared (default: all of GLOBS).
   */
  async check(pfs: Pfs, scope: 'changed' | 'heads' | 'all', globs = Object.keys(GLOBS)): Promise<void> {
    const ctx = `after ${this.log.length} steps (${scope}):\n  ${this.log.join('\n  ')}\n`
    for (const repo of this.model.repos.values()) {
      const want = this.model.commits(repo)
      const got = must(await pfs.listCommit(repo.name), `list commit ${repo.name}`)
      expect(got.length, `${ctx}list commit ${repo.name}: count`).toBe(want.length)
      want.forEach((c, i) => this.ids.bind(c.id, got[i]!.commit.id, ctx))
      expect(got.map(commitRow), `${ctx}list commit ${repo.name}`).toEqual(want.map((c) => this.modelCommitRow(repo, c.id)))

      const branches = must(await pfs.listBranch(repo.name), `list branch ${repo.name}`)
      const heads = Object.fromEntries(branches.map((b) => [b.branch.name, b.head.id]))
      expect(heads, `${ctx}list branch ${repo.name}`).toEqual(Object.fromEntries([...repo.branches].map(([b, h]) => [b, this.ids.pach(h)])))

      const seen = new Set<string>()
      for (const [b, head] of [...repo.branches].sort()) {
        const ref = `${repo.name}@${b}`
        const chain = must(await pfs.listCommit(ref), `list commit ${ref}`).map((c) => c.commit.id)
        expect(chain, `${ctx}list commit ${ref}`).toEqual(this.model.chain(repo, head).map((c) => this.ids.pach(c.id)))
        const tree = repo.commits.get(head)!.tree
        const last = this.checked.get(ref)
        const changed = last?.[0] !== this.ids.pach(head) || last[1] !== tree
        if (!seen.has(head) && (scope !== 'changed' || changed)) await this.checkTree(pfs, ref, tree, ctx, globs)
        this.checked.set(ref, [this.ids.pach(head), tree])
        seen.add(head)
      }
      if (scope === 'all') for (const c of want) if (!seen.has(c.id)) await this.checkTree(pfs, `${repo.name}@${this.ids.pach(c.id)}`, c.tree, ctx, globs)
    }
  }

  private modelCommitRow(repo: MRepo, id: string): CommitRow {
    const c = repo.commits.get(id)!
    return {
      id: this.ids.pach(id),
      branch: c.branch,
      parent: c.parent && this.ids.pach(c.parent),
      children: this.model.children(repo, id).map((k) => this.ids.pach(k.id)),
      finished: c.finished,
      origin: c.origin,
      size: subtree(c.tree, '/').reduce((n, [, b]) => n + b.length, 0),
    }
  }

  /** Every directory listing, every file's bytes, and the glob patterns of one commit. */
  async checkTree(pfs: Pfs, ref: string, tree: Tree, ctx: string, globs = Object.keys(GLOBS)): Promise<void> {
    for (const dir of dirs(tree)) {
      const rows = must(await pfs.listFile(`${ref}:${dir}`), `${ctx}list file ${ref}:${dir}`)
      expect(rows.map(rowOf), `${ctx}list file ${ref}:${dir}`).toEqual(listDir(tree, dir))
      for (const f of rows) {
        const p = f.file.path.replace(/\/$/, '')
        this.hashes.see(f.file_type === 'FILE' ? contentKey(tree.get(p)!) : dirKey(tree, p), f.hash, `${ctx}${ref}:${p}`)
      }
    }
    for (const [p, want] of tree) {
      const got = must(await pfs.getFile(`${ref}:${p}`), `${ctx}get file ${ref}:${p}`)
      expect(got.equals(want), `${ctx}get file ${ref}:${p}: ${JSON.stringify(got.toString())} != ${JSON.stringify(want.toString())}`).toBe(true)
    }
    for (const pattern of globs) {
      const rows = must(await pfs.glob(ref, pattern), `${ctx}glob file ${ref}:${pattern}`)
      expect(rows.map(rowOf), `${ctx}glob file ${ref}:${pattern}`).toEqual(glob(tree, pattern))
    }
  }
}

interface CommitRow {
  id: string
  branch: string | undefined
  parent: string | null
  children: string[]
  finished: boolean
  origin: string
  size: number
}

const commitRow = (c: CommitInfo): CommitRow => ({
  id: c.commit.id,
  branch: c.commit.branch?.name,
  parent: c.parent_commit?.id ?? null,
  children: c.child_commits.map((k) => k.id),
  finished: c.finished !== null,
  origin: c.origin.kind,
  size: c.details.size_bytes,
})

function refusalOf(f: () => unknown): string | undefined {
  try {
    f()
    return undefined
  } catch (e) {
    if (e instanceof Refusal) return e.code
    throw e
  }
}
