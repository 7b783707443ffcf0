/**
 * The error-code registry: every stable error code pach can report, and the one error class
 * it is thrown with (the class decides the exit code, see `CLASS_EXIT_CODES` in errors.ts).
 *
 * Concept: codes are data that scripts match on (`{"error":{"code": …}}` with --json, and the
 * exit status). A code listed here under a class is thrown only as that class, so one code
 * always means one exit code.
 *
 * Invariants (checked by test/unit/errors.test.ts):
 * - a code appears under exactly one class;
 * - every throw site in src/ that names a code uses one listed here under the class it throws
 *   (the constructors only accept registered codes, so an unknown code does not compile);
 * - the README's exit-code table lists exactly these codes, each on its class's exit code.
 * Adding a code is a new feature; moving or renaming one is a breaking change.
 */

export const CODES_BY_CLASS = {
  /** exit 1: the operation could not be done for a reason outside pach */
  PachError: [
    'DISK_FULL',
    'PERMISSION_DENIED',
    'IO_ERROR',
    'DIFF_COMMAND_FAILED',
    'EDITOR_FAILED',
    'JOB_NOT_ANSWERING',
    // a remote pachd (pach push/pull/remote): not reachable, not 2.x, or refused the token
    'REMOTE_UNREACHABLE',
    'REMOTE_VERSION',
    'REMOTE_AUTH',
    // a pipeline image a registry would not take (pach push --pipelines)
    'IMAGE_PUSH_FAILED',
    // a remote pachd failed or refused a request of a push or pull (pachd's words in the message)
    'REMOTE_FAILED',
  ],
  /** exit 1: a runner (docker/local) could not run user code */
  RunnerError: ['RUNNER_ERROR'],
  /** exit 2: bad user input (names, paths, refs, flags, specs, environment) */
  InvalidArgumentError: [
    'USAGE',
    'MISSING_ARGUMENT',
    'INVALID_NAME',
    'INVALID_PATH',
    'INVALID_ADDRESS',
    'INSECURE_ADDRESS',
    'INVALID_GLOB',
    'INVALID_INPUT',
    'INVALID_SPEC',
    'UNSUPPORTED_SPEC_FIELD',
    'INVALID_TRIGGER',
    'INVALID_SECRET',
    'INVALID_QUANTITY',
    'INVALID_DURATION',
    'INVALID_ENV',
    'INVALID_TAR',
    'INVALID_HEAD',
    'IS_A_DIRECTORY',
    'NOT_A_DIRECTORY',
    'NOT_A_FILE',
    'MISSING_OUTPUT',
    'MISSING_PATH',
    'MISSING_SPEC',
    'OUTPUT_EXISTS',
    'PIPELINE_CYCLE',
    'PROVENANCE_CYCLE',
    'TAR_TOO_LARGE',
    'UNSAFE_TAR_ENTRY',
    'UNSUPPORTED_URL',
    'FETCH_FAILED',
    'FORMAT_TOO_NEW',
    'FORMAT_TOO_OLD',
    'FORMAT_UNSUPPORTED',
    'INVALID_REQUEST',
    'MATCHED_NON_FILE',
    'MATCHED_MULTIPLE_FILES',
    'PIPELINE_NOT_PROMOTABLE',
    'IMAGE_NOT_PUBLISHABLE',
    'REMOTE_SPEC_REJECTED',
    // pach import: the input is not a pach archive
    'NOT_AN_ARCHIVE',
    // pach debug datum: the paths given belong to several datums
    'AMBIGUOUS_DATUM',
  ],
  /** exit 3: a job a command ran (or waited for with --fail-on-job-error) did not succeed, or a datum `debug datum` reran */
  JobFailedError: ['JOB_FAILED', 'DATUM_FAILED'],
  /** exit 4: a named thing does not exist */
  NotFoundError: [
    'PROJECT_NOT_FOUND',
    'REPO_NOT_FOUND',
    'INPUT_REPO_NOT_FOUND',
    'BRANCH_NOT_FOUND',
    'COMMIT_NOT_FOUND',
    'COMMIT_SET_NOT_FOUND',
    'FILE_NOT_FOUND',
    'LOCAL_FILE_NOT_FOUND',
    'PIPELINE_NOT_FOUND',
    'PIPELINE_VERSION_NOT_FOUND',
    'NO_CRON_INPUT',
    'JOB_NOT_FOUND',
    'DATUM_NOT_FOUND',
    'SECRET_NOT_FOUND',
    'SECRET_KEY_NOT_FOUND',
    'TRANSACTION_NOT_FOUND',
    'NO_ACTIVE_TRANSACTION',
  ],
  /** exit 5: the thing to create already exists */
  AlreadyExistsError: ['ALREADY_INITIALIZED', 'PROJECT_EXISTS', 'REPO_EXISTS', 'PIPELINE_EXISTS', 'SECRET_EXISTS'],
  /** exit 5: the commit to write to or finish is already finished */
  CommitFinishedError: ['COMMIT_FINISHED'],
  /** exit 5: the request conflicts with the current state */
  ConflictError: [
    'COMMIT_EXISTS',
    'PARENT_NOT_FINISHED',
    'COMMIT_NOT_FINISHED',
    'CHILD_NOT_FINISHED',
    'HAS_CHILDREN',
    'NO_CHILDREN',
    'HAS_SUBVENANT_SETS',
    'PATH_COLLISION',
    'REPO_HAS_DEPENDENTS',
    'REPO_OWNED_BY_PIPELINE',
    'BRANCH_HAS_DEPENDENTS',
    'PIPELINE_HAS_DEPENDENTS',
    'PROJECT_NOT_EMPTY',
    'DEFAULT_PROJECT',
    'OUTPUT_BRANCH',
    'OUTPUT_COMMIT',
    'SPEC_COMMIT',
    'TRANSACTION_ACTIVE',
    'UNKNOWN_REQUEST',
    'CONCURRENT_MODIFICATION',
    'TIMEOUT',
    'JOB_RUNNING',
    'JOB_NOT_RUNNING',
    // the pachctl context now points at another cluster than the one it was made for
    'REMOTE_CLUSTER_CHANGED',
    'METADATA_KEY_EXISTS',
    // a push whose remote branch has commits this project lacks
    'NON_FAST_FORWARD',
    // pach pull: the local branch has commits the remote lacks, or the remote branch was rewritten
    'BRANCH_DIVERGED',
    // pach purge file: a commit outside the purged branch's history keeps the content
    'PURGE_INCOMPLETE',
    // pach import: the archive holds a repo, branch, commit, pipeline or job that exists here otherwise
    'IMPORT_CONFLICT',
  ],
  /** exit 10: no .pach directory was found */
  NotARepoError: ['NOT_A_PACH_REPO'],
  /** exit 11: the database or a gc/write lease is held by another process */
  LockedError: ['LOCKED'],
  /** exit 12: stored bytes or metadata fail verification */
  CorruptObjectError: ['CORRUPT_OBJECT', 'ARCHIVE_DAMAGED'],
  /** exit 20: a broken invariant inside pach (a bug) */
  InternalError: ['INTERNAL'],
  /** exit 130: interrupted */
  CancelledError: ['CANCELLED'],
} as const

export type ErrorClassName = keyof typeof CODES_BY_CLASS
/** Every registered error code. */
export type ErrorCode = (typeof CODES_BY_CLASS)[ErrorClassName][number]
/** The codes registered for one class. */
export type CodeOf<C extends ErrorClassName> = (typeof CODES_BY_CLASS)[C][number]

/** code → the class it is thrown with. */
export const ERROR_CODES: ReadonlyMap<ErrorCode, ErrorClassName> = new Map(
  (Object.entries(CODES_BY_CLASS) as [ErrorClassName, readonly ErrorCode[]][]).flatMap(([cls, codes]) => codes.map((c) => [c, cls] as const)),
)
