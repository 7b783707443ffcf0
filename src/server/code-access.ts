/**
 * How spouts' and services' code reaches `pach serve` (the core's CodeAccess, continuous.ts):
 * a per-pipeline token, registered in the server's AuthConfig.pipelineTokens for as long as
 * the code runs (what it may do: grpc/access.ts), and an address the code can dial.
 *
 * Routes, from the runner (`Runner.serviceRoute`):
 * - local code shares the host's network: it dials the server's own address (`localhost`
 *   when the server listens on every address);
 * - Docker containers dial `host.docker.internal`, mapped to the bridge network's gateway.
 *   A server bound to loopback only (the default) cannot be reached there, so a second
 *   listener is opened on the gateway address (a random port) while any container code
 *   holds a token, and closed with the last one. It accepts pipeline tokens only: its own
 *   root token is random and never handed out, so a call without a pipeline token is
 *   UNAUTHENTICATED. A server already listening on every address (0.0.0.0 / ::, which needs
 *   a token) is dialled on its own port instead.
 */
import {randomBytes} from 'node:crypto'
import type {CodeAccess, PipelineRef} from '../core/pps/continuous.js'
import type {Runner} from '../core/pps/runner.js'

/** A listener opened for container code: its port, and how to close it. */
export interface CodeListener {
  port: number
  close(): Promise<void>
}

const isWildcard = (host: string) => ['0.0.0.0', '::', '[::]'].includes(host)

export class ServerCodeAccess implements CodeAccess {
  private readonly listeners = new Map<string, {ready: Promise<CodeListener>; users: number}>()
  /** token → the listen address it holds */
  private readonly held = new Map<string, string>()

  constructor(
    private readonly tokens: Map<string, PipelineRef>,
    private readonly server: {host: string; port: number},
    private readonly listen: (address: string) => Promise<CodeListener>,
  ) {}

  async grant(runner: Runner, p: PipelineRef): Promise<{host: string; port: number; token: string}> {
    const route = runner.serviceRoute ? await runner.serviceRoute() : {host: 'localhost'}
    const token = randomBytes(32).toString('hex')
    if (!route.listen || isWildcard(this.server.host)) {
      this.tokens.set(token, p)
      const host = route.listen ? route.host : isWildcard(this.server.host) ? 'localhost' : this.server.host
      return {host, port: this.server.port, token}
    }
    let l = this.listeners.get(route.listen)
    if (!l) {
      const ready = this.listen(route.listen)
      l = {ready, users: 0}
      this.listeners.set(route.listen, l)
      ready.catch(() => this.listeners.delete(route.listen!))
    }
    l.users++
    this.held.set(token, route.listen)
    try {
      const {port} = await l.ready
      this.tokens.set(token, p)
      return {host: route.host, port, token}
    } catch (e) {
      this.revoke(token)
      throw e
    }
  }

  revoke(token: string): void {
    this.tokens.delete(token)
    const at = this.held.get(token)
    if (at === undefined) return
    this.held.delete(token)
    const l = this.listeners.get(at)
    if (!l || --l.users > 0) return
    this.listeners.delete(at)
    void l.ready.then((x) => x.close()).catch(() => undefined)
  }

  /** Close every listener (the server is stopping; the tasks are already stopped). */
  async close(): Promise<void> {
    const all = [...this.listeners.values()]
    this.listeners.clear()
    this.held.clear()
    this.tokens.clear()
    await Promise.all(all.map((l) => l.ready.then((x) => x.close()).catch(() => undefined)))
  }
}
