/**
 * The per-job S3 gateway (core/pps/s3-sidecar.ts's `S3Sidecar`), Pachyderm's pipeline sidecar
 * without Kubernetes: `open` starts one HTTP listener for the job, serving only its buckets
 * (WorkerDriver: inputs pinned read-only, `out` write-only), and `close` stops it.
 *
 * One listener per job, on its own port, rather than Pachyderm's one server routed by a
 * `s3-<md5>` Host prefix: the local (bubblewrap) runner has no /etc/hosts of its own to map a
 * per-job name, and a port needs no name at all, so both runners dial `http://<route host>:<port>`.
 * It listens where the runner's `ServiceRoute` says (the Docker bridge's gateway address), else
 * on loopback — never on every address — so only that job's sandbox network reaches it.
 * Credentials: `default`/`default` as Pachyderm when pach serve has no token, else the token;
 * the listener accepts that pair only (signatures verified), nothing anonymous.
 */
import type {Pach} from '../../core/pach.js'
import type {ServiceRoute} from '../../core/pps/runner.js'
import type {S3JobBuckets, S3Sidecar, S3SidecarHandle} from '../../core/pps/s3-sidecar.js'
import {WorkerDriver} from './driver.js'
import {Etags} from './etags.js'
import {MultipartStore} from './multipart.js'
import {listenS3} from './server.js'

export interface SidecarOptions {
  /** pach serve's token; user code then signs with it (else `default`/`default`) */
  token?: string
  /** a commit landed in an output (rarely useful: out commits finish with the job) */
  kick?: () => void
  onBug?: (where: string, e: unknown) => void
  /** shared with the master gateway, if there is one */
  etags?: Etags
}

export class S3SidecarServer implements S3Sidecar {
  private readonly etags: Etags
  private readonly multipart: MultipartStore
  private readonly open_ = new Set<S3SidecarHandle>()

  constructor(
    private readonly pach: Pach,
    private readonly opts: SidecarOptions = {},
  ) {
    this.etags = opts.etags ?? new Etags(pach)
    this.multipart = new MultipartStore(pach.ctx)
  }

  async open(job: {pipeline: string; project: string; jobId: string}, buckets: S3JobBuckets, route: ServiceRoute): Promise<S3SidecarHandle> {
    const key = this.opts.token ?? 'default'
    const listener = await listenS3(route.listen ?? '127.0.0.1', 0, {
      pach: this.pach,
      driver: new WorkerDriver(this.pach, buckets),
      auth: {fixed: {accessKey: key, secretKey: key}},
      etags: this.etags,
      multipart: this.multipart,
      kick: () => this.opts.kick?.(),
      onBug: (where, e) => this.opts.onBug?.(`${job.project}/${job.pipeline}@${job.jobId}: ${where}`, e),
    })
    // the address itself, so user code needs no name resolution (a bridge gateway IP, or loopback)
    const host = route.listen ?? '127.0.0.1'
    const handle: S3SidecarHandle = {
      endpoint: `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${listener.port}`,
      accessKey: key,
      secretKey: key,
      close: async () => {
        this.open_.delete(handle)
        await listener.close()
      },
    }
    this.open_.add(handle)
    return handle
  }

  /** Close every job's listener (pach serve is stopping). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.open_].map((h) => h.close()))
  }
}
