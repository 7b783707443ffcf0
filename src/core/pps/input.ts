/**
 * Pipeline inputs: the `input` tree of a pipeline spec (Pachyderm `pps.Input`), as plain data,
 * plus the pure helpers the datum planner and the job service share.
 *
 * Concepts:
 * - an input node is exactly one of `pfs`, `cross`, `union`, `join`, `group`, `cron`
 *   (inputKind throws "multiple input types set" / "no input set" otherwise). Compound nodes
 *   hold child inputs, arbitrarily nested.
 * - the values here are already defaulted (name = repo, branch = "master", repo_type = "user",
 *   project = the pipeline's project, ...): parsing and defaulting the spec happens elsewhere
 *   (withPfsDefaults is offered for convenience and tests).
 * - a cron input behaves exactly like a pfs input over `<repo>@master` with glob "/*"
 *   (Pachyderm `datum.createCron`); cronAsPfs gives that pfs view.
 * - the name of an input (inputName) is the pfs/cron name for a leaf and, for a compound node,
 *   the name of its first child (recursively), as Pachyderm's `pps.InputName`.
 *
 * Sorting (sortInput = Pachyderm `pps.SortInput`): the children of every cross/union/join/group
 * are stably sorted by name, innermost nodes first (post-order), so a compound child is compared
 * by the name of its first child *after* that child was itself sorted. The order fixes the order
 * of inputs inside a datum, hence datum ids. One deliberate quirk is reproduced: Pachyderm's
 * InputName has no case for cron, so for *sorting* a cron input's name is "" and cron inputs
 * sort before every named sibling (inputName itself still returns the cron's real name, which is
 * what display and environment variables need).
 *
 * Invariants:
 * - every helper here is pure: inputs are never mutated; sortInput returns a new tree and is
 *   idempotent.
 * - string comparison is JS code-unit order, identical to Go's byte order for the name
 *   alphabet `[a-zA-Z0-9_-]`.
 */
import {InvalidArgumentError} from '../errors.js'
import type {RepoType} from '../types.js'

export interface PfsInput {
  /** directory name under /pfs and env-var prefix (default: repo) */
  name: string
  repo: string
  repo_type: RepoType
  branch: string
  /** the glob as written (the planner cleans it: "" -> "/", "abc/" -> "/abc") */
  glob: string
  project: string
  /** replacement template ($1, ${1}, $$) giving the join key; "" = key "" */
  join_on: string
  outer_join: boolean
  /** replacement template giving the group key; "" = key "" */
  group_by: string
  lazy: boolean
  empty_files: boolean
  /** content hashes excluded from the datum hash */
  reference: boolean
  s3: boolean
  /** filled per job, never in a spec */
  commit?: string
  propagation_spec?: {never?: boolean}
  trigger?: unknown
}

export interface CronInput {
  name: string
  /** default `<pipeline>_<name>` (set by the spec parser) */
  repo: string
  spec: string
  overwrite: boolean
  start?: string
  project: string
}

export type Input =
  | {pfs: PfsInput}
  | {cross: Input[]}
  | {union: Input[]}
  | {join: Input[]}
  | {group: Input[]}
  | {cron: CronInput}

export type InputKind = 'pfs' | 'cross' | 'union' | 'join' | 'group' | 'cron'

export const INPUT_KINDS: readonly InputKind[] = ['pfs', 'cross', 'union', 'join', 'group', 'cron']

export type CompoundKind = 'cross' | 'union' | 'join' | 'group'

/** Which kind of node this is; throws InvalidArgumentError when zero or several keys are set. */
export function inputKind(input: Input): InputKind {
  if (input === null || typeof input !== 'object') {
    throw new InvalidArgumentError('INVALID_INPUT', 'no input set', {hint: 'an input is one of pfs, cross, union, join, group, cron'})
  }
  const rec = input as unknown as Record<string, unknown>
  const set = INPUT_KINDS.filter((k) => rec[k] !== undefined && rec[k] !== null)
  if (set.length === 0) {
    throw new InvalidArgumentError('INVALID_INPUT', 'no input set', {hint: 'an input is one of pfs, cross, union, join, group, cron'})
  }
  if (set.length > 1) {
    throw new InvalidArgumentError('INVALID_INPUT', `multiple input types set (${set.join(', ')})`, {
      hint: 'each input node must have exactly one of pfs, cross, union, join, group, cron',
    })
  }
  return set[0]!
}

/** The children of a compound node ([] for a leaf). */
export function inputChildren(input: Input): Input[] {
  const kind = inputKind(input)
  if (kind === 'pfs' || kind === 'cron') return []
  const children = (input as unknown as Record<CompoundKind, Input[]>)[kind]
  if (!Array.isArray(children)) {
    throw new InvalidArgumentError('INVALID_INPUT', `"${kind}" must be a list of inputs`)
  }
  return children
}

/** Rebuild a compound node of the same kind with new children. */
function withChildren(kind: CompoundKind, children: Input[]): Input {
  switch (kind) {
    case 'cross':
      return {cross: children}
    case 'union':
      return {union: children}
    case 'join':
      return {join: children}
    case 'group':
      return {group: children}
  }
}

/**
 * The name of an input: pfs -> pfs.name, cron -> cron.name, compound -> name of its first
 * child (recursively; "" for an empty compound). Call it on a sorted tree to get the name
 * Pachyderm shows for a compound input.
 */
export function inputName(input: Input): string {
  const kind = inputKind(input)
  switch (kind) {
    case 'pfs':
      return (input as {pfs: PfsInput}).pfs.name
    case 'cron':
      return (input as {cron: CronInput}).cron.name
    default: {
      const children = inputChildren(input)
      return children.length > 0 ? inputName(children[0]!) : ''
    }
  }
}

/** Pachyderm's `pps.InputName`, used only as the sort key: like inputName, but "" for cron. */
export function sortKey(input: Input): string {
  const kind = inputKind(input)
  switch (kind) {
    case 'pfs':
      return (input as {pfs: PfsInput}).pfs.name
    case 'cron':
      return ''
    default: {
      const children = inputChildren(input)
      return children.length > 0 ? sortKey(children[0]!) : ''
    }
  }
}

/**
 * Pachyderm's `pps.SortInput`: children of every cross/union/join/group stably sorted by
 * sortKey, innermost first. Returns a new tree (leaves are shared, not copied).
 */
export function sortInput(input: Input): Input {
  const kind = inputKind(input)
  if (kind === 'pfs' || kind === 'cron') return input
  const children = inputChildren(input).map(sortInput)
  const keyed = children.map((child, i) => ({child, key: sortKey(child), i}))
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.i - b.i))
  return withChildren(kind, keyed.map((k) => k.child))
}

/** The pfs view of a cron input: `<repo>@master`, glob "/*", no keys (Pachyderm `createCron`). */
export function cronAsPfs(cron: CronInput): PfsInput {
  return {
    name: cron.name,
    repo: cron.repo,
    repo_type: 'user',
    branch: 'master',
    glob: '/*',
    project: cron.project,
    join_on: '',
    outer_join: false,
    group_by: '',
    lazy: false,
    empty_files: false,
    reference: false,
    s3: false,
  }
}

/**
 * Every pfs leaf (cron leaves as their pfs view, see cronAsPfs) of the *sorted* tree, in
 * tree order: the order in which inputs appear inside datums.
 */
export function walkPfs(input: Input | undefined): PfsInput[] {
  const out: PfsInput[] = []
  if (!input) return out // a spout's
  const walk = (node: Input): void => {
    const kind = inputKind(node)
    if (kind === 'pfs') out.push((node as {pfs: PfsInput}).pfs)
    else if (kind === 'cron') out.push(cronAsPfs((node as {cron: CronInput}).cron))
    else for (const child of inputChildren(node)) walk(child)
  }
  walk(sortInput(input))
  return out
}

/** Every cron leaf of an input tree (in tree order). */
export function walkCron(input: Input | undefined): CronInput[] {
  if (!input) return []
  const kind = inputKind(input)
  if (kind === 'cron') return [(input as {cron: CronInput}).cron]
  if (kind === 'pfs') return []
  return inputChildren(input).flatMap(walkCron)
}

/**
 * A PfsInput with Pachyderm's defaults for every omitted field (name = repo, branch "master",
 * repo_type "user", glob required, everything else off/empty). For tests and spec parsing.
 */
export function withPfsDefaults(p: Partial<PfsInput> & {repo: string; glob: string}, project = 'default'): PfsInput {
  return {
    name: p.name !== undefined && p.name !== '' ? p.name : p.repo,
    repo: p.repo,
    repo_type: p.repo_type ?? 'user',
    branch: p.branch !== undefined && p.branch !== '' ? p.branch : 'master',
    glob: p.glob,
    project: p.project !== undefined && p.project !== '' ? p.project : project,
    join_on: p.join_on ?? '',
    outer_join: p.outer_join ?? false,
    group_by: p.group_by ?? '',
    lazy: p.lazy ?? false,
    empty_files: p.empty_files ?? false,
    reference: p.reference ?? false,
    s3: p.s3 ?? false,
    ...(p.commit !== undefined ? {commit: p.commit} : {}),
    ...(p.propagation_spec !== undefined ? {propagation_spec: p.propagation_spec} : {}),
    ...(p.trigger !== undefined ? {trigger: p.trigger} : {}),
  }
}
