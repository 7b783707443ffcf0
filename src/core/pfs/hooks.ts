/**
 * PfsHooks: what PFS asks the pipeline layer, in one interface, so PFS rules can depend on
 * pipelines without importing `pps/`. `PipelineService` implements it; the composition root
 * (`core/pach.ts`) hands it to the engine and the transaction service late-bound (a closure),
 * because the pipeline service is built on top of the engine.
 *
 * Contract: every hook runs inside the caller's SQLite transaction, synchronously; a hook
 * that throws rolls the whole PFS change back.
 */
import type {CommitRow, RepoRow} from '../db/pfs-rows.js'
import {ConflictError} from '../errors.js'
import type {TransactionRequest} from '../types.js'

/**
 * A write made on behalf of a pipeline's own code (a spout writing through `pach serve` with
 * its per-pipeline token): the one caller allowed to commit on that pipeline's output branch.
 */
export interface PipelineWriter {
  project: string
  pipeline: string
}

export interface PfsHooks {
  /** name of the pipeline owning this repo (output, spec or meta), if any */
  pipelineOf(repo: RepoRow): string | undefined
  /** is this commit a pipeline-spec commit (cannot be squashed) */
  isSpecCommit(repo: RepoRow, commit: CommitRow): boolean
  /** is this an output or meta commit of a pipeline (finishing needs --force) */
  isOutputCommit(repo: RepoRow, commit: CommitRow): boolean
  /** a new open AUTO commit was created on repo@branch (by propagation or new provenance) */
  onAutoCommit(repo: RepoRow, branch: string, commit: CommitRow): void
  /** a project was deleted: what the pipeline layer keeps for it (its defaults) goes too */
  onProjectDeleted(project: string): void
  /** may `writer` make USER commits on repo@branch although it has provenance (a spout's own output branch) */
  ownsOutput(repo: RepoRow, branch: string, writer: PipelineWriter): boolean
  /** apply a transaction's create_pipeline request (inside the caller's SQLite transaction) */
  createPipeline(req: CreatePipelineRequest): void
}

/** A pipeline to create or update, as a transaction holds it. */
export type CreatePipelineRequest = Extract<TransactionRequest, {create_pipeline: unknown}>['create_pipeline']

/** No pipelines: nothing is owned, nothing reacts (PFS on its own, in tests). */
export const noHooks: PfsHooks = {
  pipelineOf: () => undefined,
  isSpecCommit: () => false,
  isOutputCommit: () => false,
  onAutoCommit: () => {},
  onProjectDeleted: () => {},
  ownsOutput: () => false,
  createPipeline: () => {
    throw new ConflictError('UNKNOWN_REQUEST', 'this project has no pipeline layer to create a pipeline in')
  },
}
