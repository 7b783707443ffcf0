/**
 * The S3 sidecar interface: how a job whose pipeline has an `s3: true` input or `s3_out: true`
 * gets its per-job S3 endpoint (Pachyderm's worker driver, s3g_sidecar.go). The core owns this
 * interface; the gateway (src/server/s3/) implements it and is injected like a runner.
 *
 * Concepts:
 * - one job, one set of buckets: each s3 input is a read-only bucket named after the input
 *   (`input.pfs.name`, defaulting to the repo) pinned to the job's exact input commit; with
 *   `s3_out` the bucket `out` is the job's open output commit, write-only (GET → NoSuchKey,
 *   list → empty). No other bucket exists for that job; Create/DeleteBucket are refused.
 * - `open` starts serving those buckets and returns where user code dials them; `close`
 *   stops serving them (later requests for that job's host get NoSuchBucket).
 *
 * Invariants for implementations:
 * - the endpoint is reachable from the runner's sandbox through `route` (the runner's
 *   `serviceRoute()`: a Docker bridge gateway address to listen on, or loopback) and from
 *   nowhere else by default; user code gets no other network for it;
 * - credentials: `accessKey`/`secretKey` are what user code sends (`default`/`default`
 *   when no token is configured, as Pachyderm; the pipeline's token otherwise);
 * - writes to `out` land in the job's output commit through the same core as /pfs/out, so
 *   they are versioned with the job; nothing is written to any other commit.
 */

import type {ServiceRoute} from './runner.js'

/** A commit as the sidecar addresses it. */
export interface S3CommitRef {
  project: string
  repo: string
  /** the commit id (pinned; never a branch name) */
  commit: string
}

export interface S3JobBuckets {
  /** read-only buckets, one per s3 input, named `bucket` */
  inputs: {bucket: string; commit: S3CommitRef}[]
  /** the job's open output commit, served as bucket `out` (s3_out only) */
  out?: S3CommitRef
}

export interface S3SidecarHandle {
  /** what user code sets as S3_ENDPOINT, e.g. `http://s3-<hash>:<port>` or `http://<ip>:<port>` */
  endpoint: string
  /** `name:address` pairs the container must resolve (Docker ExtraHosts), if the endpoint uses a name */
  extraHosts?: string[]
  accessKey: string
  secretKey: string
  close(): Promise<void>
}

export interface S3Sidecar {
  open(job: {pipeline: string; project: string; jobId: string}, buckets: S3JobBuckets, route: ServiceRoute): Promise<S3SidecarHandle>
}
