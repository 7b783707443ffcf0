/**
 * The container policy: what a Docker worker container may see and do. This file is the
 * security surface of the Docker runner, kept short so that it can be audited in one
 * reading; test/unit/container-policy.test.ts checks each rule on the create options.
 *
 * Rules (the invariants of src/core/pps/runner.ts, as Docker options):
 * - network: NetworkMode `none` unless the spec opts in (`bridge`); a worker with an
 *   `endpoint` (an s3 job) and no network joins ENDPOINT_NETWORK (internal, no
 *   inter-container traffic: it reaches the host's address there and nothing else), with its
 *   endpoint's name in ExtraHosts;
 * - privileges: never privileged, `no-new-privileges`, capabilities only dropped
 *   (NET_RAW, MKNOD, AUDIT_WRITE), never added;
 * - mounts: `<inputsDir>:/pfs:ro`, `<outDir>:/pfs/out:rw`, the worker's control directory
 *   at `/.pach-worker` (rw), and the spec's extra mounts (secrets as files) read-only, never
 *   inside /pfs nor over the control directory; every host path is absolute and free of
 *   `:` and `,` (which a Docker bind string cannot express);
 * - the Docker socket is never mounted: a bind whose host side is, or contains, the engine's
 *   socket (literally or after resolving symlinks) is refused, as is any path naming
 *   `docker.sock`;
 * - limits: cpu as NanoCpus, memory as Memory = MemorySwap (no swap beyond it);
 * - the container only sleeps (`sleep 2147483647` under docker-init, which reaps orphans):
 *   user code runs through execs into it (see docker.ts);
 * - labels name the worker, its owner process (`<host>/<pid>`) and its control root, so a
 *   later run can remove the containers of a killed pach.
 *
 * A spec that breaks a rule is a RunnerError before any container exists.
 *
 * Long-running containers (spouts and services, `serviceContainerOptions`) follow the same
 * rules except: they run the user's cmd as their entrypoint (no worker shell), they have a
 * network (`bridge`) with `host.docker.internal` mapped to the host gateway (how they reach
 * `pach serve`), and their published ports bind the host's loopback only (127.0.0.1).
 */
import {existsSync, realpathSync} from 'node:fs'
import {isIP} from 'node:net'
import {hostname} from 'node:os'
import {dirname, isAbsolute, resolve} from 'node:path'
import type Dockerode from 'dockerode'
import {RunnerError} from '../core/errors.js'
import type {ServiceSpec, WorkerSpec} from '../core/pps/runner.js'

/** Capabilities removed from Docker's default set; none are ever added. */
export const CAP_DROP = ['NET_RAW', 'MKNOD', 'AUDIT_WRITE']
/** Label put on every worker container, so leftovers (after a crash) can be found. */
export const WORKER_LABEL = 'io.pach.worker'
/** `<host>/<pid>` of the pach process that created the container. */
export const OWNER_LABEL = 'io.pach.owner'
/** The container's control root on the host (removed with an orphaned container). */
export const CONTROL_LABEL = 'io.pach.control'
/** Where the worker's control directory (datum stdin/stdout/stderr files) is mounted. */
export const CONTROL_MOUNT = '/.pach-worker'

/**
 * The network of workers with an `endpoint` (an s3 job's gateway) and no network of their
 * own: internal (no route out of the host), without inter-container traffic, so a container
 * there reaches the host's address on it (the gateway, where the server listens) and nothing
 * else. Made once by the runner (docker.ts workerRoute) and kept, like an image.
 */
export const ENDPOINT_NETWORK = 'pach-endpoint'

/** A docker network's IPAM block, as `inspect` gives it. */
export interface NetworkIpam {
  Config?: {Subnet?: string; Gateway?: string}[]
}

/**
 * The host's address on a docker network: its IPAM gateway, or, when the engine records none
 * (Docker 20.10 leaves it out for the default bridge whose address it picked itself), the
 * first host address of its IPv4 subnet, which is the address the engine gives the bridge
 * then. undefined when neither is there.
 */
export function networkGateway(ipam: NetworkIpam | undefined): string | undefined {
  const configs = ipam?.Config ?? []
  const gateway = configs.find((c) => c.Gateway && isIP(c.Gateway) === 4)?.Gateway
  if (gateway) return gateway
  for (const c of configs) {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(c.Subnet ?? '')
    if (!m || isIP(`${m[1]}.${m[2]}.${m[3]}.${m[4]}`) !== 4 || Number(m[5]) > 30) continue
    const bits = Number(m[5])
    const base = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0
    const first = ((base & mask) + 1) >>> 0
    return [first >>> 24, (first >>> 16) & 255, (first >>> 8) & 255, first & 255].join('.')
  }
  return undefined
}

/** Where the engine listens unless the client says otherwise. */
export const DEFAULT_SOCKET = '/var/run/docker.sock'
/** Container create options for a worker; throws RunnerError for a spec that breaks an invariant. */
export function containerOptions(spec: WorkerSpec, socketPath: string = DEFAULT_SOCKET, controlDir?: string): Dockerode.ContainerCreateOptions {
  const binds: string[] = [`${hostPath(spec.inputsDir, 'inputsDir')}:/pfs:ro`, `${hostPath(spec.outDir, 'outDir')}:/pfs/out:rw`]
  if (controlDir !== undefined) binds.push(`${hostPath(controlDir, 'control directory')}:${CONTROL_MOUNT}:rw`)
  binds.push(...mountBinds(spec.mounts, CONTROL_MOUNT))
  assertNoDockerSocket(binds, socketPath)
  const hostConfig = hardenedHostConfig(spec, {Binds: binds, NetworkMode: spec.network ? 'bridge' : spec.endpoint ? ENDPOINT_NETWORK : 'none'})
  if (spec.endpoint && !isIP(spec.endpoint.host)) hostConfig.ExtraHosts = [`${spec.endpoint.host}:${spec.endpoint.address}`]
  const opts: Dockerode.ContainerCreateOptions = {
    Image: spec.image,
    // Entrypoint replaces the image's entrypoint and CMD: the container only waits for execs
    Entrypoint: ['sleep', '2147483647'],
    Labels: {
      [WORKER_LABEL]: spec.name,
      [OWNER_LABEL]: `${hostname()}/${process.pid}`,
      ...(controlDir !== undefined ? {[CONTROL_LABEL]: dirname(resolve(controlDir))} : {}),
    },
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    HostConfig: hostConfig,
  }
  if (spec.user) opts.User = spec.user
  if (spec.workingDir) opts.WorkingDir = spec.workingDir
  return opts
}

/** Label put on every long-running container (spouts, services): its task name. */
export const SERVICE_LABEL = 'io.pach.service'

/** Container create options for long-running code (see the header); RunnerError for a spec that breaks a rule. */
export function serviceContainerOptions(spec: ServiceSpec, socketPath: string = DEFAULT_SOCKET): Dockerode.ContainerCreateOptions {
  const binds: string[] = []
  if (spec.inputsDir !== undefined) binds.push(`${hostPath(spec.inputsDir, 'inputsDir')}:/pfs:ro`)
  binds.push(...mountBinds(spec.mounts))
  assertNoDockerSocket(binds, socketPath)
  const ports: Record<string, {HostIp: string; HostPort: string}[]> = {}
  const exposed: Record<string, object> = {}
  for (const p of spec.ports ?? []) {
    if (!(Number.isInteger(p.internal) && p.internal > 0 && p.internal < 65536 && Number.isInteger(p.external) && p.external > 0 && p.external < 65536)) {
      throw new RunnerError(`invalid port mapping ${p.external} -> ${p.internal}`)
    }
    ports[`${p.internal}/tcp`] = [{HostIp: '127.0.0.1', HostPort: String(p.external)}]
    exposed[`${p.internal}/tcp`] = {}
  }
  const hostConfig = hardenedHostConfig(spec, {Binds: binds, NetworkMode: 'bridge', ExtraHosts: ['host.docker.internal:host-gateway'], PortBindings: ports})
  const stdin = spec.stdin !== undefined
  const opts: Dockerode.ContainerCreateOptions = {
    Image: spec.image,
    Entrypoint: spec.cmd,
    Cmd: [],
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Labels: {[WORKER_LABEL]: spec.name, [SERVICE_LABEL]: spec.name, [OWNER_LABEL]: `${hostname()}/${process.pid}`},
    ExposedPorts: exposed,
    AttachStdin: stdin,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: stdin,
    StdinOnce: stdin,
    Tty: false,
    HostConfig: hostConfig,
  }
  if (spec.user) opts.User = spec.user
  if (spec.workingDir) opts.WorkingDir = spec.workingDir
  return opts
}

/**
 * Read-only binds for a spec's extra mounts; RunnerError for a source that does not exist, a
 * target Docker's bind syntax cannot carry, a target inside /pfs, or one under `reserved`.
 */
function mountBinds(mounts: readonly {host: string; container: string}[] | undefined, reserved?: string): string[] {
  const binds: string[] = []
  for (const m of mounts ?? []) {
    const host = hostPath(m.host, 'mount')
    if (!existsSync(host)) throw new RunnerError(`mount source ${host} does not exist`)
    if (!isAbsolute(m.container) || m.container.includes(':') || m.container.includes(',')) {
      throw new RunnerError(`mount target ${JSON.stringify(m.container)} must be an absolute path without ':' or ','`)
    }
    if (m.container === '/pfs' || m.container.startsWith('/pfs/')) throw new RunnerError(`mount target ${m.container} is inside /pfs`)
    if (reserved !== undefined && (m.container === reserved || m.container.startsWith(`${reserved}/`))) {
      throw new RunnerError(`mount target ${m.container} is reserved for the worker`)
    }
    binds.push(`${host}:${m.container}:ro`)
  }
  return binds
}

/**
 * The host config every pach container gets (never privileged, CAP_DROP, no new privileges,
 * an init process, the spec's CPU and memory limits with no swap beyond memory), over
 * `base` (binds, network, ports).
 */
function hardenedHostConfig(spec: {cpu?: number; memoryBytes?: number}, base: Dockerode.HostConfig): Dockerode.HostConfig {
  const hostConfig: Dockerode.HostConfig = {...base, Privileged: false, ReadonlyRootfs: false, CapDrop: CAP_DROP, SecurityOpt: ['no-new-privileges'], Init: true}
  if (spec.cpu !== undefined && spec.cpu > 0) hostConfig.NanoCpus = Math.round(spec.cpu * 1e9)
  if (spec.memoryBytes !== undefined && spec.memoryBytes > 0) {
    hostConfig.Memory = Math.round(spec.memoryBytes)
    hostConfig.MemorySwap = hostConfig.Memory
  }
  return hostConfig
}

/** `p` made absolute; a RunnerError when a Docker bind string cannot carry it. */
function hostPath(p: string, what: string): string {
  const abs = resolve(p)
  if (abs.includes(':') || abs.includes(',')) throw new RunnerError(`${what} ${abs} contains ':' or ',', which Docker bind mounts cannot express`)
  return abs
}

/** Reject any bind whose host side is, or contains, the Docker socket (after resolving symlinks). */
function assertNoDockerSocket(binds: string[], socketPath: string): void {
  const sockets = new Set([socketPath, DEFAULT_SOCKET, '/run/docker.sock'])
  for (const s of [...sockets]) {
    try {
      sockets.add(realpathSync(s))
    } catch {
      // socket absent: its literal path is still refused
    }
  }
  for (const b of binds) {
    const host = b.split(':')[0]!
    let real = host
    try {
      real = realpathSync(host)
    } catch {
      // checked literally
    }
    for (const candidate of [host, real]) {
      if (candidate.includes('docker.sock')) throw new RunnerError(`refusing to mount ${host}: the Docker socket is never mounted into user containers`)
      for (const s of sockets) {
        if (candidate === s || s.startsWith(candidate.endsWith('/') ? candidate : candidate + '/')) {
          throw new RunnerError(`refusing to mount ${host}: it contains the Docker socket (${s}), which is never mounted into user containers`)
        }
      }
    }
  }
}
