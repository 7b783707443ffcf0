/**
 * User metadata (pachd 2.10+ `metadata_v2`): a JSON object of string → string in the
 * `metadata` column schema 11 gave `projects`, `repos`, `branches` and `commits` ('{}' when
 * none), and the cluster's own map in `meta` under `cluster_metadata`. Written only by
 * pfs/metadata-service.ts; read wherever an info is built. Plain synchronous functions over
 * the handle: handle first, no awaits.
 */
import {parseStored} from './json.js'
import {getMeta, setMeta} from './meta.js'
import {st} from './statements.js'
import type {DB} from './types.js'

export type MetadataMap = Record<string, string>

const CLUSTER_KEY = 'cluster_metadata'

/** A stored column as a map ('{}', NULL or absent: empty). `what` names it if it is damaged. */
export function decodeMetadata(text: string | null | undefined, what: string): MetadataMap {
  if (!text || text === '{}') return {}
  return parseStored<MetadataMap>(text, `${what} metadata`)
}

/** The map as the column stores it: keys sorted, so equal maps are equal text. */
export function encodeMetadata(md: MetadataMap): string {
  const sorted: MetadataMap = {}
  for (const k of Object.keys(md).sort()) sorted[k] = md[k]!
  return JSON.stringify(sorted)
}

export const setProjectMetadata = (db: DB, name: string, md: MetadataMap) =>
  st(db, 'UPDATE projects SET metadata = ? WHERE name = ?').run(encodeMetadata(md), name)
export const setRepoMetadata = (db: DB, repoId: number, md: MetadataMap) =>
  st(db, 'UPDATE repos SET metadata = ? WHERE id = ?').run(encodeMetadata(md), repoId)
export const setBranchMetadata = (db: DB, repoId: number, branch: string, md: MetadataMap) =>
  st(db, 'UPDATE branches SET metadata = ? WHERE repo_id = ? AND name = ?').run(encodeMetadata(md), repoId, branch)
/** Finished or not: a commit's metadata is not part of its content (pachd edits it on finished commits too). */
export const setCommitMetadata = (db: DB, repoId: number, id: string, md: MetadataMap) =>
  st(db, 'UPDATE commits SET metadata = ? WHERE repo_id = ? AND id = ?').run(encodeMetadata(md), repoId, id)

export const getClusterMetadata = (db: DB): MetadataMap => decodeMetadata(getMeta(db, CLUSTER_KEY), 'cluster')
export const setClusterMetadata = (db: DB, md: MetadataMap) => setMeta(db, CLUSTER_KEY, Object.keys(md).length ? encodeMetadata(md) : undefined)
