/**
 * `pach serve` for end-to-end tests: started as a user starts it (the built CLI, in a temp
 * project, `--address localhost:0 --json` so the OS picks a free port), with pach's own client
 * connected to it. Stopped (SIGTERM, then SIGKILL after 5 s) when the test finishes.
 */
import {execa, type ResultPromise} from 'execa'
import {readFileSync} from 'node:fs'
import {onTestFinished} from 'vitest'
import {PachdClient} from '../../src/client/pachd-client.js'
import {BIN, tmpProject, type Project} from './cli.js'

export interface Served {
  project: Project
  /** host:port */
  address: string
  /** grpc://host:port */
  url: string
  /** the S3 gateway's endpoint (http://host:port), unless --no-s3 */
  s3Endpoint?: string
  client: PachdClient
  /** the process that serves: on glibc the child \`pach serve\` re-executed itself as (src/cli/malloc-reexec.ts) */
  pid: number
  /** the line --json printed once listening */
  line: string
  proc: ResultPromise
  /** what the server wrote to stderr so far */
  stderr(): string
  /** what the server wrote to stdout so far (the --json line, and anything node's own flags print) */
  stdout(): string
  /** SIGTERM and wait for the exit; resolves to the exit code */
  stop(): Promise<number>
}

export interface ServeOpts {
  project?: Project
  args?: string[]
  env?: Record<string, string>
  token?: string
  /** node's own flags for the server (e.g. --trace-gc; the re-executed child inherits them) */
  nodeArgs?: string[]
}

export async function serve(opts: ServeOpts = {}): Promise<Served> {
  const project = opts.project ?? (await tmpProject())
  const args = opts.args ?? []
  const proc = execa('node', [...(opts.nodeArgs ?? []), BIN, 'serve', ...(args.includes('--address') ? [] : ['--address', 'localhost:0']), '--json', ...args], {
    cwd: project.dir,
    env: {PACH_DETACH: '', ...opts.env, ...(opts.token ? {PACH_SERVE_TOKEN: opts.token} : {})},
    reject: false,
    buffer: false,
  })
  let err = ''
  let out = ''
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  const first = await new Promise<string>((resolve, reject) => {
    let found = false
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      if (found) return
      // the --json line is the first thing on stdout, unless node's own flags print there too
      const lines = out.split('\n').slice(0, -1)
      const line = opts.nodeArgs?.length ? lines.find((l) => l.startsWith('{"address"')) : lines.length && out.startsWith('{"address"') ? lines[0] : undefined
      if (line) {
        found = true
        resolve(line)
      }
    })
    proc.then((r) => reject(new Error(`pach serve exited ${r.exitCode} before listening: ${err}${out}`)))
  })
  const {address, s3_endpoint: s3Endpoint} = JSON.parse(first) as {address: string; s3_endpoint?: string}
  const client = new PachdClient(`grpc://${address}`, {token: opts.token})
  const kids = readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim()
  const pid = kids ? Number(kids.split(' ')[0]) : proc.pid!
  let stopped: Promise<number> | undefined
  const stop = () =>
    (stopped ??= (async () => {
      client.close()
      if (proc.exitCode === null) proc.kill('SIGTERM')
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000)
      const r = await proc
      clearTimeout(t)
      return r.exitCode ?? -1
    })())
  onTestFinished(async () => {
    await stop()
  })
  return {project, address, url: `grpc://${address}`, s3Endpoint, client, pid, line: first, proc, stderr: () => err, stdout: () => out, stop}
}

/** Poll `fn` every 100 ms until it gives a value (not undefined); fails after `ms` saying `what`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
