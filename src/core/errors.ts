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
 * - codes and exit codes are data: they are listed in EXIT_CODES and documented in the
 *   README's exit-code table; changing one is a breaking change.
 * - the core throws these and never prints.
 */

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

export interface PachErrorOptions {
  hint?: string
  data?: Record<string, unknown>
  cause?: unknown
}

export class PachError extends Error {
  readonly code: string
  readonly exitCode: number
  readonly hint?: string
  readonly data: Record<string, unknown>

  constructor(code: string, message: string, exitCode: number = EXIT_CODES.generic, opts: PachErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : {cause: opts.cause})
    this.name = new.target.name
    this.code = code
    this.exitCode = exitCode
    this.hint = opts.hint
    this.data = opts.data ?? {}
  }
}

/** A named thing (repo, branch, commit, file, project, pipeline, job, datum, transaction) does not exist. */
export class NotFoundError extends PachError {
  constructor(code: string, message: string, opts?: PachErrorOptions) {
    super(code, message, EXIT_CODES.notFound, opts)
  }
}

export class AlreadyExistsError extends PachError {
  constructor(code: string, message: string, opts?: PachErrorOptions) {
    super(code, message, EXIT_CODES.conflict, opts)
  }
}

/** Bad user input: names, paths, flags, specs. */
export class InvalidArgumentError extends PachError {
  constructor(code: string, message: string, opts?: PachErrorOptions) {
    super(code, message, EXIT_CODES.usage, opts)
  }
}

/** The request conflicts with current state (open commit, children exist, dependents exist). */
export class ConflictError extends PachError {
  constructor(code: string, message: string, opts?: PachErrorOptions) {
    super(code, message, EXIT_CODES.conflict, opts)
  }
}

export class CommitFinishedError extends ConflictError {
  constructor(repo: string, id: string) {
    super('COMMIT_FINISHED', `commit ${id} in repo ${repo} has already finished`, {
      hint: 'start a new commit with `pach start commit`, or write to the branch to get a one-off commit',
      data: {repo, commit: id},
    })
  }
}

/** No .pach directory was found. */
export class NotARepoError extends PachError {
  constructor(start: string) {
    super('NOT_A_PACH_REPO', `not a pach project (no .pach directory in ${start} or any parent)`, EXIT_CODES.notARepo, {
      hint: 'run `pach init` to create one, or pass --pach-dir',
      data: {start},
    })
  }
}

/** The database (or a gc/write lease) is held by someone else for longer than we wait. */
export class LockedError extends PachError {
  constructor(message: string, opts?: PachErrorOptions) {
    super('LOCKED', message, EXIT_CODES.locked, {hint: 'another pach process (or program) holds the lock; retry when it is done', ...opts})
  }
}

/** Stored bytes or metadata fail verification. */
export class CorruptObjectError extends PachError {
  constructor(message: string, opts?: PachErrorOptions) {
    super('CORRUPT_OBJECT', message, EXIT_CODES.corrupt, {hint: 'run `pach fsck` to see what is damaged', ...opts})
  }
}

/** A runner (docker/local) could not run user code. */
export class RunnerError extends PachError {
  constructor(message: string, opts?: PachErrorOptions) {
    super('RUNNER_ERROR', message, EXIT_CODES.generic, opts)
  }
}

/** A job or datum failed (used for exit status of commands that wait for jobs). */
export class JobFailedError extends PachError {
  constructor(message: string, opts?: PachErrorOptions) {
    super('JOB_FAILED', message, EXIT_CODES.jobFailed, opts)
  }
}

export class CancelledError extends PachError {
  constructor(message = 'cancelled') {
    super('CANCELLED', message, EXIT_CODES.cancelled)
  }
}

/** A broken invariant inside pach: always a bug. */
export class InternalError extends PachError {
  constructor(message: string, opts?: PachErrorOptions) {
    super('INTERNAL', message, EXIT_CODES.internal, opts)
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

/** Map low-level errors (SQLite busy, ENOSPC, EACCES) to PachErrors; anything else is returned unchanged. */
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
      return new PachError('DISK_FULL', 'no space left on device; nothing was changed', EXIT_CODES.generic, {
        hint: 'free some space (`pach gc` removes unreferenced data) and retry',
        cause: e,
      })
    case 'EACCES':
    case 'EPERM':
    case 'SQLITE_READONLY':
      return new PachError('PERMISSION_DENIED', `permission denied${err.path ? `: ${err.path}` : ''}`, EXIT_CODES.generic, {cause: e})
    case 'SQLITE_CORRUPT':
    case 'SQLITE_NOTADB':
      return new CorruptObjectError('the pach database is corrupt or not a database', {cause: e})
    default:
      return e
  }
}
