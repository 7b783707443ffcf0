/**
 * The Docker container policy (src/runner/container-policy.ts), rule by rule, on the create
 * options alone: no engine needed. The docker conformance tests (test/runner) check the same
 * rules on running containers.
 */
import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeEach, describe, expect, it, onTestFinished} from 'vitest'
import {RunnerError} from '../../src/core/errors.js'
import type {ServiceSpec, WorkerSpec} from '../../src/core/pps/runner.js'
import {CAP_DROP, CONTROL_LABEL, CONTROL_MOUNT, containerOptions, ENDPOINT_NETWORK, networkGateway, OWNER_LABEL, SERVICE_LABEL, serviceContainerOptions, WORKER_LABEL} from '../../src/runner/container-policy.js'

let root: string
let spec: WorkerSpec
/** a stand-in for the engine's socket: a plain file the policy must never bind */
let socket: string

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'pach-policy-test-'))
  onTestFinished(() => rmSync(root, {recursive: true, force: true}))
  mkdirSync(join(root, 'run'))
  socket = join(root, 'run', 'engine.sock')
  writeFileSync(socket, '')
  spec = {image: 'img:1', inputsDir: join(root, 'pfs'), outDir: join(root, 'out'), network: false, name: 'p-job-0'}
})

function secret(name = 'token'): string {
  const p = join(root, name)
  writeFileSync(p, 's3cr3t')
  return p
}

describe('container policy', () => {
  it('has no network unless the spec asks for one', () => {
    expect(containerOptions(spec, socket).HostConfig!.NetworkMode).toBe('none')
    expect(containerOptions({...spec, network: true}, socket).HostConfig!.NetworkMode).toBe('bridge')
    expect(containerOptions(spec, socket).HostConfig!.ExtraHosts).toBeUndefined()
  })

  it('with an endpoint (an s3 job) and no network: the internal endpoint network, the endpoint name mapped to its address', () => {
    const endpoint = {host: 's3-abc', address: '172.18.0.1', port: 30600}
    const o = containerOptions({...spec, endpoint}, socket).HostConfig!
    expect(o.NetworkMode).toBe(ENDPOINT_NETWORK)
    expect(o.ExtraHosts).toEqual(['s3-abc:172.18.0.1'])
    // an endpoint given by address needs no name; a spec with a network keeps its bridge
    expect(containerOptions({...spec, endpoint: {...endpoint, host: '172.18.0.1'}}, socket).HostConfig!.ExtraHosts).toBeUndefined()
    expect(containerOptions({...spec, network: true, endpoint}, socket).HostConfig!.NetworkMode).toBe('bridge')
  })

  it('is never privileged: capabilities only dropped, no-new-privileges', () => {
    const h = containerOptions(spec, socket).HostConfig!
    expect(h.Privileged).toBe(false)
    expect(h.CapAdd).toBeUndefined()
    expect(h.CapDrop).toEqual(CAP_DROP)
    expect(CAP_DROP).toEqual(expect.arrayContaining(['NET_RAW', 'MKNOD', 'AUDIT_WRITE']))
    expect(h.SecurityOpt).toEqual(['no-new-privileges'])
  })

  it('binds inputs read-only at /pfs and the output read-write at /pfs/out, nothing else by default', () => {
    expect(containerOptions(spec, socket).HostConfig!.Binds).toEqual([`${spec.inputsDir}:/pfs:ro`, `${spec.outDir}:/pfs/out:rw`])
  })

  it('binds the control directory read-write at its hidden path and labels its root', () => {
    const ctl = join(root, 'ctl', 'w')
    const o = containerOptions(spec, socket, ctl)
    expect(o.HostConfig!.Binds).toContain(`${ctl}:${CONTROL_MOUNT}:rw`)
    expect(o.Labels).toEqual({[WORKER_LABEL]: 'p-job-0', [OWNER_LABEL]: `${hostname()}/${process.pid}`, [CONTROL_LABEL]: join(root, 'ctl')})
  })

  it('mounts secrets read-only, outside /pfs and the control path', () => {
    const token = secret()
    expect(containerOptions({...spec, mounts: [{host: token, container: '/secrets/token'}]}, socket).HostConfig!.Binds).toContain(`${token}:/secrets/token:ro`)
    for (const container of ['/pfs', '/pfs/in/x', CONTROL_MOUNT, `${CONTROL_MOUNT}/stdin`, 'relative/path', '/a:b', '/a,b']) {
      expect(() => containerOptions({...spec, mounts: [{host: token, container}]}, socket), container).toThrow(RunnerError)
    }
    expect(() => containerOptions({...spec, mounts: [{host: join(root, 'missing'), container: '/secrets/x'}]}, socket)).toThrow(/does not exist/)
  })

  it('refuses host paths a bind string cannot express', () => {
    expect(() => containerOptions({...spec, inputsDir: join(root, 'a:b')}, socket)).toThrow(/contains ':' or ','/)
    expect(() => containerOptions({...spec, outDir: join(root, 'a,b')}, socket)).toThrow(/contains ':' or ','/)
  })

  it('never mounts the Docker socket: the socket, a directory holding it, a link to one, the default sockets', () => {
    symlinkSync(join(root, 'run'), join(root, 'link'))
    for (const host of [socket, join(root, 'run'), join(root, 'link'), root, '/', '/var/run/docker.sock', '/run/docker.sock', '/var/run', '/run']) {
      expect(() => containerOptions({...spec, mounts: [{host, container: '/secret'}]}, socket), host).toThrow(/Docker socket/)
    }
    // inputs and outputs are checked too
    expect(() => containerOptions({...spec, inputsDir: join(root, 'run')}, socket)).toThrow(/Docker socket/)
    // any path naming docker.sock, even one that is not the engine's
    const named = join(root, 'docker.sock.d')
    mkdirSync(named)
    expect(() => containerOptions({...spec, mounts: [{host: named, container: '/secret'}]}, socket)).toThrow(/Docker socket/)
  })

  it('applies cpu and memory limits (no swap beyond the memory limit), and none when not given', () => {
    const h = containerOptions({...spec, cpu: 0.5, memoryBytes: 64 * 1024 * 1024}, socket).HostConfig!
    expect(h.NanoCpus).toBe(500_000_000)
    expect(h.Memory).toBe(64 * 1024 * 1024)
    expect(h.MemorySwap).toBe(64 * 1024 * 1024)
    const none = containerOptions({...spec, cpu: 0, memoryBytes: 0}, socket).HostConfig!
    expect(none.NanoCpus).toBeUndefined()
    expect(none.Memory).toBeUndefined()
  })

  it('runs a sleeping container under an init, as the spec user in the spec workingDir', () => {
    const o = containerOptions({...spec, user: '65534', workingDir: '/tmp'}, socket)
    expect(o.Image).toBe('img:1')
    expect(o.Entrypoint).toEqual(['sleep', '2147483647'])
    expect(o.HostConfig!.Init).toBe(true)
    expect(o.User).toBe('65534')
    expect(o.WorkingDir).toBe('/tmp')
    const plain = containerOptions(spec, socket)
    expect(plain.User).toBeUndefined()
    expect(plain.WorkingDir).toBeUndefined()
  })
})

describe('container policy of long-running code (spouts, services)', () => {
  const svc = (over: Partial<ServiceSpec> = {}): ServiceSpec => ({name: 'default-feed', image: 'img:1', cmd: ['python3', 'feed.py'], env: {A: '1'}, onOutput: () => {}, ...over})

  it("runs the user's cmd with a network, host.docker.internal at the host gateway, ports on loopback only", () => {
    const o = serviceContainerOptions(svc({ports: [{external: 30080, internal: 8080}]}), socket)
    expect(o.Entrypoint).toEqual(['python3', 'feed.py'])
    expect(o.Env).toEqual(['A=1'])
    expect(o.HostConfig!.NetworkMode).toBe('bridge')
    expect(o.HostConfig!.ExtraHosts).toEqual(['host.docker.internal:host-gateway'])
    expect(o.HostConfig!.PortBindings).toEqual({'8080/tcp': [{HostIp: '127.0.0.1', HostPort: '30080'}]})
    expect(o.Labels).toMatchObject({[SERVICE_LABEL]: 'default-feed', [WORKER_LABEL]: 'default-feed', [OWNER_LABEL]: `${hostname()}/${process.pid}`})
  })

  it('keeps the rest of the policy: never privileged, inputs and mounts read-only, never the Docker socket', () => {
    const o = serviceContainerOptions(svc({inputsDir: join(root, 'pfs'), mounts: [{host: secret(), container: '/pachctl'}]}), socket)
    expect(o.HostConfig).toMatchObject({Privileged: false, CapDrop: CAP_DROP, SecurityOpt: ['no-new-privileges'], Init: true})
    expect(o.HostConfig!.CapAdd).toBeUndefined()
    expect(o.HostConfig!.Binds).toEqual([`${join(root, 'pfs')}:/pfs:ro`, `${join(root, 'token')}:/pachctl:ro`])
    expect(() => serviceContainerOptions(svc({mounts: [{host: socket, container: '/x'}]}), socket)).toThrow(RunnerError)
    expect(() => serviceContainerOptions(svc({ports: [{external: 0, internal: 8080}]}), socket)).toThrow(/invalid port mapping/)
  })
})

describe('the host address on a docker network (networkGateway)', () => {
  it('is the IPAM gateway when the engine records one', () => {
    expect(networkGateway({Config: [{Subnet: '172.18.0.0/16', Gateway: '172.18.0.1'}]})).toBe('172.18.0.1')
    expect(networkGateway({Config: [{Subnet: 'fd00::/64', Gateway: 'fd00::1'}, {Subnet: '10.9.0.0/24', Gateway: '10.9.0.254'}]})).toBe('10.9.0.254')
  })
  it("is the subnet's first host address when the engine records no gateway (Docker 20.10's default bridge)", () => {
    expect(networkGateway({Config: [{Subnet: '172.17.0.0/16'}]})).toBe('172.17.0.1')
    expect(networkGateway({Config: [{Subnet: '192.168.5.64/26'}]})).toBe('192.168.5.65')
    expect(networkGateway({Config: [{Subnet: '10.1.2.3/8'}]})).toBe('10.0.0.1')
  })
  it('is undefined without an IPv4 subnet or gateway', () => {
    expect(networkGateway(undefined)).toBeUndefined()
    expect(networkGateway({Config: []})).toBeUndefined()
    expect(networkGateway({Config: [{Subnet: 'fd00::/64'}]})).toBeUndefined()
    expect(networkGateway({Config: [{Subnet: '10.0.0.0/31'}]})).toBeUndefined()
    expect(networkGateway({Config: [{Subnet: 'junk'}]})).toBeUndefined()
  })
})
