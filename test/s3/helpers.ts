/**
 * One `pach serve` (the built CLI) per test file, for the S3 suites: started in beforeAll in a
 * fresh project, its S3 endpoint read from the --json line, stopped and removed in afterAll.
 */
import {S3Client} from '@aws-sdk/client-s3'
import {execa, type ResultPromise} from 'execa'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {BIN, runPach, type RunResult} from '../helpers/cli.js'

export interface Gateway {
  dir: string
  endpoint: string
  proc: ResultPromise
  stderr(): string
  pach(args: string[], input?: string | Buffer): Promise<RunResult>
  /** run pach and expect exit 0; stdout */
  ok(args: string[], input?: string | Buffer): Promise<string>
  json<T = any>(args: string[]): Promise<T>
  client(opts?: {key?: string; secret?: string}): S3Client
  /** the environment for aws/boto3/s3cmd processes */
  awsEnv(key?: string): Record<string, string>
  stop(): Promise<void>
}

export async function startGateway(opts: {token?: string; args?: string[]} = {}): Promise<Gateway> {
  const dir = mkdtempSync(join(tmpdir(), 'pach-s3-'))
  const pach = (args: string[], input?: string | Buffer) => runPach(args, {cwd: dir, input})
  const init = await pach(['init'])
  if (init.exitCode !== 0) throw new Error(`pach init: ${init.stderr}`)
  const proc = execa('node', [BIN, 'serve', '--address', 'localhost:0', '--json', ...(opts.args ?? [])], {
    cwd: dir,
    env: {PACH_DETACH: '', ...(opts.token ? {PACH_SERVE_TOKEN: opts.token} : {})},
    reject: false,
    buffer: false,
  })
  let err = ''
  let out = ''
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  const line = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString()
      const nl = out.indexOf('\n')
      if (nl >= 0) {
        proc.stdout!.off('data', onData)
        resolve(out.slice(0, nl))
      }
    }
    proc.stdout!.on('data', onData)
    void proc.then((r) => reject(new Error(`pach serve exited ${r.exitCode}: ${err}${out}`)))
  })
  const endpoint = (JSON.parse(line) as {s3_endpoint: string}).s3_endpoint
  const g: Gateway = {
    dir,
    endpoint,
    proc,
    stderr: () => err,
    pach,
    async ok(args, input) {
      const r = await pach(args, input)
      if (r.exitCode !== 0) throw new Error(`pach ${args.join(' ')} exited ${r.exitCode}: ${r.stderr}`)
      return r.stdout
    },
    async json(args) {
      return JSON.parse(await g.ok([...args, '--json']))
    },
    client(o = {}) {
      const key = o.key ?? opts.token ?? 'pach'
      return new S3Client({
        endpoint,
        forcePathStyle: true,
        region: 'us-east-1',
        credentials: {accessKeyId: key, secretAccessKey: o.secret ?? key},
        maxAttempts: 1,
      })
    },
    awsEnv(key = opts.token ?? 'pach') {
      return {AWS_ACCESS_KEY_ID: key, AWS_SECRET_ACCESS_KEY: key, AWS_DEFAULT_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: join(dir, 'no-aws-config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-creds')}
    },
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM')
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000)
      await proc
      clearTimeout(t)
      rmSync(dir, {recursive: true, force: true})
    },
  }
  return g
}

/** sha256 hex of bytes (PFS file hashes are not MD5s: the tests compare content through this) */
export {createHash} from 'node:crypto'
