/**
 * The core's PushTarget (src/core/remote/target.ts) over pach's gRPC client, for any pachd 2.x
 * (and `pach serve`). Each method is one or a few plain pfs/transaction calls; gRPC failures
 * become REMOTE_FAILED errors naming the call and carrying pachd's own words.
 *
 * Metadata: pachd 2.10+ serves `metadata.API/EditMetadata`; a pushed commit gets
 * `pach.local_commit_id` = the local commit id, so the mapping can be rebuilt from the
 * cluster. An older pachd answers UNIMPLEMENTED: `stampLocalId` then says false and the local
 * mapping table is the only record.
 */
import {status} from '@grpc/grpc-js'
import {PachError} from '../core/errors.js'
import type {PushTarget, RemoteBranchState, RemoteCommitState, RemoteFileOp, RemoteRepoName, RemoteRepoState, RemoteStart} from '../core/remote/target.js'
import type {ModifyFileRequest} from '../server/proto/gen/pfs_v2/ModifyFileRequest.js'
import {grpcReason} from './connect.js'
import {isGrpcError, type PachdClient} from './pachd-client.js'

/** the remote commit's metadata key naming the local commit it was pushed from */
export const LOCAL_ID_KEY = 'pach.local_commit_id'

const repoPB = (r: RemoteRepoName) => ({name: r.name, type: 'user', project: {name: r.project}})
const commitPB = (r: RemoteRepoName, id: string) => ({repo: repoPB(r), id})

export class PachdPushTarget implements PushTarget {
  constructor(
    private readonly c: PachdClient,
    readonly deploymentId: string,
  ) {}

  /** Run a call; a gRPC error becomes REMOTE_FAILED (`what` names the call). */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (e) {
      throw remoteError(this.c.address, what, e)
    }
  }

  async inspectRepo(repo: RemoteRepoName): Promise<RemoteRepoState> {
    try {
      await this.c.unary(this.c.pfs, 'InspectRepo', {repo: repoPB(repo)})
    } catch (e) {
      if (isGrpcError(e, status.NOT_FOUND)) return {exists: false, isOutput: false, branches: new Map()}
      throw remoteError(this.c.address, `InspectRepo ${repo.project}/${repo.name}`, e)
    }
    let isOutput = false
    try {
      await this.c.unary(this.c.pps, 'InspectPipeline', {pipeline: {name: repo.name, project: {name: repo.project}}, details: false})
      isOutput = true
    } catch (e) {
      if (!isGrpcError(e, status.NOT_FOUND) && !isGrpcError(e, status.UNIMPLEMENTED)) throw remoteError(this.c.address, `InspectPipeline ${repo.project}/${repo.name}`, e)
    }
    const branches = new Map<string, RemoteBranchState>()
    const infos = await this.call(`ListBranch ${repo.project}/${repo.name}`, async () => {
      const out = []
      for await (const b of this.c.stream(this.c.pfs, 'ListBranch', {repo: repoPB(repo), reverse: false})) out.push(b)
      return out
    })
    for (const b of infos) {
      const name = b.branch?.name
      const head = b.head?.id
      if (!name || !head) continue
      const info = await this.call(`InspectCommit ${repo.name}@${head}`, () => this.c.unary(this.c.pfs, 'InspectCommit', {commit: commitPB(repo, head), wait: 'COMMIT_STATE_UNKNOWN'}))
      branches.set(name, {
        head,
        headSize: Number(info.details?.size_bytes ?? info.size_bytes_upper_bound ?? 0),
        headHasParent: Boolean(info.parent_commit?.id),
        hasProvenance: (b.direct_provenance?.length ?? 0) > 0 || (b.provenance?.length ?? 0) > 0,
      })
    }
    return {exists: true, isOutput, branches}
  }

  async inspectCommit(repo: RemoteRepoName, id: string): Promise<RemoteCommitState> {
    try {
      const info = await this.c.unary(this.c.pfs, 'InspectCommit', {commit: commitPB(repo, id), wait: 'COMMIT_STATE_UNKNOWN'})
      return commitState(info)
    } catch (e) {
      if (isGrpcError(e, status.NOT_FOUND)) return {state: 'missing', size: 0, error: '', branch: ''}
      throw remoteError(this.c.address, `InspectCommit ${repo.name}@${id}`, e)
    }
  }

  async projectExists(project: string): Promise<boolean> {
    try {
      await this.c.unary(this.c.pfs, 'InspectProject', {project: {name: project}})
      return true
    } catch (e) {
      if (!isGrpcError(e, status.NOT_FOUND)) throw remoteError(this.c.address, `InspectProject ${project}`, e)
      return false
    }
  }

  async ensureProject(project: string): Promise<void> {
    if (await this.projectExists(project)) return
    await this.call(`CreateProject ${project}`, () => this.c.unary(this.c.pfs, 'CreateProject', {project: {name: project}, description: '', update: false}))
  }

  async ensureRepo(repo: RemoteRepoName, description: string): Promise<void> {
    try {
      await this.c.unary(this.c.pfs, 'CreateRepo', {repo: repoPB(repo), description, update: false})
    } catch (e) {
      if (!isGrpcError(e, status.ALREADY_EXISTS)) throw remoteError(this.c.address, `CreateRepo ${repo.project}/${repo.name}`, e)
    }
  }

  async startCommits(starts: RemoteStart[]): Promise<string> {
    const requests = starts.map((s) => ({
      start_commit: {
        branch: {repo: repoPB(s.repo), name: s.branch},
        parent: s.parent ? commitPB(s.repo, s.parent) : null,
        description: s.description,
      },
    }))
    const info = await this.call('BatchTransaction (start commits)', () => this.c.unary(this.c.transaction, 'BatchTransaction', {requests}, {transaction: ''}))
    const ids = new Set((info.responses ?? []).map((r) => r.commit?.id).filter(Boolean))
    const [id] = ids
    if (ids.size !== 1 || !id) {
      throw new PachError('REMOTE_FAILED', `pachd at ${this.c.address} answered the start of ${starts.length} commits with ${ids.size} commit set ids`, {
        hint: 'the remote does not behave as pachd; check its version',
      })
    }
    return id
  }

  async writeFiles(repo: RemoteRepoName, commit: string, ops: AsyncIterable<RemoteFileOp>, signal?: AbortSignal): Promise<void> {
    const c = this.c
    async function* reqs(): AsyncGenerator<ModifyFileRequest> {
      yield {set_commit: commitPB(repo, commit)}
      for await (const op of ops) {
        if (op.kind === 'delete') yield {delete_file: {path: op.path}}
        else yield {add_file: {path: op.path, raw: {value: Buffer.from(op.data.buffer, op.data.byteOffset, op.data.byteLength)}}}
      }
    }
    await this.call(`ModifyFile ${repo.name}@${commit}`, () => c.send(c.pfs, 'ModifyFile', reqs(), {signal}))
  }

  async finishCommit(repo: RemoteRepoName, commit: string, opts: {error?: string}): Promise<void> {
    await this.call(`FinishCommit ${repo.name}@${commit}`, () => this.c.unary(this.c.pfs, 'FinishCommit', {commit: commitPB(repo, commit), description: '', error: opts.error ?? '', force: false}))
  }

  async waitCommit(repo: RemoteRepoName, commit: string): Promise<RemoteCommitState> {
    const info = await this.call(`InspectCommit ${repo.name}@${commit}`, () => this.c.unary(this.c.pfs, 'InspectCommit', {commit: commitPB(repo, commit), wait: 'FINISHED'}))
    return commitState(info)
  }

  async dropCommitSet(id: string): Promise<void> {
    try {
      await this.c.unary(this.c.pfs, 'DropCommitSet', {commit_set: {id}})
    } catch (e) {
      if (!isGrpcError(e, status.NOT_FOUND)) throw remoteError(this.c.address, `DropCommitSet ${id}`, e)
    }
  }

  async moveBranch(repo: RemoteRepoName, branch: string, head: string): Promise<void> {
    await this.call(`CreateBranch ${repo.name}@${branch}`, () =>
      this.c.unary(this.c.pfs, 'CreateBranch', {head: commitPB(repo, head), branch: {repo: repoPB(repo), name: branch}, provenance: [], new_commit_set: false}),
    )
  }

  async *listFilePaths(repo: RemoteRepoName, commit: string): AsyncGenerator<string> {
    const paths: string[] = []
    await this.call(`WalkFile ${repo.name}@${commit}`, async () => {
      for await (const f of this.c.stream(this.c.pfs, 'WalkFile', {file: {commit: commitPB(repo, commit), path: '/'}})) {
        if (f.file_type === 'FILE' && f.file?.path) paths.push(f.file.path)
      }
    })
    yield* paths
  }

  async stampLocalId(repo: RemoteRepoName, commit: string, localId: string): Promise<boolean> {
    const picker = {id: {repo: {name: {project: {name: repo.project}, name: repo.name, type: 'user'}}, id: commit}}
    try {
      await this.c.unary(this.c.metadata, 'EditMetadata', {edits: [{commit: picker, edit_key: {key: LOCAL_ID_KEY, value: localId}}]})
      return true
    } catch (e) {
      // pachd before 2.10 has no metadata service: the local mapping is then the only record
      if (isGrpcError(e, status.UNIMPLEMENTED)) return false
      throw remoteError(this.c.address, `EditMetadata ${repo.name}@${commit}`, e)
    }
  }
}

function commitState(info: {finished?: unknown; details?: {size_bytes?: number | string | null} | null; size_bytes_upper_bound?: number | string | null; error?: string; commit?: {branch?: {name?: string} | null} | null}): RemoteCommitState {
  return {
    state: info.finished ? 'finished' : 'open',
    size: Number(info.details?.size_bytes ?? info.size_bytes_upper_bound ?? 0),
    error: info.error ?? '',
    branch: info.commit?.branch?.name ?? '',
  }
}

/**
 * A gRPC failure during a push as one line: the remote, the call, pachd's words. Unreachable
 * and refused-token failures get connectRemote's codes (REMOTE_UNREACHABLE, REMOTE_AUTH); any
 * other refusal is REMOTE_FAILED. A cancelled call is passed on (the push was interrupted).
 */
export function remoteError(address: string, what: string, e: unknown): unknown {
  if (!isGrpcError(e) || e.code === status.CANCELLED) return e
  const reason = grpcReason(e, 0)
  const data = {address, call: what, grpc_code: e.code}
  if (e.code === status.UNAVAILABLE || e.code === status.DEADLINE_EXCEEDED) {
    return new PachError('REMOTE_UNREACHABLE', `lost pachd at ${address} during ${what} (${reason})`, {hint: 'run the same push again once the cluster answers; it resumes', data})
  }
  if (e.code === status.UNAUTHENTICATED || e.code === status.PERMISSION_DENIED) {
    return new PachError('REMOTE_AUTH', `pachd at ${address} refused ${what}: ${reason}`, {hint: 'log in with `pachctl auth login`, or ask for write access to the repos you push', data})
  }
  return new PachError('REMOTE_FAILED', `pachd at ${address} refused ${what}: ${reason}`, {data})
}
