import {Flags} from '@oclif/core'
import {PachCommand} from '../../cli/base-command.js'
import {remoteTable, type RemoteListRow} from '../../cli/format/remotes.js'
import {listContexts, resolveRemote} from '../../cli/remotes.js'
import {probeRemote} from '../../client/connect.js'
import {isPachError, NotARepoError} from '../../core/errors.js'
import {knownRemotes, type KnownRemote} from '../../core/remote/known-remotes.js'

/**
 * `pach remote list`: the contexts of the user's pachctl config as pach push/pull would use
 * them (the address pachctl would dial, the project, whether a token is set — never the
 * token), each probed in parallel (pachd version, deployment id; 2 s) unless --no-check, and
 * what this project knows about that cluster (last push/pull) when run inside one: matched by
 * the cluster's deployment id (probed, else the context's), or by context name when neither
 * is known. Each row
 * shows and probes the context's own address: $PACHD_ADDRESS (and $PACH_CA_CERTS), which
 * pachctl lets override every context, are not applied to the rows. A context that cannot be
 * used (no address, bad server_cas, unreachable, not 2.x, token refused, another cluster)
 * is a row with its `error`; the command still succeeds. Nothing is written to the pachctl
 * config.
 */
export default class RemoteList extends PachCommand<typeof RemoteList, RemoteListRow[]> {
  static override summary = "List the remotes pach can push to and pull from: the contexts of pachctl's config."
  static override examples = ['<%= config.bin %> remote list', '<%= config.bin %> remote list --no-check --json']
  static override flags = {
    'no-check': Flags.boolean({description: 'do not contact the remotes (no status, version or deployment id)'}),
    'full-timestamps': Flags.boolean({description: 'print absolute timestamps'}),
  }
  static override aliases = ['list:remote', 'list:remotes']
  static override needsRepo = false

  private local = false
  private configPath = ''

  async exec(): Promise<RemoteListRow[]> {
    const known = this.knownRemotes()
    this.local = known !== undefined
    const env = {...process.env, PACHD_ADDRESS: undefined, PACH_CA_CERTS: undefined}
    const {path, contexts} = listContexts(env)
    this.configPath = path
    return Promise.all(
      contexts.map(async (c): Promise<RemoteListRow> => {
        const {name, active, address, project} = c
        const row: RemoteListRow = {name, active, address, project, has_token: c.hasToken, context_deployment_id: c.deploymentId, reachable: null, version: null, deployment_id: null, error: null}
        try {
          const r = resolveRemote(c.name, env)
          if (!this.flags['no-check']) Object.assign(row, await probeRemote(r, 2000))
        } catch (e) {
          if (!isPachError(e)) throw e
          row.error = {code: e.code, message: e.message}
        }
        if (known) {
          const dep = row.deployment_id ?? row.context_deployment_id
          const k = known.find((x) => x.deployment_id === dep) ?? (dep ? undefined : known.find((x) => x.name === c.name))
          Object.assign(row, {last_push: k?.last_push ?? null, last_pull: k?.last_pull ?? null})
        }
        return row
      }),
    )
  }

  /** The project's known remotes, or undefined outside a project (unless --pach-dir names one). */
  private knownRemotes(): KnownRemote[] | undefined {
    try {
      this.pach = this.openPach()
    } catch (e) {
      if (e instanceof NotARepoError && !this.flags['pach-dir']) return undefined
      throw e
    }
    return knownRemotes(this.pach)
  }

  human(rows: RemoteListRow[]) {
    if (rows.length === 0) return `no pachctl contexts in ${this.configPath} (run \`pachctl connect grpc://HOST:PORT\`, or \`pach serve --set-context\` in a project)`
    return remoteTable(rows, {checked: !this.flags['no-check'], local: this.local, full: this.fullTimestamps})
  }
}
