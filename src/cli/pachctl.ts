/**
 * pachctl 2.x's commands and what pach offers for each: the pfs, pps, transaction and config
 * groups (taken from pachctl's source: src/server/{pfs,pps,transaction,config}/cmds), plus
 * the cluster-only top-level commands a pachctl user is likely to type.
 *
 * One source for two readers: the unknown-command hint (cli/main.ts), which answers a known
 * pachctl command that pach lacks with `instead`, and the README's coverage table, which
 * test/unit/pachctl-coverage.test.ts keeps in step with this list.
 *
 * An entry has either `pach` (the pach command that does it, words as typed; `differs`:
 * where it deliberately differs) or `instead` (one line: not supported, and what to use).
 */

export type PachctlGroup = 'pfs' | 'pps' | 'transaction' | 'config' | 'cluster'

export interface PachctlCommand {
  pachctl: string
  group: PachctlGroup
  pach?: string
  instead?: string
  /** for a supported command: where pach deliberately differs, in one line */
  differs?: string
}

const same = (group: PachctlGroup, ...names: string[]): PachctlCommand[] => names.map((n) => ({pachctl: n, group, pach: n}))

const NO_CLUSTER = 'pach is local, with no cluster to manage; `pach serve` serves a project over pachd\'s API, so pachctl itself works against it'
const NO_CONTEXT =
  'pach has no cluster contexts; a command uses the nearest `.pach` directory upward (or `--pach-dir`/`PACH_DIR`) and the project from `--project`/`PACH_PROJECT`'

export const PACHCTL_COMMANDS: readonly PachctlCommand[] = [
  ...same('pfs', 'create project', 'update project', 'inspect project', 'list project', 'delete project'),
  ...same('pfs', 'create repo', 'update repo', 'inspect repo', 'list repo', 'delete repo'),
  ...same('pfs', 'start commit', 'finish commit', 'inspect commit', 'list commit', 'wait commit', 'subscribe commit', 'squash commit', 'delete commit', 'find commit'),
  ...same('pfs', 'create branch', 'inspect branch', 'list branch', 'delete branch'),
  ...same('pfs', 'put file', 'copy file', 'get file', 'inspect file', 'list file', 'glob file', 'diff file', 'delete file'),
  {pachctl: 'fsck', group: 'pfs', pach: 'fsck', differs: 'checks the local store: every chunk re-hashed, trees and datum sets (`--no-read-data` skips the re-hashing)'},
  {pachctl: 'edit metadata', group: 'pfs', pach: 'edit metadata', differs: 'edits the local project\'s metadata; a pipeline target is refused (pach keeps no pipeline metadata)'},
  {pachctl: 'mount', group: 'pfs', instead: 'pach has no FUSE mount; copy a commit out with `pach get file -r REPO@BRANCH:/ -o DIR` (a `pach watch` that syncs a directory in is planned)'},
  {pachctl: 'unmount', group: 'pfs', instead: 'pach has no FUSE mount, so nothing to unmount (`pach get file -r REPO@BRANCH:/ -o DIR` copies a commit out)'},
  {pachctl: 'run pfs-load-test', group: 'pfs', instead: 'a load test of a cluster; pach has no cluster (its own benchmarks are in bench/ of its source)'},
  ...same('pps', 'inspect job', 'wait job', 'list job', 'stop job'),
  {pachctl: 'delete job', group: 'pps', pach: 'delete job', differs: 'a running job is refused (`JOB_RUNNING`: stop it first); a job waiting to run is killed, then deleted'},
  {
    pachctl: 'restart datum',
    group: 'pps',
    pach: 'restart datum',
    differs: 'a restart does not use up one of `datum_tries` (pachd counts it as a failed attempt); a datum id also names a datum; an empty filter is refused (pachd restarts every running datum)',
  },
  ...same('pps', 'list datum', 'inspect datum'),
  {pachctl: 'logs', group: 'pps', pach: 'logs', differs: '`--master`/`--worker` are refused (pach runs no such processes); `--tail` works (pachctl 2.x removed it)'},
  {pachctl: 'kube-events', group: 'pps', instead: 'pach has no Kubernetes; a job\'s failure is in `pach inspect job`, a datum\'s in `pach list datum`, user code output in `pach logs`'},
  {pachctl: 'loki', group: 'pps', instead: 'pach keeps logs itself, with no Loki; use `pach logs -p PIPELINE` or `pach logs -j PIPELINE@ID`'},
  ...same('pps', 'create pipeline', 'update pipeline', 'inspect pipeline', 'edit pipeline', 'list pipeline'),
  {pachctl: 'draw pipeline', group: 'pps', pach: 'draw pipeline', differs: 'draws the current DAG (`--box-width`, `--edge-height`); `--commit` (the DAG at an older commit set) is not supported'},
  ...same('pps', 'delete pipeline', 'start pipeline', 'stop pipeline', 'rerun pipeline'),
  {pachctl: 'run cron', group: 'pps', pach: 'run cron', differs: 'also runs the jobs the tick triggered, as every pach command that makes a commit does'},
  {pachctl: 'check', group: 'pps', instead: 'pach has no cluster to check; `pach list pipeline` shows each pipeline\'s state and last job'},
  {pachctl: 'check status', group: 'pps', instead: 'pach has no cluster to check; `pach list pipeline` shows each pipeline\'s state and last job'},
  {pachctl: 'validate pipeline', group: 'pps', pach: 'create pipeline --dry-run', differs: 'validates the specs and creates nothing (`--json` prints the effective specs)'},
  ...same('pps', 'create secret', 'delete secret', 'inspect secret', 'list secret'),
  {pachctl: 'next datum', group: 'pps', instead: 'internal to Pachyderm\'s workers (datum batching); pach runs user code once per datum'},
  {pachctl: 'run pps-load-test', group: 'pps', instead: 'a load test of a cluster; pach has no cluster (its own benchmarks are in bench/ of its source)'},
  ...['inspect defaults', 'create defaults', 'update defaults', 'delete defaults'].map(
    (n): PachctlCommand => ({pachctl: n, group: 'pps', pach: n, differs: 'project defaults are those of the current project (`--project`); pachctl requires `--project` or `--cluster`'}),
  ),
  ...same('transaction', 'start transaction', 'finish transaction', 'list transaction', 'inspect transaction', 'delete transaction', 'stop transaction', 'resume transaction'),
  {pachctl: 'connect', group: 'config', instead: NO_CONTEXT},
  ...['config get active-context', 'config set active-context', 'config get active-enterprise-context', 'config set active-enterprise-context'].map(
    (n): PachctlCommand => ({pachctl: n, group: 'config', instead: NO_CONTEXT}),
  ),
  ...['config get context', 'config set context', 'config update context', 'config delete context', 'config list context', 'config import-kube'].map(
    (n): PachctlCommand => ({pachctl: n, group: 'config', instead: NO_CONTEXT}),
  ),
  {pachctl: 'config get metrics', group: 'config', instead: 'pach sends no metrics, so there is nothing to turn on or off'},
  {pachctl: 'config set metrics', group: 'config', instead: 'pach sends no metrics, so there is nothing to turn on or off'},
  {pachctl: 'config', group: 'config', instead: NO_CONTEXT},
  ...['auth', 'enterprise', 'license', 'idp', 'port-forward', 'deploy', 'undeploy'].map((n): PachctlCommand => ({pachctl: n, group: 'cluster', instead: NO_CLUSTER})),
]

/**
 * The pachctl command named by the leading `words` (the longest match: `config get context`
 * before `config`), or undefined.
 */
export function pachctlCommand(words: readonly string[]): PachctlCommand | undefined {
  let best: PachctlCommand | undefined
  for (const c of PACHCTL_COMMANDS) {
    const w = c.pachctl.split(' ')
    if (w.length > words.length || w.some((x, i) => x !== words[i])) continue
    if (!best || w.length > best.pachctl.split(' ').length) best = c
  }
  return best
}
