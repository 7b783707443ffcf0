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
 * - here: inputs sorted by name, checks across the specs of one file (a name defined twice,
 *   a cycle among them), warnings about images without a pinned tag.
 * context.ts gives every stage the same error and warning shape. The normalised spec is what
 * the rest of pach stores, shows and runs; parseSpecs returns beside it the document it was
 * read from, as the user wrote it (stored as `user_spec`).
 *
 * Also here, readers of a normalised spec: wantsNetwork, clusterOnlyFieldsIn, specSummary.
 *
 * Invariants:
 * - every error is an InvalidArgumentError with code INVALID_SPEC (see context.ts).
 * - the core never prints: warnings are returned.
 */
import {InvalidArgumentError} from '../../errors.js'
import {sortInput, type CronInput, type Input, type PfsInput} from '../input.js'
import {contextFor, describeValue, fail, isObject, warn, type JsonObject, type SpecContext} from './context.js'
import {normalise} from './normalise.js'
import {PIPELINE_SPEC, readMessage} from './schema.js'
import {topLevelValues} from './text.js'
import {CLUSTER_ONLY_FIELDS, NETWORK_ANNOTATION, networkAnnotation, type ParsedSpecs, type PipelineSpec} from './types.js'
import {validateSpec} from './validate.js'

export {validateSpec}
export {CLUSTER_ONLY_FIELDS, DEFAULT_DATUM_TRIES, DEFAULT_IMAGE, NETWORK_ANNOTATION} from './types.js'
export type {ParsedSpecs, PipelineSpec, ResourceSpec, Transform} from './types.js'

/**
 * Parse one file's text (JSON: object, array, or concatenated objects; YAML: one or more
 * documents). `file` is used in messages. `defaultProject` fills pipeline.project (and, through
 * it, input projects). Every spec is normalised, validated (validateSpec) and its inputs sorted;
 * two specs with the same name, or specs whose inputs form a cycle, are rejected too. Each
 * spec comes with the document it was read from (userSpecs), so callers need not parse the
 * text again to keep what the user wrote.
 *
 * @throws InvalidArgumentError INVALID_SPEC (file, field and pipeline in `data`)
 * @example
 *   const {specs, userSpecs, warnings} = parseSpecs(readFileSync('edges.json', 'utf8'), 'edges.json')
 */
export function parseSpecs(text: string, file: string, defaultProject = 'default'): ParsedSpecs {
  const values = topLevelValues(text, file)
  if (values.length === 0) {
    throw new InvalidArgumentError('INVALID_SPEC', `${file}: no pipeline spec found`, {data: {file, field: ''}, hint: 'a spec file holds a JSON object, a JSON array of objects, or YAML documents'})
  }
  const warnings: string[] = []
  const specs = values.map(({value, where}, i) => {
    const rawName = isObject(value) && isObject(value.pipeline) && typeof value.pipeline.name === 'string' ? value.pipeline.name : undefined
    const ctx = contextFor(file, rawName, warnings, i, values.length)
    if (!isObject(value)) fail(ctx, '', `${where} is not a pipeline spec (expected an object, got ${describeValue(value)})`)
    const message = readMessage(value, PIPELINE_SPEC, '', ctx)
    const spec = normalise(message, ctx, defaultProject)
    if (!spec.pipeline.name) fail(ctx, 'pipeline.name', 'pipeline.name is required')
    validateSpec(spec, file)
    imageWarnings(spec, ctx)
    if (spec.input !== undefined) spec.input = sortInput(spec.input)
    return spec
  })
  checkAcrossSpecs(specs, file)
  return {specs, userSpecs: values.map((v) => v.value), warnings}
}

function imageWarnings(spec: PipelineSpec, ctx: SpecContext): void {
  const image = spec.transform.image
  if (image.includes('@')) return
  const last = image.slice(image.lastIndexOf('/') + 1)
  const colon = last.lastIndexOf(':')
  if (colon < 0) warn(ctx, `transform.image ${JSON.stringify(image)} has no tag (so it means :latest); pin a version so re-runs use the same code`)
  else if (last.slice(colon + 1) === 'latest') warn(ctx, `transform.image ${JSON.stringify(image)} uses the "latest" tag; pin a version so re-runs use the same code`)
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
  const key = (project: string, name: string): string => `${project}/${name}`
  const byKey = new Map<string, number>()
  specs.forEach((s, i) => {
    const k = key(s.pipeline.project.name, s.pipeline.name)
    const prev = byKey.get(k)
    if (prev !== undefined) {
      fail(contextFor(file, s.pipeline.name), 'pipeline.name', `pipeline.name ${JSON.stringify(s.pipeline.name)} is defined more than once in this file (specs #${prev + 1} and #${i + 1})`)
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
        fail(contextFor(file, specs[j]!.pipeline.name), 'input', `input: pipelines form a cycle: ${cycle.join(' -> ')}`)
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

/** Does user code of this pipeline get a network? (see NETWORK_ANNOTATION) */
export function wantsNetwork(spec: PipelineSpec): boolean {
  return networkAnnotation(spec) === 'true'
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
