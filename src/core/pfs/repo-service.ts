/**
 * RepoService: create/update/inspect/list/delete repo (pachctl's repo verbs). Creating and
 * deleting are transactable: while a transaction is active they are queued (`Queued`), else
 * applied at once through the same `TransactionService.apply` path, so both behave alike.
 * A repo's info reports the size of its `master` head. `deleteMany` (pachd's DeleteRepos,
 * and the first half of DeleteAll) is not transactable and applies at once.
 */
import type {CoreContext} from '../context.js'
import {withTx} from '../db/open.js'
import {ConflictError} from '../errors.js'
import * as rows from '../db/pfs-rows.js'
import type {RepoRow} from '../db/pfs-rows.js'
import {repoLabel, type Queued, type RepoInfo, type RepoPB} from '../types.js'
import type {PfsEngine} from './engine.js'
import {validateName} from './paths.js'
import {metadataField} from './resolve.js'
import type {RepoRef} from './refs.js'
import type {TransactionService} from './transaction-service.js'

export class RepoService {
  constructor(readonly ctx: CoreContext, readonly engine: PfsEngine, readonly tx: TransactionService) {}

  info(r: RepoRow): RepoInfo {
    const master = rows.getBranch(this.ctx.db, r.id, 'master')
    const head = master ? rows.getCommit(this.ctx.db, r.id, master.head) : undefined
    const size = head?.size ?? 0
    return {
      repo: this.engine.resolve.repoPB(r),
      created: r.created,
      size_bytes_upper_bound: size,
      description: r.description,
      branches: rows.listBranches(this.ctx.db, r.id).map((b) => this.engine.resolve.branchPB(r, b.name)),
      details: {size_bytes: size},
      ...metadataField(r.metadata, 'repo'),
    }
  }

  create(project: string, name: string, opts: {description?: string; update?: boolean; type?: RepoRef['type']} = {}): RepoInfo | Queued {
    validateName('repo', name)
    const req = {create_repo: {repo: {name, type: opts.type ?? 'user', project: {name: project}}, description: opts.description ?? '', update: opts.update ?? false}}
    if (this.tx.active()) return {queued: true, transaction: this.tx.queue(req)}
    return withTx(this.ctx.db, () => this.info(this.tx.apply(req, this.ctx.newId())))
  }

  inspect(ref: RepoRef, project: string): RepoInfo {
    return this.info(this.engine.resolve.repo(ref, project))
  }

  /** `types` undefined = user repos only; 'all' = every type. */
  list(opts: {project?: string; type?: RepoRef['type'] | 'all'}): RepoInfo[] {
    const t = opts.type ?? 'user'
    return rows
      .listRepos(this.ctx.db, opts.project)
      .filter((r) => t === 'all' || r.type === t)
      .map((r) => this.info(r))
  }

  delete(ref: RepoRef, project: string, force: boolean): RepoInfo | Queued {
    if (this.tx.active()) {
      return {queued: true, transaction: this.tx.queue({delete_repo: {repo: {name: ref.name, type: ref.type, project: {name: project}}, force}})}
    }
    const repo = this.engine.resolve.repo(ref, project)
    const info = this.info(repo)
    const req = {delete_repo: {repo: info.repo, force}}
    if (this.tx.active()) return {queued: true, transaction: this.tx.queue(req)}
    withTx(this.ctx.db, () => this.tx.apply(req, this.ctx.newId()))
    return info
  }

  /**
   * Delete every repo, of every type, of `projects` (all projects when absent) in one SQLite
   * transaction, each downstream repo before the repos it reads (pachd's DeleteRepos). Refuses
   * the whole call (REPO_OWNED_BY_PIPELINE) while a pipeline owns one of them, force or not,
   * as pachd does: delete the pipelines first. Without `force`, a repo that a repo outside the
   * set depends on is refused (REPO_HAS_DEPENDENTS). Returns the repos deleted.
   */
  deleteMany(opts: {projects?: string[]; force?: boolean} = {}): RepoPB[] {
    const db = this.ctx.db
    return withTx(db, () => {
      const repos = opts.projects ? opts.projects.flatMap((p) => rows.listRepos(db, p)) : rows.listRepos(db)
      const hooks = this.tx.hooks()
      for (const r of repos) {
        const pipeline = hooks.pipelineOf(r)
        if (pipeline) {
          throw new ConflictError('REPO_OWNED_BY_PIPELINE', 'cannot delete a repo associated with a pipeline - delete the pipeline instead', {
            hint: `delete the pipeline with \`pach delete pipeline ${pipeline}\` (or every pipeline with \`pach delete pipeline --all\`)`,
            data: {repo: repoLabel(r), project: r.project, pipeline},
          })
        }
      }
      const dependents = (r: RepoRow) => rows.listBranches(db, r.id).flatMap((b) => rows.branchSubvenance(db, r.id, b.name).map((s) => s.repo_id))
      const deleted: RepoPB[] = []
      let left = repos
      while (left.length > 0) {
        const ids = new Set(left.map((r) => r.id))
        const free = left.filter((r) => !dependents(r).some((id) => id !== r.id && ids.has(id)))
        // provenance has no cycles, so some repo is always free; if not, the engine refuses
        const batch = free.length > 0 ? free : left
        for (const r of batch) {
          deleted.push(this.engine.resolve.repoPB(r))
          this.engine.deleteRepo(r, opts.force ?? false, () => undefined)
        }
        left = left.filter((r) => !batch.includes(r))
      }
      return deleted
    })
  }
}
