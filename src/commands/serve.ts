import {Flags} from '@oclif/core'
import {PachCommand, writeOut} from '../cli/base-command.js'
import {buildInfo} from '../cli/build-info.js'
import {jobFlags, jobLine, runnerChoice, runnerFactory} from '../cli/jobs.js'
import {pachctlConfigPath, setPachctlContext} from '../cli/pachctl-config.js'
import {CancelledError, printable} from '../core/errors.js'
import {needsReexec, reexecWith, runsOnGlibc, SERVE_MALLOC_ENV, watchParent} from '../cli/malloc-reexec.js'
import {tuneServeHeap} from '../cli/serve-heap.js'

interface ServeResult {
  address: string
  pachd_address: string
  /** the S3 gateway's endpoint (http://host:port), unless --no-s3 */
  s3_endpoint?: string
  context?: {name: string; config: string}
}

const DEFAULT_CONTEXT = 'pach'

/** The pachd version pach serve reports (the 2.x API it speaks). */
export const SERVED_PACHD_VERSION = {major: 2, minor: 12, micro: 0}

/**
 * `pach serve`: pachd's gRPC API and the S3 gateway on this project (src/server/serve.ts), in the foreground
 * until Ctrl-C/SIGTERM; the daemon runs jobs and cron meanwhile. It prints the address and
 * how to point pachctl or the Python SDK at it (with --json: one JSON object on stdout once
 * it listens; everything else goes to stderr).
 */
export default class Serve extends PachCommand<typeof Serve, ServeResult> {
  static override summary = "Serve this project over pachd's gRPC API, so pachctl, the Python SDK and notebooks work against it, and over Pachyderm's S3 gateway; runs jobs and cron meanwhile."
  static override description =
    'Binds localhost only unless --address (or --s3-address) names another host, which also needs a token (--token or PACH_SERVE_TOKEN) that every client must send; S3 clients sign with the token as access key and secret. Every branch is a bucket <branch>.<repo>.<project>. Stop it with Ctrl-C.'
  static override examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve --set-context            # then: pachctl list repo',
    '<%= config.bin %> serve --address localhost:30651 --json',
    '<%= config.bin %> serve --s3-address localhost:9000   # then: aws --endpoint-url http://localhost:9000 s3 ls',
    'PACH_SERVE_TOKEN=secret <%= config.bin %> serve --address 0.0.0.0:30650',
  ]
  static override flags = {
    address: Flags.string({description: 'host:port to listen on', default: 'localhost:30650', env: 'PACH_SERVE_ADDRESS'}),
    token: Flags.string({description: 'the token clients must send (authn-token); required beyond localhost', env: 'PACH_SERVE_TOKEN'}),
    'set-context': Flags.string({
      description: "write a pachctl context for this server into $PACH_CONFIG or ~/.pachyderm/config.json and make it active (default name: 'pach')",
      helpValue: 'NAME',
    }),
    's3-address': Flags.string({description: "host:port of the S3 gateway [default: the --address host, port 30600]", env: 'PACH_S3_ADDRESS'}),
    s3: Flags.boolean({description: 'serve the S3 gateway (--no-s3: do not)', default: true, allowNo: true}),
    runner: jobFlags.runner,
  }

  // `--set-context` takes an optional NAME (pachctl-style `[NAME]`), which oclif's flags
  // cannot express: a bare `--set-context` (last, or followed by another flag) gets the default
  // first of all, on glibc: start again with malloc tuned for a server (cli/malloc-reexec.ts)
  override async init(): Promise<void> {
    if (needsReexec(process.env, SERVE_MALLOC_ENV, runsOnGlibc())) await reexecWith(SERVE_MALLOC_ENV)
    const i = this.argv.indexOf('--set-context')
    if (i >= 0 && (i === this.argv.length - 1 || this.argv[i + 1]!.startsWith('-'))) this.argv.splice(i + 1, 0, DEFAULT_CONTEXT)
    await super.init()
  }

  async exec(): Promise<ServeResult> {
    const {startServe} = await import('../server/serve.js')
    // fewer full collections while gigabytes stream through (cli/serve-heap.ts)
    tuneServeHeap()
    // re-executed (see init): a parent that dies without forwarding a signal stops the server too
    watchParent(() => this.abort.abort(new CancelledError('interrupted')))
    const f = this.flags
    const pach = this.pach
    const b = buildInfo()
    const handle = await startServe(pach, {
      address: f.address,
      token: f.token || undefined,
      s3Address: f.s3 ? f['s3-address'] || undefined : false,
      version: {
        ...SERVED_PACHD_VERSION,
        git_commit: b.git_commit,
        git_tree_modified: String(b.git_tree_modified),
        build_date: b.build_date,
        platform: `${process.platform}/${process.arch}`,
        runtime: `pach ${this.config.version} (node ${process.version})`,
      },
      daemon: {
        runner: runnerFactory(pach, runnerChoice(pach, f.runner), this.signal),
        onEvent: (e) => {
          if (e.type === 'job-end') process.stderr.write(`${jobLine(e.job)}\n`)
        },
      },
      onPipelineNote: (p, note) => process.stderr.write(`pach serve: ${p.project === 'default' ? '' : `${p.project}/`}${p.pipeline}: ${printable(note)}\n`),
      onError: (where, e) => process.stderr.write(`pach serve: internal error in ${where} (a bug in pach): ${printable(e instanceof Error ? (e.stack ?? e.message) : String(e))}\n`),
    })
    const pachdAddress = `grpc://${handle.address}`
    const s3Endpoint = handle.s3Address ? `http://${handle.s3Address}` : undefined
    const result: ServeResult = {address: handle.address, pachd_address: pachdAddress, ...(s3Endpoint && {s3_endpoint: s3Endpoint})}
    if (f['set-context'] !== undefined) {
      const name = f['set-context'] || DEFAULT_CONTEXT
      const config = pachctlConfigPath()
      setPachctlContext(config, name, {pachd_address: pachdAddress, ...(f.token ? {session_token: f.token} : {}), cluster_deployment_id: handle.deploymentId})
      result.context = {name, config}
    }
    if (this.format === 'json') writeOut(JSON.stringify(result) + '\n')
    else {
      process.stderr.write(`pach serve: listening on ${pachdAddress} (${pach.root})\n`)
      if (result.context) process.stderr.write(`pach serve: pachctl context "${result.context.name}" is active in ${result.context.config}\n`)
      else process.stderr.write(`  connect pachctl:    pachctl connect ${pachdAddress}   (or PACHD_ADDRESS=${pachdAddress})\n`)
      process.stderr.write(`  connect Python:     Client.from_pachd_address("${pachdAddress}")\n`)
      if (s3Endpoint) process.stderr.write(`  S3 gateway:         aws --endpoint-url ${s3Endpoint} s3 ls   (buckets: <branch>.<repo>.<project>)\n`)
      process.stderr.write(`  stop:               Ctrl-C\n`)
    }
    await new Promise<void>((resolve) => {
      if (this.signal.aborted) resolve()
      this.signal.addEventListener('abort', () => resolve())
    })
    process.stderr.write('pach serve: stopping\n')
    await handle.stop()
    return result
  }

  // everything was printed while serving; nothing is left to print at the end
  protected override print(): void {}

  human(): string {
    return ''
  }
}
