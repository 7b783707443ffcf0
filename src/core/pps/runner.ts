/**
 * The runner interface: how the job service runs user code, whatever executes it (Docker,
 * a local process, a fake in tests). The core owns this interface; adapters live in
 * src/runner/ and are injected.
 *
 * Concepts:
 * - a Worker is one execution slot for one job (a warm container, or a process launcher);
 *   a job with parallelism N starts N workers and feeds them datums one at a time.
 * - each worker owns two host directories, fixed for its life: `inputsDir`, which the
 *   workspace (workspace.ts) fills with exactly the datum's inputs
 *   (`<inputsDir>/<input name>/<full path>`) before each datum and each retry, and `outDir`,
 *   emptied before each datum, where user code writes. User code
 *   sees them as `/pfs` (read-only) and `/pfs/out` (writable).
 *
 * Invariants for implementations:
 * - inputs are read-only to user code; nothing outside `/pfs/out` is writable through /pfs;
 * - no network unless `network` is true; the Docker socket is never mounted; never
 *   privileged; cpu/memory limits applied when given;
 * - `run` resolves (never rejects) for user-code failures: a non-zero exit, a timeout or a
 *   start failure are reported in the result. It rejects only when the worker itself is
 *   broken (then the job fails with that reason).
 */

/** What a runner reports through (image pulls: a line when one starts and ends, byte progress). */
export type {Progress, Reporter} from '../reporter.js'

export interface WorkerSpec {
  /** container image (docker); ignored by the local runner */
  image: string
  /** host dirs owned by this worker (see above) */
  inputsDir: string
  outDir: string
  /** allow network access (spec opt-in; default off) */
  network: boolean
  /** CPU limit in cores, memory limit in bytes */
  cpu?: number
  memoryBytes?: number
  user?: string
  workingDir?: string
  /** extra read-only file mounts: host path -> container path (secrets as files) */
  mounts?: {host: string; container: string}[]
  /** label for containers/logs, e.g. "<pipeline>-<job>-<n>" */
  name: string
}

export interface DatumTask {
  cmd: string[]
  /** fed to stdin (already joined with "\n" plus a trailing "\n") */
  stdin?: string
  env: Record<string, string>
  timeoutMs?: number
  signal?: AbortSignal
  onOutput(stream: 'stdout' | 'stderr', chunk: Buffer): void
}

export interface DatumRunResult {
  /** exit code of cmd (-1 when it could not start or was killed) */
  exitCode: number
  timedOut: boolean
  /** why it failed to start or was killed, if it did */
  error?: string
  durationMs: number
}

export interface Worker {
  run(task: DatumTask): Promise<DatumRunResult>
  close(): Promise<void>
}

export interface Runner {
  readonly kind: 'docker' | 'local' | 'fake'
  /** one-line description for notices ("local (bubblewrap)", "docker 20.10.24") */
  describe(): string
  /**
   * Resolve an image reference to its immutable id/digest (docker), pulling the image first
   * when the engine lacks it (a pull that fails rejects with one RunnerError line); undefined
   * elsewhere.
   */
  imageId?(image: string): Promise<string | undefined>
  startWorker(spec: WorkerSpec): Promise<Worker>
  /** release shared resources (e.g. the docker client) */
  close?(): Promise<void>
}
