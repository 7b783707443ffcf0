/**
 * Purge (`pach purge file REPO@BRANCH:/path`): remove a file (or every path a glob matches)
 * from all history, and everything derived from it, the moderation case (issue 16).
 *
 * Concept. A purge rewrites trees, never commits: each commit of the repo that holds a
 * matching path gets a new root without it (path copying, as any write), and keeps its id,
 * commit set, parent, origin, description and times; only `tree` and `size` change. What was
 * derived from the purged files follows, recursively downstream: a datum whose input (in a
 * rewritten commit) is a purged file, or a directory that held one, is *tainted*; its output
 * files are removed from every output commit whose job's datum set holds that run of it (the
 * run it ran or skipped to), its `/meta/<datum>` record and logs from the matching meta
 * commits, and its row's output tree is cleared. The output paths removed become purged
 * paths of the output repo's commits, so pipelines reading them are handled the same way.
 * Finally the bytes go: gc runs with a repack threshold of 0, so every pack holding a blob no
 * longer referenced is rewritten without it (a blob another live file shares stays).
 *
 * Recompute (repairs). Every output commit that lost derived outputs is recomputed in place,
 * not only the branch head: in the switch, the tainted entries leave the datum set of every job
 * that held them (the set then describes what its commit still holds), and every succeeded job
 * of a transform pipeline whose set held one is put back to JOB_CREATED with its output and
 * meta commits reopened (same ids; their times and their commit set's are kept and put back
 * when the job finishes them, db/commits.ts keepCommitTimes). So is, recursively, every
 * succeeded transform job reading an output commit a repair recomputes (its input may change).
 * The job machinery runs them like any job, through the same Runner (the command runs pending
 * jobs as `put file` does; `pach run` after a kill): per pipeline oldest first (a job waits for
 * the pipeline's earlier unfinished jobs), downstream after upstream (a job waits for its
 * reopened input commits). Each re-plans over the input commits its job recorded (its output
 * commit's provenance, rewritten) against its own set first (pps/job-plan.ts repairPlan):
 * untouched datums keep their results, a datum its (already repaired) base has with the same
 * hash is taken from there, and only the rest run: a datum that read a purged file runs over
 * what is left of its inputs, one whose inputs were purged whole is gone. Each repaired commit
 * then holds what a fresh run over the purged inputs would give. A repair that fails ends its
 * job as JOB_FAILURE with its commit's error, as any job.
 *
 * Which pipelines. A stopped pipeline's commits are repaired too, in place: the purge is an
 * explicit admin action that must leave no derived data and no stale history, stopping only
 * means "no new jobs for new input" (a repair makes no commit and reads no new input, with the
 * spec version that made the commit), and refusing would block a legal removal on an unrelated
 * switch, or force a start that also processes whatever input waited; the pipeline stays
 * stopped. Failed, killed and unrunnable jobs are not re-run (their commits carry an error and
 * are never a base: they only lose the derived outputs; re-running would change their state).
 * Services have no datums (their code serves the whole input): a running one holds the input
 * in its workspace, so it refuses the purge (JOB_RUNNING) until stopped; their commits hold no
 * derived outputs. Spouts have no input, so nothing upstream taints them; a spout's output repo
 * is where its data enters pach, so it may itself be purged like a user repo.
 *
 * Planner and applier. `planPurge` only reads (rows and trees) and returns every commit,
 * datum and output that would change: `--dry-run` prints it. `applyPurge` writes the new
 * trees and switches every commit, datum row, datum set and the audit log in ONE SQLite
 * transaction (under a 'write' lease, so a concurrent gc cannot collect the new trees before
 * they are referenced), then sweeps. A kill before the transaction commits leaves the old
 * history (new tree rows at most, garbage); after it, the new history and the purged bytes
 * still in packs, flagged by `meta.purge_sweep_pending`: the next `pach gc` (or purge) sweeps
 * with threshold 0 and clears the flag (`purgeSweepPending`).
 *
 * Refusals. A transform's or service's output or meta repo (purge its inputs: the outputs follow); an open
 * commit among the rewritten ones or downstream (a write or a job is in progress: its tree
 * would be rewritten under it); a job of an affected pipeline that is not finished
 * (JOB_RUNNING); without --all-branches, a commit outside the branch's history that holds
 * the same content (PURGE_INCOMPLETE: its bytes could not go).
 *
 * Audit. An entry per purge in `meta.purge_log` (a JSON array; purges are rare, so no table
 * and no migration): when, repo, branch, pattern, description, and per purged file its path,
 * size and content hash (SHA-256 of its chunk ids, never the bytes), plus counts (input
 * commits, output commits, datums, output commits recomputed).
 *
 * Crash safety of the repairs: each is a job, finished in one transaction; killed before, it
 * is given back by the next `pach run` and its commits stay open with the purged trees (no
 * derived data, nothing half-merged), so history is old or new per commit, never a mix.
 *
 * Crash hook for tests: PACH_PURGE_CRASH=after-trees (inside the switch transaction, trees
 * written), after-switch (committed, before the sweep), mid-sweep (gc.ts: the purged blobs
 * unindexed, their packs not yet rewritten) or mid-recompute (pps/job-service.ts: one repair
 * finished, the next not started) makes the process SIGKILL itself there
 * (test/torture/purge-crash.test.ts).
 */
import {hostname} from 'node:os'
import type {CoreContext} from '../context.js'
import * as datums from '../db/datums.js'
import * as jobRows from '../db/jobs.js'
import {deleteLease, insertLease} from '../db/leases.js'
import {getMeta, setMeta} from '../db/meta.js'
import {withTx} from '../db/open.js'
import * as rows from '../db/pfs-rows.js'
import type {CommitRow, RepoRow} from '../db/pfs-rows.js'
import * as pipelineRows from '../db/pipelines.js'
import {deleteRemoteContentOf} from '../db/remotes.js'
import {deleteS3Etag} from '../db/s3-etags.js'
import {ConflictError, InvalidArgumentError, LockedError, NotFoundError} from '../errors.js'
import {cleanGlob, compileGlob, GlobSyntaxError} from '../pfs/glob.js'
import {liveLeases} from '../process.js'
import {toHex} from '../store/hash.js'
import type {FileEntry, TreeOp, TreeStore} from '../store/tree-store.js'
import {repoLabel} from '../types.js'
import type {DatumInput} from '../pps/datum.js'
import {pipelineKind, type PipelineSpec} from '../pps/spec/index.js'
import {gc, PURGE_PENDING_KEY, type GcReport} from './gc.js'

export const PURGE_LOG_KEY = 'purge_log'

export interface PurgeRequest {
  project: string
  repo: string
  branch: string
  /** a path or a Pachyderm glob; a matching directory purges every file under it */
  pattern: string
  allBranches?: boolean
  description?: string
}

/** One file removed from one commit. */
export interface PurgedFile {
  path: string
  size: number
  /** content hash (hex) */
  hash: string
}

/** One commit whose tree changes. */
export interface PurgeCommit {
  project: string
  repo: string
  /** repo label (name, or name.meta) */
  label: string
  commit: string
  branch: string | null
  /** why: 'input' (the purged files), 'output' (derived outputs), 'meta' (datum records) */
  kind: 'input' | 'output' | 'meta'
  removed: PurgedFile[]
  size_before: number
}

export interface PurgeDatum {
  project: string
  pipeline: string
  /** the job whose row describes the datum (it ran it) */
  job: string
  datum: string
  /** input paths it read that were purged (repo@commit:path) */
  reads: string[]
  /** files its output held (removed wherever this run of it is merged) */
  outputs: string[]
  /**
   * What becomes of it: 'recompute' (its inputs still exist: the repairs run it again),
   * 'gone' (an input of it is purged whole: it no longer exists; what is left of its inputs is
   * planned afresh), 'upstream' (it reads outputs an upstream repair recomputes: it runs again
   * if they come back).
   */
  fate: 'recompute' | 'gone' | 'upstream'
}

/** A job whose datum set held tainted runs: those entries leave its set. */
export interface PurgeJob {
  project: string
  pipeline: string
  job: string
  /** ids of the tainted datums its set held */
  datums: string[]
}

/** A job run again in its own output commit (a repair), oldest first. */
export interface PurgeRecompute {
  project: string
  pipeline: string
  job: string
  /** 'tainted': its set held tainted datums; 'downstream': it reads a commit another repair recomputes */
  why: 'tainted' | 'downstream'
}

export interface PurgePlan {
  request: PurgeRequest
  /** the distinct purged files of the source repo (path + content) */
  files: PurgedFile[]
  commits: PurgeCommit[]
  datums: PurgeDatum[]
  /** jobs whose datum sets held tainted runs (those entries go; the set is planned in full next) */
  jobs: PurgeJob[]
  /** jobs run again over the rewritten inputs, each in its own output commit, oldest first */
  recompute: PurgeRecompute[]
}

export interface PurgeAuditEntry {
  at: string
  project: string
  repo: string
  branch: string
  all_branches: boolean
  pattern: string
  description: string
  files: PurgedFile[]
  commits: number
  output_commits: number
  datums: number
  /** output commits recomputed in place (their jobs run again); absent in entries written before repairs existed */
  recomputed?: number
}

export interface PurgeResult {
  dry_run: boolean
  plan: PurgePlan
  /** gc's report of the sweep (absent on --dry-run) */
  sweep?: GcReport
  audit?: PurgeAuditEntry
}

/** Read access the planner needs besides rows: the tree store. */
type Trees = Pick<TreeStore, 'entries' | 'lookup' | 'walk' | 'node'>

type Hit = {path: string; entry: FileEntry}
const NO_HITS: readonly Hit[] = []

/**
 * The files a pattern removes from trees (a matched directory removes every file under it), in
 * path order. Pure over the trees. A pattern without glob characters is looked up (O(log n)
 * per tree); a glob is walked node by node, memoised by (directory path, node hash): the
 * commits of a history share every node (a large directory's leaves too) their changes did not
 * touch, so a history costs what its commits changed, not commits × files.
 */
export class PurgeMatcher {
  private readonly glob: (path: string) => boolean
  /** the cleaned pattern when it has no glob characters */
  private readonly literal: string | undefined
  private readonly memo = new Map<string, readonly Hit[]>()

  constructor(
    private readonly trees: Trees,
    pattern: string,
  ) {
    this.glob = compilePattern(pattern)
    const clean = cleanGlob(pattern)
    this.literal = /[*?[\]{}()!@+\\^|,]/.test(clean) ? undefined : clean
  }

  match(root: Buffer | null): Hit[] {
    if (!root) return []
    if (this.literal === undefined) return [...this.node(root, '', false)]
    if (this.literal === '/') return [...this.node(root, '', true)]
    const e = this.trees.lookup(root, this.literal)
    if (!e) return []
    return e.kind === 'file' ? [{path: this.literal, entry: e}] : [...this.node(e.hash, this.literal, true)]
  }

  /** The hits under one node of the directory at `base` (all: the directory itself matched). */
  private node(hash: Buffer, base: string, all: boolean): readonly Hit[] {
    const k = `${all ? 'a' : 'g'}${base}\0${hash.toString('latin1')}`
    const known = this.memo.get(k)
    if (known) return known
    const out: Hit[] = []
    const n = this.trees.node(hash)
    if (n.kind === 'index') {
      for (const it of n.items) out.push(...this.node(it.hash, base, all))
    } else {
      for (const e of n.entries) {
        const path = `${base}/${e.name}`
        const hit = all || this.glob(path)
        if (e.kind === 'dir') out.push(...this.node(e.hash, path, hit))
        else if (hit) out.push({path, entry: e})
      }
    }
    const r = out.length ? out : NO_HITS
    this.memo.set(k, r)
    return r
  }
}

/** One tree's matches (see PurgeMatcher). */
export function matchPurged(trees: Trees, root: Buffer | null, pattern: string): Hit[] {
  return new PurgeMatcher(trees, pattern).match(root)
}

/** The path of a file under a directory node that uses one of `chunks`, if any; clean nodes are memoised by hash. */
function holdingChunks(trees: Trees, hash: Buffer, base: string, chunks: ReadonlySet<string>, clean: Set<string>): string | undefined {
  const k = hash.toString('latin1')
  if (clean.has(k)) return undefined
  const n = trees.node(hash)
  if (n.kind === 'index') {
    for (const it of n.items) {
      const hit = holdingChunks(trees, it.hash, base, chunks, clean)
      if (hit) return hit
    }
  } else {
    for (const e of n.entries) {
      const path = `${base}/${e.name}`
      if (e.kind === 'dir') {
        const hit = holdingChunks(trees, e.hash, path, chunks, clean)
        if (hit) return hit
      } else if (e.chunks.some((ch) => chunks.has(ch.toString('latin1')))) return path
    }
  }
  clean.add(k)
  return undefined
}

function compilePattern(pattern: string): (path: string) => boolean {
  try {
    const g = compileGlob(pattern)
    return (p) => g.match(p) !== null
  } catch (e) {
    if (e instanceof GlobSyntaxError) throw new InvalidArgumentError('INVALID_GLOB', `invalid glob ${JSON.stringify(pattern)}: ${e.reason}`, {hint: 'see Pachyderm glob syntax: * ? ** [abc] {a,b} (capture)'})
    throw e
  }
}

const key = (repoId: number, commit: string) => `${repoId}@${commit}`

/** Does a datum input (path; a directory ends in "/") cover a purged file path? */
export function inputCovers(input: {path: string; isDir: boolean}, purged: string): boolean {
  if (!input.isDir) return input.path === purged
  return input.path === '/' || purged.startsWith(input.path.endsWith('/') ? input.path : `${input.path}/`)
}

/** The commits of a repo reachable from a branch head by first parents, head first. */
function branchHistory(db: CoreContext['db'], repo: RepoRow, branch: string): CommitRow[] {
  const b = rows.getBranch(db, repo.id, branch)
  if (!b) throw new NotFoundError('BRANCH_NOT_FOUND', `branch ${branch} not found in repo ${repoLabel(repo)}`, {hint: `list branches with \`pach list branch ${repoLabel(repo)}\``})
  const out: CommitRow[] = []
  const seen = new Set<string>()
  let id: string | null = b.head
  while (id && !seen.has(id)) {
    seen.add(id)
    const c = rows.getCommit(db, repo.id, id)
    if (!c) break
    out.push(c)
    id = c.parent
  }
  return out
}

/** Read-only: every commit, datum and output a purge changes. Throws the refusals. */
export function planPurge(ctx: CoreContext, req: PurgeRequest): PurgePlan {
  const db = ctx.db
  const repo = rows.getRepo(db, req.project, req.repo, 'user')
  if (!repo) throw new NotFoundError('REPO_NOT_FOUND', `repo ${req.repo} not found`, {hint: 'list repos with `pach list repo`'})
  const owner = pipelineRows.getPipeline(db, req.project, req.repo)
  // a spout's output is where its data enters pach (it has no inputs): purged like a user repo's
  if (owner && pipelineKind(JSON.parse(owner.spec) as PipelineSpec) !== 'spout') {
    throw new ConflictError('OUTPUT_BRANCH', `repo ${req.repo} is a pipeline's output: purge the input files it was derived from`, {hint: 'pach purge file INPUT_REPO@BRANCH:/path removes the derived outputs too'})
  }
  const history = branchHistory(db, repo, req.branch)
  const all = rows.listCommitsByRepo(db, repo.id)
  const scope = req.allBranches ? all : history
  const inScope = new Set(scope.map((c) => c.id))

  // 1. the source repo: files matched per commit
  const removedBy = new Map<string, Map<string, FileEntry>>() // repoId@commit -> path -> entry
  const commits: PurgeCommit[] = []
  const files = new Map<string, PurgedFile>()
  const chunks = new Set<string>()
  const matcher = new PurgeMatcher(ctx.trees, req.pattern)
  for (const c of scope) {
    const hits = matcher.match(c.tree)
    if (!hits.length) continue
    if (!c.finished) throw openCommit(repo, c)
    removedBy.set(key(repo.id, c.id), new Map(hits.map((h) => [h.path, h.entry])))
    commits.push(commitOf(repo, c, 'input', hits))
    for (const h of hits) {
      files.set(`${h.path}\0${toHex(h.entry.hash)}`, {path: h.path, size: h.entry.size, hash: toHex(h.entry.hash)})
      for (const ch of h.entry.chunks) chunks.add(ch.toString('latin1'))
    }
  }
  if (!commits.length) {
    throw new NotFoundError('FILE_NOT_FOUND', `no commit of ${req.repo}${req.allBranches ? '' : `@${req.branch}`} holds a path matching ${req.pattern}`, {hint: 'check the path with `pach glob file REPO@BRANCH:PATTERN`'})
  }
  // commits left out (other branches only): their copies of the content would keep the bytes
  if (!req.allBranches) {
    const clean = new Set<string>()
    for (const c of all) {
      if (inScope.has(c.id) || !c.tree) continue
      const path = holdingChunks(ctx.trees, c.tree, '', chunks, clean)
      if (path) {
        throw new ConflictError('PURGE_INCOMPLETE', `commit ${req.repo}@${c.id}${c.branch ? ` (branch ${c.branch})` : ''}, outside ${req.branch}'s history, holds the content of ${path}: its bytes could not be removed`, {
          hint: 'add --all-branches to purge it from every branch',
        })
      }
    }
  }

  // 2. downstream, to a fixpoint: tainted datums, their outputs in every output commit holding them
  const datumsOut: PurgeDatum[] = []
  const tainted = new Set<string>()
  const jobsOut = new Map<string, PurgeJob>()
  const outCommits = new Map<string, PurgeCommit>() // repoId@commit -> entry (output and meta)
  const pipelines = pipelineRows.listPipelines(db)
  const pending = [repo.id]
  const repoById = new Map<number, RepoRow>([[repo.id, repo]])
  while (pending.length) {
    const srcId = pending.shift()!
    const src = repoById.get(srcId)!
    for (const p of pipelines) {
      const outRepo = rows.getRepo(db, p.project, p.name, 'user')
      if (!outRepo) continue
      const metaRepo = rows.getRepo(db, p.project, p.name, 'meta')
      const jobs = jobRows.listJobsOfPipeline(db, p.project, p.name)
      let grew = false
      for (const j of jobs) {
        for (const d of datums.listDatumRows(db, p.project, p.name, j.id)) {
          const tk = `${p.project}/${p.name}/${j.id}/${d.datum_id}`
          if (tainted.has(tk)) continue
          const inputs = JSON.parse(d.inputs) as DatumInput[]
          const reads: string[] = []
          let gone = false
          for (const i of inputs) {
            if (i.project !== src.project || i.repo !== src.name || i.repo_type !== src.type) continue
            const removed = removedBy.get(key(src.id, i.commit))
            if (!removed) continue
            for (const path of removed.keys()) if (inputCovers(i, path)) reads.push(`${repoLabel(src)}@${i.commit}:${path}`)
            if (src.id === repo.id && !gone) gone = inputGone(ctx.trees, rows.getCommit(db, src.id, i.commit)?.tree ?? null, i, removed)
          }
          if (!reads.length) continue
          tainted.add(tk)
          const outs = d.output ? [...ctx.trees.walk(d.output)].filter(([, e]) => e.kind === 'file') : []
          const fate = src.id !== repo.id ? 'upstream' : gone ? 'gone' : 'recompute'
          datumsOut.push({project: p.project, pipeline: p.name, job: j.id, datum: d.datum_id, reads, outputs: outs.map(([path]) => path), fate})
          // every job whose set holds this run of the datum (source = j)
          for (const k of jobs) {
            const e = datums.getDatumSet(db, p.project, p.name, k.id).stored(d.datum_id)
            if (!e || e.source !== j.id) continue
            if (!jobRows.isTerminalJobState(k.state)) throw jobRunning(p.name, k.id)
            const jk = `${p.project}/${p.name}/${k.id}`
            const held = jobsOut.get(jk) ?? {project: p.project, pipeline: p.name, job: k.id, datums: []}
            held.datums.push(d.datum_id)
            jobsOut.set(jk, held)
            const oc = rows.getCommit(db, outRepo.id, k.id)
            if (oc && outs.length) {
              if (!oc.finished) throw openCommit(outRepo, oc)
              const hits = outs.filter(([path, e]) => {
                const cur = ctx.trees.lookup(oc.tree, path)
                return cur?.kind === 'file' && cur.hash.equals(e.hash)
              }) as [string, FileEntry][]
              if (hits.length) {
                const m = removedBy.get(key(outRepo.id, oc.id)) ?? new Map<string, FileEntry>()
                for (const [path, e] of hits) m.set(path, e)
                removedBy.set(key(outRepo.id, oc.id), m)
                addRemoved(outCommits, outRepo, oc, 'output', hits)
                grew = true
              }
            }
            const mc = metaRepo && rows.getCommit(db, metaRepo.id, k.id)
            if (mc && metaRepo) {
              const metaFiles = [...ctx.trees.walk(mc.tree, `/meta/${d.datum_id}`)].filter(([, e]) => e.kind === 'file') as [string, FileEntry][]
              if (metaFiles.length) addRemoved(outCommits, metaRepo, mc, 'meta', metaFiles)
            }
          }
        }
      }
      if (grew && !repoById.has(outRepo.id)) {
        repoById.set(outRepo.id, outRepo)
        pending.push(outRepo.id)
      } else if (grew) pending.push(outRepo.id)
    }
  }
  const recompute = repairs(db, [...jobsOut.values()])
  // a job not finished that reads a rewritten commit (it may hold the purged files in its
  // workspace now), or of a pipeline with tainted datums or repairs (it plans over what changes)
  const affected = new Set([...datumsOut, ...recompute].map((d) => `${d.project}/${d.pipeline}`))
  for (const j of [...jobRows.listLeasedJobs(db), ...jobRows.listCreatedJobs(db)]) {
    if (affected.has(`${j.project}/${j.pipeline}`)) throw jobRunning(j.pipeline, j.id)
    const out = rows.getRepo(db, j.project, j.pipeline, 'user')
    if (out && rows.commitProvenance(db, out.id, j.id).some((pr) => removedBy.has(key(pr.prov_repo_id, pr.prov_commit_id)))) throw jobRunning(j.pipeline, j.id)
  }
  return {request: req, files: [...files.values()], commits: [...commits, ...outCommits.values()], datums: datumsOut, jobs: [...jobsOut.values()], recompute}
}

/** Is a datum input purged whole: a file purged, or a directory every file of which is? */
function inputGone(trees: Trees, tree: Buffer | null, i: DatumInput, removed: ReadonlyMap<string, FileEntry>): boolean {
  if (!i.isDir) return removed.has(i.path)
  const dir = i.path.length > 1 && i.path.endsWith('/') ? i.path.slice(0, -1) : i.path
  for (const [path, e] of trees.walk(tree, dir)) if (e.kind === 'file' && !removed.has(path)) return false
  return true
}

/** Can a pipeline's job run again in place: a transform (services and spouts have no datums), of any state (stopped too, see the header). */
function repairable(db: CoreContext['db'], project: string, pipeline: string): boolean {
  const p = pipelineRows.getPipeline(db, project, pipeline)
  return p !== undefined && pipelineKind(JSON.parse(p.spec) as PipelineSpec) === 'transform'
}

/**
 * The jobs a purge runs again, oldest first: every succeeded job of a transform pipeline whose
 * set held tainted runs, and, recursively, every succeeded transform job reading an output
 * commit one of those recomputes (its inputs may change). Failed, killed and unrunnable jobs
 * are not run again (their commits carry an error; they only lose the derived outputs).
 */
function repairs(db: CoreContext['db'], held: readonly PurgeJob[]): PurgeRecompute[] {
  const out = new Map<string, PurgeRecompute & {seq: number}>()
  const queue: {project: string; pipeline: string; job: string}[] = []
  const add = (project: string, pipeline: string, job: string, why: PurgeRecompute['why']) => {
    const k = `${project}/${pipeline}/${job}`
    if (out.has(k) || !repairable(db, project, pipeline)) return
    const row = jobRows.getJob(db, {project, pipeline, id: job})
    const repo = rows.getRepo(db, project, pipeline, 'user')
    if (row?.state !== 'JOB_SUCCESS' || !repo || !rows.getCommit(db, repo.id, job)) return
    out.set(k, {project, pipeline, job, why, seq: row.seq})
    queue.push({project, pipeline, job})
  }
  for (const j of held) add(j.project, j.pipeline, j.job, 'tainted')
  while (queue.length) {
    const j = queue.shift()!
    const repo = rows.getRepo(db, j.project, j.pipeline, 'user')!
    for (const sub of rows.commitSubvenance(db, repo.id, j.job)) {
      const r = rows.getRepoById(db, sub.repo_id)
      if (r?.type === 'user' && pipelineRows.getPipeline(db, r.project, r.name)) add(r.project, r.name, sub.commit_id, 'downstream')
    }
  }
  return [...out.values()].sort((a, b) => a.seq - b.seq).map(({seq: _seq, ...j}) => j)
}

function commitOf(repo: RepoRow, c: CommitRow, kind: PurgeCommit['kind'], hits: readonly {path: string; entry: FileEntry}[]): PurgeCommit {
  return {
    project: repo.project,
    repo: repo.name,
    label: repoLabel(repo),
    commit: c.id,
    branch: c.branch,
    kind,
    removed: hits.map((h) => ({path: h.path, size: h.entry.size, hash: toHex(h.entry.hash)})),
    size_before: c.size,
  }
}

function addRemoved(into: Map<string, PurgeCommit>, repo: RepoRow, c: CommitRow, kind: PurgeCommit['kind'], hits: readonly [string, FileEntry][]): void {
  const k = key(repo.id, c.id)
  const cur = into.get(k) ?? commitOf(repo, c, kind, [])
  const have = new Set(cur.removed.map((r) => r.path))
  for (const [path, e] of hits) if (!have.has(path)) cur.removed.push({path, size: e.size, hash: toHex(e.hash)})
  cur.removed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  into.set(k, cur)
}

function openCommit(repo: RepoRow, c: CommitRow): ConflictError {
  return new ConflictError('COMMIT_NOT_FINISHED', `commit ${repoLabel(repo)}@${c.id} is open: a purge rewrites only finished commits`, {
    hint: `finish it (\`pach finish commit ${repoLabel(repo)}@${c.id}\`) or wait for its job, then purge again`,
  })
}

function jobRunning(pipeline: string, job: string): ConflictError {
  return new ConflictError('JOB_RUNNING', `job ${pipeline}@${job} is not finished: a purge would change the commits it reads or writes`, {
    hint: `wait for it (\`pach wait job ${pipeline}@${job}\`) or stop it, then purge again`,
  })
}

function crashHook(ctx: CoreContext, point: string): void {
  if (ctx.env.PACH_PURGE_CRASH === point) process.kill(process.pid, 'SIGKILL')
}

/** The audit log, oldest first. */
export function purgeLog(ctx: CoreContext): PurgeAuditEntry[] {
  const raw = getMeta(ctx.db, PURGE_LOG_KEY)
  return raw ? (JSON.parse(raw) as PurgeAuditEntry[]) : []
}

/** Is a purge's sweep still to do (a kill after its history switched)? gc then repacks with threshold 0. */
export const purgeSweepPending = (ctx: CoreContext): boolean => getMeta(ctx.db, PURGE_PENDING_KEY) !== undefined

/** Plan, then (unless dryRun) rewrite history in one transaction and sweep the bytes. */
export async function purge(ctx: CoreContext, req: PurgeRequest, opts: {dryRun?: boolean} = {}): Promise<PurgeResult> {
  const plan = planPurge(ctx, req)
  if (opts.dryRun) return {dry_run: true, plan}
  const applied = applyPurge(ctx, plan)
  crashHook(ctx, 'after-switch')
  const sweep = await sweepPurged(ctx)
  return {dry_run: false, plan: applied.plan, sweep, audit: applied.audit}
}

/**
 * The switch: new trees, every commit's tree and size, the tainted datums' rows and sets,
 * the audit entry and the pending-sweep flag, in one transaction under a write lease.
 * Re-plans inside the transaction so nothing changed since the plan is missed.
 */
export function applyPurge(ctx: CoreContext, planned: PurgePlan): {plan: PurgePlan; audit: PurgeAuditEntry} {
  const db = ctx.db
  const leaseId = ctx.newId()
  withTx(db, () => {
    const gcs = liveLeases(db, 'gc')
    if (gcs.length) throw new LockedError(`pach gc is running (pid ${gcs[0]!.pid}); purge again when it ends`)
    insertLease(db, {id: leaseId, kind: 'write', pid: process.pid, host: hostname(), started: ctx.now()})
  })
  try {
    return withTx(db, () => {
      const plan = planPurge(ctx, planned.request)
      for (const c of plan.commits) {
        const repo = rows.getRepo(db, c.project, c.repo, c.kind === 'meta' ? 'meta' : 'user')!
        const row = rows.getCommit(db, repo.id, c.commit)!
        const ops: TreeOp[] = c.removed.map((r) => ({type: 'delete', path: r.path}))
        const tree = ctx.trees.apply(row.tree, ops)
        rows.setCommitTree(db, repo.id, c.commit, tree, tree ? ctx.trees.summary(tree).size : 0)
      }
      crashHook(ctx, 'after-trees')
      // caches keyed by content: the S3 gateway's ETags (an MD5 of the bytes) and pulls' remote
      // hashes (a digest a remote knows): neither is kept for purged content
      for (const h of new Set(plan.commits.flatMap((c) => c.removed.map((r) => r.hash)))) {
        deleteS3Etag(db, Buffer.from(h, 'hex'))
        deleteRemoteContentOf(db, h)
      }
      for (const d of plan.datums) datums.clearDatumOutputRow(db, d.project, d.pipeline, d.job, d.datum, 'output purged')
      for (const j of plan.jobs) dropTainted(db, j)
      for (const j of plan.recompute) {
        for (const type of ['user', 'meta'] as const) {
          const r = rows.getRepo(db, j.project, j.pipeline, type)
          if (!r || !rows.getCommit(db, r.id, j.job)) continue
          rows.keepCommitTimes(db, r.id, j.job)
          rows.reopenCommitRow(db, r.id, j.job)
        }
        jobRows.requeueJob(db, {project: j.project, pipeline: j.pipeline, id: j.job})
      }
      const entry: PurgeAuditEntry = {
        at: ctx.now(),
        project: plan.request.project,
        repo: plan.request.repo,
        branch: plan.request.branch,
        all_branches: !!plan.request.allBranches,
        pattern: plan.request.pattern,
        description: plan.request.description ?? '',
        files: plan.files,
        commits: plan.commits.filter((c) => c.kind === 'input').length,
        output_commits: plan.commits.filter((c) => c.kind === 'output').length,
        datums: plan.datums.length,
        recomputed: plan.recompute.length,
      }
      setMeta(db, PURGE_LOG_KEY, JSON.stringify([...purgeLog(ctx), entry]))
      setMeta(db, PURGE_PENDING_KEY, entry.at)
      return {plan, audit: entry}
    })
  } finally {
    deleteLease(db, leaseId)
  }
}

/**
 * A job's set loses the tainted entries (what it keeps is what its output commit still holds,
 * which a repair plans against), and is marked unsettled: a set with unsettled > 0 is never
 * planned from changes alone, so a next job compares every datum's hash.
 */
function dropTainted(db: CoreContext['db'], j: PurgeJob): void {
  const set = datums.getDatumSet(db, j.project, j.pipeline, j.job)
  if (!datums.hasStoredDatumSet(db, j.project, j.pipeline, j.job)) return
  datums.putDatumSet(db, j.project, j.pipeline, set.edit(j.job, j.datums.map((id) => [id, null]), set.unsettled + 1))
}

/** gc while the pending flag is set: every pack with a dead blob is rewritten, then gc clears the flag. */
export async function sweepPurged(ctx: CoreContext): Promise<GcReport> {
  return gc(ctx)
}
