/**
 * RepoService: create/update/inspect/list/delete repo (pachctl's repo verbs). Creating and
 * deleting are transactable: while a transaction is active they are queued (`Queued`), else
 * applied at once through the same `TransactionService.apply` path, so both behave alike.
 * A repo's info reports the size of its `master` head.
 */
import type {CoreContext} from '../context.js'
import {withTx} from '../db/open.js'
import * as rows from '../db/pfs-rows.js'
import type {RepoRow} from '../db/pfs-rows.js'
import type {Queued, RepoInfo} from '../types.js'
import type {PfsEngine} from './engine.js'
import {validateName} from './paths.js'
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
}
