/**
 * A local worker's one server without a network (WorkerSpec.endpoint: an s3 job's gateway).
 *
 * Concept: with bubblewrap and `--unshare-net` the sandbox has only its own loopback, so the
 * gateway on the host's loopback is out of reach — as it should be for everything else. The
 * one way in is a unix socket: pach listens on `<scratch>/endpoint.sock` and relays each
 * connection to `address:port`; inside the sandbox a small relay (node, the binary running
 * pach, started as the sandbox's first process) listens on the sandbox's `127.0.0.1:port` and
 * relays to that socket, then runs the worker shell. The endpoint's name resolves through a
 * hosts file bound over /etc/hosts in the sandbox (to 127.0.0.1 inside an isolated sandbox,
 * to `address` when the sandbox shares the host's network). So user code dials exactly the
 * URL it was given (same host, same port: Host-based routing works) and reaches nothing else.
 *
 * Without bubblewrap user code runs on the host's network: an endpoint given by IP address
 * or `localhost` is reachable as is; one that needs a name resolved cannot be (no way to
 * give a host process its own hosts file), and the worker is refused.
 *
 * Invariants: the host relay only ever dials `address:port`; it and its socket are gone when
 * the worker closes (the socket lives in the worker's scratch dir).
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {createConnection, createServer, isIP, type Server, type Socket} from 'node:net'
import {createRequire} from 'node:module'
import {join} from 'node:path'
import {isSea} from 'node:sea'
import type {WorkerEndpoint} from '../core/pps/runner.js'

/**
 * The sandbox's first process: relay 127.0.0.1:<port> to the unix socket, then run
 * `/bin/sh -s` on the inherited stdio. A function body over `require` and `args` ([socket,
 * port]): `node -e` runs it, and so does pach's single executable (its process.execPath is
 * not node), which sees RELAY_ENV at start (runRelayFromEnv, src/cli/binary.ts).
 */
const SANDBOX_RELAY = `
const net = require('node:net'), cp = require('node:child_process')
const [sock, port] = args
delete process.env.PACH_ENDPOINT_RELAY
const pipe = (a, b) => { a.on('error', () => b.destroy()); b.on('error', () => a.destroy()); a.pipe(b); b.pipe(a) }
const srv = net.createServer((c) => pipe(c, net.createConnection(sock)))
srv.on('error', (e) => { process.stderr.write('pach: endpoint relay: ' + e.message + '\\n'); process.exit(1) })
srv.listen(Number(port), '127.0.0.1', () => {
  const sh = cp.spawn('/bin/sh', ['-s'], {stdio: 'inherit'})
  sh.on('exit', (code, sig) => process.exit(code ?? (sig ? 1 : 0)))
})
`

/** Set (to `<socket>\n<port>`) when pach's single executable is started as the sandbox relay. */
export const RELAY_ENV = 'PACH_ENDPOINT_RELAY'

/** In pach's single executable: when started as the sandbox relay, run it (never returns) and answer true. */
export function runRelayFromEnv(): boolean {
  const v = process.env[RELAY_ENV]
  if (v === undefined) return false
  const [sock, port] = v.split('\n')
  new Function('require', 'args', SANDBOX_RELAY)(createRequire(process.execPath), [sock, port])
  return true
}

function relay(a: Socket, b: Socket): void {
  a.on('error', () => b.destroy())
  b.on('error', () => a.destroy())
  a.pipe(b)
  b.pipe(a)
}

export class LocalEndpoint {
  private server: Server | undefined

  /** `isolated`: the sandbox has its own network namespace (bwrap --unshare-net). */
  constructor(
    readonly endpoint: WorkerEndpoint,
    private readonly scratch: string,
    readonly isolated: boolean,
  ) {}

  /** Does the endpoint's host need a hosts entry (a name other than localhost)? */
  get named(): boolean {
    return isIP(this.endpoint.host) === 0 && this.endpoint.host !== 'localhost'
  }

  get socketPath(): string {
    return join(this.scratch, 'endpoint.sock')
  }

  /** Start the host relay (isolated sandboxes only). */
  async start(): Promise<void> {
    if (!this.isolated) return
    const {address, port} = this.endpoint
    const server = createServer((c) => relay(c, createConnection({host: address, port})))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.socketPath, () => resolve())
    })
    this.server = server
  }

  /**
   * bwrap arguments that go before `--`: a hosts file for a named endpoint (`host` in the
   * sandbox is 127.0.0.1 when isolated: the sandbox relay; else the endpoint's address), and
   * RELAY_ENV for pach's single executable.
   */
  bwrapArgs(): string[] {
    const relay = this.isolated && isSea() ? ['--setenv', RELAY_ENV, `${this.socketPath}\n${this.endpoint.port}`] : []
    if (!this.named) return relay
    const file = join(this.scratch, 'hosts')
    let hosts = ''
    try {
      hosts = readFileSync('/etc/hosts', 'utf8')
    } catch {
      hosts = '127.0.0.1 localhost\n'
    }
    writeFileSync(file, `${hosts.endsWith('\n') || hosts === '' ? hosts : hosts + '\n'}${this.isolated ? '127.0.0.1' : this.endpoint.address} ${this.endpoint.host}\n`)
    return [...relay, '--ro-bind', file, '/etc/hosts']
  }

  /**
   * The sandbox's command instead of `/bin/sh -s` (isolated: the relay runs the shell): node
   * runs the relay with `-e`; pach's single executable is told by RELAY_ENV (bwrapArgs).
   */
  command(): string[] {
    if (!this.isolated) return ['/bin/sh', '-s']
    if (isSea()) return [process.execPath]
    return [process.execPath, '-e', `const args = process.argv.slice(1);${SANDBOX_RELAY}`, this.socketPath, String(this.endpoint.port)]
  }

  close(): void {
    this.server?.close()
    this.server = undefined
  }
}
