/**
 * `pach remote list`'s row and table: a pachctl context as pach sees it (never its token),
 * what a quick probe found there, and what this project knows about that cluster.
 */
import {ago, table} from './values.js'

export interface RemoteListRow {
  name: string
  active: boolean
  /** canonical address, or null when the context has none pach can use */
  address: string | null
  project: string
  has_token: boolean
  /** the context's cluster_deployment_id (pachctl's record of the cluster it was made for) */
  context_deployment_id: string | null
  /** null with --no-check */
  reachable: boolean | null
  version: string | null
  deployment_id: string | null
  /** why the remote cannot be used as it is (connectRemote's refusal), or null */
  error: {code: string; message: string} | null
  /** this project's last push to / pull from that cluster; absent outside a project */
  last_push?: string | null
  last_pull?: string | null
}

const STATUS: Record<string, string> = {
  REMOTE_UNREACHABLE: 'unreachable',
  REMOTE_VERSION: 'not pachd 2.x',
  REMOTE_AUTH: 'token refused',
  REMOTE_CLUSTER_CHANGED: 'other cluster',
  INVALID_INPUT: 'bad context',
}

export function remoteStatus(r: RemoteListRow): string {
  if (r.error) return STATUS[r.error.code] ?? 'unusable'
  return r.reachable ? 'ok' : '-'
}

/** The table, then one line per remote that cannot be used, saying why. */
export function remoteTable(rows: RemoteListRow[], opts: {checked: boolean; local: boolean; full?: boolean}): string {
  const headers = ['ACTIVE', 'NAME', 'ADDRESS', 'PROJECT', 'TOKEN']
  if (opts.checked) headers.push('STATUS', 'VERSION', 'DEPLOYMENT')
  if (opts.local) headers.push('LAST PUSH', 'LAST PULL')
  const cells = rows.map((r) => {
    const c = [r.active ? '*' : '', r.name, r.address ?? '-', r.project, r.has_token ? 'yes' : 'no']
    if (opts.checked) c.push(remoteStatus(r), r.version ?? '-', r.deployment_id ?? r.context_deployment_id ?? '-')
    if (opts.local) c.push(ago(r.last_push, opts.full), ago(r.last_pull, opts.full))
    return c
  })
  const notes = rows.filter((r) => r.error).map((r) => `${r.name}: ${r.error!.message}\n`)
  return table(headers, cells) + (notes.length ? '\n' + notes.join('') : '')
}
