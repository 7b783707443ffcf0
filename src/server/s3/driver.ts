/**
 * Bucket drivers: how a bucket name resolves to a repo and commit, and what that bucket may
 * do (Pachyderm's MasterDriver and WorkerDriver, driver.go).
 *
 * - MasterDriver (`pach serve`): every branch of every user repo, named as in bucket-name.ts;
 *   a branch bucket reads its head and takes writes (a one-off commit per write, or the open
 *   head, as `put file`); a commit-pinned bucket reads that commit and is read-only;
 *   CreateBucket/DeleteBucket make and remove branches (and repos).
 * - WorkerDriver (one job's sidecar): only the job's buckets (core/pps/s3-sidecar.ts): each
 *   s3 input, pinned to the job's input commit, read-only; `out`, the job's open output
 *   commit, write-only (reads see nothing). Versioning is off, bucket creation refused.
 * Buckets are resolved per request; the commit a read sees is read when asked (`readCommit`).
 */
import * as rows from '../../core/db/pfs-rows.js'
import type {CommitRow, RepoRow} from '../../core/db/pfs-rows.js'
import type {Pach} from '../../core/pach.js'
import type {CommitRef} from '../../core/pfs/refs.js'
import type {S3JobBuckets} from '../../core/pps/s3-sidecar.js'
import {bucketNameOf, parseBucketName} from './bucket-name.js'
import {s3err} from './errors.js'

export interface Bucket {
  name: string
  project: string
  repo: RepoRow
  /** the branch a branch bucket names */
  branch?: string
  /** a pinned commit id (commit-pinned buckets, worker inputs, worker `out`) */
  pinned?: string
  readable: boolean
  /** where writes go; undefined: the bucket is read-only (writes → 501 NotImplemented) */
  writeRef?: CommitRef
  /** the commit reads see now; undefined when the bucket is not readable */
  readCommit(): CommitRow | undefined
}

export interface BucketListing {
  name: string
  created: string
}

export interface Driver {
  readonly kind: 'master' | 'worker'
  listBuckets(): BucketListing[]
  /**
   * Resolve a bucket: 404 NoSuchBucket, 400 InvalidBucketName. `forWrite`: a write will
   * follow, so a branch that does not exist yet (of an existing repo) resolves too.
   */
  bucket(name: string, opts?: {forWrite?: boolean}): Bucket
}

const noSuchBucket = (name: string) => s3err(404, 'NoSuchBucket', `The specified bucket does not exist: ${name}`)

export class MasterDriver implements Driver {
  readonly kind = 'master'
  constructor(private readonly pach: Pach) {}

  listBuckets(): BucketListing[] {
    const db = this.pach.ctx.db
    const out: BucketListing[] = []
    for (const r of rows.listRepos(db)) {
      if (r.type !== 'user') continue
      for (const b of rows.listBranches(db, r.id)) out.push({name: bucketNameOf({project: r.project, repo: r.name, branch: b.name}), created: r.created})
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  bucket(name: string, opts: {forWrite?: boolean} = {}): Bucket {
    const n = parseBucketName(name)
    const db = this.pach.ctx.db
    const repo = rows.getRepo(db, n.project, n.repo, 'user')
    if (!repo) throw noSuchBucket(name)
    if (n.commit) {
      const commit = rows.getCommit(db, repo.id, n.commit)
      if (!commit) throw noSuchBucket(name)
      return {name, project: n.project, repo, pinned: n.commit, readable: true, readCommit: () => rows.getCommit(db, repo.id, n.commit!)}
    }
    // a repo's branch that does not exist yet takes writes (its first commit creates it, as
    // `put file` does) but is no bucket for anything else (a write does not look: one read less)
    if (!opts.forWrite && rows.getBranch(db, repo.id, n.branch) === undefined) throw noSuchBucket(name)
    return {
      name,
      project: n.project,
      repo,
      branch: n.branch,
      readable: true,
      writeRef: {repo: {name: repo.name, type: 'user', project: repo.project}, branch: n.branch},
      readCommit: () => {
        const b = rows.getBranch(db, repo.id, n.branch)
        return b ? rows.getCommit(db, repo.id, b.head) : undefined
      },
    }
  }
}

export class WorkerDriver implements Driver {
  readonly kind = 'worker'
  constructor(
    private readonly pach: Pach,
    private readonly buckets: S3JobBuckets,
  ) {}

  private repoOf(c: {project: string; repo: string}): RepoRow {
    const r = rows.getRepo(this.pach.ctx.db, c.project, c.repo, 'user')
    if (!r) throw s3err(404, 'NoSuchBucket', `the repo ${c.project}/${c.repo} of this job's bucket no longer exists`)
    return r
  }

  listBuckets(): BucketListing[] {
    const out = this.buckets.inputs.map((i) => ({name: i.bucket, created: this.repoOf(i.commit).created}))
    if (this.buckets.out) out.push({name: 'out', created: this.repoOf(this.buckets.out).created})
    return out
  }

  bucket(name: string): Bucket {
    const db = this.pach.ctx.db
    const input = this.buckets.inputs.find((i) => i.bucket === name)
    if (input) {
      const repo = this.repoOf(input.commit)
      const id = input.commit.commit
      return {name, project: input.commit.project, repo, pinned: id, readable: true, readCommit: () => rows.getCommit(db, repo.id, id)}
    }
    const out = this.buckets.out
    if (name === 'out' && out) {
      const repo = this.repoOf(out)
      return {
        name,
        project: out.project,
        repo,
        pinned: out.commit,
        readable: false,
        writeRef: {repo: {name: repo.name, type: 'user', project: repo.project}, id: out.commit},
        readCommit: () => undefined,
      }
    }
    throw noSuchBucket(name)
  }
}
