/**
 * What a push reads from the local project: the branches it selects with their finished
 * ancestry (push-plan.ts's LocalHistory), the mapping rows of a remote, and each commit's
 * change against its parent as file operations, with the bytes read from the blob store.
 *
 * Invariants:
 * - a commit's change is computed against the tree it was built on (the nearest non-errored
 *   ancestor's, as the engine builds children), and is file-level: an added or changed file
 *   is one `put` (the whole new content), a removed file one `delete` of its exact path;
 *   directories are never named.
 * - reads only: nothing here writes the database or the store.
 */
import type {CoreContext} from '../context.js'
import * as rows from '../db/pfs-rows.js'
import type {CommitRow, RepoRow} from '../db/pfs-rows.js'
import {listRemoteCommits} from '../db/remotes.js'
import {CorruptObjectError, InvalidArgumentError, NotFoundError} from '../errors.js'
import type {PfsHooks} from '../pfs/hooks.js'
import type {Resolver} from '../pfs/resolve.js'
import {readContent, readContentSync} from '../store/content.js'
import type {FileEntry} from '../store/tree-node.js'
import type {LocalBranch, LocalCommit, LocalHistory, LocalRepo, PushMapping} from './push-plan.js'

/** What to push: named repos (every branch, or one) or every repo of the project. */
export type PushSelection = {all: true} | {all?: false; refs: {repo: string; branch?: string}[]}

/** One change of a commit against its parent. */
/** A commit's change against its parent; a put says whether the parent had a file there (then it is replaced, else added). */
export type LocalChange = {kind: 'put'; path: string; entry: FileEntry; replaces: boolean} | {kind: 'delete'; path: string}

export class PushSource {
  constructor(
    readonly ctx: CoreContext,
    private readonly resolve: Resolver,
    private readonly hooks: () => PfsHooks,
  ) {}

  private get db() {
    return this.ctx.db
  }

  /**
   * The selected branches of `project` with their finished ancestry. Throws REPO_NOT_FOUND /
   * BRANCH_NOT_FOUND for a named repo or branch that does not exist, MISSING_ARGUMENT for an
   * empty selection. `--all` takes user repos only (spec and meta repos belong to pipelines).
   */
  history(project: string, sel: PushSelection): LocalHistory {
    const repos: LocalRepo[] = []
    const branches: LocalBranch[] = []
    const addRepo = (r: RepoRow): LocalRepo => {
      let lr = repos.find((x) => x.id === r.id)
      if (!lr) {
        lr = {id: r.id, project: r.project, name: r.name, description: r.description, pipeline: this.hooks().pipelineOf(r)}
        repos.push(lr)
      }
      return lr
    }
    const addBranch = (r: RepoRow, name: string, explicit: boolean) => {
      if (branches.some((b) => b.repoId === r.id && b.name === name)) return
      const row = rows.getBranch(this.db, r.id, name)
      if (!row) {
        throw new NotFoundError('BRANCH_NOT_FOUND', `branch ${name} not found in repo ${r.name}`, {hint: `list its branches with \`pach list branch ${r.name}\``, data: {repo: r.name, branch: name}})
      }
      const head = rows.getCommit(this.db, r.id, row.head)
      const openHead = head !== undefined && !head.finished
      const chain: LocalCommit[] = []
      let cur = openHead ? (head.parent ? rows.getCommit(this.db, r.id, head.parent) : undefined) : head
      while (cur) {
        chain.push(localCommit(cur))
        cur = cur.parent ? rows.getCommit(this.db, r.id, cur.parent) : undefined
      }
      chain.reverse()
      branches.push({repoId: r.id, name, computed: rows.branchProvenance(this.db, r.id, name).length > 0, chain, openHead, explicit})
    }
    if (sel.all) {
      for (const r of rows.listRepos(this.db, project).filter((x) => x.type === 'user').reverse()) {
        addRepo(r)
        for (const b of rows.listBranches(this.db, r.id)) addBranch(r, b.name, false)
      }
      return {repos, branches}
    }
    if (sel.refs.length === 0) throw new InvalidArgumentError('MISSING_ARGUMENT', 'name the repos to push, or pass --all')
    for (const ref of sel.refs) {
      const r = this.resolve.repo({name: ref.repo, type: 'user'}, project)
      addRepo(r)
      if (ref.branch) addBranch(r, ref.branch, true)
      else for (const b of rows.listBranches(this.db, r.id)) addBranch(r, b.name, true)
    }
    return {repos, branches}
  }

  /**
   * The mapping rows of `deploymentId` for the given repos, as pushed to `remoteProject` (a
   * repo's rows for another project of the same cluster map to commits of another repo).
   */
  mapping(deploymentId: string, repoIds: number[], remoteProject: string): PushMapping {
    const m: PushMapping = new Map()
    for (const id of repoIds) {
      const name = rows.getRepoById(this.db, id)!.name
      const mine = listRemoteCommits(this.db, deploymentId, id).filter((r) => r.remote_project === remoteProject && r.remote_repo === name)
      m.set(id, new Map(mine.map((r) => [r.local_commit, {remoteCommit: r.remote_commit, state: r.state}])))
    }
    return m
  }

  /** The changes of a commit against the tree it was built on, in path order. */
  *changes(repoId: number, commitId: string): Generator<LocalChange> {
    const repo = rows.getRepoById(this.db, repoId)!
    const c = rows.getCommit(this.db, repoId, commitId)!
    const base = this.resolve.baseTree(repo, c.parent ? rows.getCommit(this.db, repoId, c.parent) : undefined)
    for (const d of this.ctx.trees.diff(base, c.tree)) {
      if (d.new) yield {kind: 'put', path: d.path, entry: d.new, replaces: d.old !== undefined}
      else yield {kind: 'delete', path: d.path}
    }
  }

  /** A file's bytes, verified as they are read. */
  read(entry: FileEntry, what: string): NodeJS.ReadableStream {
    return readContent(this.ctx.store, entry, 0, what)
  }

  /**
   * Several small files' bytes at once (verified), in order: their blobs are read together,
   * one read per run of blobs side by side in a pack (a tree put in one go lies in path order;
   * BlobStore.readAdjacent), instead of an index lookup, an allocation and a read per file. The buffers may share
   * memory. A damaged blob is reported naming its file (`what(i)`), as a single read would.
   */
  readBatch(entries: readonly FileEntry[], what: (i: number) => string): Buffer[] {
    const ids = entries.flatMap((e) => e.chunks)
    const sizes = entries.flatMap((e) => e.sizes)
    let blobs: Buffer[]
    try {
      blobs = this.ctx.store.readAdjacent(ids, sizes)
    } catch (e) {
      if (!(e instanceof CorruptObjectError)) throw e
      // find the file it belongs to: read them one by one, each naming itself
      return entries.map((e, i) => readContentSync(this.ctx.store, e, what(i)))
    }
    const out: Buffer[] = []
    let at = 0
    for (const e of entries) {
      const n = e.chunks.length
      out.push(n === 0 ? Buffer.alloc(0) : n === 1 ? blobs[at]! : Buffer.concat(blobs.slice(at, at + n)))
      at += n
    }
    return out
  }
}

function localCommit(c: CommitRow): LocalCommit {
  return {id: c.id, parent: c.parent, seq: c.seq, branch: c.branch, description: c.description, error: c.error, size: c.size}
}
