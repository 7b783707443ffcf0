/**
 * What this `.pach` knows about remote clusters (schema 11's `remotes` table): each cluster
 * it pushed to or pulled from, by deployment id, with the context name and address it was
 * last reached by and when. Read-only; `pach push`/`pull` write the rows.
 */
import {listRemotes} from '../db/remotes.js'
import type {Pach} from '../pach.js'

export interface KnownRemote {
  deployment_id: string
  /** the pachctl context name or address it was last reached by */
  name: string
  address: string
  last_push: string | null
  last_pull: string | null
}

/** Every remote cluster this project has exchanged commits with, by name. */
export function knownRemotes(pach: Pach): KnownRemote[] {
  return listRemotes(pach.db).map((r) => ({deployment_id: r.deployment_id, name: r.name, address: r.address, last_push: r.last_push, last_pull: r.last_pull}))
}
