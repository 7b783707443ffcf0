/**
 * transaction_v2.API: pachd's transactions over pach's (core/pfs/transaction-service.ts).
 *
 * A transaction started here is not the CLI's active one: requests join it by naming its id
 * in the `pach-transaction` header (each transactable pfs handler runs inside
 * `transactions.scoped`), and FinishTransaction applies them all in one SQLite transaction
 * under one commit-set id, the transaction's id, which is also the id StartCommit answered
 * inside it. BatchTransaction queues its requests into a fresh transaction and finishes it,
 * so they apply together or not at all (its StopJob requests, the one kind pach does not
 * queue, are applied after the rest, as pachctl's `stop job` sends them alone).
 *
 * On the wire a stored request is shown in pachd's form (TransactionInfo.requests), with a
 * response per request: the commit for a StartCommit, empty otherwise.
 */
import type {UntypedServiceImplementation} from '@grpc/grpc-js'
import {InvalidArgumentError} from '../../core/errors.js'
import {formatCommit, parseCommit} from '../../core/pfs/refs.js'
import {repoLabel, type TransactionInfo, type TransactionRequest} from '../../core/types.js'
import type {CallContext, Handlers} from './call.js'
import {mustBeRoot, mustWrite} from './access.js'
import {branchOf, commitOf, projectOf, repoOf, timestamp, type BranchMsg, type CommitMsg, type RepoMsg} from './convert.js'
import type {ServiceDeps} from './deps.js'

interface WireRequest {
  create_repo?: {repo: RepoMsg | null; description: string; update: boolean} | null
  delete_repo?: {repo: RepoMsg | null; force: boolean} | null
  start_commit?: {parent: CommitMsg | null; description: string; branch: BranchMsg | null} | null
  finish_commit?: {commit: CommitMsg | null; description: string; error: string; force: boolean} | null
  squash_commit_set?: unknown
  create_branch?: {
    head: CommitMsg | null
    branch: BranchMsg | null
    provenance: BranchMsg[]
    trigger: Record<string, unknown> | null
    new_commit_set: boolean
    branch_propagation_specs?: {branch: BranchMsg | null; propagation_spec: {never: boolean} | null}[]
  } | null
  delete_branch?: {branch: BranchMsg | null; force: boolean} | null
  update_job_state?: unknown
  stop_job?: {job: {pipeline: {name: string; project: {name: string} | null} | null; id: string} | null; reason: string} | null
  create_pipeline_v2?: unknown
}

/**
 * A batched request as the caller may make it (access.ts): each names the repo it writes; a
 * spout's StartCommit carries its writer, as the StartCommit handler's does.
 */
function scoped(ctx: CallContext, q: TransactionRequest): TransactionRequest {
  const pb = (r: {name: string; type: string; project: {name: string}}) => ({project: r.project.name, name: r.name, type: r.type})
  if ('create_repo' in q) mustWrite(ctx, pb(q.create_repo.repo))
  else if ('delete_repo' in q) mustWrite(ctx, pb(q.delete_repo.repo))
  else if ('create_branch' in q) mustWrite(ctx, pb(q.create_branch.branch.repo))
  else if ('delete_branch' in q) mustWrite(ctx, pb(q.delete_branch.branch.repo))
  else if ('finish_commit' in q) mustWrite(ctx, {project: q.finish_commit.project, ...parseCommit(q.finish_commit.commit).repo})
  else if ('start_commit' in q) {
    const writer = mustWrite(ctx, pb(q.start_commit.branch.repo))
    if (writer) return {start_commit: {...q.start_commit, writer}}
  }
  return q
}

const repoPB = (r: RepoMsg | null | undefined) => {
  const {ref, project} = repoOf(r)
  return {name: ref.name, type: ref.type, project: {name: project}}
}
const branchLabel = (b: BranchMsg) => {
  const {repo, name} = branchOf(b)
  return `${repoLabel(repo)}@${name}`
}
/** A commit as the core's stored requests address it: the id (else the branch), with its ancestry. */
const commitLabel = (c: CommitMsg) => {
  const {ref} = commitOf(c)
  return formatCommit(ref.id ? {...ref, branch: undefined} : ref)
}

/** A wire request as the core's stored request; INVALID_ARGUMENT for the kinds pach does not queue. */
export function coreRequest(w: WireRequest): TransactionRequest {
  if (w.create_repo) return {create_repo: {repo: repoPB(w.create_repo.repo), description: w.create_repo.description ?? '', update: !!w.create_repo.update}}
  if (w.delete_repo) return {delete_repo: {repo: repoPB(w.delete_repo.repo), force: !!w.delete_repo.force}}
  if (w.start_commit) {
    const q = w.start_commit
    const {repo, project, name} = branchOf(q.branch)
    return {start_commit: {branch: {repo: {...repo, project: {name: project}} as never, name}, parent: q.parent?.id || null, description: q.description ?? ''}}
  }
  if (w.finish_commit) {
    const q = w.finish_commit
    return {finish_commit: {commit: commitLabel(q.commit!), project: commitOf(q.commit).project, description: q.description || null, force: !!q.force, ...(q.error ? {error: q.error} : {})}}
  }
  if (w.create_branch) {
    const q = w.create_branch
    const {repo, project, name} = branchOf(q.branch)
    return {
      create_branch: {
        branch: {repo: {name: repo.name, type: repo.type, project: {name: project}}, name},
        head: q.head ? commitLabel(q.head) : null,
        provenance: (q.provenance ?? []).map(branchLabel),
        trigger: q.trigger?.branch ? (q.trigger as never) : null,
        never: (q.branch_propagation_specs ?? []).filter((p) => p.propagation_spec?.never && p.branch).map((p) => branchLabel(p.branch!)),
      },
    }
  }
  if (w.delete_branch) {
    const {repo, project, name} = branchOf(w.delete_branch.branch)
    return {delete_branch: {branch: {repo: {name: repo.name, type: repo.type, project: {name: project}}, name}, force: !!w.delete_branch.force}}
  }
  throw new InvalidArgumentError('INVALID_INPUT', 'pach transactions hold CreateRepo, DeleteRepo, StartCommit, FinishCommit, CreateBranch, DeleteBranch and StopJob requests', {
    hint: 'send the other requests on their own',
  })
}

const commitMsg = (label: string, project: string) => {
  const c = parseCommit(label)
  return {repo: {name: c.repo.name, type: c.repo.type, project: {name: project}}, id: c.id ?? '', branch: c.branch ? {repo: {name: c.repo.name, type: c.repo.type, project: {name: project}}, name: c.branch} : null}
}

/** A stored request in pachd's form, and its response. */
function wireRequest(r: TransactionRequest, txId: string): {request: Record<string, unknown>; response: Record<string, unknown>} {
  if ('create_repo' in r) return {request: {create_repo: r.create_repo}, response: {}}
  if ('delete_repo' in r) return {request: {delete_repo: r.delete_repo}, response: {}}
  if ('start_commit' in r) {
    const q = r.start_commit
    const parent = q.parent ? {repo: q.branch.repo, id: q.parent} : null
    return {request: {start_commit: {branch: q.branch, parent, description: q.description}}, response: {commit: {repo: q.branch.repo, id: txId, branch: q.branch}}}
  }
  if ('finish_commit' in r) {
    const q = r.finish_commit
    return {request: {finish_commit: {commit: commitMsg(q.commit, q.project), description: q.description ?? '', error: '', force: q.force}}, response: {}}
  }
  if ('create_branch' in r) {
    const q = r.create_branch
    const project = q.branch.repo.project.name
    const provenance = q.provenance.map((p) => {
      const c = parseCommit(p)
      return {repo: {name: c.repo.name, type: c.repo.type, project: {name: project}}, name: c.branch}
    })
    return {request: {create_branch: {branch: q.branch, head: q.head ? commitMsg(q.head, project) : null, provenance, trigger: q.trigger ?? null, new_commit_set: false}}, response: {}}
  }
  if ('create_pipeline' in r) {
    const q = r.create_pipeline
    return {request: {create_pipeline_v2: {create_pipeline_request: null, user_json: q.user_spec, effective_json: JSON.stringify(q.spec), created_by: ''}}, response: {}}
  }
  return {request: {delete_branch: r.delete_branch}, response: {}}
}

/** TransactionInfo as pachd sends it. */
export function transactionInfoPB(t: TransactionInfo) {
  const pairs = t.requests.map((r) => wireRequest(r, t.transaction.id))
  return {transaction: t.transaction, requests: pairs.map((p) => p.request), responses: pairs.map((p) => p.response), started: timestamp(t.started), version: t.requests.length}
}

export function transactionService(d: ServiceDeps, h: Handlers): UntypedServiceImplementation {
  const txs = d.pach.transactions
  const idOf = (t: {id?: string} | null | undefined) => {
    if (!t?.id) throw new InvalidArgumentError('MISSING_ARGUMENT', 'no transaction specified')
    return t.id
  }
  return {
    StartTransaction: h.unary('StartTransaction', () => txs.start({activate: false}).transaction),
    InspectTransaction: h.unary('InspectTransaction', (req: {transaction: {id: string} | null}) => transactionInfoPB(txs.inspect(idOf(req.transaction)))),
    DeleteTransaction: h.unary('DeleteTransaction', (req: {transaction: {id: string} | null}) => {
      txs.delete(idOf(req.transaction))
      return {}
    }),
    ListTransaction: h.unary('ListTransaction', () => ({transaction_info: txs.list().map(transactionInfoPB)})),
    FinishTransaction: h.unary('FinishTransaction', (req: {transaction: {id: string} | null}) => {
      const info = txs.finish(idOf(req.transaction))
      d.kick()
      return transactionInfoPB(info)
    }),
    BatchTransaction: h.unary('BatchTransaction', (req: {requests: WireRequest[]}, ctx) => {
      const stops = req.requests.filter((r) => r.stop_job)
      if (stops.length) mustBeRoot(ctx, 'JOB_STOP')
      const queued = req.requests.filter((r) => !r.stop_job).map((r) => scoped(ctx, coreRequest(r)))
      const t = txs.start({activate: false})
      let info: TransactionInfo
      try {
        for (const q of queued) txs.scoped(t.transaction.id, () => txs.queue(q))
        info = txs.finish(t.transaction.id)
      } catch (e) {
        try {
          txs.delete(t.transaction.id)
        } catch {
          // already gone
        }
        throw e
      }
      for (const s of stops) {
        const job = s.stop_job!.job
        if (!job?.pipeline?.name || !job.id) throw new InvalidArgumentError('MISSING_ARGUMENT', 'no job specified in StopJob')
        d.pach.jobs.stop(projectOf(job.pipeline.project), job.pipeline.name, job.id, s.stop_job!.reason || undefined)
      }
      d.kick()
      return transactionInfoPB(info)
    }),
    DeleteAll: h.unary('DeleteAll', (_req: unknown, ctx) => {
      mustBeRoot(ctx, 'CLUSTER_DELETE_ALL')
      for (const t of txs.list()) txs.delete(t.transaction.id)
      return {}
    }),
  }
}
