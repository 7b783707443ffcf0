/**
 * The datum planner: which datums a job has, given its input tree and the files of the input
 * commits (Pachyderm `worker/datum`: create.go, worker.go; ids and hashes: worker/common).
 * Pure: the caller (the job service) supplies each pfs input's listing; nothing here does I/O.
 *
 * Concepts:
 * - a datum is an ordered list of inputs, each one glob match (a file or a whole directory
 *   subtree) of one pfs input. Its **id** depends only on which (name, repo, branch, path)
 *   tuples form it, never on content; its **hash** adds the content hashes of its
 *   non-`reference` inputs and the pipeline salt. Same id + same hash = same work.
 * - pfs: one datum per glob match. Candidates are every file AND every directory of the commit
 *   (a directory is matched without its trailing "/"); the root "/" is matched only by the glob
 *   "/" and only when the commit holds at least one file. Matches come in Pachyderm's path
 *   order: paths compared with directories carrying their trailing "/" ("/a.txt" < "/a/" <
 *   "/a/b"). A directory input's path carries the trailing "/" (as in Pachyderm datum ids).
 * - join_on / group_by keys: the input's template expanded with the glob's captures of the
 *   matched path (expandTemplate); an empty template gives key "".
 * - cron: a pfs input over `<repo>@master` with glob "/*" (input.ts cronAsPfs).
 * - union: the children's datums concatenated in child order. Datums with the same id collapse
 *   into the first (Pachyderm composes the children's datum sets keyed by id).
 * - cross: cartesian product, first child outermost; a datum is the concatenation of one datum
 *   of each child. Any child with zero datums => zero datums (nested too).
 * - join: every input of every child datum is bucketed by its own join key. Per key, in
 *   ascending key order: take, for each child that has the key, its inputs with that key (in
 *   the child's datum order) and form the cartesian product across those children. If every
 *   child has the key, every product is a datum (inner join); otherwise each product keeps only
 *   its `outer_join` inputs and is a datum if that leaves any.
 * - group: every input of every child datum is bucketed by its own group key; each key, in
 *   ascending key order, is one datum holding all inputs with that key, child by child (child
 *   order, then the child's datum order, then the order inside that datum). A join/cross child
 *   contributes each input of its datums separately; the same file can appear twice.
 *
 * Ordering (processing order): pfs = path order; union = concatenation; cross = cartesian in
 * child order; join/group = ascending key (JS string order). Pachyderm orders join/group datums
 * by the BLAKE2b hash of the key, i.e. arbitrarily; ascending keys is our deterministic,
 * readable choice. The input tree is sorted first (sortInput = `pps.SortInput`), which fixes
 * the order of inputs inside each datum.
 *
 * Hashing: Pachyderm uses BLAKE2b-256; we use SHA-256 (node:crypto) over the same byte layout:
 * - datumId = sha256( for each input: name ‖ int64BE(len name) ‖ repo ‖ int64BE(len repo) ‖
 *   branch ‖ int64BE(len branch) ‖ path ‖ int64BE(len path) ), lengths in UTF-8 bytes.
 * - datumHash = sha256( id ‖ for each non-reference input: its content hash ‖ salt ). Pachyderm
 *   writes the raw hash bytes; we write the hex text (same change detection).
 *
 * Invariants:
 * - planDatums never returns two datums with the same id (later duplicates collapse into the
 *   first, whatever produced them: union, or an outer join whose filtered products coincide).
 * - results depend only on the arguments: same input tree + listings + salt => same datums,
 *   same order, same ids and hashes.
 * - DatumInput objects are shared between datums (one match appears in many cross/join
 *   products): treat them as immutable.
 *
 * Incremental processing (planIncremental, Pachyderm transform/pending_job.go): compared by id
 * with the base job (the last successful one): an id only in the current job is processed; an
 * id only in the base is removed (its outputs deleted); an id in both is skipped iff the hash
 * is equal AND the base datum succeeded ("SUCCESS" / "SKIPPED", or Pachyderm's internal
 * "PROCESSED") AND reprocess_spec is not every_job (and not s3_out); otherwise it is redone:
 * its old outputs are deleted and it is processed again. "FAILED" / "RECOVERED" never skip.
 */
import {nodeCrypto} from '../builtins.js'

import {InvalidArgumentError} from '../errors.js'
import {compileGlob, expandTemplate, GlobSyntaxError, type CompiledGlob} from '../pfs/glob.js'
import {cronAsPfs, inputChildren, inputKind, sortInput, type CronInput, type Input, type PfsInput} from './input.js'

/**
 * One candidate of one pfs input: a file or a directory (dirs have isDir true and `path`
 * WITHOUT trailing slash; "/" is the root). hash = hex content hash (dir hash for
 * directories), size in bytes.
 */
export interface Match {
  path: string
  isDir: boolean
  hash: string
  size: number
}

/**
 * Provided by the caller (the job service): the commit id the input resolved to and the
 * candidate entries: every file and directory in that commit, in path order (dirs before their
 * children). The root "/" may be included (its hash/size are then used for a "/" glob; if it is
 * absent they are derived from the files). Entries are re-sorted defensively; a trailing "/" on
 * a directory path is tolerated.
 */
export interface InputListing {
  commit: string
  entries: Match[]
}

export type Lister = (input: PfsInput) => InputListing

export interface DatumInput {
  name: string
  repo: string
  repo_type: PfsInput['repo_type']
  project: string
  branch: string
  commit: string
  /** directories WITH trailing "/" as Pachyderm does in datum ids; the root is "/" */
  path: string
  isDir: boolean
  hash: string
  size: number
  /** the expanded join key ("" when the input has no join_on) */
  join_on: string
  outer_join: boolean
  /** the expanded group key ("" when the input has no group_by) */
  group_by: string
  reference: boolean
  lazy: boolean
  empty_files: boolean
  s3: boolean
}

export interface Datum {
  id: string
  hash: string
  inputs: DatumInput[]
}

// ---------------------------------------------------------------------------------------------
// Glob matching (one pfs input)

function compile(input: PfsInput): CompiledGlob {
  if (typeof input.glob !== 'string') {
    throw new InvalidArgumentError('INVALID_GLOB', `input "${input.name}" has no glob`, {hint: 'set "glob", e.g. "/*"'})
  }
  try {
    return compileGlob(input.glob)
  } catch (e) {
    if (e instanceof GlobSyntaxError) {
      throw new InvalidArgumentError('INVALID_GLOB', `input "${input.name}": ${e.message}`, {
        data: {input: input.name, glob: e.glob, reason: e.reason},
        cause: e,
      })
    }
    throw e
  }
}

/** Canonical path of an entry: leading "/", no trailing "/" (root stays "/"). */
function normalizePath(p: string): string {
  let s = p.startsWith('/') ? p : '/' + p
  while (s.length > 1 && s.endsWith('/')) s = s.slice(0, -1)
  return s
}

/** Pachyderm's sort key of an entry: directories carry their trailing "/". */
function orderKey(path: string, isDir: boolean): string {
  return path === '/' ? '/' : isDir ? path + '/' : path
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Root entry stand-in when the listing does not carry "/": hash over the files, total size. */
function syntheticRoot(files: readonly Match[]): Match {
  const h = nodeCrypto().createHash('sha256')
  let size = 0
  for (const f of files) {
    h.update(f.path)
    h.update('\0')
    h.update(f.hash)
    h.update('\0')
    size += f.size
  }
  return {path: '/', isDir: true, hash: h.digest('hex'), size}
}

function toDatumInput(input: PfsInput, commit: string, entry: Match, path: string, captures: string[]): DatumInput {
  const isDir = entry.isDir || path === '/'
  return {
    name: input.name,
    repo: input.repo,
    repo_type: input.repo_type,
    project: input.project,
    branch: input.branch,
    commit,
    path: isDir && path !== '/' ? path + '/' : path,
    isDir,
    hash: entry.hash,
    size: entry.size,
    join_on: input.join_on ? expandTemplate(captures, input.join_on) : '',
    outer_join: input.outer_join === true,
    group_by: input.group_by ? expandTemplate(captures, input.group_by) : '',
    reference: input.reference === true,
    lazy: input.lazy === true,
    empty_files: input.empty_files === true,
    s3: input.s3 === true,
  }
}

/**
 * The glob matches of one pfs input over its listing, in Pachyderm's path order. The root "/"
 * matches only the glob "/" and only if the commit has at least one file.
 */
export function matchGlob(input: PfsInput, listing: InputListing): DatumInput[] {
  const g = compile(input)
  const entries = listing.entries.map((e) => ({e, path: normalizePath(e.path)}))
  const files = entries.filter((x) => !x.e.isDir && x.path !== '/')
  if (g.source === '/') {
    if (files.length === 0) return []
    const root = entries.find((x) => x.path === '/')?.e ?? syntheticRoot(files.map((x) => ({...x.e, path: x.path})))
    return [toDatumInput(input, listing.commit, root, '/', ['/'])]
  }
  const candidates = entries
    .filter((x) => x.path !== '/')
    .map((x, i) => ({...x, key: orderKey(x.path, x.e.isDir), i}))
    .sort((a, b) => cmp(a.key, b.key) || a.i - b.i)
  const out: DatumInput[] = []
  let lastKey: string | undefined
  for (const c of candidates) {
    if (c.key === lastKey) continue // the same entry listed twice
    lastKey = c.key
    const m = g.match(c.path)
    if (m !== null) out.push(toDatumInput(input, listing.commit, c.e, c.path, m))
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Ids and hashes

/** Content-independent datum id (see header): sha256 hex over name/repo/branch/path with lengths. */
export function datumId(inputs: readonly Pick<DatumInput, 'name' | 'repo' | 'branch' | 'path'>[]): string {
  // one buffer, one one-shot hash: planning hashes every datum of every job (10,000 here)
  let size = 0
  for (const input of inputs) {
    size += Buffer.byteLength(input.name) + Buffer.byteLength(input.repo) + Buffer.byteLength(input.branch) + Buffer.byteLength(input.path) + 32
  }
  const buf = Buffer.allocUnsafe(size)
  let o = 0
  for (const input of inputs) {
    for (const s of [input.name, input.repo, input.branch, input.path]) {
      const n = buf.write(s, o, 'utf8')
      o += n
      // the length as a big-endian int64 (strings are far below 2^32 bytes)
      buf.writeUInt32BE(0, o)
      buf.writeUInt32BE(n, o + 4)
      o += 8
    }
  }
  return nodeCrypto().hash('sha256', buf, 'hex')
}

/** sha256 hex over id ‖ each non-reference input's content hash ‖ salt. */
export function datumHash(id: string, inputs: readonly Pick<DatumInput, 'hash' | 'reference'>[], salt: string): string {
  let s = id
  for (const input of inputs) if (!input.reference) s += input.hash
  return nodeCrypto().hash('sha256', s + salt, 'hex')
}

// ---------------------------------------------------------------------------------------------
// Combinators
//
// A plan is a stream of datums (each the inputs it holds), walked again on each call: a
// first job counts its datums, runs them and merges their outputs without holding them.
// Leaves are listed once (on first use) and kept; a cross keeps its inner children and
// streams its outermost one, so a cross of two 1,000-file inputs holds 2,000 inputs, not its
// 1,000,000 datums. Join and group bucket their children (held), then stream their output.

type Plan = () => Iterable<DatumInput[]>

/** A list computed on first use and kept. */
function once<T>(f: () => T[]): () => T[] {
  let v: T[] | undefined
  return () => (v ??= f())
}

/** Cartesian product of held lists, first list outermost. */
function* product<T>(lists: readonly (readonly T[])[], i = 0, prefix: T[] = []): Generator<T[]> {
  if (i === lists.length) {
    yield prefix
    return
  }
  for (const item of lists[i]!) yield* product(lists, i + 1, [...prefix, item])
}

/** Cartesian product, first list outermost, each datum's inputs concatenated. Any empty list => nothing. */
function cross(children: Plan[]): Plan {
  const inner = children.slice(1).map((c) => once(() => [...c()]))
  return function* () {
    const rest = inner.map((l) => l())
    if (rest.some((l) => l.length === 0)) return
    for (const first of children[0]!()) for (const tail of product(rest)) yield [...first, ...tail.flat()]
  }
}

/** Every child's datums in turn, keeping the first datum of each id. */
function union(children: Plan[]): Plan {
  return function* () {
    const seen = new Set<string>()
    for (const c of children) {
      for (const d of c()) {
        const id = datumId(d)
        if (seen.has(id)) continue
        seen.add(id)
        yield d
      }
    }
  }
}

/** Per child: key -> its inputs with that key, in the child's datum order. */
function bucket(plan: Plan, key: (i: DatumInput) => string): Map<string, DatumInput[]> {
  const m = new Map<string, DatumInput[]>()
  for (const datum of plan()) {
    for (const input of datum) {
      const k = key(input)
      const list = m.get(k)
      if (list) list.push(input)
      else m.set(k, [input])
    }
  }
  return m
}

function sortedKeys(buckets: readonly Map<string, unknown>[]): string[] {
  const keys = new Set<string>()
  for (const b of buckets) for (const k of b.keys()) keys.add(k)
  return [...keys].sort(cmp)
}

function join(children: Plan[]): Plan {
  const buckets = once(() => children.map((p) => bucket(p, (i) => i.join_on)))
  return function* () {
    const bs = buckets()
    for (const key of sortedKeys(bs)) {
      const present = bs.filter((b) => b.has(key)).map((b) => b.get(key)!)
      const all = present.length === bs.length
      for (const datum of product(present)) {
        if (all) {
          yield datum
          continue
        }
        const kept = datum.filter((i) => i.outer_join)
        if (kept.length > 0) yield kept
      }
    }
  }
}

function group(children: Plan[]): Plan {
  const buckets = once(() => children.map((p) => bucket(p, (i) => i.group_by)))
  return function* () {
    const bs = buckets()
    for (const key of sortedKeys(bs)) {
      const datum: DatumInput[] = []
      for (const b of bs) {
        const list = b.get(key)
        if (list) datum.push(...list)
      }
      yield datum
    }
  }
}

function plan(node: Input, list: Lister): Plan {
  const kind = inputKind(node)
  switch (kind) {
    case 'pfs': {
      const pfs = (node as {pfs: PfsInput}).pfs
      return once(() => matchGlob(pfs, list(pfs)).map((i) => [i]))
    }
    case 'cron': {
      const pfs = cronAsPfs((node as {cron: CronInput}).cron)
      return once(() => matchGlob(pfs, list(pfs)).map((i) => [i]))
    }
    default: {
      const childInputs = inputChildren(node)
      if (childInputs.length === 0) {
        throw new InvalidArgumentError('INVALID_INPUT', `a ${kind} input needs at least one input`, {
          hint: `list the inputs to ${kind} under "${kind}"`,
        })
      }
      const children = childInputs.map((c) => plan(c, list))
      switch (kind) {
        case 'union':
          return union(children)
        case 'cross':
          return cross(children)
        case 'join':
          return join(children)
        case 'group':
          return group(children)
      }
    }
  }
  // unreachable: inputKind returns one of the kinds above
  throw new InvalidArgumentError('INVALID_INPUT', 'no input set')
}

/** True when the plan of `node` cannot repeat a datum: leaves and crosses of them (distinct tuples, distinct ids). */
function repeatFree(node: Input): boolean {
  const kind = inputKind(node)
  if (kind === 'pfs' || kind === 'cron') return true
  return kind === 'cross' && inputChildren(node).every(repeatFree)
}

/**
 * Every datum of a job, in processing order (see header), with ids and hashes, as a stream
 * walked again on each call; `list` is called once per pfs/cron leaf, on first use. The input
 * tree is sorted first (sortInput; idempotent). A datum id seen before is dropped (kept in a
 * set only where the plan could repeat one: not for leaves and crosses of them).
 */
export function streamPlan(input: Input, list: Lister, salt: string): () => Generator<Datum> {
  const sorted = sortInput(input)
  const datums = plan(sorted, list)
  const dedupe = !repeatFree(sorted)
  return function* () {
    const seen = new Set<string>()
    for (const inputs of datums()) {
      const id = datumId(inputs)
      if (dedupe) {
        if (seen.has(id)) continue
        seen.add(id)
      }
      yield {id, hash: datumHash(id, inputs, salt), inputs}
    }
  }
}

/** Every datum of a job, in processing order (see streamPlan), held. */
export function planDatums(input: Input, list: Lister, salt: string): Datum[] {
  return [...streamPlan(input, list, salt)()]
}

/**
 * The datums of a lone pfs (or cron) input, streamed: one per glob match of `entries`, which
 * must come in Pachyderm's path order without repeats (a depth-first walk of a tree does).
 * Same datums, ids, hashes and order as planDatums, without holding them: a first job over a
 * million files plans in constant memory. Undefined when the input is not a lone pfs or cron
 * input, or its glob is "/" (planDatums then plans it).
 */
export function streamDatums(input: Input, commit: string, entries: () => Iterable<Match>, salt: string): (() => Generator<Datum>) | undefined {
  const kind = inputKind(input)
  if (kind !== 'pfs' && kind !== 'cron') return undefined
  const pfs = kind === 'pfs' ? (input as {pfs: PfsInput}).pfs : cronAsPfs((input as {cron: CronInput}).cron)
  const g = compile(pfs)
  if (g.source === '/') return undefined
  return function* () {
    for (const e of entries()) {
      const path = normalizePath(e.path)
      if (path === '/') continue
      const m = g.match(path)
      if (m === null) continue
      const inputs = [toDatumInput(pfs, commit, e, path, m)]
      const id = datumId(inputs)
      yield {id, hash: datumHash(id, inputs, salt), inputs}
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Incremental plan

/** Base datum states that count as "processed successfully" (Pachyderm: PROCESSED). */
const OK_STATES: ReadonlySet<string> = new Set(['SUCCESS', 'SKIPPED', 'PROCESSED'])

export interface IncrementalOptions {
  /** reprocess_spec: "every_job" */
  reprocessEveryJob: boolean
  /** s3_out pipelines never skip either */
  s3Out?: boolean
}

export interface IncrementalPlan {
  /** datums to run, in processing order */
  process: Datum[]
  /** how many datums keep their base result (skipped) */
  skipped: number
  /** base ids not in the current job: delete their outputs (base order) */
  removed: string[]
  /** ids in both jobs that are re-processed: delete their base outputs first (current order) */
  redo: string[]
  /** datums in the job (processed + skipped) */
  total: number
}

/** The base job's datums as the planner reads them (a Map will do): by id, with their count. */
export interface BaseDatums {
  get(id: string): {hash: string; state: string} | undefined
  readonly size: number
  keys(): Iterable<string>
}

/** Whether a recorded result (hash, state) still stands for a datum: same hash, and it succeeded or was skipped. */
export const skips = (b: {hash: string; state: string}, d: {hash: string}) => b.hash === d.hash && (OK_STATES.has(b.state) || OK_STATES.has(String(b.state).toUpperCase()))

/**
 * Compare the current job's datums with the base job's (id -> {hash, state}); no base (first
 * job, or no successful ancestor) => process everything.
 */
export function planIncremental(current: readonly Datum[], base: BaseDatums | undefined, opts: IncrementalOptions): IncrementalPlan {
  const process: Datum[] = []
  let skipped = 0
  const redo: string[] = []
  const noSkip = opts.reprocessEveryJob || opts.s3Out === true
  // datum ids are unique within a plan (planDatums drops repeats), so when every base datum
  // was met nothing was removed, and the common case needs no set of every current id
  let met = 0
  for (const d of current) {
    const b = base?.get(d.id)
    if (b === undefined) {
      process.push(d)
      continue
    }
    met++
    if (!noSkip && skips(b, d)) {
      skipped++
      continue
    }
    process.push(d)
    redo.push(d.id)
  }
  const removed: string[] = []
  if (base && met < base.size) {
    const ids = new Set(current.map((d) => d.id))
    for (const id of base.keys()) if (!ids.has(id)) removed.push(id)
  }
  return {process, skipped, removed, redo, total: current.length}
}

/** What planFromChanges knows about one input commit change (base input commit → this one). */
export interface InputChange {
  /** this job's input commit id */
  commit: string
  /** every path that differs between the two commits (added, removed or modified; any depth) */
  changed: Iterable<string>
  /** the entry at a path in the base job's input commit, and in this job's */
  before: (path: string) => Match | undefined
  after: (path: string) => Match | undefined
}

/**
 * Incremental planning in O(what changed), for the common shape: an input that is one pfs
 * input whose glob has a fixed depth (only literals, `*`, `?`, `[...]`; no captures, no
 * join/group keys), planned against a base job whose every datum succeeded or was skipped
 * (the caller checks: the base's datum set counts the others). Only glob matches on changed
 * paths are planned (with planDatums, so ids and hashes equal a full plan's); every other
 * base datum is skipped without being listed. The result equals planIncremental over a full
 * plan, but for `process` order among new datums (path order of the changed matches) and
 * `removed` order. Returns undefined when the shape does not qualify; the caller then plans in
 * full. Pure: every fact about the trees comes in through `change`.
 */
export function planFromChanges(input: Input, base: BaseDatums, change: InputChange, salt: string): IncrementalPlan | undefined {
  const pfs = (input as {pfs?: PfsInput}).pfs
  if (!pfs || pfs.join_on || pfs.group_by || pfs.s3 || typeof pfs.glob !== 'string' || /[{}()@!+]|\*\*/.test(pfs.glob)) return undefined
  if (base.size === 0) return undefined
  let g: CompiledGlob
  try {
    g = compileGlob(pfs.glob)
  } catch {
    return undefined
  }
  if (g.source === '/' || g.groupCount > 0) return undefined
  const depth = g.source.split('/').length - 1
  // glob matches on the changed paths
  const touched = new Set<string>()
  for (const path of change.changed) {
    const segs = path.split('/')
    if (segs.length - 1 < depth) continue
    const q = segs.slice(0, depth + 1).join('/')
    if (g.test(q)) touched.add(q)
  }
  const idOf = (m: Match) => datumId([{name: pfs.name, repo: pfs.repo, branch: pfs.branch, path: m.isDir ? m.path + '/' : m.path}])
  const replaced = new Set<string>()
  const matches: Match[] = []
  for (const q of touched) {
    const old = change.before(q)
    if (old) replaced.add(idOf(old))
    const now = change.after(q)
    if (now) matches.push(now)
  }
  const fresh = planDatums(input, () => ({commit: change.commit, entries: matches}), salt)
  const process: Datum[] = []
  const redo: string[] = []
  let skipped = 0
  let added = 0
  for (const d of fresh) {
    replaced.delete(d.id)
    const b = base.get(d.id)
    if (!b) {
      added++
      process.push(d)
    } else if (skips(b, d)) skipped++
    else {
      process.push(d)
      redo.push(d.id)
    }
  }
  const removed = [...replaced].filter((id) => base.get(id) !== undefined)
  const total = base.size - removed.length + added
  return {process, skipped: total - process.length, removed, redo, total}
}
