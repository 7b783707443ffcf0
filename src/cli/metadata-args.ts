/**
 * `pach edit metadata`'s arguments, as pachctl's `edit metadata` reads them: groups of four,
 * `<type> <object> <op> <data>`.
 * - type: cluster | project | repo | branch | commit (pipeline: pach keeps no pipeline metadata);
 * - object: cluster any string (`.` by convention); project its name; repo `[project/]repo[.type]`;
 *   branch `[project/]repo@branch`; commit `[project/]repo@<id | branch>[^N | ~N | .N]` (`.N` is
 *   the N-th commit from the branch's root, `.1` the first). A missing project is --project's.
 * - op: add `key=value` (refused when the key exists), edit `key=value`, delete `key`,
 *   replace `{"k":"v",…}` or `k1=v1;k2=v2` (nothing: an empty map).
 * - key=value: either side may be "double-quoted" (JSON escapes) or 'single-quoted' (no escapes).
 * Pure: arguments in, MetadataEdits out; every malformed group is reported at once.
 */
import {InvalidArgumentError} from '../core/errors.js'
import type {BranchPick, CommitPick, MetadataEdit, MetadataOp, MetadataTarget, RepoPick} from '../core/pfs/metadata-service.js'
import {parseAncestry, parseRepo} from '../core/pfs/refs.js'

const usage = (message: string) =>
  new InvalidArgumentError('USAGE', message, {hint: 'give <type> <object> <op> <data> per edit, e.g. `pach edit metadata commit images@master add verified_by=me`'})

/** `[project/]rest` → project and rest. */
function splitProject(s: string, project: string): {project: string; rest: string} {
  const slash = s.indexOf('/')
  return slash < 0 ? {project, rest: s} : {project: s.slice(0, slash) || project, rest: s.slice(slash + 1)}
}

function repoPick(s: string, project: string): RepoPick {
  const p = splitProject(s, project)
  const r = parseRepo(p.rest)
  return {project: {name: p.project}, name: r.name, type: r.type}
}

function branchPick(s: string, project: string): BranchPick {
  const at = s.indexOf('@')
  if (at < 0 || at === s.length - 1) throw usage(`${JSON.stringify(s)} is not a branch: expected [project/]repo@branch`)
  return {repo: repoPick(s.slice(0, at), project), name: s.slice(at + 1)}
}

const ID = /^[0-9a-f]{32}$/

function commitPick(s: string, project: string): CommitPick {
  const at = s.indexOf('@')
  if (at < 0 || at === s.length - 1) throw usage(`${JSON.stringify(s)} is not a commit: expected [project/]repo@<commit-id or branch>`)
  const repo = repoPick(s.slice(0, at), project)
  const {base, ancestry} = parseAncestry(s.slice(at + 1))
  const start: CommitPick = ID.test(base) ? {kind: 'id', repo, id: base} : {kind: 'branchHead', branch: {repo, name: base}}
  if (!ancestry || ancestry.n === 0) return start
  if (ancestry.kind === 'parent') return {kind: 'ancestor', offset: ancestry.n, start}
  if (start.kind !== 'branchHead') throw usage(`${JSON.stringify(s)}: .N counts from a branch's root; name a branch, not a commit id`)
  return {kind: 'branchRoot', offset: ancestry.n - 1, branch: start.branch}
}

function target(type: string, object: string, project: string): MetadataTarget {
  switch (type.toLowerCase()) {
    case 'cluster':
      return {kind: 'cluster'}
    case 'project':
      return {kind: 'project', project: {name: object}}
    case 'repo':
      return {kind: 'repo', repo: repoPick(object, project)}
    case 'branch':
      return {kind: 'branch', branch: branchPick(object, project)}
    case 'commit':
      return {kind: 'commit', commit: commitPick(object, project)}
    case 'pipeline':
      throw usage('pach keeps no metadata on pipelines; put it on the pipeline\'s output repo (repo <pipeline>)')
    default:
      throw usage(`unknown object type ${JSON.stringify(type)}: use cluster, project, repo, branch or commit`)
  }
}

/** One quoted or bare token at `s[i]` up to a stop character; returns the text and where it ended. */
function token(s: string, i: number, stops: string): {text: string; end: number} {
  const q = s[i]
  if (q === '"' || q === "'") {
    let j = i + 1
    while (j < s.length && s[j] !== q) j += q === '"' && s[j] === '\\' ? 2 : 1
    if (j >= s.length) throw usage(`unterminated ${q} in ${JSON.stringify(s)}`)
    const raw = s.slice(i, j + 1)
    let text: string
    try {
      text = q === '"' ? (JSON.parse(raw) as string) : raw.slice(1, -1)
    } catch {
      throw usage(`bad escape in ${raw}`)
    }
    return {text, end: j + 1}
  }
  let j = i
  while (j < s.length && !stops.includes(s[j]!)) j++
  return {text: s.slice(i, j).trim(), end: j}
}

/** `key=value` (either side quoted) starting at s[i]; returns the pair and where it ended. */
function pairAt(s: string, i: number): {key: string; value: string; end: number} {
  const k = token(s, i, '=')
  if (s[k.end] !== '=') throw usage(`${JSON.stringify(s)} is not key=value`)
  const v = token(s, k.end + 1, ';')
  if (!k.text) throw usage(`${JSON.stringify(s)}: the key is empty`)
  return {key: k.text, value: v.text, end: v.end}
}

/** One `key=value`. */
export function parseKeyValue(s: string): {key: string; value: string} {
  const p = pairAt(s.trim(), 0)
  if (p.end !== s.trim().length) throw usage(`${JSON.stringify(s)}: one key=value expected`)
  return {key: p.key, value: p.value}
}

/** `{"k":"v"}` or `k1=v1;k2=v2` (empty: no keys). */
export function parseKeyValues(s: string): Record<string, string> {
  const t = s.trim()
  if (t.startsWith('{')) {
    let v: unknown
    try {
      v = JSON.parse(t)
    } catch {
      throw usage(`${JSON.stringify(s)} is not a JSON object`)
    }
    if (!v || typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) {
      throw usage(`${JSON.stringify(s)}: a JSON object of string values expected`)
    }
    return {...(v as Record<string, string>)}
  }
  const out: Record<string, string> = {}
  let i = 0
  while (i < t.length) {
    const p = pairAt(t, i)
    if (Object.hasOwn(out, p.key)) throw usage(`duplicate key ${JSON.stringify(p.key)} in ${JSON.stringify(s)}`)
    out[p.key] = p.value
    i = p.end
    if (i < t.length) {
      if (t[i] !== ';') throw usage(`${JSON.stringify(s)}: pairs are separated by ";"`)
      i++
    }
  }
  return out
}

function op(name: string, data: string): MetadataOp {
  switch (name.toLowerCase()) {
    case 'add':
      return {kind: 'add_key', ...parseKeyValue(data)}
    case 'edit':
      return {kind: 'edit_key', ...parseKeyValue(data)}
    case 'delete':
      if (!data) throw usage('delete takes the key to remove')
      return {kind: 'delete_key', key: data}
    case 'replace':
      return {kind: 'replace', replacement: parseKeyValues(data)}
    default:
      throw usage(`unknown operation ${JSON.stringify(name)}: use add, edit, delete or replace`)
  }
}

/**
 * The edits the arguments describe (groups of four), in order.
 * @throws InvalidArgumentError USAGE naming every malformed group (`arg set N: …`)
 * @example parseEditMetadataArgs(['commit', 'images@master', 'add', 'k=v'], 'default')
 */
export function parseEditMetadataArgs(args: string[], project: string): MetadataEdit[] {
  if (args.length === 0 || args.length % 4 !== 0) throw usage(`arguments come in groups of 4 (<type> <object> <op> <data>); got ${args.length}`)
  const edits: MetadataEdit[] = []
  const problems: string[] = []
  for (let i = 0; i < args.length; i += 4) {
    const [type, object, name, data] = args.slice(i, i + 4) as [string, string, string, string]
    try {
      edits.push({target: target(type, object, project), op: op(name, data)})
    } catch (e) {
      if (!(e instanceof InvalidArgumentError)) throw e
      problems.push(`arg set ${i / 4}: ${e.message}`)
    }
  }
  if (problems.length) throw usage(problems.join('; '))
  return edits
}
