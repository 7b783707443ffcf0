/**
 * CoreContext: the injected edges every service works through (database, blob store, tree
 * store, clock, id source, reporter, environment). Tests pass a fixed clock and id source to make ids
 * and timestamps deterministic.
 */
import type {DB} from './db/open.js'
import type {BlobStore} from './store/pack-store.js'
import type {TreeStore} from './store/tree-store.js'
import type {RepoConfig} from './config.js'
import type {Reporter} from './reporter.js'

export interface CoreContext {
  readonly pachDir: string
  readonly db: DB
  readonly store: BlobStore
  readonly trees: TreeStore
  readonly config: RepoConfig
  readonly now: () => string
  readonly newId: () => string
  readonly reporter: Reporter
  /** the process environment, as far as the core reads it (PACH_SECRET_* fallbacks) */
  readonly env: Readonly<Record<string, string | undefined>>
}
