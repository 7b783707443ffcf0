/**
 * One error hierarchy for the whole of pach.
 *
 * Concept: every failure the core can foresee is a `PachError` carrying a stable string
 * `code` (scripts match on it), an `exitCode` (the process exit status the CLI uses), a
 * one-line `message` saying what is wrong, an optional `hint` saying what to do, and
 * structured `data`. The CLI renders these as one line (or a JSON envelope with --json);
 * anything that is not a PachError is a bug and is rendered with a stack.
 *
 * Invariants:
 * - codes and exit codes are data: every code is registered with its class in
 *   error-codes.ts, each class maps to one exit code in CLASS_EXIT_CODES, and the README's
 *   exit-code table lists both (test/unit/errors.test.ts keeps the three in step);
 *   changing one is a breaking change.
 * - the core throws these and never prints.
 */

import {ERROR_CODES, type CodeOf, type ErrorClassName, type ErrorCode} from './error-codes.js'

export {CODES_BY_CLASS, ERROR_CODES, type CodeOf, type ErrorClassName, type ErrorCode} from './error-codes.js'

/** Process exit codes, mapped in one place. */
export const EXIT_CODES = {
  generic: 1,
  usage: 2,
  jobFailed: 3,
  notFound: 4,
  conflict: 5,
  notARepo: 10,
  locked: 11,
  corrupt: 12,
  internal: 20,
  cancelled: 130,
} as const

/** Each error class and the exit code it maps to (the README's exit-code table). */
export const CLASS_EXIT_CODES: Readonly<Record<ErrorClassName, number>> = {
  PachError: EXIT_CODES.generic,
  RunnerError: EXIT_CODES.generic,
  InvalidArgumentError: EXIT_CODES.usage,
  JobFailedError: EXIT_CODES.jobFailed,
  NotFoundError: EXIT_CODES.notFound,
  AlreadyExistsError: EXIT_CODES.conflict,
  CommitFinishedError: EXIT_CODES.conflict,
  ConflictError: EXIT_CODES.conflict,
  NotARepoError: EXIT_CODES.notARepo,
  LockedError: EXIT_CODES.locked,
  CorruptObjectError: EXIT_CODES.corrupt,
  InternalError: EXIT_CODES.internal,
  CancelledError: EXIT_CODES.cancelled,
}

/**
 * gRPC status codes (numbers, as on the wire) per class, for `pach serve`: what pachd answers
 * for the same condition where Pachyderm's clients test the code (NOT_FOUND, ALREADY_EXISTS),
 * and the closest standard code elsewhere. `CODE_GRPC_STATUS` overrides it for single codes.
 */
export const CLASS_GRPC_STATUS: Readonly<Record<ErrorClassName, number>> = {
  PachError: 2, // UNKNOWN, as pachd wraps errors it does not map
  RunnerError: 2,
  InvalidArgumentError: 3, // INVALID_ARGUMENT
  JobFailedError: 2,
  NotFoundError: 5, // NOT_FOUND
  AlreadyExistsError: 6, // ALREADY_EXISTS
  CommitFinishedError: 9, // FAILED_PRECONDITION
  ConflictError: 9,
  NotARepoError: 9,
  LockedError: 14, // UNAVAILABLE: retry
  CorruptObjectError: 15, // DATA_LOSS
  InternalError: 13, // INTERNAL
  CancelledError: 1, // CANCELLED
}

export const CODE_GRPC_STATUS: Partial<Readonly<Record<ErrorCode, number>>> = {
  COMMIT_NOT_FINISHED: 14, // pachd: UNAVAILABLE `commit … not finished`
  // pachd answers these with plain errors too (ErrCommitFinished has no status of its own; an
  // unfinished parent is errors.Errorf): UNKNOWN
  COMMIT_FINISHED: 2,
  PARENT_NOT_FINISHED: 2,
  TIMEOUT: 4, // DEADLINE_EXCEEDED
  DISK_FULL: 8, // RESOURCE_EXHAUSTED
  PERMISSION_DENIED: 7,
  TAR_TOO_LARGE: 8,
  // pachd answers these with plain errors (UNKNOWN); clients match the text
  INVALID_REQUEST: 2,
  MATCHED_NON_FILE: 2,
  MATCHED_MULTIPLE_FILES: 2,
}

/** The gRPC status a registered error code maps to. */
export function grpcStatusOf(code: ErrorCode): number {
  return CODE_GRPC_STATUS[code] ?? CLASS_GRPC_STATUS[ERROR_CODES.get(code)!]
}

/**
 * S3 error codes and HTTP statuses (the S3 gateway, src/server/s3/) per class, for errors the
 * core throws while serving an S3 request: Pachyderm's codes where it has one (NoSuchBucket,
 * NoSuchKey, WriteToOutputBranch, InvalidFilePath), S3's nearest otherwise; never a 500 for a
 * user's mistake. `CODE_S3_ERROR` overrides a class for single codes. Protocol errors the
 * gateway raises itself (SignatureDoesNotMatch, MalformedXML, …) never pass through here.
 */
export const CLASS_S3_ERROR: Readonly<Record<ErrorClassName, readonly [status: number, code: string]>> = {
  PachError: [500, 'InternalError'],
  RunnerError: [500, 'InternalError'],
  InvalidArgumentError: [400, 'InvalidArgument'],
  JobFailedError: [500, 'InternalError'],
  NotFoundError: [404, 'NoSuchBucket'],
  AlreadyExistsError: [409, 'BucketAlreadyOwnedByYou'],
  CommitFinishedError: [409, 'InvalidBucketState'],
  ConflictError: [409, 'OperationAborted'],
  NotARepoError: [500, 'InternalError'],
  LockedError: [503, 'SlowDown'],
  CorruptObjectError: [500, 'InternalError'],
  InternalError: [500, 'InternalError'],
  CancelledError: [400, 'RequestTimeout'],
}

export const CODE_S3_ERROR: Partial<Readonly<Record<ErrorCode, readonly [status: number, code: string]>>> = {
  FILE_NOT_FOUND: [404, 'NoSuchKey'],
  INVALID_PATH: [400, 'InvalidFilePath'],
  INVALID_NAME: [400, 'InvalidBucketName'],
  PATH_COLLISION: [400, 'InvalidFilePath'],
  OUTPUT_BRANCH: [400, 'WriteToOutputBranch'],
  OUTPUT_COMMIT: [400, 'WriteToOutputBranch'],
  IS_A_DIRECTORY: [404, 'NoSuchKey'],
  DISK_FULL: [507, 'InsufficientStorage'],
  PERMISSION_DENIED: [500, 'InternalError'],
}

/** The S3 [HTTP status, error code] a registered error code maps to. */
export function s3ErrorOf(code: ErrorCode): readonly [status: number, code: string] {
  return CODE_S3_ERROR[code] ?? CLASS_S3_ERROR[ERROR_CODES.get(code)!]
}

/** The exit code a registered error code maps to. */
export function exitCodeOf(code: ErrorCode): number {
  return CLASS_EXIT_CODES[ERROR_CODES.get(code)!]
}

export interface PachErrorOptions {
  hint?: string
  data?: Record<string, unknown>
  cause?: unknown
}

/**
 * The base of every pach error. Thrown directly only for the codes registered under
 * `PachError` (generic failures from outside pach: DISK_FULL, PERMISSION_DENIED); the exit
 * code always comes from the registry, so a code cannot map to two exit codes.
 */
export class PachError extends Error {
  readonly code: ErrorCode
  readonly exitCode: number
  readonly hint?: string
  readonly data: Record<string, unknown>

  constructor(code: ErrorCode, message: string, opts: PachErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : {cause: opts.cause})
    this.name = new.target.name
    this.code = code
    this.exitCode = exitCodeOf(code)
    this.hint = opts.hint
    this.data = opts.data ?? {}
  }
}

/** A named thing (repo, branch, commit, file, project, pipeline, job, datum, transaction) does not exist. */
export class NotFoundError extends PachError {
  constructor(code: CodeOf<'NotFoundError'>, message: string, opts?: PachErrorOptions) {
    super(code, message, opts)
  }
}

/** The project, repo, pipeline or secret to create already exists. */
export class AlreadyExistsError extends PachError {
  constructor(code: CodeOf<'AlreadyExistsError'>, message: string, opts?: PachErrorOptions) {
    super(code, message, opts)
  }
}

/** Bad user input: names, paths, refs, flags, specs, environment. */
export class InvalidArgumentError extends PachError {
  constructor(code: CodeOf<'InvalidArgumentError'>, message: string, opts?: PachErrorOptions) {
    super(code, message, opts)
  }
}

/** The request conflicts with current state (open commit, children exist, dependents exist). */
export class ConflictError extends PachError {
  constructor(code: CodeOf<'ConflictError'> | CodeOf<'CommitFinishedError'>, message: string, opts?: PachErrorOptions) {
    super(code, message, opts)
  }
}

/** A write to, or a finish of, a commit that has already finished. */
export class CommitFinishedError extends ConflictError {
  constructor(repo: string, id: string, opts: {hint?: string} = {}) {
    super('COMMIT_FINISHED', `commit ${id} in repo ${repo} has already finished`, {
      hint: opts.hint ?? 'start a new commit with `pach start commit`, or write to the branch to get a one-off commit',
      data: {repo, commit: id},
    })
  }
}

/** No .pach directory was found. */
export class NotARepoError extends PachError {
  constructor(start: string) {
    super('NOT_A_PACH_REPO', `not a pach project (no .pach directory in ${start} or any parent)`, {
      hint: 'run `pach init` to create one, or pass --pach-dir',
      data: {start},
    })
  }
}

/** The database (or a gc/write lease) is held by someone else for longer than we wait. */
export class LockedError extends PachError {
  constructor(message: string, opts?: PachErrorOptions) {
    super('LOCKED', message, {hint: 'another pach process (or program) holds the lock; retry when it is done', ...opts})
  }
}

/** Stored bytes or metadata fail verification. */
export class CorruptObjectError extends PachError {
  constructor(message: string, opts?: PachErrorOptions & {code?: CodeOf<'CorruptObjectError'>}) {
    super(opts?.code ?? 'CORRUPT_OBJECT', message, {hint: 'run `pach fsck` to see what is damaged', ...opts})
  }
}

/** A runner (docker/local) could not run user code. */
export class RunnerError extends PachError {
  constructor(message: string, opts?: PachErrorOptions) {
    super('RUNNER_ERROR', message, opts)
  }
}

/** A job did not succeed, reported by a command whose result is that job (`pach run`, `wait … --fail-on-job-error`); DATUM_FAILED: a datum `pach debug datum` reran. */
export class JobFailedError extends PachError {
  constructor(message: string, opts?: PachErrorOptions & {code?: CodeOf<'JobFailedError'>}) {
    super(opts?.code ?? 'JOB_FAILED', message, opts)
  }
}

export class CancelledError extends PachError {
  constructor(message = 'cancelled', opts?: PachErrorOptions) {
    super('CANCELLED', message, opts)
  }
}

/** A broken invariant inside pach: always a bug. */
export class InternalError extends PachError {
  constructor(message: string, opts?: PachErrorOptions) {
    super('INTERNAL', message, opts)
  }
}

/**
 * `s` with control characters (C0, DEL, C1) written as escapes ("\\n", "\\u001b"): messages echo
 * user input (paths, refs, spec keys, tar entry names), and a message must stay one line and
 * must not drive the terminal.
 */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c < ' ' ? JSON.stringify(c).slice(1, -1) : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))
}

export function isPachError(e: unknown): e is PachError {
  return e instanceof PachError
}

/** Map low-level errors (SQLite busy, ENOSPC, EACCES, EIO) to PachErrors; anything else is returned unchanged. */
export function translateSystemError(e: unknown): unknown {
  if (isPachError(e)) return e
  const err = e as {code?: string; message?: string; path?: string}
  if (!err || typeof err !== 'object') return e
  switch (err.code) {
    case 'SQLITE_BUSY':
    case 'SQLITE_BUSY_SNAPSHOT':
    case 'SQLITE_LOCKED':
      return new LockedError('the pach database is locked by another process', {cause: e})
    case 'ENOSPC':
    case 'SQLITE_FULL':
      return new PachError('DISK_FULL', 'no space left on device; nothing was changed', {
        hint: 'free some space (`pach gc` removes unreferenced data) and retry',
        cause: e,
      })
    case 'EACCES':
    case 'EPERM':
    case 'SQLITE_READONLY':
      return new PachError('PERMISSION_DENIED', `permission denied${err.path ? `: ${err.path}` : ''}`, {cause: e})
    case 'EIO':
      return new PachError('IO_ERROR', `input/output error${err.path ? ` on ${err.path}` : ''}: ${err.message ?? 'EIO'}`, {
        hint: 'check the disk; run `pach fsck` once it is healthy',
        cause: e,
      })
    case 'SQLITE_CORRUPT':
    case 'SQLITE_NOTADB':
      return new CorruptObjectError('the pach database is corrupt or not a database', {cause: e})
    default:
      return e
  }
}
