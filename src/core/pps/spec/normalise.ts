/**
 * Normalisation: a document as read by schema.ts -> a PipelineSpec with every default
 * applied (Pachyderm setPipelineDefaults / setInputDefaults). Not yet validated (validate.ts).
 *
 * Defaults: pipeline.project = the given default project ("default"); transform.image
 * "ubuntu:20.04"; datum_tries 3 (0 -> 3); parallelism_spec.constant 1 (0 -> 1);
 * output_branch "master"; reprocess_spec "until_success"; pfs: name = repo, branch "master"
 * (or `<pipeline>-trigger-<n>` with a trigger, whose branch defaults to "master"), repo_type
 * "user", project = the pipeline's project; cron: repo `<pipeline>_<name>`, project = the
 * pipeline's project (a cron input reads its repo with glob "/*", see input.ts);
 * service.type and spout.service.type "NodePort". An empty string counts as unset. Globs are
 * cleaned ("abc" -> "/abc", "abc/" -> "/abc", "." -> "/"); a missing or empty glob stays ""
 * so validation can reject it.
 *
 * Problems reported here (the rest is validate.ts's business): `tf_job` (not supported), a
 * missing transform, a pfs repo_type other than user/meta/spec, a cron input with a commit.
 * Each is recorded (context.ts) and normalising goes on as if the field were unset, so
 * validation still reports the spec's other problems.
 */
import {cleanGlob} from '../../pfs/glob.js'
import type {CronInput, Input, PfsInput} from '../input.js'
import {describeValue, fieldPath, report, type JsonObject, type SpecContext} from './context.js'
import {DEFAULT_DATUM_TRIES, DEFAULT_IMAGE, type PipelineSpec, type ResourceSpec, type Transform} from './types.js'

// Accessors of a read message: an unset (or, for strings, empty) field gives the default.

export const stringField = (r: JsonObject | undefined, k: string, def = ''): string => (r !== undefined && typeof r[k] === 'string' && r[k] !== '' ? (r[k] as string) : def)
const boolField = (r: JsonObject | undefined, k: string): boolean => r !== undefined && r[k] === true
const numberField = (r: JsonObject | undefined, k: string): number => (r !== undefined && typeof r[k] === 'number' ? (r[k] as number) : 0)
const isSet = (r: JsonObject, k: string): boolean => r[k] !== undefined

function buildTransform(t: JsonObject): Transform {
  const secrets = ((t.secrets as JsonObject[] | undefined) ?? []).map((s) => ({
    name: stringField(s, 'name'),
    ...(isSet(s, 'key') ? {key: s.key as string} : {}),
    ...(isSet(s, 'mount_path') ? {mount_path: s.mount_path as string} : {}),
    ...(isSet(s, 'env_var') ? {env_var: s.env_var as string} : {}),
  }))
  return {
    image: stringField(t, 'image', DEFAULT_IMAGE),
    cmd: (t.cmd as string[] | undefined) ?? [],
    stdin: (t.stdin as string[] | undefined) ?? [],
    err_cmd: (t.err_cmd as string[] | undefined) ?? [],
    err_stdin: (t.err_stdin as string[] | undefined) ?? [],
    env: (t.env as Record<string, string> | undefined) ?? {},
    secrets,
    image_pull_secrets: (t.image_pull_secrets as string[] | undefined) ?? [],
    accept_return_code: (t.accept_return_code as number[] | undefined) ?? [],
    debug: boolField(t, 'debug'),
    user: stringField(t, 'user'),
    working_dir: stringField(t, 'working_dir'),
    dockerfile: stringField(t, 'dockerfile'),
    memory_volume: boolField(t, 'memory_volume'),
    datum_batching: boolField(t, 'datum_batching'),
  }
}

/** What building an input tree needs: where messages go, the pipeline's name and project, trigger branches numbered per repo. */
interface InputContext {
  ctx: SpecContext
  pipeline: string
  project: string
  triggers: Map<string, number>
}

function buildInput(r: JsonObject, path: string, inputCtx: InputContext): Input {
  const node: JsonObject = {}
  if (isSet(r, 'pfs')) node.pfs = buildPfs(r.pfs as JsonObject, fieldPath(path, 'pfs'), inputCtx)
  for (const k of ['cross', 'union', 'join', 'group'] as const) {
    if (isSet(r, k)) node[k] = (r[k] as JsonObject[]).map((c, i) => buildInput(c, `${fieldPath(path, k)}[${i}]`, inputCtx))
  }
  if (isSet(r, 'cron')) node.cron = buildCron(r.cron as JsonObject, fieldPath(path, 'cron'), inputCtx)
  return node as unknown as Input
}

function buildPfs(p: JsonObject, path: string, inputCtx: InputContext): PfsInput {
  const repo = stringField(p, 'repo')
  const glob = stringField(p, 'glob')
  let branch = stringField(p, 'branch')
  let trigger: JsonObject | undefined
  if (isSet(p, 'trigger')) {
    trigger = {...(p.trigger as JsonObject)}
    if (stringField(trigger, 'branch') === '') trigger.branch = 'master'
    if (branch === '') {
      const n = (inputCtx.triggers.get(repo) ?? 0) + 1
      inputCtx.triggers.set(repo, n)
      branch = `${inputCtx.pipeline}-trigger-${n}`
    }
  }
  const written = stringField(p, 'repo_type', 'user')
  const repoType = written === 'meta' || written === 'spec' ? written : 'user'
  if (written !== repoType) {
    report(inputCtx.ctx, fieldPath(path, 'repo_type'), `${fieldPath(path, 'repo_type')} must be "user", "meta" or "spec", got ${describeValue(written)}`)
  }
  return {
    name: stringField(p, 'name', repo),
    repo,
    repo_type: repoType,
    branch: branch || 'master',
    glob: glob === '' ? '' : cleanGlob(glob),
    project: stringField(p, 'project', inputCtx.project),
    join_on: stringField(p, 'join_on'),
    outer_join: boolField(p, 'outer_join'),
    group_by: stringField(p, 'group_by'),
    lazy: boolField(p, 'lazy'),
    empty_files: boolField(p, 'empty_files'),
    reference: boolField(p, 'reference'),
    s3: boolField(p, 's3'),
    ...(isSet(p, 'commit') ? {commit: p.commit as string} : {}),
    ...(isSet(p, 'propagation_spec') ? {propagation_spec: p.propagation_spec as {never?: boolean}} : {}),
    ...(trigger !== undefined ? {trigger} : {}),
  }
}

function buildCron(c: JsonObject, path: string, inputCtx: InputContext): CronInput {
  if (stringField(c, 'commit') !== '') {
    report(inputCtx.ctx, fieldPath(path, 'commit'), `${fieldPath(path, 'commit')} is set: input cannot come from a commit; use a branch`)
  }
  const name = stringField(c, 'name')
  return {
    name,
    repo: stringField(c, 'repo', `${inputCtx.pipeline}_${name}`),
    spec: stringField(c, 'spec'),
    overwrite: boolField(c, 'overwrite'),
    ...(isSet(c, 'start') ? {start: c.start as string} : {}),
    project: stringField(c, 'project', inputCtx.project),
  }
}

function buildResources(r: JsonObject): ResourceSpec {
  const out: ResourceSpec = {}
  if (isSet(r, 'cpu')) out.cpu = r.cpu as number
  if (isSet(r, 'memory')) out.memory = r.memory as string
  if (isSet(r, 'gpu')) out.gpu = {type: stringField(r.gpu as JsonObject, 'type'), number: numberField(r.gpu as JsonObject, 'number')}
  if (isSet(r, 'disk')) out.disk = r.disk as string
  return out
}

function withServiceDefault(s: JsonObject): JsonObject {
  return {...s, type: stringField(s, 'type', 'NodePort')}
}

/** Raw (already read) spec -> normalised spec, not yet validated. */
export function normalise(raw: JsonObject, ctx: SpecContext, defaultProject: string): PipelineSpec {
  if (isSet(raw, 'tf_job')) report(ctx, 'tf_job', 'tf_job: embedding TFJobs in pipelines is not supported yet')
  const pl = (raw.pipeline as JsonObject | undefined) ?? {}
  const name = stringField(pl, 'name')
  const project = stringField(pl.project as JsonObject | undefined, 'name', defaultProject)
  if (!isSet(raw, 'transform')) report(ctx, 'transform', 'transform is required (it says which image and command to run)')
  const inputCtx: InputContext = {ctx, pipeline: name, project, triggers: new Map()}
  const rp = raw.reprocess_spec
  const spec: PipelineSpec = {
    pipeline: {name, project: {name: project}},
    description: stringField(raw, 'description'),
    transform: buildTransform((raw.transform as JsonObject | undefined) ?? {}),
    input: (isSet(raw, 'input') ? buildInput(raw.input as JsonObject, 'input', inputCtx) : undefined) as Input,
    parallelism_spec: {constant: numberField(raw.parallelism_spec as JsonObject | undefined, 'constant') || 1},
    datum_tries: numberField(raw, 'datum_tries') || DEFAULT_DATUM_TRIES,
    output_branch: stringField(raw, 'output_branch', 'master'),
    reprocess_spec: (typeof rp === 'string' && rp !== '' ? rp : 'until_success') as PipelineSpec['reprocess_spec'],
    autoscaling: boolField(raw, 'autoscaling'),
    s3_out: boolField(raw, 's3_out'),
  }
  const copy = [
    'datum_timeout',
    'job_timeout',
    'salt',
    'datum_set_spec',
    'egress',
    'scheduling_spec',
    'tolerations',
    'pod_spec',
    'pod_patch',
    'metadata',
    'maximum_expected_uptime',
    'determined',
  ] as const
  const out = spec as unknown as JsonObject
  for (const k of copy) if (isSet(raw, k)) out[k] = raw[k]
  for (const k of ['resource_requests', 'resource_limits', 'sidecar_resource_limits', 'sidecar_resource_requests'] as const) {
    if (isSet(raw, k)) out[k] = buildResources(raw[k] as JsonObject)
  }
  if (isSet(raw, 'service')) spec.service = withServiceDefault(raw.service as JsonObject)
  if (isSet(raw, 'spout')) {
    const sp = raw.spout as JsonObject
    spec.spout = isSet(sp, 'service') ? {...sp, service: withServiceDefault(sp.service as JsonObject)} : {...sp}
  }
  return spec
}
