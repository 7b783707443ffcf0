/**
 * Promoting pipelines to a cluster (`pach push --pipelines`, promote.md §2): the effectful
 * half of pipelines-plan.ts. A promotion is prepared (plan: which pipelines, in which order,
 * sent as what), validated before any data moves, and applied after the data push.
 *
 * - validate(): every image resolved (images.ts planImage: pinned, to push, or absent) and
 *   every registry an image goes to checked (it answers; the user has credentials when it
 *   asks for them), without pushing; then the whole promotion is tried on the remote and
 *   thrown away: StartTransaction, CreateRepo of each pushed repo the remote lacks,
 *   CreatePipelineV2{update} of every spec in DAG order, DeleteTransaction. pachd validates
 *   each request added to a transaction by a dry run of the transaction so far
 *   (transaction/server/driver.go appendTransaction), so this checks what
 *   CreatePipelineV2{dry_run} checks (the JSON against pachd's CreatePipelineRequest, unknown
 *   fields refused, the cluster's defaults merged) and also what a lone dry run cannot: input
 *   repos (pushed, or the output of a pipeline earlier in the order), secrets, and names
 *   clashing with the remote's repos. Nothing is created (a lone CreatePipelineV2{dry_run}
 *   is not used: `pach serve` checks input repos there, which a first push has not sent yet).
 *   The remote project must exist: pachd has no transactional CreateProject, so the push
 *   creates it first. Caveat (pachd's, not ours): a spec with `determined` provisions its
 *   Determined user before joining the transaction, as it would at apply.
 * - apply(): images pushed (deterministic tags: a re-push is a no-op) and pinned by digest;
 *   each spec compared with the remote pipeline's user_spec_json (InspectPipeline), equal ones
 *   left alone (an update always makes a new version and a job there); the rest created or
 *   updated in DAG order inside ONE remote transaction (StartTransaction, CreatePipelineV2
 *   {update: true} with the pach-transaction header, FinishTransaction; DeleteTransaction when
 *   one is refused), so the cluster gets all of them or none.
 *
 * Images with no engine answering are sent as written (notice); the cluster's architecture
 * is the one pachd reports unless given.
 *
 * The remote is reached through PipelineTarget (src/client/pipeline-target.ts implements it
 * over PachdClient), images through ImagePublisher (src/runner/image-publish.ts).
 */
import {isDeepStrictEqual} from 'node:util'
import {InvalidArgumentError, NotFoundError, PachError} from '../errors.js'
import {listPipelines} from '../db/pipelines.js'
import {DEFAULT_PROJECT} from '../types.js'
import type {Pach} from '../pach.js'
import {planImage, type ImagePlan, type ImagePublisher} from './images.js'

export type {ImagePlan, ImagePublisher, LocalImage} from './images.js'
import {planPromotion, type LocalPipeline, type PromotionPlan} from './pipelines-plan.js'

export {planPromotion, type LocalPipeline, type PlannedPipeline, type PromotionPlan} from './pipelines-plan.js'

/**
 * A refusal of one request by the remote (the request was understood and said no: a bad spec,
 * a missing input repo, a name clash), as opposed to a transport failure, which a target
 * passes through unchanged.
 */
export class RemoteRefusal extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RemoteRefusal'
  }
}

/** What a promotion needs from the remote pachd. Methods reject with RemoteRefusal when the remote refuses the request. */
export interface PipelineTarget {
  /** the platform pachd reports (GetVersion `platform`: pachd's GOARCH, `amd64`; pach serve's `linux/x64`), or undefined */
  platform(): Promise<string | undefined>
  /** the remote pipeline's user_spec_json (InspectPipeline), or undefined when there is no such pipeline */
  userSpec(project: string, name: string): Promise<string | undefined>
  projectExists(project: string): Promise<boolean>
  repoExists(project: string, name: string): Promise<boolean>
  /** StartTransaction; resolves to its id */
  startTransaction(): Promise<string>
  /** CreateRepo in `transaction` */
  createRepo(project: string, name: string, transaction: string): Promise<void>
  /** CreatePipelineV2{create_pipeline_request_json: json, update: true, reprocess} in `transaction` */
  createPipeline(json: string, opts: {reprocess: boolean; transaction: string}): Promise<void>
  finishTransaction(id: string): Promise<void>
  deleteTransaction(id: string): Promise<void>
}

export interface PromotionOptions {
  /** repos (of localProject) this push sends to `project` */
  pushedRepos: string[]
  /** the remote project (default: `default`) */
  project?: string
  /** the local project the pipelines come from (default: `default`) */
  localProject?: string
  /** where images whose name names no registry are pushed (`--registry`) */
  registry?: string
  /** the cluster nodes' CPU architecture (default: the one pachd reports it was built for, else amd64) */
  clusterArch?: string
  /** update with a new salt: every datum runs again on the cluster (and no update is skipped) */
  reprocess?: boolean
}

/** One image on its way: the plan, and (after apply) what the spec names. */
export interface ImageResult {
  pipeline: string
  image: string
  /** what transform.image is sent as */
  sent: string
  /** the image was pushed by this promotion (a tag that already was there counts) */
  pushed: boolean
}

export interface PromotionResult {
  created: string[]
  updated: string[]
  unchanged: string[]
  images: ImageResult[]
}

export interface Promotion {
  plan: PromotionPlan
  /** What happens to each promoted pipeline's image (for `--dry-run`); resolves as validate does, pushing nothing. @throws IMAGE_NOT_PUBLISHABLE, IMAGE_PUSH_FAILED */
  images(): Promise<{pipeline: string; plan: ImagePlan}[]>
  /**
   * Check everything before any data moves (see the header). The remote project must exist
   * (create it first: an empty project is a namespace, not data; pachd cannot create one
   * inside a transaction).
   * @throws IMAGE_NOT_PUBLISHABLE, IMAGE_PUSH_FAILED, REMOTE_SPEC_REJECTED, PROJECT_NOT_FOUND (the remote project)
   */
  validate(): Promise<void>
  /** Push images, then create/update the pipelines in one remote transaction. @throws IMAGE_NOT_PUBLISHABLE, IMAGE_PUSH_FAILED, REMOTE_SPEC_REJECTED */
  apply(): Promise<PromotionResult>
}

/**
 * A CPU architecture in Docker's names from a reported platform: pachd reports its GOARCH
 * (`amd64`, `arm64`), pach serve Node's `os/arch` (`linux/x64`). Undefined when empty.
 * pachd runs on the cluster's nodes, so its architecture is theirs (a mixed cluster says
 * otherwise with `--cluster-arch`).
 */
export function archOf(platform: string | undefined): string | undefined {
  const arch = (platform ?? '').split('/').pop()!.trim()
  if (!arch) return undefined
  return ({x64: 'amd64', ia32: '386', x86_64: 'amd64', aarch64: 'arm64'} as Record<string, string>)[arch] ?? arch
}

/** The local project's pipelines as the planner reads them. */
function localPipelines(pach: Pach, project: string): LocalPipeline[] {
  return listPipelines(pach.ctx.db, project).map((row) => {
    const spec = pach.pipelines.spec(row)
    let userSpec: unknown
    try {
      userSpec = JSON.parse(row.user_spec)
    } catch {
      userSpec = spec // stored by an old pach as YAML text: the normalised spec says the same
    }
    return {name: row.name, userSpec, spec}
  })
}

/** `doc` with transform.image set to `image` (a copy). */
function withImage(doc: Record<string, unknown>, image: string | undefined): Record<string, unknown> {
  if (image === undefined) return doc
  const transform = typeof doc.transform === 'object' && doc.transform !== null ? doc.transform : {}
  return {...doc, transform: {...transform, image}}
}

const refused = (what: string, e: RemoteRefusal, hint: string) =>
  new InvalidArgumentError('REMOTE_SPEC_REJECTED', `the cluster refused ${what}: ${e.message}`, {hint, cause: e})

/**
 * Prepare the promotion of the pipelines that read what this push sends (see the header and
 * pipelines-plan.ts). Notices (fields stripped for the cluster, local defaults not sent) go to
 * pach's reporter and are in `plan.notices`.
 *
 * @throws PIPELINE_NOT_PROMOTABLE (a spec that cannot run on a cluster as it runs here)
 * @example
 *   const p = await preparePipelinePromotion(pach, target, publisher, {pushedRepos: ['images'], project: 'default'})
 *   await p.validate() // before the data push
 *   // … push the data …
 *   const {created, updated, unchanged} = await p.apply()
 */
export async function preparePipelinePromotion(pach: Pach, target: PipelineTarget, images: ImagePublisher, opts: PromotionOptions): Promise<Promotion> {
  const localProject = opts.localProject ?? DEFAULT_PROJECT
  const project = opts.project ?? DEFAULT_PROJECT
  const clusterArch = opts.clusterArch ?? archOf(await target.platform()) ?? 'amd64'
  const reprocess = opts.reprocess ?? false
  const plan = planPromotion(localPipelines(pach, localProject), {localProject, project, pushedRepos: opts.pushedRepos})
  if (plan.pipelines.length > 0 && pach.pipelines.defaultsFor(localProject) !== undefined) {
    plan.notices.push(`the local pipeline defaults of project ${localProject} are not sent: the cluster's own defaults apply to the promoted pipelines (set them there with \`pachctl update defaults\`)`)
  }
  for (const n of plan.notices) pach.reporter.warn(n)

  let imagePlans: Map<string, ImagePlan> | undefined
  /** every pipeline's image plan, by pipeline; registries checked once each */
  const resolveImages = async (): Promise<Map<string, ImagePlan>> => {
    if (imagePlans) return imagePlans
    const out = new Map<string, ImagePlan>()
    const inspected = new Map<string, Awaited<ReturnType<ImagePublisher['inspect']>>>()
    const noEngine = plan.pipelines.length > 0 ? await images.unavailable() : undefined
    if (noEngine) {
      const notice = `no image engine answers (${noEngine}): the pipelines' images are sent as written, not pinned by digest`
      plan.notices.push(notice)
      pach.reporter.warn(notice)
    }
    for (const p of plan.pipelines) {
      if (!inspected.has(p.image)) inspected.set(p.image, noEngine ? undefined : await images.inspect(p.image))
      out.set(p.name, planImage(p.image, inspected.get(p.image), {registry: opts.registry, clusterArch, pipeline: p.name}))
    }
    const hosts = new Set([...out.values()].flatMap((i) => (i.kind === 'push' ? [i.host] : [])))
    for (const host of hosts) {
      const problem = await images.checkPush(host)
      if (problem) {
        const who = [...out.entries()].filter(([, i]) => i.kind === 'push' && i.host === host).map(([name, i]) => `${i.image} (pipeline "${name}")`)
        throw new PachError('IMAGE_PUSH_FAILED', `cannot push ${who.join(', ')} to ${host}: ${problem}`, {data: {registry: host, images: who}})
      }
    }
    imagePlans = out
    return out
  }

  /** the spec each pipeline is sent as, given the image each is sent as */
  const documents = (sent: Map<string, string | undefined>) => plan.pipelines.map((p) => ({name: p.name, doc: withImage(p.doc, sent.get(p.name))}))

  /** what transform.image is sent as for an image plan (before a push: its target tag) */
  const sentImage = (p: {doc: Record<string, unknown>}, i: ImagePlan, digest?: string): string | undefined => {
    if (i.kind === 'pinned') return i.pinned
    if (i.kind === 'push') return digest ? `${i.repository}@${digest}` : i.target
    const t = p.doc.transform as {image?: string} | undefined
    return t?.image // absent: as written (unset stays unset)
  }

  /** Run `fn` in a fresh remote transaction; `keep` finishes it, otherwise it is deleted. */
  const inTransaction = async (keep: boolean, fn: (tx: string) => Promise<void>): Promise<void> => {
    const tx = await target.startTransaction()
    let finished = false
    try {
      await fn(tx)
      if (keep) {
        await target.finishTransaction(tx)
        finished = true
      }
    } finally {
      if (!finished) await target.deleteTransaction(tx).catch(() => undefined)
    }
  }

  return {
    plan,

    async images() {
      const ips = await resolveImages()
      return plan.pipelines.map((p) => ({pipeline: p.name, plan: ips.get(p.name)!}))
    },

    async validate() {
      const ips = await resolveImages()
      if (plan.pipelines.length === 0) return
      const sent = new Map(plan.pipelines.map((p) => [p.name, sentImage(p, ips.get(p.name)!)]))
      if (!(await target.projectExists(project))) {
        throw new NotFoundError('PROJECT_NOT_FOUND', `project ${project} does not exist on the cluster, so its pipelines cannot be checked there`, {
          hint: `create it first (\`pachctl create project ${project}\`; pach push creates it before checking pipelines)`,
          data: {project},
        })
      }
      const missing: string[] = []
      for (const r of opts.pushedRepos) if (!(await target.repoExists(project, r))) missing.push(r)
      let current = ''
      try {
        await inTransaction(false, async (tx) => {
          for (const r of missing) {
            current = `repo ${r}`
            await target.createRepo(project, r, tx)
          }
          for (const {name, doc} of documents(sent)) {
            current = `pipeline "${name}"`
            await target.createPipeline(JSON.stringify(doc), {reprocess, transaction: tx})
          }
        })
      } catch (e) {
        if (e instanceof RemoteRefusal) throw refused(current, e, 'fix the spec (`pach update pipeline`) and push again; nothing was sent')
        throw e
      }
    },

    async apply() {
      const ips = await resolveImages()
      const sent = new Map<string, string | undefined>()
      const results: ImageResult[] = []
      const digests = new Map<string, string>()
      for (const p of plan.pipelines) {
        const i = ips.get(p.name)!
        if (i.kind === 'push' && !digests.has(i.target)) digests.set(i.target, await images.push(i.image, i.target))
        const s = sentImage(p, i, i.kind === 'push' ? digests.get(i.target) : undefined)
        sent.set(p.name, s)
        results.push({pipeline: p.name, image: p.image, sent: s ?? p.image, pushed: i.kind === 'push'})
      }
      const created: string[] = []
      const updated: string[] = []
      const unchanged: string[] = []
      const changes: {name: string; json: string}[] = []
      for (const {name, doc} of documents(sent)) {
        const remote = await target.userSpec(project, name)
        let same = false
        if (remote !== undefined && !reprocess) {
          try {
            same = isDeepStrictEqual(JSON.parse(remote), doc)
          } catch {
            same = false
          }
        }
        if (same) unchanged.push(name)
        else {
          ;(remote === undefined ? created : updated).push(name)
          changes.push({name, json: JSON.stringify(doc)})
        }
      }
      if (changes.length > 0) {
        let current = ''
        try {
          await inTransaction(true, async (tx) => {
            for (const c of changes) {
              current = `pipeline "${c.name}"`
              await target.createPipeline(c.json, {reprocess, transaction: tx})
            }
            current = 'the pipelines\' transaction'
          })
        } catch (e) {
          if (e instanceof RemoteRefusal) throw refused(current, e, 'no pipeline was created or updated; fix the spec (`pach update pipeline`) and push again')
          throw e
        }
      }
      return {created, updated, unchanged, images: results}
    },
  }
}
