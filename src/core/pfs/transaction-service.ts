/**
 * Transactions (pachctl start/finish/list/delete transaction).
 *
 * Concept: while a transaction is active (its id is stored in the meta table, so every
 * shell in the project sees it), transactable requests — create/delete repo, start/finish
 * commit, create/delete branch — are queued instead of applied. `finish transaction` applies
 * them all in one SQLite transaction under one commit-set id (= the transaction id), so a
 * pipeline with inputs A and B gets one job when both are committed together. File writes
 * are not transactional (as in Pachyderm).
 *
 * Invariants: a request is applied through the same code path whether queued or immediate
 * (`apply`), and a failing request rolls back the whole transaction, which then stays
 * queued so the user can fix the cause or delete it.
 */
import {ConflictError, InvalidArgumentError, NotFoundError} from '../errors.js'
import type {CoreContext} from '../context.js'
import {inSavepoint, withTx} from '../db/open.js'
import * as rows from '../db/pfs-rows.js'
import type {BranchRow, CommitRow, RepoRow} from '../db/pfs-rows.js'
import * as txRows from '../db/transactions.js'
import type {TxRow} from '../db/transactions.js'
import type {TransactionInfo, TransactionRequest} from '../types.js'
import type {PfsEngine} from './engine.js'
import type {PfsHooks} from './hooks.js'
import {parseBranch, parseCommit} from './refs.js'

const ACTIVE_KEY = 'active_transaction'

export class TransactionService {
  constructor(readonly ctx: CoreContext, readonly engine: PfsEngine, readonly hooks: () => PfsHooks) {}

  /** set by `scoped` while a caller (a server request) names its own transaction, or none */
  private scope: {id: string | null} | undefined

  /**
   * Run `fn` (synchronous) with `id` as the active transaction, or with none (`null`),
   * whatever the project's active one is: a request to `pach serve` names its transaction in
   * a header, and one without it applies at once even while a CLI user has one active.
   * Throws TRANSACTION_NOT_FOUND for an id that does not exist.
   * @example pach.transactions.scoped(header ?? null, () => pach.repos.create('default', 'images'))
   */
  scoped<T>(id: string | null, fn: () => T): T {
    if (id !== null) this.must(id)
    const prev = this.scope
    this.scope = {id}
    try {
      return fn()
    } finally {
      this.scope = prev
    }
  }

  /** The active transaction id, if any. */
  active(): string | undefined {
    if (this.scope) return this.scope.id ?? undefined
    const id = rows.getMeta(this.ctx.db, ACTIVE_KEY)
    if (!id) return undefined
    if (!this.get(id)) {
      rows.setMeta(this.ctx.db, ACTIVE_KEY, undefined)
      return undefined
    }
    return id
  }

  private get(id: string): TxRow | undefined {
    return txRows.getTransaction(this.ctx.db, id)
  }

  private must(id: string | undefined): TxRow {
    const tid = id ?? this.active()
    if (!tid) throw new NotFoundError('NO_ACTIVE_TRANSACTION', 'no active transaction', {hint: 'start one with `pach start transaction`'})
    const t = this.get(tid)
    if (!t) throw new NotFoundError('TRANSACTION_NOT_FOUND', `transaction ${tid} not found`, {hint: 'list them with `pach list transaction`'})
    return t
  }

  start(opts: {activate?: boolean} = {}): TransactionInfo {
    const activate = opts.activate ?? true
    return withTx(this.ctx.db, () => {
      const cur = activate ? this.active() : undefined
      if (cur) throw new ConflictError('TRANSACTION_ACTIVE', `there is already an active transaction (${cur})`, {hint: 'finish it with `pach finish transaction`, or `pach stop transaction` to set it aside'})
      const id = this.ctx.newId()
      const started = this.ctx.now()
      txRows.insertTransaction(this.ctx.db, {id, started, requests: '[]'})
      if (activate) rows.setMeta(this.ctx.db, ACTIVE_KEY, id)
      return {transaction: {id}, requests: [], started}
    })
  }

  /** Set the active transaction aside without applying it. */
  stop(): TransactionInfo {
    const t = this.must(undefined)
    rows.setMeta(this.ctx.db, ACTIVE_KEY, undefined)
    return info(t)
  }

  resume(id: string): TransactionInfo {
    const t = this.must(id)
    rows.setMeta(this.ctx.db, ACTIVE_KEY, t.id)
    return info(t)
  }

  list(): TransactionInfo[] {
    return txRows.listTransactions(this.ctx.db).map(info)
  }

  inspect(id?: string): TransactionInfo {
    return info(this.must(id))
  }

  delete(id?: string): TransactionInfo {
    const t = this.must(id)
    withTx(this.ctx.db, () => {
      txRows.deleteTransaction(this.ctx.db, t.id)
      if (rows.getMeta(this.ctx.db, ACTIVE_KEY) === t.id) rows.setMeta(this.ctx.db, ACTIVE_KEY, undefined)
    })
    return info(t)
  }

  /**
   * Queue a request on the active transaction; returns its id. As in Pachyderm, the request
   * is first tried together with every request before it and rolled back, so a request that
   * cannot apply (a repo that does not exist, a branch that is not there) is refused now, with
   * its own error, instead of failing the whole transaction at finish.
   */
  queue(req: TransactionRequest): string {
    return withTx(this.ctx.db, () => {
      const t = this.must(undefined)
      const list = JSON.parse(t.requests) as TransactionRequest[]
      list.push(req)
      this.dryRun(list, t.id)
      txRows.setTransactionRequests(this.ctx.db, t.id, JSON.stringify(list))
      return t.id
    })
  }

  /** Apply `reqs` inside a savepoint and roll them back; throws what applying throws. */
  private dryRun(reqs: TransactionRequest[], id: string): void {
    const rollback = new Error('dry run')
    try {
      inSavepoint(this.ctx.db, () => {
        for (const r of reqs) this.apply(r, id)
        throw rollback
      })
    } catch (e) {
      if (e !== rollback) throw e
    }
  }

  /** Apply every queued request under one commit-set id, atomically. */
  finish(id?: string): TransactionInfo {
    const t = this.must(id)
    return withTx(this.ctx.db, () => {
      const reqs = JSON.parse(t.requests) as TransactionRequest[]
      for (const r of reqs) this.apply(r, t.id)
      txRows.deleteTransaction(this.ctx.db, t.id)
      if (rows.getMeta(this.ctx.db, ACTIVE_KEY) === t.id) rows.setMeta(this.ctx.db, ACTIVE_KEY, undefined)
      return info(t)
    })
  }

  /** Apply one request now (inside the caller's SQLite transaction); returns the row it made or changed. */
  apply(req: Request<'create_repo' | 'delete_repo'>, commitSetId: string): RepoRow
  apply(req: Request<'start_commit' | 'finish_commit'>, commitSetId: string): CommitRow
  apply(req: Request<'create_branch'>, commitSetId: string): BranchRow
  apply(req: TransactionRequest, commitSetId: string): RepoRow | CommitRow | BranchRow | undefined
  apply(req: TransactionRequest, commitSetId: string): RepoRow | CommitRow | BranchRow | undefined {
    const e = this.engine
    const r = e.resolve
    if ('create_repo' in req) {
      const q = req.create_repo
      return e.createRepo(q.repo.project.name, q.repo.name, q.repo.type, q.description, q.update)
    }
    if ('delete_repo' in req) {
      const q = req.delete_repo
      const repo = r.repo({name: q.repo.name, type: q.repo.type}, q.repo.project.name)
      e.deleteRepo(repo, q.force, (x) => this.hooks().pipelineOf(x))
      return repo
    }
    if ('start_commit' in req) {
      const q = req.start_commit
      const repo = r.repo({name: q.branch.repo.name, type: q.branch.repo.type}, q.branch.repo.project.name)
      return e.startCommit(repo, q.branch.name, {parentId: q.parent, description: q.description, id: commitSetId, writer: q.writer})
    }
    if ('finish_commit' in req) {
      const q = req.finish_commit
      const {repo, commit} = r.commit(parseCommit(q.commit), q.project)
      return e.finishCommit(repo, commit, {description: q.description, error: q.error, force: q.force, isOutput: this.hooks().isOutputCommit(repo, commit)})
    }
    if ('create_branch' in req) {
      const q = req.create_branch
      const repo = r.repo({name: q.branch.repo.name, type: q.branch.repo.type}, q.branch.repo.project.name)
      const project = q.branch.repo.project.name
      const head = q.head ? r.commit(parseCommit(q.head), project) : undefined
      if (head && head.repo.id !== repo.id) {
        throw new InvalidArgumentError('INVALID_HEAD', `--head ${q.head} is not a commit in repo ${q.branch.repo.name}`)
      }
      const provenance = q.provenance.map((p) => {
        const b = parseBranch(p)
        return {repo: r.repo(b.repo, project), branch: b.branch, never: q.never?.includes(p)}
      })
      return e.createBranch(repo, q.branch.name, {head: head?.commit, provenance: q.provenance.length ? provenance : undefined, trigger: q.trigger ?? undefined, id: commitSetId})
    }
    if ('create_pipeline' in req) {
      this.hooks().createPipeline(req.create_pipeline)
      return undefined
    }
    if ('delete_branch' in req) {
      const q = req.delete_branch
      const repo = r.repo({name: q.branch.repo.name, type: q.branch.repo.type}, q.branch.repo.project.name)
      e.deleteBranch(repo, q.branch.name, q.force)
      return undefined
    }
    throw new ConflictError('UNKNOWN_REQUEST', 'unknown transaction request')
  }
}

/** The requests of one kind (`Request<'start_commit'>`). */
type Request<K extends string> = K extends unknown ? Extract<TransactionRequest, Record<K, unknown>> : never

function info(t: TxRow): TransactionInfo {
  return {transaction: {id: t.id}, requests: JSON.parse(t.requests) as TransactionRequest[], started: t.started}
}
