/**
 * metadata.API (pachd 2.10+): EditMetadata, user metadata on projects, repos, branches,
 * commits and the cluster, applied by the core's MetadataService (all edits or none).
 *
 * As pachd:
 * - the request is validated first (a target and an op per edit, keys not empty), refused
 *   INVALID_ARGUMENT in protoc-gen-validate's words (`validate request: invalid
 *   EditMetadataRequest.Edits[0]: embedded message failed validation | caused by: …`);
 * - every edit is attempted; the failures are joined, one line each, `apply edits: edit #N:
 *   pick commit: picking commit: …`, with pachd's status: FAILED_PRECONDITION when the text
 *   says `already exists` (an add_key of an existing key), PERMISSION_DENIED when a caller
 *   may not write the object, else UNKNOWN;
 * - EditMetadata joins no transaction: it applies at once, whatever `pach-transaction` says
 *   (pachd runs it in a write context of its own, and TransactionRequest has no such member);
 * - a pipeline token may edit any project or commit (pachd asks no permission for those),
 *   but only its own output repo and its branches, and not the cluster.
 *
 * Where pach differs: a pipeline target is refused (UNIMPLEMENTED): pach keeps no metadata on
 * pipelines.
 */
import {status, type UntypedServiceImplementation} from '@grpc/grpc-js'
import {isPachError} from '../../core/errors.js'
import type {BranchPick, CommitPick, MetadataEdit, MetadataFailure, MetadataOp, MetadataTarget, PickLevel, ProjectPick, RepoPick} from '../../core/pfs/metadata-service.js'
import type {Handlers} from './call.js'
import type {ServiceDeps} from './deps.js'
import {mustBeRoot, mustWrite} from './access.js'
import {grpcError} from './status.js'
import type {Edit__Output} from '../proto/gen/metadata/Edit.js'
import type {EditMetadataRequest__Output} from '../proto/gen/metadata/EditMetadataRequest.js'
import type {ProjectPicker__Output} from '../proto/gen/pfs_v2/ProjectPicker.js'
import type {RepoPicker__Output} from '../proto/gen/pfs_v2/RepoPicker.js'
import type {BranchPicker__Output} from '../proto/gen/pfs_v2/BranchPicker.js'
import type {CommitPicker__Output} from '../proto/gen/pfs_v2/CommitPicker.js'

// ------------------------------------------------------------------ validation

const OP_FIELD = {replace: 'Replace', add_key: 'AddKey', edit_key: 'EditKey', delete_key: 'DeleteKey'} as const

/** protoc-gen-validate's ValidateAll of one Edit: its errors, in its order. */
function editErrors(e: Edit__Output): string[] {
  const errs: string[] = []
  if (!e.target) errs.push('invalid Edit.Target: value is required')
  if (e.op) {
    const inner: string[] = []
    if (e.op === 'replace') {
      for (const k of Object.keys(e.replace?.replacement ?? {}).sort()) {
        if (k.length === 0) inner.push('invalid Edit_Replace.Replacement[]: value length must be at least 1 runes')
      }
    } else {
      const key = e[e.op]?.key ?? ''
      if (key.length === 0) inner.push(`invalid Edit_${OP_FIELD[e.op]}.Key: value length must be at least 1 runes`)
    }
    if (inner.length) errs.push(`invalid Edit.${OP_FIELD[e.op]}: embedded message failed validation | caused by: ${inner.join('; ')}`)
  } else {
    errs.push('invalid Edit.Op: value is required')
  }
  return errs
}

/** pachd's validation of an EditMetadataRequest; undefined when valid. */
export function validationError(req: EditMetadataRequest__Output): string | undefined {
  const errs = req.edits.flatMap((e, i) => {
    const inner = editErrors(e)
    return inner.length ? [`invalid EditMetadataRequest.Edits[${i}]: embedded message failed validation | caused by: ${inner.join('; ')}`] : []
  })
  return errs.length ? `validate request: ${errs.join('; ')}` : undefined
}

// ------------------------------------------------------------------ messages → core edits

const projectPick = (p: ProjectPicker__Output | null | undefined): ProjectPick | null => (p?.picker === 'name' ? {name: p.name ?? ''} : null)

const repoPick = (p: RepoPicker__Output | null | undefined): RepoPick | null =>
  p?.picker === 'name' && p.name ? {project: projectPick(p.name.project), name: p.name.name, type: p.name.type} : null

const branchPick = (p: BranchPicker__Output | null | undefined): BranchPick | null =>
  p?.picker === 'name' && p.name ? {repo: repoPick(p.name.repo), name: p.name.name} : null

function commitPick(p: CommitPicker__Output | null | undefined): CommitPick | null {
  switch (p?.picker) {
    case 'id':
      return {kind: 'id', repo: repoPick(p.id?.repo), id: p.id?.id ?? ''}
    case 'branch_head':
      return {kind: 'branchHead', branch: branchPick(p.branch_head)}
    case 'ancestor':
      return {kind: 'ancestor', offset: p.ancestor?.offset ?? 0, start: commitPick(p.ancestor?.start)}
    case 'branch_root':
      return {kind: 'branchRoot', offset: p.branch_root?.offset ?? 0, branch: branchPick(p.branch_root?.branch)}
    default:
      return null
  }
}

function targetOf(e: Edit__Output): MetadataTarget {
  switch (e.target) {
    case 'project':
      return {kind: 'project', project: projectPick(e.project)}
    case 'repo':
      return {kind: 'repo', repo: repoPick(e.repo)}
    case 'branch':
      return {kind: 'branch', branch: branchPick(e.branch)}
    case 'commit':
      return {kind: 'commit', commit: commitPick(e.commit)}
    default:
      return {kind: 'cluster'}
  }
}

function opOf(e: Edit__Output): MetadataOp {
  switch (e.op) {
    case 'replace':
      return {kind: 'replace', replacement: {...(e.replace?.replacement ?? {})}}
    case 'add_key':
      return {kind: 'add_key', key: e.add_key!.key, value: e.add_key!.value}
    case 'edit_key':
      return {kind: 'edit_key', key: e.edit_key!.key, value: e.edit_key!.value}
    default:
      return {kind: 'delete_key', key: e.delete_key!.key}
  }
}

// ------------------------------------------------------------------ pachd's words

const repoKeyOf = (d: Record<string, unknown>) => `${String(d.project)}/${String(d.name)}.${String(d.type)}`

/** The innermost error of a failed pick, as pachd's pfsdb words it. */
function leafText(e: MetadataFailure): string {
  const d = e.data
  switch (e.code) {
    case 'MISSING_ARGUMENT':
      return `${String(d.picker)} picker cannot be nil`
    case 'PROJECT_NOT_FOUND':
      return d.project ? `project "${String(d.project)}" not found` : 'project not found'
    case 'REPO_NOT_FOUND':
      return `repo (id=0, project=${String(d.project)}, name=${String(d.name)}, type=${String(d.type)}) not found`
    case 'BRANCH_NOT_FOUND': {
      const key = `${repoKeyOf(d)}@${String(d.branch)}`
      return `branch (id=0, branch=${key.replace('.user', '')}) not found`
    }
    case 'COMMIT_NOT_FOUND': {
      const key = `${repoKeyOf(d)}@${String(d.commit)}`
      if (d.reason === 'ancestor') return `invalid offset for ancestor of commit: ${key}, offset requested: ${String(d.offset)}, offset traversable: ${String(d.traversable)}`
      if (d.reason === 'branchRoot') return `invalid offset from branch root for head commit: ${key}, offset: ${String(d.offset)}, maximum depth: ${String(d.depth)}`
      return `get commit by commit key: commit (int_id=0, commit_id=${key}) not found`
    }
    default:
      return e.message
  }
}

/** One failed edit as pachd words it (`edit #N: …`). */
export function failureText(f: MetadataFailure): string {
  if (f.code === 'METADATA_KEY_EXISTS') {
    const what = f.target === 'cluster' ? 'edit cluster metadata' : `edit ${f.target} "${String(f.data.object)}"`
    return `edit #${f.edit}: ${what}: add_key target key "${String(f.data.key)}" already exists; use edit_key instead`
  }
  const trail = ((f.data.trail as PickLevel[] | undefined) ?? []).map((l) => `picking ${l}: `).join('')
  return `edit #${f.edit}: pick ${f.target}: ${trail}${leafText(f)}`
}

/** The status pachd answers a failed EditMetadata with. */
export function failureStatus(lines: string[]): {code: status; details: string} {
  const details = `apply edits: ${lines.join('\n')}`
  if (details.includes('is not authorized')) return {code: status.PERMISSION_DENIED, details}
  if (details.includes('already exists')) return {code: status.FAILED_PRECONDITION, details}
  return {code: status.UNKNOWN, details}
}

// ------------------------------------------------------------------ the service

export const NO_PIPELINE_METADATA =
  'not supported by pach serve: pach keeps no metadata on pipelines; put it on the pipeline\'s output repo (a repo target) or in the spec\'s metadata.annotations'

export function metadataService(d: ServiceDeps, h: Handlers): UntypedServiceImplementation {
  return {
    EditMetadata: h.unary('EditMetadata', (req: EditMetadataRequest__Output, ctx) => {
      const invalid = validationError(req)
      if (invalid) throw grpcError(status.INVALID_ARGUMENT, invalid)
      if (req.edits.some((e) => e.target === 'pipeline')) throw grpcError(status.UNIMPLEMENTED, NO_PIPELINE_METADATA)
      // what a pipeline token may not edit (pachd checks each edit's object)
      const denied: string[] = []
      req.edits.forEach((e, i) => {
        try {
          if (e.target === 'cluster') mustBeRoot(ctx, 'CLUSTER_EDIT_CLUSTER_METADATA')
          const repo = e.target === 'repo' ? e.repo?.name : e.target === 'branch' ? e.branch?.name?.repo?.name : undefined
          if (repo) mustWrite(ctx, {project: repo.project?.name ?? '', name: repo.name, type: repo.type})
        } catch (err) {
          if (!isPachError(err)) throw err
          denied.push(`edit #${i}: check permissions on ${e.target}: ${err.message}`)
        }
      })
      if (denied.length) {
        const s = failureStatus(denied)
        throw grpcError(s.code, s.details)
      }
      const edits: MetadataEdit[] = req.edits.map((e) => ({target: targetOf(e), op: opOf(e)}))
      try {
        d.pach.metadata.edit(edits)
      } catch (err) {
        const failures = isPachError(err) ? (err.data.failures as MetadataFailure[] | undefined) : undefined
        if (!failures) throw err
        const s = failureStatus(failures.map(failureText))
        throw grpcError(s.code, s.details)
      }
      return {}
    }),
  }
}
