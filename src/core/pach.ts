/**
 * Composition root: find, create and open a pach project (a `.pach` directory; not to be
 * confused with a data repo inside it) and build the services over it.
 *
 * Layout (docs/format.md): `.pach/config.json` (format, chunker), `.pach/pach.db` (SQLite,
 * WAL), `.pach/objects/packs/<aa>/<pack>` and `.pach/objects/tmp/`.
 *
 * A `.pach` is found like git finds `.git`: the explicit directory (--pach-dir / PACH_DIR),
 * else the nearest `.pach` walking up from the working directory.
 */
import {nodeCrypto} from './builtins.js'
import {existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {defaultConfig, readConfig, writeConfig, type RepoConfig} from './config.js'
import type {CoreContext} from './context.js'
import {openDb, withTx, type DB} from './db/open.js'
import * as rows from './db/pfs-rows.js'
import {AlreadyExistsError, InvalidArgumentError, NotARepoError} from './errors.js'
import {PfsEngine} from './pfs/engine.js'
import {FileService} from './pfs/file-service.js'
import {FolderSync} from './pfs/folder-sync.js'
import {BranchService} from './pfs/branch-service.js'
import {CommitService} from './pfs/commit-service.js'
import {DebugService} from './pfs/debug-service.js'
import {ProjectService} from './pfs/project-service.js'
import {MetadataService} from './pfs/metadata-service.js'
import {RepoService} from './pfs/repo-service.js'
import type {PfsHooks} from './pfs/hooks.js'
import {TransactionService} from './pfs/transaction-service.js'
import {TreeStore} from './store/tree-store.js'
import {upgradeIfNeeded} from './maintenance/upgrade.js'
import {noopReporter, type Reporter} from './reporter.js'
import {DEFAULT_PROJECT} from './types.js'
import {fsck, type FsckReport} from './maintenance/fsck.js'
import {gc, type GcReport} from './maintenance/gc.js'
import {purge, purgeLog, purgeSweepPending, type PurgeAuditEntry, type PurgeRequest, type PurgeResult} from './maintenance/purge.js'
import {exportArchive, type ExportOptions, type ExportSummary} from './archive/export.js'
import {importArchive, type ImportSummary} from './archive/import.js'
import type {ArchiveInput} from './archive/format.js'
import {SecretService} from './pps/secret-service.js'
import {JobService} from './pps/job-service.js'
import {JobLifecycle} from './pps/job-lifecycle.js'
import {LineageService} from './pps/lineage-service.js'
import {PipelineService} from './pps/pipeline-service.js'
import {BlobStore, ensureStoreDirs} from './store/pack-store.js'
import {pidAlive} from './process.js'
import {PushService} from './remote/push.js'

export const PACH_DIR_NAME = '.pach'

export interface OpenOptions {
  /** where to start looking (default: process.cwd()) */
  cwd?: string
  /** explicit .pach directory (overrides discovery) */
  pachDir?: string
  readonly?: boolean
  /** how long to wait for a database another process holds (default 15 s), then LockedError */
  busyTimeoutMs?: number
  reporter?: Reporter
  now?: () => string
  newId?: () => string
  /** the environment the core may read (secret fallbacks); default process.env */
  env?: Readonly<Record<string, string | undefined>>
}

export const newId = (): string => nodeCrypto().randomUUID().replace(/-/g, '')
export const nowIso = (): string => new Date().toISOString()

/** Locate the .pach directory; throws NotARepoError. */
export function findPachDir(opts: {cwd?: string; pachDir?: string}): string {
  if (opts.pachDir) {
    const p = resolve(opts.pachDir)
    const dir = p.endsWith(PACH_DIR_NAME) || existsSync(join(p, 'pach.db')) ? p : join(p, PACH_DIR_NAME)
    if (existsSync(join(dir, 'pach.db'))) return dir
    throw new NotARepoError(p)
  }
  const start = resolve(opts.cwd ?? process.cwd())
  let cur = start
  for (;;) {
    const cand = join(cur, PACH_DIR_NAME)
    if (existsSync(join(cand, 'pach.db'))) return cand
    const up = dirname(cur)
    if (up === cur) throw new NotARepoError(start)
    cur = up
  }
}

/** Create `<dir>/.pach`. Refuses an existing one. */
export function initPach(dir: string, opts: Omit<OpenOptions, 'cwd' | 'pachDir' | 'readonly' | 'busyTimeoutMs'> = {}): Pach {
  const root = resolve(dir)
  const pachDir = join(root, PACH_DIR_NAME)
  if (existsSync(join(pachDir, 'pach.db'))) {
    throw new AlreadyExistsError('ALREADY_INITIALIZED', `${pachDir} already exists`, {hint: 'this project is already initialised; use it as it is'})
  }
  if (existsSync(root) && !statSync(root).isDirectory()) {
    throw new InvalidArgumentError('NOT_A_DIRECTORY', `${root} is not a directory`)
  }
  mkdirSync(pachDir, {recursive: true})
  const now = opts.now ?? nowIso
  if (!existsSync(join(pachDir, 'config.json'))) writeConfig(pachDir, defaultConfig(now()))
  ensureStoreDirs(join(pachDir, 'objects'))
  // pach.db appears whole (schema and default project) or not at all: it is built under a
  // temporary name and renamed, so a killed init never leaves a project without its default
  // project (which every command, and a second `pach init`, would then refuse)
  const dbPath = join(pachDir, 'pach.db')
  for (const f of readdirSync(pachDir)) {
    const m = /^pach\.db\.init-(\d+)(-wal|-shm)?$/.exec(f)
    if (m && !pidAlive(Number(m[1]))) rmSync(join(pachDir, f), {force: true}) // a killed init's
  }
  const tmp = `${dbPath}.init-${process.pid}`
  try {
    const fresh = openDb(tmp, {create: true})
    try {
      withTx(fresh, () => rows.insertProject(fresh, {name: DEFAULT_PROJECT, description: '', created: now()}))
    } finally {
      fresh.close()
    }
    renameSync(tmp, dbPath)
  } finally {
    for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`]) rmSync(f, {force: true})
  }
  return new Pach(pachDir, openDb(dbPath), readConfig(pachDir), opts)
}

/** Open an existing `.pach` (found by discovery). */
export function openPach(opts: OpenOptions = {}): Pach {
  const pachDir = findPachDir(opts)
  const config = readConfig(pachDir)
  const db = openDb(join(pachDir, 'pach.db'), {readonly: opts.readonly, busyTimeoutMs: opts.busyTimeoutMs})
  const pach = new Pach(pachDir, db, config, opts)
  if (!opts.readonly) {
    try {
      upgradeIfNeeded(pach.ctx) // trees of an older pach, once (maintenance/upgrade.ts)
    } catch (e) {
      db.close()
      throw e
    }
  }
  return pach
}

/** An open pach project: the services over one database and store. */
export class Pach {
  /** internal: the edges the services share (tests reach in; commands use the services) */
  readonly ctx: CoreContext
  /** internal: the PFS state machine under the services */
  readonly engine: PfsEngine
  readonly projects: ProjectService
  readonly repos: RepoService
  readonly branches: BranchService
  readonly commits: CommitService
  readonly files: FileService
  /** a branch kept in step with a local folder (`pach watch`) */
  readonly folders: FolderSync
  readonly transactions: TransactionService
  readonly metadata: MetadataService
  readonly pipelines: PipelineService
  readonly jobs: JobService
  readonly secrets: SecretService
  /** `pach lineage`: which inputs made a file, which outputs a file fed */
  readonly lineage: LineageService
  /** plumbing: how files are stored (`pach debug …`) */
  readonly debug: DebugService
  /** PFS rules that depend on pipelines */
  readonly hooks: PfsHooks
  /** `pach push`: local commits to a remote pachd (through a PushTarget) */
  readonly push: PushService

  constructor(readonly pachDir: string, readonly db: DB, config: RepoConfig, opts: Omit<OpenOptions, 'cwd' | 'pachDir' | 'readonly'> = {}) {
    const now = opts.now ?? nowIso
    const id = opts.newId ?? newId
    const store = new BlobStore(join(pachDir, 'objects'), db, {fsync: config.fsync, packTarget: config.pack_target, now, newId: id})
    this.ctx = {pachDir, db, store, trees: new TreeStore(db), config, now, newId: id, reporter: opts.reporter ?? noopReporter, env: opts.env ?? process.env}
    this.engine = new PfsEngine(this.ctx, () => this.hooks)
    const lifecycle = new JobLifecycle(this.ctx, this.engine)
    this.pipelines = new PipelineService(this.ctx, this.engine, lifecycle)
    this.hooks = this.pipelines
    this.transactions = new TransactionService(this.ctx, this.engine, () => this.hooks)
    this.projects = new ProjectService(this.ctx, () => this.hooks)
    this.repos = new RepoService(this.ctx, this.engine, this.transactions)
    this.branches = new BranchService(this.ctx, this.engine, this.transactions)
    this.commits = new CommitService(this.ctx, this.engine, this.transactions)
    this.files = new FileService(this.ctx, this.engine)
    this.folders = new FolderSync(this.ctx, this.files)
    this.metadata = new MetadataService(this.ctx, this.engine)
    this.secrets = new SecretService(this.ctx)
    this.lineage = new LineageService(this.ctx, this.engine.resolve)
    this.debug = new DebugService(this.ctx, this.engine)
    this.jobs = new JobService(this.ctx, this.engine, this.pipelines, this.files, this.secrets, lifecycle)
    this.push = new PushService(this.ctx, this.engine.resolve, () => this.hooks)
  }

  /** The project's settings (`.pach/config.json`). */
  get config(): RepoConfig {
    return this.ctx.config
  }

  /** The project clock's current time (RFC 3339; the CLI starts it at PACH_NOW when set). */
  now(): string {
    return this.ctx.now()
  }

  /** Where core services report progress and notes (the CLI passes its stderr reporter). */
  get reporter(): Reporter {
    return this.ctx.reporter
  }

  /** The directory holding `.pach` (the project folder). */
  get root(): string {
    return dirname(this.pachDir)
  }

  /**
   * The ids that name this project to clients of `pach serve` (pachd's ClusterInfo `id` and
   * `deployment_id`): made on first use, then kept in the meta table, so they stay the same
   * across restarts (legacy Python clients refuse a deployment id that changed).
   */
  instanceIds(): {clusterId: string; deploymentId: string} {
    return withTx(this.db, () => {
      const get = (key: string) => {
        let v = rows.getMeta(this.db, key)
        if (!v) rows.setMeta(this.db, key, (v = this.ctx.newId()))
        return v
      }
      return {clusterId: get('cluster_id'), deploymentId: get('deployment_id')}
    })
  }

  /**
   * pachd's pfs DeleteAll: every repo (forced; refused while pipelines own repos), every
   * project, then a fresh `default` project, in one SQLite transaction, so a refusal leaves
   * everything as it was. Throws REPO_OWNED_BY_PIPELINE.
   */
  deleteAllData(): void {
    withTx(this.db, () => {
      this.repos.deleteMany({force: true})
      for (const p of this.projects.list()) this.projects.delete(p.project.name, true)
      this.projects.create(DEFAULT_PROJECT)
    })
  }

  fsck(opts: {readData?: boolean} = {}): FsckReport {
    return fsck(this.ctx, opts)
  }

  gc(opts: {dryRun?: boolean} = {}): Promise<GcReport> {
    return gc(this.ctx, opts)
  }

  /** `purge file`: remove matching paths from history and what was derived from them (maintenance/purge.ts). */
  purge(req: PurgeRequest, opts: {dryRun?: boolean} = {}): Promise<PurgeResult> {
    return purge(this.ctx, req, opts)
  }

  /** `purge log`: the audit entries, oldest first, and whether a sweep is still to do. */
  purgeLog(): {entries: PurgeAuditEntry[]; sweep_pending: boolean} {
    return {entries: purgeLog(this.ctx), sweep_pending: purgeSweepPending(this.ctx)}
  }

  /** `pach export`: write an archive of the store (or of some repos) through `out` (core/archive/export.ts). */
  exportArchive(out: (bufs: Buffer[]) => Promise<void>, opts: ExportOptions): Promise<ExportSummary> {
    return exportArchive(this.ctx, out, opts)
  }

  /** `pach import`: restore an archive read from `input`, all or nothing (core/archive/import.ts). */
  importArchive(input: ArchiveInput | {file: string}): Promise<ImportSummary> {
    return importArchive(this.ctx, input)
  }

  close(): void {
    this.ctx.store.closeFds()
    if (this.db.open) this.db.close()
  }
}
