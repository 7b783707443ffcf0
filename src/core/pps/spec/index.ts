/**
 * Pipeline specs: parsing, normalising and statically validating what `pach create pipeline -f`
 * reads (Pachyderm `CreatePipelineRequest`, reference §2). The public face of pps/spec/.
 *
 * Concept: a spec file holds one or several specs. parseSpecs runs each through the stages,
 * one module each:
 * - text.ts: file text -> top-level values (JSON or YAML);
 * - schema.ts: each value read field by field against Pachyderm's protobuf messages;
 * - normalise.ts: -> a normalised PipelineSpec (types.ts), snake_case, every default applied;
 * - validate.ts: static validation (validateSpec);
 * - here: checks across the specs of one file (a name defined twice, a cycle among them),
 *   warnings about images without a pinned tag and about join_on/group_by templates that
 *   refer to capture groups their glob lacks.
 * context.ts gives every stage the same error and warning shape, and collects every problem
 * of a file so one run reports them all. The normalised spec is what the rest of pach stores,
 * shows and runs; parseSpecs returns beside it the document it was read from, as the user
 * wrote it (stored as `user_spec`). parseEditedSpec reads a spec back from `edit pipeline`.
 *
 * Inputs stay in the order the spec lists them (what list/inspect pipeline show). Pachyderm
 * sorts them by name when it stores a spec; pach sorts only where the order has a meaning,
 * in the datum planner (input.ts sortInput), so datums and their ids are Pachyderm's.
 *
 * Also here, readers of a normalised spec: wantsNetwork, clusterOnlyFieldsIn (fields with no
 * local effect: a notice), localRefusals (fields pach refuses: REFUSED_FIELDS), specSummary,
 * specInputRank.
 *
 * Invariants:
 * - every error is an InvalidArgumentError with code INVALID_SPEC (see context.ts) listing
 *   every problem found.
 * - the core never prints: warnings are returned.
 */
import {isDeepStrictEqual} from 'node:util'
import {InvalidArgumentError} from '../../errors.js'
import {compileGlob} from '../../pfs/glob.js'
import type {CronInput, Input, PfsInput} from '../input.js'
import {attempt, contextFor, describeValue, fail, isObject, problemsError, report, throwProblems, warn, type JsonObject, type SpecContext, type SpecProblem} from './context.js'
import {mergePatch, withoutNulls} from './defaults.js'
import {normalise} from './normalise.js'
import {PIPELINE_SPEC, readMessage} from './schema.js'
import {topLevelValues} from './text.js'
import {CLUSTER_ONLY_FIELDS, NETWORK_ANNOTATION, networkAnnotation, type ParsedSpecs, type PipelineSpec, type ServicePorts} from './types.js'
import {checkSpec, validateSpec} from './validate.js'

export {validateSpec}
export {effectiveDefaults, parseDefaults} from './defaults.js'
export {CLUSTER_ONLY_FIELDS, DEFAULT_DATUM_TRIES, DEFAULT_IMAGE, NETWORK_ANNOTATION, REFUSED_FIELDS} from './types.js'
export type {ParsedSpecs, PipelineSpec, ResourceSpec, ServicePorts, Transform} from './types.js'

/**
 * Parse one file's text (JSON: object, array, or concatenated objects; YAML: one or more
 * documents). `file` is used in messages. `defaultProject` fills pipeline.project (and, through
 * it, input projects). `defaults(project)` (defaults.ts effectiveDefaults of the spec's
 * project) is merged under each spec before it is normalised. Every spec is normalised and
 * validated (validateSpec); two specs with the same name, or specs whose inputs form a cycle,
 * are rejected too. Every problem of the file is reported in one error (context.ts). Each
 * spec comes with the document it was read from (userSpecs), so callers need not parse the
 * text again to keep what the user wrote.
 *
 * @throws InvalidArgumentError INVALID_SPEC (file, field and pipeline in `data`)
 * @example
 *   const {specs, userSpecs, warnings} = parseSpecs(readFileSync('edges.json', 'utf8'), 'edges.json')
 */
export function parseSpecs(text: string, file: string, defaultProject = 'default', defaults?: (project: string) => JsonObject | undefined): ParsedSpecs {
  const values = topLevelValues(text, file)
  if (values.length === 0) {
    throw new InvalidArgumentError('INVALID_SPEC', `${file}: no pipeline spec found`, {data: {file, field: ''}, hint: 'a spec file holds a JSON object, a JSON array of objects, or YAML documents'})
  }
  const warnings: string[] = []
  const problems: SpecProblem[] = []
  const specs = values.map(({value, where}, i) => {
    const rawName = isObject(value) && isObject(value.pipeline) && typeof value.pipeline.name === 'string' ? value.pipeline.name : undefined
    const ctx = contextFor(file, rawName, warnings, i, values.length, problems)
    let spec: PipelineSpec | undefined
    attempt(() => {
      if (!isObject(value)) fail(ctx, '', `${where} is not a pipeline spec (expected an object, got ${describeValue(value)})`)
      ctx.keepNull = defaults !== undefined
      const message = readMessage(value, PIPELINE_SPEC, '', ctx)
      const project = isObject(message.pipeline) && isObject(message.pipeline.project) && typeof message.pipeline.project.name === 'string' && message.pipeline.project.name ? message.pipeline.project.name : defaultProject
      const layer = defaults?.(project)
      const merged = layer !== undefined ? (withoutNulls(mergePatch(layer, message)) as JsonObject) : (withoutNulls(message) as JsonObject)
      spec = normalise(merged, ctx, defaultProject)
      if (!spec.pipeline.name) report(ctx, 'pipeline.name', 'pipeline.name is required')
      checkSpec(spec, ctx)
      imageWarnings(spec, ctx)
      joinKeyWarnings(spec, ctx)
    })
    return spec
  })
  const error = problemsError(file, problems)
  if (error) throw error
  checkAcrossSpecs(specs as PipelineSpec[], file)
  return {specs: specs as PipelineSpec[], userSpecs: values.map((v) => v.value), warnings}
}

/**
 * Parse a pipeline's spec after the user edited it (`pach edit pipeline`): the text must hold
 * exactly one spec, for the same pipeline. A missing pipeline name or project means
 * unchanged (filled in from `pipeline`); a different one is an error (an edit cannot rename:
 * create a new pipeline instead). Then as parseSpecs. `unchanged`: the document equals
 * `before` (the stored user spec), as pachctl compares them.
 *
 * @throws InvalidArgumentError INVALID_SPEC
 */
export function parseEditedSpec(
  text: string,
  file: string,
  pipeline: {name: string; project: string},
  before: unknown,
  defaults?: (project: string) => JsonObject | undefined,
): ParsedSpecs & {unchanged: boolean} {
  const values = topLevelValues(text, file)
  const ctx = contextFor(file, pipeline.name)
  if (values.length !== 1) {
    attempt(() => fail(ctx, '', `${values.length === 0 ? 'no pipeline spec found' : `${values.length} specs found`}; an edited spec must be exactly one, for pipeline "${pipeline.name}"`))
    throwProblems(ctx)
  }
  const value = values[0]!.value
  const unchanged = isDeepStrictEqual(value, before)
  if (isObject(value)) {
    const pl = isObject(value.pipeline) ? {...value.pipeline} : value.pipeline === undefined || value.pipeline === null ? {} : undefined
    if (pl !== undefined) {
      if (pl.name === undefined || pl.name === null || pl.name === '') pl.name = pipeline.name
      else if (pl.name !== pipeline.name) report(ctx, 'pipeline.name', `pipeline.name: an edit cannot rename pipeline "${pipeline.name}" (to ${JSON.stringify(pl.name)})`, 'create a new pipeline with `pach create pipeline` instead')
      const project = isObject(pl.project) ? {...pl.project} : pl.project === undefined || pl.project === null ? {} : undefined
      if (project !== undefined) {
        if (project.name === undefined || project.name === null || project.name === '') project.name = pipeline.project
        else if (project.name !== pipeline.project) report(ctx, 'pipeline.project.name', `pipeline.project.name: an edit cannot move pipeline "${pipeline.name}" to another project`)
        pl.project = project
      }
      value.pipeline = pl
    }
  }
  throwProblems(ctx)
  return {...parseSpecs(JSON.stringify(value), file, pipeline.project, defaults), unchanged}
}

function imageWarnings(spec: PipelineSpec, ctx: SpecContext): void {
  const image = spec.transform.image
  if (image.includes('@')) return
  const last = image.slice(image.lastIndexOf('/') + 1)
  const colon = last.lastIndexOf(':')
  if (colon < 0) warn(ctx, `transform.image ${JSON.stringify(image)} has no tag (so it means :latest); pin a version so re-runs use the same code`)
  else if (last.slice(colon + 1) === 'latest') warn(ctx, `transform.image ${JSON.stringify(image)} uses the "latest" tag; pin a version so re-runs use the same code`)
}

/**
 * The capture groups a join_on/group_by template refers to ($N, ${N}; $$ is a literal "$",
 * $0 is the whole path), as ohmyglob's Replace reads them (pfs/glob.ts expandTemplate).
 */
function templateGroups(template: string): number[] {
  const out: number[] = []
  const re = /\$(\$|\{(\d+)\}|(\d+))/g
  for (let m = re.exec(template); m !== null; m = re.exec(template)) {
    const n = m[2] ?? m[3]
    if (n !== undefined) out.push(Number(n))
  }
  return out
}

/** Every pfs leaf of an input tree in spec order, with its field path (`input.join[1].pfs`). */
function pfsLeaves(input: Input | undefined, path = 'input'): {pfs: PfsInput; path: string}[] {
  if (input === undefined || input === null) return []
  const r = input as unknown as JsonObject
  if (isObject(r.pfs)) return [{pfs: r.pfs as unknown as PfsInput, path: `${path}.pfs`}]
  const out: {pfs: PfsInput; path: string}[] = []
  for (const k of ['cross', 'union', 'join', 'group']) {
    if (Array.isArray(r[k])) (r[k] as Input[]).forEach((c, i) => out.push(...pfsLeaves(c, `${path}.${k}[${i}]`)))
  }
  return out
}

/**
 * A join_on/group_by that refers to a capture group its glob does not have gives every file
 * of that input the same key (Pachyderm does the same, silently: a join over it pairs every
 * file with every other, a group puts every file in one group). Warn, with the glob fixed.
 */
function joinKeyWarnings(spec: PipelineSpec, ctx: SpecContext): void {
  for (const {pfs, path} of pfsLeaves(spec.input)) {
    for (const key of ['join_on', 'group_by'] as const) {
      const template = pfs[key]
      if (!template) continue
      let groups: number
      try {
        groups = compileGlob(pfs.glob).groupCount
      } catch {
        continue // an invalid glob is a validation error already
      }
      const refs = templateGroups(template)
      const missing = [...new Set(refs.filter((n) => n > groups))]
      if (missing.length === 0) continue
      const has = groups === 0 ? 'has no capture groups' : `has only ${groups} capture group${groups === 1 ? '' : 's'}`
      const what = missing.length === 1 ? `capture group ${missing[0]}` : `capture groups ${missing.join(', ')}`
      const effect = refs.every((n) => n > groups)
        ? `so every file of this input gets the same ${key === 'join_on' ? 'join key' : 'group key'} ${JSON.stringify(template.replace(/\$(\{\d+\}|\d+)/g, '').replace(/\$\$/g, '$'))}${key === 'join_on' ? ' (the join pairs every file with every other)' : ' (every file lands in one group)'}`
        : `so ${missing.length === 1 ? 'that part of the key is' : 'those parts of the key are'} always empty`
      const example = groups === 0 && pfs.glob.includes('*') ? `; put the part to match in parentheses, e.g. ${JSON.stringify(pfs.glob.replace('*', '(*)'))}` : ''
      warn(ctx, `${path}.${key} ${JSON.stringify(template)} refers to ${what}, but glob ${JSON.stringify(pfs.glob)} ${has}, ${effect}${example}`)
    }
  }
}

function pfsRepos(input: Input | undefined): PfsInput[] {
  if (input === undefined) return []
  const r = input as unknown as JsonObject
  if (isObject(r.pfs)) return [r.pfs as unknown as PfsInput]
  const out: PfsInput[] = []
  for (const k of ['cross', 'union', 'join', 'group']) if (Array.isArray(r[k])) for (const c of r[k] as Input[]) out.push(...pfsRepos(c))
  return out
}

function checkAcrossSpecs(specs: PipelineSpec[], file: string): void {
  const problems: SpecProblem[] = []
  attempt(() => acrossSpecs(specs, file, problems))
  const error = problemsError(file, problems)
  if (error) throw error
}

/** checkAcrossSpecs's checks (the first problem ends them). */
function acrossSpecs(specs: PipelineSpec[], file: string, problems: SpecProblem[]): void {
  const at = (name: string) => contextFor(file, name, [], 0, 1, problems)
  const key = (project: string, name: string): string => `${project}/${name}`
  const byKey = new Map<string, number>()
  specs.forEach((s, i) => {
    const k = key(s.pipeline.project.name, s.pipeline.name)
    const prev = byKey.get(k)
    if (prev !== undefined) {
      fail(at(s.pipeline.name), 'pipeline.name', `pipeline.name ${JSON.stringify(s.pipeline.name)} is defined more than once in this file (specs #${prev + 1} and #${i + 1})`)
    }
    byKey.set(k, i)
  })
  // edges: pipeline -> pipelines of this file whose output it reads
  const deps = specs.map((s) =>
    pfsRepos(s.input)
      .filter((p) => p.repo_type === 'user')
      .map((p) => byKey.get(key(p.project, p.repo)))
      .filter((j): j is number => j !== undefined),
  )
  const state = new Array<number>(specs.length).fill(0) // 0 new, 1 on stack, 2 done
  const stack: number[] = []
  const visit = (i: number): void => {
    state[i] = 1
    stack.push(i)
    for (const j of deps[i]!) {
      if (state[j] === 1) {
        const cycle = [...stack.slice(stack.indexOf(j)), j].map((k) => specs[k]!.pipeline.name)
        fail(at(specs[j]!.pipeline.name), 'input', `input: pipelines form a cycle: ${cycle.join(' -> ')}`)
      }
      if (state[j] === 0) visit(j)
    }
    stack.pop()
    state[i] = 2
  }
  specs.forEach((_, i) => {
    if (state[i] === 0) visit(i)
  })
}

/**
 * The specs of one command in the order to create them: each after the specs (of the same
 * batch) whose output it reads, otherwise in the order given. So `list pipeline --spec`'s
 * output, in whatever order, creates its pipelines again. (parseSpecs rejects cycles.)
 */
export function creationOrder<T extends {spec: PipelineSpec}>(items: T[]): T[] {
  const key = (project: string, name: string): string => `${project}/${name}`
  const byKey = new Map(items.map((it, i) => [key(it.spec.pipeline.project.name, it.spec.pipeline.name), i]))
  const out: T[] = []
  const state = new Array<number>(items.length).fill(0) // 0 new, 1 visiting, 2 placed
  const visit = (i: number): void => {
    if (state[i] !== 0) return
    state[i] = 1
    for (const p of pfsRepos(items[i]!.spec.input)) {
      const j = p.repo_type === 'user' ? byKey.get(key(p.project, p.repo)) : undefined
      if (j !== undefined && j !== i) visit(j)
    }
    state[i] = 2
    out.push(items[i]!)
  }
  items.forEach((_, i) => visit(i))
  return out
}

/** Does user code of this pipeline get a network? (see NETWORK_ANNOTATION) */
export function wantsNetwork(spec: PipelineSpec): boolean {
  return networkAnnotation(spec) === 'true'
}

/**
 * How a pipeline runs: a transform runs jobs over its input commits; a spout's code runs
 * continuously and commits by itself; a service's code runs continuously over its latest
 * input (Pachyderm's PipelineInfo.type). A spout with `spout.service` is a spout.
 */
export function pipelineKind(spec: PipelineSpec): 'transform' | 'spout' | 'service' {
  if (spec.spout !== undefined) return 'spout'
  if (spec.service !== undefined) return 'service'
  return 'transform'
}

/** The port mapping a spout or service publishes (service, or spout.service), if any. */
export function servicePorts(spec: PipelineSpec): ServicePorts | undefined {
  const s = (spec.service ?? (spec.spout as {service?: unknown} | undefined)?.service) as ServicePorts | undefined
  return s && typeof s === 'object' ? s : undefined
}

/** A field of a spec that pach refuses to run (REFUSED_FIELDS): one line saying what and what to do. */
export interface Refusal {
  /** the field path (`egress`, `input.cross[1].pfs.s3`) */
  field: string
  message: string
  hint: string
}

/**
 * The REFUSED_FIELDS a normalised spec sets, each with its message (without the file and
 * pipeline prefix) and what to do instead; also an `s3` input to a service, whose code runs
 * outside jobs (continuous.ts), so no per-job S3 gateway serves it.
 */
export function localRefusals(spec: PipelineSpec): Refusal[] {
  const notYet = (field: string, what: string, hint: string): Refusal => ({field, message: `${field}: ${what} is not supported by pach yet`, hint})
  const out: Refusal[] = []
  if (spec.egress !== undefined) {
    out.push(notYet('egress', "copying a job's output to external storage", 'remove "egress" and copy the output yourself, e.g. `pach get file -r <pipeline>@master:/ -o DIR`'))
  }
  if (pipelineKind(spec) !== 'transform') {
    for (const {pfs, path} of pfsLeaves(spec.input)) {
      if (pfs.s3) out.push(notYet(`${path}.s3`, 'an s3 input to a service', `remove "s3": true; the service then reads the input at /pfs/${pfs.name}`))
    }
  }
  return out
}

/** Which of CLUSTER_ONLY_FIELDS a normalised spec actually sets (to tell the user they have no local effect). */
export function clusterOnlyFieldsIn(spec: PipelineSpec): string[] {
  const out: string[] = []
  const r = spec as unknown as JsonObject
  for (const f of CLUSTER_ONLY_FIELDS) {
    if (f.startsWith('input.pfs.')) {
      const k = f.slice('input.pfs.'.length) as keyof PfsInput
      if (pfsRepos(spec.input).some((p) => p[k] !== undefined && p[k] !== false)) out.push(f)
    } else if (f.startsWith('transform.')) {
      const v = (spec.transform as unknown as JsonObject)[f.slice('transform.'.length)]
      if (v === true || (typeof v === 'string' && v !== '') || (Array.isArray(v) && v.length > 0)) out.push(f)
    } else if (f === 'metadata') {
      // metadata acts locally only through NETWORK_ANNOTATION
      const md = (spec.metadata ?? {}) as {annotations?: Record<string, unknown>; labels?: Record<string, unknown>}
      const keys = [...Object.keys(md.annotations ?? {}).filter((k) => k !== NETWORK_ANNOTATION), ...Object.keys(md.labels ?? {})]
      if (keys.length) out.push(f)
    } else if (r[f] !== undefined && r[f] !== false) out.push(f)
  }
  return out
}

/**
 * Where an input repo comes in the spec's own order of inputs: a rank for sorting the files
 * of a datum (which the planner orders by input name, as Pachyderm) back into the order the
 * spec lists its inputs. A repo read by several inputs ranks at its first; an unknown repo
 * ranks last.
 */
export function specInputRank(input: Input | undefined): (repo: {name: string; type: string; project: {name: string}}) => number {
  const ranks = new Map<string, number>()
  const leaves = (node: Input | undefined): void => {
    if (node === undefined || node === null) return
    const r = node as unknown as JsonObject
    const add = (project: string, repo: string, type: string) => {
      const k = `${project}/${repo}.${type}`
      if (!ranks.has(k)) ranks.set(k, ranks.size)
    }
    if (isObject(r.pfs)) add((r.pfs as unknown as PfsInput).project, (r.pfs as unknown as PfsInput).repo, (r.pfs as unknown as PfsInput).repo_type)
    else if (isObject(r.cron)) add((r.cron as unknown as CronInput).project, (r.cron as unknown as CronInput).repo, 'user')
    else for (const k of ['cross', 'union', 'join', 'group']) if (Array.isArray(r[k])) (r[k] as Input[]).forEach(leaves)
  }
  leaves(input)
  return (repo) => ranks.get(`${repo.project.name}/${repo.name}.${repo.type}`) ?? ranks.size
}

/** A short description of the input tree, as in pachctl's INPUT column: "images:/*", "(a:/* ⨯ b:/*)". */
export function specSummary(spec: PipelineSpec): string {
  const project = spec.pipeline?.project?.name ?? ''
  const show = (node: Input | undefined): string => {
    if (node === undefined || node === null) return 'none'
    const r = node as unknown as JsonObject
    if (isObject(r.pfs)) {
      const p = r.pfs as unknown as PfsInput
      const repo = (p.project && p.project !== project ? `${p.project}/` : '') + p.repo + (p.repo_type && p.repo_type !== 'user' ? `.${p.repo_type}` : '')
      return `${repo}${p.branch && p.branch !== 'master' ? `@${p.branch}` : ''}:${p.glob}`
    }
    if (isObject(r.cron)) {
      const c = r.cron as unknown as CronInput
      return `${c.name}:${c.spec}`
    }
    const list = (k: string): string[] => ((r[k] as Input[] | undefined) ?? []).map(show)
    if (Array.isArray(r.cross)) return `(${list('cross').join(' ⨯ ')})`
    if (Array.isArray(r.union)) return `(${list('union').join(' ∪ ')})`
    if (Array.isArray(r.join)) return `(${list('join').join(' ⋈ ')})`
    if (Array.isArray(r.group)) return `group(${list('group').join(', ')})`
    return 'none'
  }
  return show(spec.input)
}
