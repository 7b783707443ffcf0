/**
 * Which local pipelines a push promotes to a cluster, in which order, and the spec each is
 * sent as (promote.md §2.1). Pure: no database, no network; pipelines.ts applies the plan.
 *
 * Selection: a pipeline of the local project is promoted when it reads at least one repo and
 * every repo it reads is pushed or is the output of a promoted pipeline (cron inputs count as
 * read: the cluster creates and ticks them); the rule is applied until nothing changes, so a
 * chain follows its head. The rest are listed as skipped with the reason. The output repos of
 * promoted pipelines are not pushed: the cluster recomputes them (`outputs`).
 *
 * Order: topological over the promoted pipelines (an upstream pipeline before everything that
 * reads its output), ties by name, so the order is deterministic.
 *
 * The spec sent is the document the user wrote (user_spec_json), read against pachd's
 * CreatePipelineRequest by pach's spec schema: snake_case field names (protojson takes them),
 * values of pachd's types (pach's leniencies — numbers in string maps and quantities — become
 * strings), 1.x names renamed, CLI-only keys (`update`, `reprocess`, `dry_run`, `spec_commit`)
 * left out. Local pipeline defaults are not merged in: the cluster's own defaults apply there,
 * as for `pachctl create pipeline`. Then, for the cluster:
 * - project: `pipeline.project` and every input's project name the remote project;
 * - stripped with a notice: `metadata.annotations["pach.io/network"]`, pach's local network
 *   opt-in (pods on a cluster have the cluster's network);
 * - refused (PIPELINE_NOT_PROMOTABLE, one line per problem, all reported together): a document
 *   without `transform.cmd` (pach requires one, so it came from the local defaults, which are
 *   not sent; pachd runs only cmd, never the image's ENTRYPOINT: "nothing to run"), a
 *   `metadata` annotation or label key, or a label value, that Kubernetes rejects (pachd
 *   passes them to the worker's pods unchecked, so the pipeline would fail there, not at create).
 */
import {InvalidArgumentError} from '../errors.js'
import {attempt, contextFor, isObject, problemsError, type JsonObject} from '../pps/spec/context.js'
import {PIPELINE_SPEC, readMessage} from '../pps/spec/schema.js'
import {NETWORK_ANNOTATION, type PipelineSpec} from '../pps/spec/types.js'

/** A pipeline of the local project, as the promotion sees it. */
export interface LocalPipeline {
  name: string
  /** the document the user wrote (the stored user_spec_json, parsed) */
  userSpec: unknown
  /** the normalised spec pach runs (its effective image and cmd) */
  spec: PipelineSpec
}

export interface PromotionOptions {
  /** the local project the pipelines and pushed repos are in */
  localProject: string
  /** the remote project they go to */
  project: string
  /** names of the repos (of localProject) this push sends to `project` */
  pushedRepos: string[]
}

/** One pipeline to create or update on the cluster. */
export interface PlannedPipeline {
  name: string
  /** the image the pipeline runs (the normalised spec's: the default image when the document names none) */
  image: string
  /** the CreatePipelineRequest JSON document to send, before its image is pinned (pipelines.ts sets transform.image) */
  doc: JsonObject
  /** the repos it reads (pushed, or outputs of pipelines before it) */
  inputs: string[]
}

export interface PromotionPlan {
  /** the remote project */
  project: string
  /** in creation order */
  pipelines: PlannedPipeline[]
  /** local pipelines not promoted, with why */
  skipped: {name: string; reason: string}[]
  /** output repos of promoted pipelines: not pushed, the cluster recomputes them */
  outputs: string[]
  /** one line per thing changed on the way (stripped fields) */
  notices: string[]
}

/** One problem that stops a pipeline from being promoted. */
interface Refusal {
  pipeline: string
  field: string
  message: string
  hint: string
}

/** A Kubernetes qualified name (annotation and label keys): `[prefix/]name`. */
function validQualifiedName(key: string): boolean {
  const slash = key.lastIndexOf('/')
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined
  const name = slash >= 0 ? key.slice(slash + 1) : key
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(prefix))) return false
  return name.length > 0 && name.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(name)
}

/** A Kubernetes label value: empty, or up to 63 characters of the name alphabet. */
function validLabelValue(v: string): boolean {
  return v === '' || (v.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(v))
}

/** Every pfs and cron node of a (snake_case) input document, with its path. */
function inputNodes(input: unknown, path = 'input'): {kind: 'pfs' | 'cron'; node: JsonObject; path: string}[] {
  if (!isObject(input)) return []
  const out: {kind: 'pfs' | 'cron'; node: JsonObject; path: string}[] = []
  if (isObject(input.pfs)) out.push({kind: 'pfs', node: input.pfs, path: `${path}.pfs`})
  if (isObject(input.cron)) out.push({kind: 'cron', node: input.cron, path: `${path}.cron`})
  for (const k of ['cross', 'union', 'join', 'group']) {
    const list = input[k]
    if (Array.isArray(list)) list.forEach((child, i) => out.push(...inputNodes(child, `${path}.${k}[${i}]`)))
  }
  return out
}

/** The user's document read as pachd's CreatePipelineRequest (see the header). */
function canonicalDocument(p: LocalPipeline): JsonObject {
  const problems: {message: string; field: string; hint?: string}[] = []
  const ctx = contextFor(`pipeline ${p.name}`, undefined, [], 0, 1, problems)
  let doc: JsonObject = {}
  attempt(() => {
    doc = readMessage(p.userSpec, PIPELINE_SPEC, '', ctx)
  })
  const error = problemsError(`pipeline ${p.name}`, problems)
  if (error) throw error
  return doc
}

/** The document for the cluster, and what was refused or stripped on the way. */
function clusterDocument(p: LocalPipeline, opts: PromotionOptions, refusals: Refusal[], notices: string[]): JsonObject {
  const doc = structuredClone(canonicalDocument(p))
  const refuse = (field: string, message: string, hint: string) => refusals.push({pipeline: p.name, field, message: `pipeline "${p.name}": ${message}`, hint})
  doc.pipeline = {...(isObject(doc.pipeline) ? doc.pipeline : {}), name: p.name, project: {name: opts.project}}
  for (const {node} of inputNodes(doc.input)) {
    if (typeof node.project === 'string' && node.project !== '') node.project = opts.project
  }
  const cmd = isObject(doc.transform) ? doc.transform.cmd : undefined
  if (!Array.isArray(cmd) || cmd.length === 0) {
    refuse(
      'transform.cmd',
      `the spec sent has no transform.cmd${p.spec.transform.cmd.length > 0 ? ' (here it comes from the local pipeline defaults, which a push does not send)' : ''}; a cluster runs only transform.cmd, never the image's ENTRYPOINT (pachd: "nothing to run: no transform.cmd")`,
      'put the command in the pipeline\'s own transform.cmd (e.g. ["/entrypoint.sh"]) with `pach update pipeline`, then push again',
    )
  }
  const md = doc.metadata
  if (isObject(md)) {
    const ann = md.annotations
    if (isObject(ann) && NETWORK_ANNOTATION in ann) {
      delete ann[NETWORK_ANNOTATION]
      notices.push(`pipeline "${p.name}": metadata.annotations["${NETWORK_ANNOTATION}"] is pach's local network opt-in; not sent (pods on a cluster have the cluster's network)`)
      if (Object.keys(ann).length === 0) delete md.annotations
    }
    for (const which of ['annotations', 'labels'] as const) {
      const m = md[which]
      if (!isObject(m)) continue
      for (const [k, v] of Object.entries(m)) {
        if (!validQualifiedName(k)) {
          refuse(`metadata.${which}`, `metadata.${which} key ${JSON.stringify(k)} is not a valid Kubernetes ${which === 'labels' ? 'label' : 'annotation'} key, so the cluster's pods would be refused`, 'use [prefix/]name with a DNS-subdomain prefix and a name of at most 63 letters, digits, "-", "_" or "."')
        } else if (which === 'labels' && typeof v === 'string' && !validLabelValue(v)) {
          refuse(`metadata.labels`, `metadata.labels value ${JSON.stringify(v)} (key ${JSON.stringify(k)}) is not a valid Kubernetes label value, so the cluster's pods would be refused`, 'use at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit (or move it to metadata.annotations)')
        }
      }
    }
    if (Object.keys(md).length === 0) delete doc.metadata
  }
  return doc
}

/**
 * Plan the promotion of `local` (the local project's pipelines) next to a push of
 * `opts.pushedRepos` into `opts.project`. See the header for the rules.
 *
 * @throws InvalidArgumentError PIPELINE_NOT_PROMOTABLE: a selected pipeline whose spec cannot
 *   run on a cluster as it runs here (every problem in `data.errors`, the first in the message)
 * @throws InvalidArgumentError INVALID_SPEC: a stored user spec pach can no longer read
 * @example
 *   const plan = planPromotion(pipelines, {localProject: 'default', project: 'prod', pushedRepos: ['images']})
 *   plan.pipelines.map((p) => p.name) // ['edges', 'montage']: edges reads images, montage reads edges
 */
export function planPromotion(local: LocalPipeline[], opts: PromotionOptions): PromotionPlan {
  const byName = new Map(local.map((p) => [p.name, p]))
  /** each pipeline's pfs inputs: project (undefined = the pipeline's) and repo */
  const reads = new Map(
    local.map((p) => {
      const doc = canonicalDocument(p)
      const nodes = inputNodes(doc.input)
      return [p.name, {pfs: nodes.filter((n) => n.kind === 'pfs').map((n) => ({project: typeof n.node.project === 'string' && n.node.project ? n.node.project : undefined, repo: String(n.node.repo ?? '')})), cron: nodes.some((n) => n.kind === 'cron')}]
    }),
  )
  const pushed = new Set(opts.pushedRepos)
  const promoted = new Set<string>()
  for (let changed = true; changed; ) {
    changed = false
    for (const p of local) {
      if (promoted.has(p.name)) continue
      const r = reads.get(p.name)!
      if (r.pfs.length === 0) continue
      const ok = r.pfs.every((i) => (i.project === undefined || i.project === opts.localProject) && (pushed.has(i.repo) || promoted.has(i.repo)))
      if (ok) {
        promoted.add(p.name)
        changed = true
      }
    }
  }
  const skipped: {name: string; reason: string}[] = []
  for (const p of [...local].sort((a, b) => a.name.localeCompare(b.name))) {
    if (promoted.has(p.name)) continue
    const r = reads.get(p.name)!
    let reason: string
    if (r.pfs.length === 0) reason = r.cron ? 'reads only cron inputs, none pushed' : 'reads no repo (a spout)'
    else {
      const other = r.pfs.find((i) => i.project !== undefined && i.project !== opts.localProject)
      const missing = r.pfs.find((i) => !pushed.has(i.repo) && !promoted.has(i.repo))
      if (other) reason = `reads ${other.project}/${other.repo}, in another project`
      else if (missing && byName.has(missing.repo)) reason = `reads ${missing.repo}, the output of pipeline ${missing.repo}, which is not promoted`
      else reason = `reads ${missing?.repo ?? '?'}, which this push does not send`
    }
    skipped.push({name: p.name, reason})
  }

  // topological order among the promoted, ties by name
  const order: string[] = []
  const placed = new Set<string>()
  const pending = [...promoted].sort()
  while (pending.length > 0) {
    const i = pending.findIndex((n) => reads.get(n)!.pfs.every((inp) => !promoted.has(inp.repo) || placed.has(inp.repo) || inp.repo === n))
    // no candidate means a cycle, which pach refuses at create; take the first to end anyway
    const [n] = pending.splice(Math.max(i, 0), 1)
    order.push(n!)
    placed.add(n!)
  }

  const refusals: Refusal[] = []
  const notices: string[] = []
  const pipelines = order.map((name) => {
    const p = byName.get(name)!
    return {name, image: p.spec.transform.image, doc: clusterDocument(p, opts, refusals, notices), inputs: [...new Set(reads.get(name)!.pfs.map((i) => i.repo))]}
  })
  const first = refusals[0]
  if (first) {
    const more = refusals.length - 1
    throw new InvalidArgumentError('PIPELINE_NOT_PROMOTABLE', first.message + (more > 0 ? ` (and ${more} more problem${more === 1 ? '' : 's'})` : ''), {
      hint: first.hint,
      data: {pipeline: first.pipeline, field: first.field, errors: refusals},
    })
  }
  return {project: opts.project, pipelines, skipped, outputs: order, notices}
}
