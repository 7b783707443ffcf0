/**
 * The push planner: a pure function from what is known (local history, the local↔remote
 * commit mapping, what the remote holds) to what a push must do. It reads nothing and writes
 * nothing; `PushService` (push.ts) gathers the inputs and applies the plan.
 *
 * Rules (promote.md §1.8, git's push):
 * - Per branch, the commits to send are the ancestors of the local head (oldest first) not yet
 *   `finished` on that remote. Only finished commits move; an open head stays local.
 * - Fast-forward only: the remote branch must be missing, be at the remote id of one of the
 *   branch's already pushed ancestors, or be an unknown empty commit without parent (what
 *   `create branch` makes). Anything else is someone else's work: NON_FAST_FORWARD, unless
 *   `force` (the pushed commits then name their parents explicitly, so the remote branch ends
 *   up with exactly the local history; a pushed root commit first empties what it inherits).
 * - Pipeline outputs are not pushed: a remote repo that is a pipeline's output, or a remote
 *   branch with provenance, is refused (OUTPUT_BRANCH); local output repos and computed
 *   branches are left out by `--all` and refused when named — unless `outputs` (`--outputs`):
 *   then they go as plain data, their commits in the commit sets they share with their inputs.
 * - One remote commit set per local one: commits sharing a local id (a multi-repo commit set)
 *   start in one transaction. Sets go in creation order, so parents always go first.
 * - Resume: a `started` row is a commit an interrupted push opened. Finished on the remote,
 *   at its branch's head and with the local size → adopted (marked finished, nothing sent).
 *   Open, or finished but not adoptable → its remote set is dropped and the commits pushed
 *   again. Missing → pushed again.
 * - A branch whose head is already on the remote (pushed through another branch) but whose
 *   remote branch points elsewhere is moved (CreateBranch{head}).
 * - A remote repo that was deleted took its commits with it: the rows of its mapping are
 *   ignored (and overwritten as its commits are sent again).
 */
import type {RemoteBranchState, RemoteCommitState, RemoteRepoName, RemoteRepoState} from './target.js'

export interface LocalCommit {
  id: string
  parent: string | null
  /** creation order across the project (a parent is always lower) */
  seq: number
  /** the branch it was made on */
  branch: string | null
  description: string
  error: string
  size: number
}

export interface LocalRepo {
  id: number
  project: string
  name: string
  description: string
  /** owned by a local pipeline (output, spec or meta) */
  pipeline: string | undefined
}

export interface LocalBranch {
  repoId: number
  name: string
  /** the branch has provenance (a computed branch) */
  computed: boolean
  /** the finished ancestry of the head, oldest first (empty for a branch with no finished commit) */
  chain: LocalCommit[]
  /** the head is open (not pushed; its finished ancestors are) */
  openHead: boolean
  /** named by the user (a refusal), rather than found by --all / REPO (skipped) */
  explicit: boolean
}

export interface LocalHistory {
  repos: LocalRepo[]
  branches: LocalBranch[]
}

export interface MappingRow {
  remoteCommit: string
  state: 'started' | 'finished'
}

/** repo id → local commit id → mapping row */
export type PushMapping = Map<number, Map<string, MappingRow>>

export interface RemoteFacts {
  /** per local repo id: the state of the remote repo it maps to */
  repos: Map<number, RemoteRepoState>
  /** per `started` mapping row (key `repoId:localCommit`): the remote commit's state */
  started: Map<string, RemoteCommitState>
}

export interface PlannedCommit {
  repoId: number
  remote: RemoteRepoName
  branch: string
  local: LocalCommit
  /** the local parent (its remote id is known once it is pushed); null for a root commit */
  parent: string | null
  /** a root commit on a remote branch with foreign content (only with force): delete what it inherits */
  clearInherited: boolean
}

export interface PlannedSet {
  localId: string
  commits: PlannedCommit[]
}

export interface BranchMove {
  repoId: number
  remote: RemoteRepoName
  branch: string
  /** the local commit the remote branch must point at (its remote id is in the mapping once pushed) */
  head: string
}

export interface Refusal {
  code: 'NON_FAST_FORWARD' | 'OUTPUT_BRANCH' | 'REPO_OWNED_BY_PIPELINE'
  repo: string
  branch: string
  message: string
  hint: string
}

export interface BranchSummary {
  repo: string
  branch: string
  /** commits of this branch sent by this push */
  commits: number
  status: 'up-to-date' | 'push' | 'move' | 'refused' | 'skipped'
  /** why it is skipped or refused */
  reason?: string
}

export interface PushPlan {
  /** remote repos to create when missing */
  repos: {repoId: number; remote: RemoteRepoName; description: string; exists: boolean}[]
  /** remote commit sets left by an interrupted push, to drop before pushing */
  drops: string[]
  /** `started` rows the remote finished: mark finished, send nothing */
  adopt: {repoId: number; local: string; remote: string}[]
  sets: PlannedSet[]
  moves: BranchMove[]
  branches: BranchSummary[]
  refusals: Refusal[]
}

export interface PlanOptions {
  force?: boolean
  /**
   * `--outputs`: local pipeline outputs go too, as plain data (their commits and content as
   * computed here); the remote repo must not be a pipeline's output there
   */
  outputs?: boolean
  /** the remote project every pushed repo goes to */
  remoteProject: string
}

/**
 * Plan a push. Pure: same inputs, same plan.
 * @example planPush(history, mapping, facts, {remoteProject: 'default'}).sets.length // commit sets to send
 */
export function planPush(history: LocalHistory, mapping: PushMapping, facts: RemoteFacts, opts: PlanOptions): PushPlan {
  const repoById = new Map(history.repos.map((r) => [r.id, r]))
  // a remote repo that no longer exists took its commits with it: its rows map to nothing
  mapping = new Map([...mapping].filter(([id]) => facts.repos.get(id)?.exists !== false))
  const plan: PushPlan = {repos: [], drops: [], adopt: [], sets: [], moves: [], branches: [], refusals: []}
  const rowOf = (repoId: number, id: string) => mapping.get(repoId)?.get(id)
  const remoteOf = (r: LocalRepo): RemoteRepoName => ({project: opts.remoteProject, name: r.name})

  // resume: decide per remote commit set of `started` rows (a set is dropped or adopted whole)
  const startedSets = new Map<string, {repoId: number; local: LocalCommit; remote: string; adoptable: boolean; state: RemoteCommitState['state']}[]>()
  const localById = new Map<string, LocalCommit>()
  for (const b of history.branches) for (const c of b.chain) localById.set(`${b.repoId}:${c.id}`, c)
  for (const [key, c] of localById) {
    const repoId = Number(key.slice(0, key.indexOf(':')))
    const row = rowOf(repoId, c.id)
    if (row?.state !== 'started') continue
    const st = facts.started.get(key) ?? {state: 'missing' as const, size: 0, error: '', branch: ''}
    const head = facts.repos.get(repoId)?.branches.get(st.branch)?.head
    const adoptable = st.state === 'finished' && !st.error && st.size === c.size && head === row.remoteCommit
    const list = startedSets.get(row.remoteCommit) ?? []
    list.push({repoId, local: c, remote: row.remoteCommit, adoptable, state: st.state})
    startedSets.set(row.remoteCommit, list)
  }
  /** `repoId:localId` of commits already on the remote (finished rows and adopted started ones) */
  const done = new Set<string>()
  for (const [repoId, m] of mapping) for (const [id, row] of m) if (row.state === 'finished') done.add(`${repoId}:${id}`)
  for (const [setId, members] of startedSets) {
    if (members.every((m) => m.adoptable)) {
      for (const m of members) {
        plan.adopt.push({repoId: m.repoId, local: m.local.id, remote: m.remote})
        done.add(`${m.repoId}:${m.local.id}`)
      }
    } else if (members.some((m) => m.state !== 'missing')) plan.drops.push(setId)
  }

  // which branches go, which are refused or skipped
  const accepted: LocalBranch[] = []
  for (const b of history.branches) {
    const repo = repoById.get(b.repoId)!
    const summary: BranchSummary = {repo: repo.name, branch: b.name, commits: 0, status: 'up-to-date'}
    plan.branches.push(summary)
    const refuse = (r: Omit<Refusal, 'repo' | 'branch'>) => {
      summary.status = b.explicit || r.code !== 'REPO_OWNED_BY_PIPELINE' ? 'refused' : 'skipped'
      summary.reason = r.message
      if (summary.status === 'refused') plan.refusals.push({...r, repo: repo.name, branch: b.name})
    }
    if (repo.pipeline && !opts.outputs) {
      refuse({code: 'REPO_OWNED_BY_PIPELINE', message: `${repo.name} belongs to pipeline ${repo.pipeline}; its output is computed, not pushed`, hint: "push the pipeline's inputs; the cluster recomputes the output (or pass --outputs to send it as plain data)"})
      continue
    }
    if (b.computed && !opts.outputs) {
      refuse({code: 'REPO_OWNED_BY_PIPELINE', message: `${repo.name}@${b.name} has provenance; a computed branch is not pushed`, hint: 'push the branches it is computed from'})
      continue
    }
    const remoteRepo = facts.repos.get(b.repoId)
    const rb: RemoteBranchState | undefined = remoteRepo?.branches.get(b.name)
    if (remoteRepo?.isOutput || rb?.hasProvenance) {
      refuse({
        code: 'OUTPUT_BRANCH',
        message: `${opts.remoteProject}/${repo.name}@${b.name} on the remote is ${remoteRepo?.isOutput ? "a pipeline's output" : 'computed (it has provenance)'}; commits cannot be pushed onto it`,
        hint: 'push to an input repo, or rename the local repo',
      })
      continue
    }
    if (rb && !opts.force) {
      const known = new Set(b.chain.map((c) => rowOf(b.repoId, c.id)?.remoteCommit).filter((x): x is string => x !== undefined))
      const emptyUnknown = rb.headSize === 0 && !rb.headHasParent
      if (!known.has(rb.head) && !emptyUnknown) {
        refuse({
          code: 'NON_FAST_FORWARD',
          message: `${repo.name}@${b.name}: the remote branch has commits this project does not have (head ${rb.head})`,
          hint: 'pull them first, or push with --force to replace the remote branch with the local history',
        })
        continue
      }
    }
    accepted.push(b)
  }

  // the commits to send, each once, on the first accepted branch that reaches it (its own branch preferred)
  const planned = new Map<string, PlannedCommit>()
  const branchesOf = new Map<number, Set<string>>()
  for (const b of accepted) {
    const s = branchesOf.get(b.repoId) ?? new Set<string>()
    s.add(b.name)
    branchesOf.set(b.repoId, s)
  }
  for (const b of accepted) {
    const repo = repoById.get(b.repoId)!
    const rb = facts.repos.get(b.repoId)?.branches.get(b.name)
    for (const c of b.chain) {
      const key = `${b.repoId}:${c.id}`
      if (done.has(key)) continue
      const prev = planned.get(key)
      const own = c.branch !== null && branchesOf.get(b.repoId)!.has(c.branch)
      if (prev && (prev.branch === c.branch || !own || c.branch !== b.name)) continue
      const foreignHead = rb !== undefined && !(rb.headSize === 0 && !rb.headHasParent) && !b.chain.some((x) => rowOf(b.repoId, x.id)?.remoteCommit === rb.head)
      planned.set(key, {repoId: b.repoId, remote: remoteOf(repo), branch: b.name, local: c, parent: c.parent, clearInherited: c.parent === null && foreignHead})
    }
  }
  const bySet = new Map<string, PlannedSet>()
  for (const p of [...planned.values()].sort((x, y) => x.local.seq - y.local.seq)) {
    const s = bySet.get(p.local.id) ?? {localId: p.local.id, commits: []}
    s.commits.push(p)
    bySet.set(p.local.id, s)
  }
  plan.sets = [...bySet.values()]

  // per branch: what it sends, and whether its remote branch must be moved afterwards
  for (const b of accepted) {
    const repo = repoById.get(b.repoId)!
    const summary = plan.branches.find((s) => s.repo === repo.name && s.branch === b.name)!
    const sent = [...planned.values()].filter((p) => p.repoId === b.repoId && p.branch === b.name)
    summary.commits = sent.length
    const head = b.chain.at(-1)
    if (!head) continue
    const rb = facts.repos.get(b.repoId)?.branches.get(b.name)
    const lastSent = sent.sort((x, y) => x.local.seq - y.local.seq).at(-1)
    if (lastSent?.local.id === head.id) summary.status = 'push'
    else {
      const headRemote = rowOf(b.repoId, head.id)
      const atHead = rb !== undefined && headRemote !== undefined && done.has(`${b.repoId}:${head.id}`) && rb.head === headRemote.remoteCommit
      if (!atHead) {
        plan.moves.push({repoId: b.repoId, remote: remoteOf(repo), branch: b.name, head: head.id})
        summary.status = sent.length > 0 ? 'push' : 'move'
      } else if (sent.length > 0) summary.status = 'push'
    }
  }

  // the remote repos the sent commits and moves need
  const needed = new Set([...planned.values()].map((p) => p.repoId).concat(plan.moves.map((m) => m.repoId)))
  for (const id of needed) {
    const r = repoById.get(id)!
    plan.repos.push({repoId: id, remote: remoteOf(r), description: r.description, exists: facts.repos.get(id)?.exists ?? false})
  }
  return plan
}
