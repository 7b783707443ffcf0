/**
 * Long-running user code on the Docker runner (a spout's or a service's; the Runner
 * interface's `startService`): one container per task, running the user's cmd as its
 * entrypoint, for as long as the code runs.
 *
 * The container follows the policy of container-policy.ts (`serviceContainerOptions`):
 * a `bridge` network with `host.docker.internal` mapped to the host gateway, published ports
 * on 127.0.0.1 only, inputs read-only at /pfs, extra mounts (a spout's /pachctl) read-only,
 * capabilities dropped, no-new-privileges, never the Docker socket, limits when given. Its
 * labels name the task and its owner process, so `removeOrphans` (docker.ts) removes it after
 * a pach that was killed.
 *
 * stdin (transform.stdin): written to a file in a per-task host directory (0700, removed
 * with the task), mounted read-only at /.pach-stdin, and fed by `/bin/sh -c 'exec "$@" <
 * /.pach-stdin'` in front of the cmd (so stdin needs a shell in the image, as Pachyderm's
 * `cmd: [sh]` specs have anyway).
 *
 * Output is attached before the start and streamed to `onOutput` as it comes. The task is
 * done when the container exits (its exit code) or cannot start; the container is then
 * removed. `stop` is `docker stop` with a STOP_GRACE_S grace (SIGTERM, then SIGKILL), then
 * removal.
 */
import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {randomBytes} from 'node:crypto'
import type Dockerode from 'dockerode'
import {RunnerError} from '../core/errors.js'
import type {ServiceExit, ServiceSpec, ServiceTask} from '../core/pps/runner.js'
import {serviceContainerOptions} from './container-policy.js'

/** Seconds `docker stop` waits after SIGTERM before SIGKILL. */
export const STOP_GRACE_S = 5

const STDIN_MOUNT = '/.pach-stdin'

export async function startDockerService(docker: Dockerode, spec: ServiceSpec, socketPath: string): Promise<ServiceTask> {
  if (spec.cmd.length === 0) throw new RunnerError(`${spec.name}: transform.cmd is empty`)
  let dir: string | undefined
  let run = spec
  if (spec.stdin !== undefined) {
    dir = mkdtempSync(join(tmpdir(), 'pach-docker-svc-'))
    const file = join(dir, 'stdin')
    writeFileSync(file, spec.stdin)
    chmodSync(file, 0o644)
    chmodSync(dir, 0o755)
    run = {
      ...spec,
      stdin: undefined,
      cmd: ['/bin/sh', '-c', `exec "$@" < ${STDIN_MOUNT}`, 'sh', ...spec.cmd],
      mounts: [...(spec.mounts ?? []), {host: file, container: STDIN_MOUNT}],
    }
  }
  const removeDir = () => {
    if (dir) rmSync(dir, {recursive: true, force: true})
  }
  let container: Dockerode.Container
  try {
    const create = serviceContainerOptions(run, socketPath)
    const name = `pach-svc-${spec.name.replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 80)}-${randomBytes(4).toString('hex')}`
    container = await docker.createContainer({...create, name})
  } catch (e) {
    removeDir()
    if (e instanceof RunnerError) throw e
    throw new RunnerError(`cannot create a container from ${spec.image} for ${spec.name}: ${oneLine(e)}`)
  }
  const remove = () => container.remove({force: true}).then(() => undefined, () => undefined)
  try {
    const stream = (await container.attach({stream: true, stdout: true, stderr: true})) as NodeJS.ReadableStream
    const out = {write: (c: Buffer) => (spec.onOutput('stdout', c), true)} as unknown as NodeJS.WritableStream
    const err = {write: (c: Buffer) => (spec.onOutput('stderr', c), true)} as unknown as NodeJS.WritableStream
    docker.modem.demuxStream(stream, out, err)
    await container.start()
  } catch (e) {
    await remove()
    removeDir()
    throw new RunnerError(`cannot start ${spec.name} from ${spec.image}: ${oneLine(e)}`)
  }
  const done: Promise<ServiceExit> = container
    .wait()
    .then(
      (r: {StatusCode?: number; Error?: {Message?: string} | null}) => {
        const code = typeof r.StatusCode === 'number' ? r.StatusCode : -1
        return r.Error?.Message ? {exitCode: code, error: r.Error.Message} : {exitCode: code}
      },
      (e: unknown) => ({exitCode: -1, error: oneLine(e)}),
    )
    .then(async (exit) => {
      await remove()
      removeDir()
      return exit
    })
  let stopping: Promise<void> | undefined
  return {
    done,
    stop() {
      stopping ??= (async () => {
        await container.stop({t: STOP_GRACE_S}).catch(() => undefined)
        await done
      })()
      return stopping
    },
  }
}

function oneLine(e: unknown): string {
  const m = (e as {json?: {message?: string}})?.json?.message ?? (e instanceof Error ? e.message : String(e))
  return m.split('\n')[0]!.replace(/^\(HTTP code \d+\) [a-z ]+ - /, '')
}
