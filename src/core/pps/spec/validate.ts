/**
 * Static validation of one normalised spec (validateSpec; Pachyderm validatePipeline /
 * validateInput): everything that does not need the database.
 *
 * Checks:
 * - names: pipeline, project, repos, branches and inputs use letters, digits, "_" and "-"
 *   (pfs/paths.ts isValidName); pipeline and project names have at most 51 characters, the
 *   pipeline's starts with a letter or a digit;
 * - transform: an image, a non-empty cmd, named secrets (a key with env_var), env names;
 * - the input tree: exactly one kind per node, non-empty lists, pfs repo/name/branch/glob
 *   set and globs compiling, no commit, s3 rules (glob "/", not lazy nor empty_files, not
 *   inside a union, join or group), no input named "out", no pipeline reading its own
 *   output, valid cron expressions and triggers, input names unique except between the
 *   alternatives of a union; only spouts may lack an input, and a spout without a service
 *   must;
 * - scalars: parallelism_spec.constant ≥ 0, datum_tries ≥ 1, output_branch, reprocess_spec;
 *   Go durations (datum_timeout, job_timeout, maximum_expected_uptime) > 0; Kubernetes
 *   quantities in resources; JSON in pod_spec/pod_patch; NETWORK_ANNOTATION "true"/"false";
 *   datum_set_spec;
 * - the combinations Pachyderm checks on cluster-only structures (service, spout, egress), and
 *   s3_out only on a transform (not with service or spout).
 *
 * Every problem is reported (context.ts): each check below is one `attempt`, so a problem
 * ends only its own check, and a field reports its first problem only.
 *
 * Not here: input repos existing, a pipeline name clashing with an existing repo, and cycles
 * through pipelines already created are the caller's business; two specs of one file with
 * the same name, and cycles among the specs of one file, are parseSpecs's (index.ts).
 */
import {checkTrigger, type Trigger} from '../../pfs/trigger.js'
import {compileGlob, GlobSyntaxError} from '../../pfs/glob.js'
import {isValidName} from '../../pfs/paths.js'
import {cronError} from '../../units/cron.js'
import {parseDuration} from '../../units/duration.js'
import {parseMemory} from '../../units/quantity.js'
import type {CronInput, Input, PfsInput} from '../input.js'
import {attempt, contextFor, describeValue, fail, fieldPath, isObject, report, throwProblems, type JsonObject, type SpecContext} from './context.js'
import {stringField} from './normalise.js'
import {MAX_PIPELINE_NAME, NETWORK_ANNOTATION, networkAnnotation, SERVICE_TYPES, type PipelineSpec, type ResourceSpec} from './types.js'

const KINDS = ['pfs', 'cross', 'union', 'join', 'group', 'cron'] as const
type NodeKind = (typeof KINDS)[number]

function kindsOf(node: unknown): NodeKind[] {
  if (!isObject(node)) return []
  return KINDS.filter((k) => node[k] !== undefined && node[k] !== null)
}

function containsS3(node: Input): boolean {
  const r = node as unknown as JsonObject
  if (isObject(r.pfs)) return (r.pfs as unknown as PfsInput).s3 === true
  for (const k of ['cross', 'union', 'join', 'group']) if (Array.isArray(r[k]) && (r[k] as Input[]).some(containsS3)) return true
  return false
}

function checkName(ctx: SpecContext, field: string, what: string, value: string): void {
  if (!isValidName(value)) {
    fail(ctx, field, `${field} ${JSON.stringify(value)} is not a valid ${what} name: only letters, digits, "_" and "-" are allowed`)
  }
}

function checkDuration(ctx: SpecContext, field: string, value: string | undefined, positive: boolean): void {
  if (value === undefined) return
  let ms: number
  try {
    ms = parseDuration(value)
  } catch {
    return fail(ctx, field, `${field} ${JSON.stringify(value)} is not a duration`, 'use Go duration syntax such as "30s", "10m", "1h30m" or "500ms"')
  }
  if (positive && ms <= 0) fail(ctx, field, `${field} ${JSON.stringify(value)} must be a positive duration`)
}

function checkResources(ctx: SpecContext, field: string, r: ResourceSpec | undefined): void {
  if (r === undefined) return
  if (!isObject(r as unknown)) fail(ctx, field, `${field} must be an object`)
  if (r.cpu !== undefined && (typeof r.cpu !== 'number' || !Number.isFinite(r.cpu) || r.cpu < 0)) {
    report(ctx, `${field}.cpu`, `${field}.cpu must be a non-negative number, got ${describeValue(r.cpu)}`)
  }
  for (const k of ['memory', 'disk'] as const) {
    const v = r[k]
    if (v === undefined || v === '') continue
    try {
      parseMemory(v)
    } catch {
      report(ctx, `${field}.${k}`, `${field}.${k} ${JSON.stringify(v)} is not a valid quantity`, 'use a Kubernetes quantity such as "512Mi", "1Gi", "100M" or "1024"')
    }
  }
  if (r.gpu !== undefined) {
    if (!Number.isInteger(r.gpu.number) || r.gpu.number < 0) report(ctx, `${field}.gpu.number`, `${field}.gpu.number must be a non-negative integer`)
    else if (r.gpu.number > 0 && !r.gpu.type) report(ctx, `${field}.gpu.type`, `${field}.gpu.type is required (e.g. "nvidia.com/gpu")`)
  }
}

function checkJsonString(ctx: SpecContext, field: string, v: string | undefined): void {
  if (v === undefined || v === '') return
  if (typeof v !== 'string') fail(ctx, field, `${field} must be a string holding JSON`)
  try {
    JSON.parse(v)
  } catch (e) {
    fail(ctx, field, `${field} is not valid JSON: ${(e as Error).message}`, `${field} is a JSON document inside a string`)
  }
}

/** Pachyderm validateNames: names unique across the tree, except between the alternatives of a union. */
function checkNames(ctx: SpecContext, names: Set<string>, node: Input, path: string): void {
  const r = node as unknown as JsonObject
  if (isObject(r.pfs) || isObject(r.cron)) {
    const key = isObject(r.pfs) ? 'pfs' : 'cron'
    const name = (r[key] as {name: string}).name
    if (names.has(name)) {
      report(ctx, `${fieldPath(path, key)}.name`, `${fieldPath(path, key)}.name: name ${JSON.stringify(name)} was used more than once`, 'give each input a distinct "name" (it is the directory under /pfs)')
    }
    names.add(name)
  } else if (Array.isArray(r.union)) {
    const copies = (r.union as Input[]).map((child, i) => {
      const copy = new Set(names)
      checkNames(ctx, copy, child, `${fieldPath(path, 'union')}[${i}]`)
      return copy
    })
    for (const c of copies) for (const n of c) names.add(n)
  } else {
    for (const k of ['cross', 'join', 'group']) {
      if (Array.isArray(r[k])) (r[k] as Input[]).forEach((child, i) => checkNames(ctx, names, child, `${fieldPath(path, k)}[${i}]`))
    }
  }
}

/** One pfs input: each field is its own check. */
function checkPfs(ctx: SpecContext, spec: PipelineSpec, pfs: PfsInput, p: string): void {
  attempt(() => {
    if (pfs.trigger === undefined) return
    try {
      checkTrigger(pfs.trigger as Trigger, pfs.branch)
    } catch (e) {
      fail(ctx, `${p}.trigger`, `${p}.trigger: ${(e as Error).message}`)
    }
  })
  attempt(() => {
    if (!pfs.repo) fail(ctx, `${p}.repo`, `${p}.repo is required`)
    checkName(ctx, `${p}.repo`, 'repo', pfs.repo)
    if (pfs.repo === spec.pipeline.name && pfs.repo_type === 'user' && pfs.project === spec.pipeline.project.name) {
      fail(ctx, `${p}.repo`, `${p}.repo: pipeline ${JSON.stringify(spec.pipeline.name)} cannot read its own output repo (that would be a cycle)`)
    }
  })
  attempt(() => {
    if (!pfs.name) fail(ctx, `${p}.name`, `${p}.name is required`)
    if (pfs.name === 'out') {
      fail(ctx, `${p}.name`, `${p}.name: an input cannot be named "out" (pach creates /pfs/out for the output)`, 'inputs from a repo named "out" must set "name" to something else')
    }
    checkName(ctx, `${p}.name`, 'input', pfs.name)
  })
  attempt(() => {
    if (!pfs.branch) fail(ctx, `${p}.branch`, `${p}.branch is required`)
    checkName(ctx, `${p}.branch`, 'branch', pfs.branch)
  })
  attempt(() => {
    if (pfs.project) checkName(ctx, `${p}.project`, 'project', pfs.project)
  })
  if (pfs.repo_type !== 'user' && pfs.repo_type !== 'meta' && pfs.repo_type !== 'spec') {
    report(ctx, `${p}.repo_type`, `${p}.repo_type must be "user", "meta" or "spec"`)
  }
  if (pfs.commit !== undefined && pfs.commit !== '') report(ctx, `${p}.commit`, `${p}.commit is set: input cannot come from a commit; use a branch`)
  attempt(() => {
    if (!pfs.s3 && !pfs.glob) fail(ctx, `${p}.glob`, `${p}.glob is required`, 'e.g. "/*" for one datum per top-level file or directory, "/" for one datum with everything')
    if (pfs.s3 && pfs.glob !== '/') {
      fail(ctx, `${p}.glob`, `${p}.glob: inputs that set "s3" to true must also set "glob" to "/", as the S3 gateway is only able to expose data at the commit level`, 'set "glob": "/"')
    }
    if (pfs.glob) {
      try {
        compileGlob(pfs.glob)
      } catch (e) {
        if (!(e instanceof GlobSyntaxError)) throw e
        fail(ctx, `${p}.glob`, `${p}.glob ${JSON.stringify(pfs.glob)} is invalid: ${e.reason}`)
      }
    }
  })
  const viaGateway = "as \"s3\" requires input data to be accessed via Pachyderm's S3 gateway rather than the file system"
  if (pfs.s3 && pfs.lazy) report(ctx, `${p}.lazy`, `${p}: input cannot specify both "s3" and "lazy", ${viaGateway}`, 'remove "lazy"')
  if (pfs.s3 && pfs.empty_files) report(ctx, `${p}.empty_files`, `${p}: input cannot specify both "s3" and "empty_files", ${viaGateway}`, 'remove "empty_files"')
}

/** One cron input: each field is its own check. */
function checkCron(ctx: SpecContext, cron: CronInput, p: string): void {
  attempt(() => {
    if (!cron.name) fail(ctx, `${p}.name`, `${p}.name is required`)
    checkName(ctx, `${p}.name`, 'input', cron.name)
    if (cron.name === 'out') fail(ctx, `${p}.name`, `${p}.name: an input cannot be named "out" (pach creates /pfs/out for the output)`)
  })
  attempt(() => {
    if (!cron.repo) fail(ctx, `${p}.repo`, `${p}.repo is required`)
    checkName(ctx, `${p}.repo`, 'repo', cron.repo)
  })
  attempt(() => {
    if (!cron.spec) fail(ctx, `${p}.spec`, `${p}.spec is required (a cron expression such as "@every 10s" or "*/5 * * * *")`)
    const err = cronError(cron.spec)
    if (err !== null) fail(ctx, `${p}.spec`, `${p}.spec ${JSON.stringify(cron.spec)} is not a valid cron expression: ${err}`)
  })
  if (cron.start !== undefined && Number.isNaN(Date.parse(cron.start))) report(ctx, `${p}.start`, `${p}.start is not a valid time`)
}

/** One node of the input tree and, for a compound node, each child (each child its own check). */
function checkInputNode(ctx: SpecContext, spec: PipelineSpec, node: Input, path: string): void {
  const kinds = kindsOf(node)
  if (kinds.length === 0) fail(ctx, path, `${path}: no input set`, 'an input is one of pfs, cross, union, join, group, cron')
  if (kinds.length > 1) fail(ctx, path, `${path}: multiple input types set (${kinds.join(', ')})`, 'each input node has exactly one of pfs, cross, union, join, group, cron')
  const kind = kinds[0]!
  const r = node as unknown as JsonObject
  const p = fieldPath(path, kind)
  if (kind === 'pfs') return checkPfs(ctx, spec, r.pfs as PfsInput, p)
  if (kind === 'cron') return checkCron(ctx, r.cron as CronInput, p)
  const children = r[kind]
  if (!Array.isArray(children)) fail(ctx, p, `${p} must be a list of inputs`)
  if (children.length === 0) fail(ctx, p, `${p} is empty: a ${kind} needs at least one input`)
  if (kind !== 'cross' && containsS3(node)) {
    report(ctx, p, `${p}: S3 inputs in ${kind} expressions are not supported`, 'an s3 input may stand alone or be part of a cross; read it through /pfs (remove "s3") to use it here')
  }
  ;(children as Input[]).forEach((child, i) => attempt(() => checkInputNode(ctx, spec, child, `${p}[${i}]`)))
}

/**
 * Static validation of one normalised spec (everything that does not need the database):
 * every problem is reported in one INVALID_SPEC error (context.ts).
 *
 * @throws InvalidArgumentError INVALID_SPEC
 */
export function validateSpec(spec: PipelineSpec, file: string): void {
  const name = isObject(spec) && isObject(spec.pipeline) && typeof spec.pipeline.name === 'string' ? spec.pipeline.name : ''
  const ctx = contextFor(file, name || undefined)
  attempt(() => checkSpec(spec, ctx))
  throwProblems(ctx)
}

/** validateSpec's checks, recording problems on `ctx` (parseSpecs shares it with the other stages). */
export function checkSpec(spec: PipelineSpec, ctx: SpecContext): void {
  if (!isObject(spec)) fail(ctx, '', 'a pipeline spec must be an object')
  const name = isObject(spec.pipeline) && typeof spec.pipeline.name === 'string' ? spec.pipeline.name : ''
  attempt(() => {
    if (!name) fail(ctx, 'pipeline.name', 'pipeline.name is required')
    if (!isValidName(name)) fail(ctx, 'pipeline.name', `pipeline.name ${JSON.stringify(name)} is invalid: only letters, digits, "_" and "-" are allowed`)
    if (name.length > MAX_PIPELINE_NAME) {
      fail(ctx, 'pipeline.name', `pipeline.name is ${name.length} characters long, but must have at most ${MAX_PIPELINE_NAME}`)
    }
    if (!/^[a-zA-Z0-9]/.test(name)) fail(ctx, 'pipeline.name', `pipeline.name ${JSON.stringify(name)} must start with a letter or a digit`)
  })
  attempt(() => {
    const project = spec.pipeline?.project?.name ?? ''
    if (!project) fail(ctx, 'pipeline.project.name', 'pipeline.project.name is required')
    checkName(ctx, 'pipeline.project.name', 'project', project)
    if (project.length > MAX_PIPELINE_NAME) fail(ctx, 'pipeline.project.name', `pipeline.project.name must have at most ${MAX_PIPELINE_NAME} characters`)
  })

  // transform
  attempt(() => {
    const t = spec.transform
    if (!isObject(t)) fail(ctx, 'transform', 'transform is required (it says which image and command to run)')
    if (!t.image) report(ctx, 'transform.image', 'transform.image is required')
    if (!Array.isArray(t.cmd) || t.cmd.length === 0) {
      report(ctx, 'transform.cmd', 'transform.cmd: no command specified', 'e.g. "cmd": ["python3", "/app.py"], or "cmd": ["bash"] with "stdin": [...]')
    }
    ;(t.secrets ?? []).forEach((s, i) => {
      const f = `transform.secrets[${i}]`
      if (!s.name) report(ctx, `${f}.name`, `${f}.name is required`)
      if (s.env_var && !s.key) report(ctx, `${f}.key`, `${f}.key is required when env_var is set`)
    })
    for (const [k] of Object.entries(t.env ?? {})) {
      if (k === '' || k.includes('=')) report(ctx, `transform.env`, `transform.env: ${JSON.stringify(k)} is not a valid variable name`)
    }
  })

  // input
  const spout = spec.spout as JsonObject | undefined
  if (spec.input === undefined || spec.input === null) {
    if (spout === undefined) report(ctx, 'input', 'input is required (only spouts have no input)')
  } else {
    if (spout !== undefined && !isObject(spout.service)) {
      report(ctx, 'input', 'input: spout pipelines (without a service) must not have an input')
    }
    attempt(() => checkInputNode(ctx, spec, spec.input, 'input'))
    attempt(() => checkNames(ctx, new Set(), spec.input, 'input'))
  }

  // scalars
  const c = spec.parallelism_spec?.constant
  if (c !== undefined && (!Number.isInteger(c) || c < 0)) report(ctx, 'parallelism_spec.constant', 'parallelism_spec.constant must be a non-negative integer')
  if (!Number.isInteger(spec.datum_tries) || spec.datum_tries < 1) report(ctx, 'datum_tries', `datum_tries must be a positive integer, got ${describeValue(spec.datum_tries)}`)
  attempt(() => {
    if (!spec.output_branch) fail(ctx, 'output_branch', 'output_branch is required')
    checkName(ctx, 'output_branch', 'branch', spec.output_branch)
  })
  if (spec.reprocess_spec !== 'until_success' && spec.reprocess_spec !== 'every_job') {
    report(ctx, 'reprocess_spec', `reprocess_spec must be "until_success" or "every_job", got ${describeValue(spec.reprocess_spec)}`)
  }
  attempt(() => checkDuration(ctx, 'datum_timeout', spec.datum_timeout, true))
  attempt(() => checkDuration(ctx, 'job_timeout', spec.job_timeout, true))
  attempt(() => checkDuration(ctx, 'maximum_expected_uptime', spec.maximum_expected_uptime, true))
  attempt(() => checkResources(ctx, 'resource_requests', spec.resource_requests))
  attempt(() => checkResources(ctx, 'resource_limits', spec.resource_limits))
  attempt(() => checkResources(ctx, 'sidecar_resource_requests', spec.sidecar_resource_requests))
  attempt(() => checkResources(ctx, 'sidecar_resource_limits', spec.sidecar_resource_limits))
  attempt(() => checkJsonString(ctx, 'pod_spec', spec.pod_spec))
  attempt(() => checkJsonString(ctx, 'pod_patch', spec.pod_patch))
  const net = networkAnnotation(spec)
  if (net !== undefined && net !== 'true' && net !== 'false') {
    report(ctx, `metadata.annotations.${NETWORK_ANNOTATION}`, `metadata.annotations["${NETWORK_ANNOTATION}"] must be "true" or "false", got ${describeValue(net)}`)
  }
  const ds = spec.datum_set_spec
  if (ds !== undefined) {
    for (const k of ['number', 'size_bytes', 'per_worker'] as const) {
      if (ds[k] !== undefined && (!Number.isInteger(ds[k]) || ds[k]! < 0)) report(ctx, `datum_set_spec.${k}`, `datum_set_spec.${k} must be a non-negative integer`)
    }
    if (ds.per_worker && (ds.number || ds.size_bytes)) {
      report(ctx, 'datum_set_spec.per_worker', 'datum_set_spec.per_worker cannot be set together with number or size_bytes')
    }
  }

  // cluster-only structures whose combinations Pachyderm checks
  const service = spec.service as JsonObject | undefined
  if (service !== undefined) {
    if (!SERVICE_TYPES.includes(stringField(service, 'type', 'NodePort'))) {
      report(ctx, 'service.type', `service.type ${JSON.stringify(service.type)} is not allowed (one of ${SERVICE_TYPES.join(', ')})`)
    }
    if ((spec.parallelism_spec?.constant ?? 1) !== 1) {
      report(ctx, 'parallelism_spec.constant', 'parallelism_spec.constant: services can only be run with a constant parallelism of 1')
    }
  }
  if (spout !== undefined) {
    if (spec.autoscaling) report(ctx, 'autoscaling', "autoscaling can't be used with spouts (spouts aren't triggered by input commits)")
    if (isObject(spout.service) && !SERVICE_TYPES.includes(stringField(spout.service, 'type', 'NodePort'))) {
      report(ctx, 'spout.service.type', `spout.service.type ${JSON.stringify(spout.service.type)} is not allowed (one of ${SERVICE_TYPES.join(', ')})`)
    }
  }
  if (spec.s3_out && (service !== undefined || spout !== undefined)) {
    report(ctx, 's3_out', 's3_out: s3 output is not supported in spouts or services', 'remove "s3_out" and write to /pfs/out (a service) or commit with put file (a spout)')
  }
  const egress = spec.egress as JsonObject | undefined
  if (egress !== undefined) {
    const targets = ['URL', 'object_storage', 'sql_database'].filter((k) => egress[k] !== undefined && egress[k] !== '')
    if (targets.length === 0) report(ctx, 'egress', 'egress needs one of URL, object_storage, sql_database')
    if (targets.length > 1) report(ctx, 'egress', `egress sets more than one target (${targets.join(', ')})`)
  }
}
