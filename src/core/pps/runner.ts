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
 * - no network unless `network` is true (with an `endpoint`, that one server and nothing
 *   else); the Docker socket is never mounted; never privileged; cpu/memory limits applied
 *   when given;
 * - `run` resolves (never rejects) for user-code failures: a non-zero exit, a timeout or a
 *   start failure are reported in the result. It rejects only when the worker itself is
 *   broken (then the job fails with that reason).
 *
 * Long-running tasks (spouts and services, continuous.ts) are not datums: `startService`
 * starts user code that runs until it exits or is stopped, with a network (its own
 * namespace with Docker, the host's locally), ports published on the host's loopback only,
 * its inputs (if any) read-only at /pfs and its output streamed to `onOutput` as it comes.
 * `stop` ends it (SIGTERM, then SIGKILL after a grace period) and leaves nothing behind (no
 * container, no process, no scratch directory); so does the runner's `close`.
 *
 * Attached runs (`pach debug datum`, datum-debug.ts): `runAttached` runs one command in a
 * worker's exact sandbox (the WorkerSpec's image, mounts, network, user, working directory,
 * limits) wired to the user's terminal, once, and leaves nothing behind. `shell: false`
 * reruns a datum: stdin is the given text (else empty), no TTY (as in a job), output streamed
 * to the terminal as it comes. `shell: true` is interactive: stdin is the terminal's, and a
 * TTY is allocated when the terminal's stdin and stdout are TTYs. It resolves with the
 * command's exit; it rejects with a RunnerError when the sandbox cannot be made.
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
  /**
   * The one server on this machine user code may reach although it has no network (an s3
   * job's gateway, s3-sidecar.ts): inside the sandbox `host` resolves to `address`, and
   * `address:port` is reachable — nothing else is added. Docker: the workers' internal
   * network (`workerRoute`), whose only other end is the host; bubblewrap with its own
   * network namespace: a forwarder from the sandbox's loopback `port` to `address:port`.
   */
  endpoint?: WorkerEndpoint
}

/** A server a worker reaches without a network (see WorkerSpec.endpoint). */
export interface WorkerEndpoint {
  /** the name (or IP address) in the URL user code dials */
  host: string
  /** the IP address the server listens on */
  address: string
  port: number
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

export interface ServiceSpec {
  /** label for containers/logs, e.g. "<project>-<pipeline>" */
  name: string
  /** container image (docker); ignored by the local runner */
  image: string
  cmd: string[]
  /** fed to stdin, then closed (already joined with "\n" plus a trailing "\n") */
  stdin?: string
  env: Record<string, string>
  /** host dir seen read-only at /pfs (a service's input); none for a spout */
  inputsDir?: string
  /** extra read-only mounts: host path -> container path (a spout's /pachctl) */
  mounts?: {host: string; container: string}[]
  /** ports published on the host's loopback: host port `external` -> `internal` in the container */
  ports?: {external: number; internal: number}[]
  cpu?: number
  memoryBytes?: number
  user?: string
  workingDir?: string
  onOutput(stream: 'stdout' | 'stderr', chunk: Buffer): void
}

export interface ServiceExit {
  /** exit code of the code (-1 when it could not start or was killed) */
  exitCode: number
  /** why it could not start or was killed, if so */
  error?: string
}

export interface ServiceTask {
  /** resolves (never rejects) when the code has exited */
  readonly done: Promise<ServiceExit>
  /** stop the code and clean up; resolves when it is gone */
  stop(): Promise<void>
}

/**
 * How long-running code reaches a server on this machine: `host` is the name the code dials;
 * `listen`, when set, an address the server must listen on for that to work (the Docker
 * bridge's gateway), else the server's own loopback address is reachable.
 */
export interface ServiceRoute {
  host: string
  listen?: string
}

/** The user's terminal, for an attached run (the CLI's process.stdin/stdout/stderr). */
export interface Terminal {
  stdin: NodeJS.ReadableStream & {isTTY?: boolean; setRawMode?: (raw: boolean) => unknown; fd?: number}
  stdout: NodeJS.WritableStream & {isTTY?: boolean; columns?: number; rows?: number; fd?: number; on(event: 'resize', fn: () => void): unknown; off(event: 'resize', fn: () => void): unknown}
  stderr: NodeJS.WritableStream & {fd?: number}
}

/** One command in a worker's sandbox, attached to a terminal (see the header). */
export interface AttachSpec extends Omit<WorkerSpec, 'endpoint'> {
  cmd: string[]
  env: Record<string, string>
  /** fed to stdin then closed (shell: false only) */
  stdin?: string
  /** interactive: the terminal's stdin, a TTY when the terminal is one */
  shell: boolean
  terminal: Terminal
  /** ends the run (its code killed) */
  signal?: AbortSignal
}
/**
 * The ids a local engine gives image references now (`sha256:…`), read without pulling: an
 * image the engine lacks maps to undefined; the whole answer is undefined when no engine
 * answers. The core's view of "which image does this tag name today" (pps/image-drift.ts).
 */
export type LocalImageIds = (images: readonly string[]) => Promise<ReadonlyMap<string, string | undefined> | undefined>

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
  /** Whether the engine has this image (a reference or an id) now, without pulling it. */
  hasImage?(image: string): Promise<boolean>
  startWorker(spec: WorkerSpec): Promise<Worker>
  /** Start long-running user code (see the header); rejects with a RunnerError when it cannot be created. */
  startService?(spec: ServiceSpec): Promise<ServiceTask>
  /** Where long-running code reaches a server on this machine. */
  serviceRoute?(): Promise<ServiceRoute>
  /**
   * Where a server must listen for workers given it as their `endpoint` to reach it with no
   * other network (Docker: the gateway of an internal network; locally: loopback). Without
   * it, `serviceRoute` is used.
   */
  workerRoute?(): Promise<ServiceRoute>
  /** Run one command attached to a terminal (see the header); resolves with its exit. */
  runAttached?(spec: AttachSpec): Promise<ServiceExit>
  /** release shared resources (e.g. the docker client); long-running tasks are stopped */
  close?(): Promise<void>
}
