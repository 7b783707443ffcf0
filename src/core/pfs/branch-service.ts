/**
 * BranchService: create/inspect/list/delete branch (pachctl's branch verbs) and applying due
 * cron triggers. Creating and deleting are transactable (queued while a transaction is
 * active, else applied through `TransactionService.apply`); the rules (provenance, triggers,
 * heads) live in `PfsEngine.createBranch`.
 */
import type {CoreContext} from '../context.js'
import {withTx} from '../db/open.js'
import * as rows from '../db/pfs-rows.js'
import type {BranchInfo, Queued} from '../types.js'
import type {PfsEngine} from './engine.js'
import {validateName} from './paths.js'
import type {RepoRef} from './refs.js'
import type {TransactionService} from './transaction-service.js'

export class BranchService {
  constructor(readonly ctx: CoreContext, readonly engine: PfsEngine, readonly tx: TransactionService) {}

  /** `never`: entries of `provenance` whose new commits do not propagate here (propagation_spec.never) */
  create(project: string, repo: RepoRef, name: string, opts: {head?: string; provenance?: string[]; never?: string[]; trigger?: BranchInfo['trigger']}): BranchInfo | Queued {
    validateName('branch', name)
    const req = {
      create_branch: {
        branch: {repo: {name: repo.name, type: repo.type, project: {name: project}}, name},
        head: opts.head ?? null,
        provenance: opts.provenance ?? [],
        ...(opts.never?.length ? {never: opts.never} : {}),
        ...(opts.trigger ? {trigger: opts.trigger} : {}),
      },
    }
    if (this.tx.active()) return {queued: true, transaction: this.tx.queue(req)}
    const r = this.engine.resolve.repo(repo, project)
    return withTx(this.ctx.db, () => {
      const b = this.tx.apply(req, this.ctx.newId())
      return this.engine.resolve.branchInfo(r, b)
    })
  }

  /** Move followers whose cron trigger is due (there is no ticker: `pach run` applies them). */
  applyCronTriggers(): number {
    // the daemon asks every round (after every S3 PUT, say): a repo without cron triggers
    // needs no write transaction, which would take the database's write lock to do nothing
    if (!this.engine.hasCronTriggers()) return 0
    return withTx(this.ctx.db, () => this.engine.applyCronTriggers(new Date(this.ctx.now())))
  }

  inspect(project: string, repo: RepoRef, name: string): BranchInfo {
    const r = this.engine.resolve.repo(repo, project)
    return this.engine.resolve.branchInfo(r, this.engine.resolve.branch(r, name))
  }

  list(project: string, repo: RepoRef): BranchInfo[] {
    const r = this.engine.resolve.repo(repo, project)
    return rows.listBranches(this.ctx.db, r.id).map((b) => this.engine.resolve.branchInfo(r, b))
  }

  delete(project: string, repo: RepoRef, name: string, force: boolean): BranchInfo | Queued {
    if (this.tx.active()) {
      return {queued: true, transaction: this.tx.queue({delete_branch: {branch: {repo: {name: repo.name, type: repo.type, project: {name: project}}, name}, force}})}
    }
    const r = this.engine.resolve.repo(repo, project)
    const info = this.engine.resolve.branchInfo(r, this.engine.resolve.branch(r, name))
    const req = {delete_branch: {branch: info.branch, force}}
    if (this.tx.active()) return {queued: true, transaction: this.tx.queue(req)}
    withTx(this.ctx.db, () => this.tx.apply(req, this.ctx.newId()))
    return info
  }
}
