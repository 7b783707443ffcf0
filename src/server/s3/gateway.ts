/**
 * The S3 gateway's request handling on node:http (path-style addressing only: the bucket is
 * the first path segment). One request: parse the URL → authenticate (auth.ts) → route on
 * method, path depth and query flags → an operation over the same core the CLI and the gRPC
 * server use (FileService put/delete/copy, the tree store for reads and listings, the repo
 * and branch services for buckets) → an XML or empty response. Every failure is S3's XML
 * error body with its code (errors.ts); a failure that is not foreseen is 500 InternalError
 * and is reported through `onBug`. The server never crashes on a request.
 *
 * Writes follow `put file`: a branch bucket's write joins the branch's open head commit, else
 * gets a one-off commit; output branches are refused (400 WriteToOutputBranch); read-only
 * buckets (commit-pinned, a job's inputs) answer 501 NotImplemented as Pachyderm's do. Keys
 * follow PFS path rules (400 InvalidFilePath), and a key with a leading "/" or an empty
 * segment is refused rather than silently rewritten; a trailing "/" is trimmed (Spark).
 */
import {createHash, randomUUID} from 'node:crypto'
import {pipeline} from 'node:stream/promises'
import type {IncomingMessage, ServerResponse} from 'node:http'
import * as rows from '../../core/db/pfs-rows.js'
import type {CommitRow} from '../../core/db/pfs-rows.js'
import type {Pach} from '../../core/pach.js'
import {validatePath} from '../../core/pfs/paths.js'
import {bufferSource, type PutSource} from '../../core/pfs/file-service.js'
import {readContent} from '../../core/store/content.js'
import type {Entry, FileEntry} from '../../core/store/tree-store.js'
import {authenticate, type Authenticated, type AuthRule} from './auth.js'
import type {BodyHasher} from './body-hasher.js'
import {requestBody, smallBody} from './body.js'
import {parseBucketName} from './bucket-name.js'
import type {Bucket, Driver} from './driver.js'
import {s3err, S3Error, toS3Error} from './errors.js'
import {Etags} from './etags.js'
import {decodeToken, encodeToken, listPage, type TreeChild, type TreeSource} from './listing.js'
import {MAX_PARTS, MIN_PART, type MultipartStore, type PartInfo} from './multipart.js'
import {awsEncode, decodeComponent, parseQuery} from './sigv4.js'
import {el, parseBody, S3_NS, XML_HEAD} from './xml.js'

export interface GatewayOptions {
  pach: Pach
  driver: Driver
  auth: AuthRule
  /** shared by every gateway of one project */
  etags: Etags
  multipart: MultipartStore
  /** a commit landed: pipelines may have work */
  kick(): void
  /** a bug in a handler (500) */
  onBug(where: string, e: unknown): void
  /** how long a CompleteMultipartUpload may work before its 200 is sent with keep-alive spaces (default 10 s; 0: at once) */
  completeKeepAliveMs?: number
  /** hashes large bodies on another thread (listenS3 gives each gateway one); without it, inline */
  bodyHasher?: BodyHasher
}

interface Req {
  req: IncomingMessage
  res: ServerResponse
  id: string
  method: string
  path: string
  query: [string, string][]
  q: Map<string, string>
  bucket?: string
  /** the key as sent (decoded), when the path has one */
  key?: string
  auth: Authenticated
  /** aborted when the client goes away before the response is sent (made on first use) */
  readonly signal: AbortSignal
}

const OWNER = `<Owner><ID>00000000000000000000000000000000</ID><DisplayName>pachyderm</DisplayName></Owner>`
const BUCKET_SUBRESOURCES = ['accelerate', 'acl', 'analytics', 'cors', 'encryption', 'inventory', 'lifecycle', 'logging', 'metrics', 'notification', 'object-lock', 'policy', 'policyStatus', 'publicAccessBlock', 'replication', 'requestPayment', 'tagging', 'website', 'ownershipControls', 'intelligent-tiering']
const OBJECT_SUBRESOURCES = ['acl', 'legal-hold', 'retention', 'tagging', 'torrent', 'restore', 'select', 'attributes']
const BUCKET_RE = /^[a-zA-Z0-9_.-]{1,255}$/

const CONTENT_TYPES: Record<string, string> = {
  txt: 'text/plain; charset=utf-8', csv: 'text/csv; charset=utf-8', json: 'application/json', html: 'text/html; charset=utf-8', htm: 'text/html; charset=utf-8',
  xml: 'text/xml; charset=utf-8', md: 'text/markdown; charset=utf-8', yaml: 'application/yaml', yml: 'application/yaml', js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', svg: 'image/svg+xml', webp: 'image/webp',
  pdf: 'application/pdf', zip: 'application/zip', gz: 'application/gzip', tar: 'application/x-tar', mp3: 'audio/mpeg', wav: 'audio/wav', mp4: 'video/mp4',
  parquet: 'application/vnd.apache.parquet', jsonl: 'application/jsonl',
}

function contentTypeOf(key: string): string {
  const dot = key.lastIndexOf('.')
  const ext = dot >= 0 && dot > key.lastIndexOf('/') ? key.slice(dot + 1).toLowerCase() : ''
  return CONTENT_TYPES[ext] ?? 'application/octet-stream'
}

/** A commit's time as objects' Last-Modified: when it finished (or started, while open), whole seconds. */
function commitTime(c: CommitRow | undefined): Date {
  const t = c ? Date.parse(c.finishing ?? c.finished ?? c.started) : 0
  return new Date(Math.floor((Number.isNaN(t) ? 0 : t) / 1000) * 1000)
}

const iso = (d: Date) => d.toISOString()

export class Gateway {
  constructor(private readonly o: GatewayOptions) {}

  private get pach(): Pach {
    return this.o.pach
  }

  /** Serve one request (never rejects). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const id = randomUUID()
    res.setHeader('x-amz-request-id', id)
    res.setHeader('x-amz-id-2', id)
    res.setHeader('Server', 'pach')
    if (req.headers.origin) {
      res.setHeader('Access-Control-Allow-Origin', '*')
      res.setHeader('Access-Control-Expose-Headers', 'ETag, x-amz-version-id, x-amz-request-id, Content-Range, Content-Length, Last-Modified')
    }
    // the controller (and its signal) is made when a handler asks for it: most never do
    let ac: AbortController | undefined
    const controller = () => (ac ??= new AbortController())
    res.on('close', () => {
      if (!res.writableFinished) controller().abort(new Error('the client went away'))
    })
    let r: Req | undefined
    try {
      r = this.parse(req, res, id, () => controller().signal)
      if (r.method === 'OPTIONS') return this.preflight(r)
      r.auth = authenticate(req, r.path, r.query, this.o.auth, Date.now())
      await this.route(r)
    } catch (e) {
      const {err, bug} = toS3Error(e)
      if (bug) this.o.onBug(`S3 ${req.method} ${(req.url ?? '').slice(0, 200)}`, e)
      try {
        this.sendError(req, res, id, err, r?.path ?? '/')
      } catch {
        res.destroy()
      }
    }
  }

  private parse(req: IncomingMessage, res: ServerResponse, id: string, signal: () => AbortSignal): Req {
    const url = req.url ?? '/'
    const qi = url.indexOf('?')
    const rawPath = qi >= 0 ? url.slice(0, qi) : url
    if (!rawPath.startsWith('/')) throw s3err(400, 'InvalidURI', 'Couldn\'t parse the specified URI.')
    const path = decodeComponent(rawPath, false)
    const query = parseQuery(qi >= 0 ? url.slice(qi + 1) : '')
    const q = new Map<string, string>()
    for (const [k, v] of query) if (!q.has(k)) q.set(k, v)
    const rest = path.slice(1)
    const slash = rest.indexOf('/')
    const bucket = slash < 0 ? rest : rest.slice(0, slash)
    const key = slash < 0 ? undefined : rest.slice(slash + 1)
    return {
      req,
      res,
      id,
      method: req.method ?? 'GET',
      path,
      query,
      q,
      bucket: bucket || undefined,
      key: key || undefined,
      auth: {},
      get signal() {
        return signal()
      },
    }
  }

  private preflight(r: Req): void {
    r.res.writeHead(200, {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': 'GET, HEAD, PUT, POST, DELETE',
      'Access-Control-Allow-Headers': String(r.req.headers['access-control-request-headers'] ?? '*'),
      'Access-Control-Expose-Headers': 'ETag, x-amz-version-id, x-amz-request-id, Content-Range, Content-Length, Last-Modified',
      'Access-Control-Max-Age': '3000',
      'Content-Length': '0',
    })
    r.res.end()
  }

  private async route(r: Req): Promise<void> {
    const m = r.method
    const has = (k: string) => r.q.has(k)
    if (!r.bucket) {
      if (m === 'GET' || m === 'HEAD') return this.listBuckets(r)
      throw s3err(405, 'MethodNotAllowed')
    }
    if (!BUCKET_RE.test(r.bucket)) throw s3err(400, 'InvalidBucketName', `The specified bucket is not valid: ${r.bucket.slice(0, 80)}`)
    if (r.key === undefined) {
      if (BUCKET_SUBRESOURCES.some(has)) throw s3err(501, 'NotImplemented', `bucket subresource ?${BUCKET_SUBRESOURCES.find(has)} is not implemented`)
      switch (m) {
        case 'GET':
          if (has('location')) return this.location(r)
          if (has('versioning')) return this.getVersioning(r)
          if (has('versions')) return this.listVersions(r)
          if (has('uploads')) return this.listUploads(r)
          return this.listObjects(r, r.q.get('list-type') === '2')
        case 'HEAD':
          return this.headBucket(r)
        case 'PUT':
          if (has('versioning')) return this.putVersioning(r)
          return this.createBucket(r)
        case 'DELETE':
          return this.deleteBucket(r)
        case 'POST':
          if (has('delete')) return this.deleteObjects(r)
          throw s3err(501, 'NotImplemented', 'POST to a bucket (browser form uploads) is not implemented')
        default:
          throw s3err(405, 'MethodNotAllowed')
      }
    }
    if (OBJECT_SUBRESOURCES.some(has)) throw s3err(501, 'NotImplemented', `object subresource ?${OBJECT_SUBRESOURCES.find(has)} is not implemented`)
    switch (m) {
      case 'GET':
        if (has('uploadId')) return this.listParts(r)
        return this.getObject(r, false)
      case 'HEAD':
        return this.getObject(r, true)
      case 'PUT':
        if (has('uploadId') || has('partNumber')) return this.uploadPart(r)
        if (r.req.headers['x-amz-copy-source'] !== undefined) return this.copyObject(r)
        return this.putObject(r)
      case 'POST':
        if (has('uploads')) return this.createUpload(r)
        if (has('uploadId')) return this.completeUpload(r)
        throw s3err(501, 'NotImplemented', 'this POST on an object is not implemented')
      case 'DELETE':
        if (has('uploadId')) return this.abortUpload(r)
        return this.deleteObject(r)
      default:
        throw s3err(405, 'MethodNotAllowed')
    }
  }

  // ---------------- responses ----------------

  private sendXml(r: Req, status: number, body: string, headers: Record<string, string> = {}): void {
    const buf = Buffer.from(XML_HEAD + body)
    r.res.writeHead(status, {'Content-Type': 'application/xml', 'Content-Length': String(buf.length), ...headers})
    r.res.end(r.method === 'HEAD' ? undefined : buf)
  }

  private sendEmpty(r: Req, status: number, headers: Record<string, string> = {}): void {
    r.res.writeHead(status, {'Content-Length': '0', ...headers})
    r.res.end()
  }

  private sendError(req: IncomingMessage, res: ServerResponse, id: string, err: S3Error, resource: string): void {
    // the rest of a body we will not read is drained, so the connection stays usable
    if (!req.complete) req.resume()
    if (res.headersSent) {
      res.destroy()
      return
    }
    const body =
      req.method === 'HEAD' || err.status === 304
        ? undefined
        : Buffer.from(XML_HEAD + `<Error>${el('Code', err.code)}${el('Message', err.message)}${el('Resource', resource)}${el('RequestId', id)}</Error>`)
    res.writeHead(err.status, {...(body && {'Content-Type': 'application/xml'}), 'Content-Length': String(body?.length ?? 0), ...err.headers})
    res.end(body)
  }

  // ---------------- helpers ----------------

  private bucketOf(r: Req, forWrite = false): Bucket {
    return this.o.driver.bucket(r.bucket!, {forWrite})
  }

  /** The PFS path of the request's key; 400 InvalidFilePath when it breaks PFS rules. */
  private keyPath(key: string, trimSlash: boolean): string {
    let k = key
    if (trimSlash) while (k.endsWith('/')) k = k.slice(0, -1)
    if (k === '' || k.startsWith('/') || k.includes('//')) {
      throw s3err(400, 'InvalidFilePath', `invalid key ${JSON.stringify(key.slice(0, 80))}: a key must not be empty, start with "/" or contain "//"`)
    }
    try {
      return validatePath('/' + k)
    } catch (e) {
      throw s3err(400, 'InvalidFilePath', `invalid key: ${(e as Error).message}`)
    }
  }

  private writable(b: Bucket): NonNullable<Bucket['writeRef']> {
    if (!b.writeRef) {
      throw s3err(501, 'NotImplemented', b.pinned ? `bucket ${b.name} is read-only: it is pinned to commit ${b.pinned}` : `bucket ${b.name} is read-only`)
    }
    return b.writeRef
  }

  /** The commit a read of this request sees (`versionId` honoured on the master driver). */
  private readCommit(r: Req, b: Bucket): CommitRow | undefined {
    const v = r.q.get('versionId')
    if (v !== undefined && v !== 'null') {
      if (this.o.driver.kind === 'worker') throw s3err(501, 'NotImplemented', 'versions are not served by a job\'s gateway')
      if (!/^[0-9a-f]{32}$/.test(v)) throw s3err(400, 'InvalidArgument', 'Invalid version id specified')
      const c = rows.getCommit(this.pach.ctx.db, b.repo.id, v)
      if (!c) throw s3err(404, 'NoSuchVersion', 'The specified version does not exist.')
      return c
    }
    return b.readable ? b.readCommit() : undefined
  }

  private lookupFile(commit: CommitRow | undefined, path: string): FileEntry | undefined {
    const e = this.pach.ctx.trees.lookup(commit?.tree ?? null, path)
    return e && e.kind === 'file' ? e : undefined
  }

  // ---------------- service and buckets ----------------

  private listBuckets(r: Req): void {
    const buckets = this.o.driver.listBuckets()
    const items = buckets.map((b) => `<Bucket>${el('Name', b.name)}${el('CreationDate', iso(new Date(Math.floor(Date.parse(b.created) / 1000) * 1000)))}</Bucket>`).join('')
    this.sendXml(r, 200, `<ListAllMyBucketsResult xmlns="${S3_NS}">${OWNER}<Buckets>${items}</Buckets></ListAllMyBucketsResult>`)
  }

  private headBucket(r: Req): void {
    this.bucketOf(r)
    this.sendEmpty(r, 200, {'x-amz-bucket-region': 'us-east-1'})
  }

  private location(r: Req): void {
    this.bucketOf(r)
    this.sendXml(r, 200, `<LocationConstraint xmlns="${S3_NS}"></LocationConstraint>`)
  }

  private getVersioning(r: Req): void {
    this.bucketOf(r)
    const status = this.o.driver.kind === 'master' ? '<Status>Enabled</Status>' : ''
    this.sendXml(r, 200, `<VersioningConfiguration xmlns="${S3_NS}">${status}</VersioningConfiguration>`)
  }

  private async putVersioning(r: Req): Promise<void> {
    this.bucketOf(r)
    const doc = parseBody((await smallBody(r.req, r.auth.signing)).toString('utf8'), 'VersioningConfiguration')
    const status = String(doc.Status ?? '')
    if (!['', 'Enabled', 'Suspended'].includes(status)) throw s3err(400, 'IllegalVersioningConfigurationException', 'The versioning configuration specified in the request is invalid.')
    const want = this.o.driver.kind === 'master' ? 'Enabled' : ''
    if (status !== want) throw s3err(501, 'NotImplemented', this.o.driver.kind === 'master' ? 'versioning is always enabled: every commit is a version' : 'versioning is off on a job\'s gateway')
    this.sendEmpty(r, 200)
  }

  private async createBucket(r: Req): Promise<void> {
    if (this.o.driver.kind !== 'master') throw s3err(501, 'NotImplemented', 'buckets cannot be created on a job\'s gateway')
    // the body (a LocationConstraint) is read and ignored: any region goes
    if (Number(r.req.headers['content-length'] ?? 0) > 0 || r.req.headers['transfer-encoding'] !== undefined) await smallBody(r.req, r.auth.signing)
    const n = parseBucketName(r.bucket!)
    const db = this.pach.ctx.db
    if (!rows.getProject(db, n.project)) throw s3err(404, 'NoSuchBucket', `project ${n.project} does not exist; create it with \`pach create project ${n.project}\``)
    const repo = rows.getRepo(db, n.project, n.repo, 'user')
    if (repo && rows.getBranch(db, repo.id, n.branch)) throw s3err(409, 'BucketAlreadyOwnedByYou')
    const ref = {name: n.repo, type: 'user' as const, project: n.project}
    if (!repo) this.pach.repos.create(n.project, n.repo)
    this.pach.branches.create(n.project, ref, n.branch, {})
    this.o.kick()
    this.sendEmpty(r, 200, {Location: `/${r.bucket}`})
  }

  private async deleteBucket(r: Req): Promise<void> {
    if (this.o.driver.kind !== 'master') throw s3err(501, 'NotImplemented', 'buckets cannot be deleted on a job\'s gateway')
    const b = this.bucketOf(r)
    if (!b.branch) throw s3err(501, 'NotImplemented', 'a commit-pinned bucket cannot be deleted; delete the branch bucket')
    const head = b.readCommit()
    if (head?.tree) throw s3err(409, 'BucketNotEmpty')
    const ref = {name: b.repo.name, type: 'user' as const, project: b.project}
    this.pach.branches.delete(b.project, ref, b.branch, false)
    if (rows.listBranches(this.pach.ctx.db, b.repo.id).length === 0) this.pach.repos.delete(ref, b.project, false)
    // uploads in progress into the bucket go with it
    const scope = this.uploadScope(b)
    for (const u of await this.o.multipart.list()) if (u.bucket === scope) await this.o.multipart.remove(u.id)
    this.sendEmpty(r, 204)
  }

  // ---------------- listings ----------------

  private intParam(r: Req, name: string, def: number, max: number): number {
    const v = r.q.get(name)
    if (v === undefined || v === '') return def
    if (!/^\d{1,9}$/.test(v)) throw s3err(400, 'InvalidArgument', `${name} must be a non-negative integer`)
    return Math.min(Number(v), max)
  }

  private treeSource(commit: CommitRow | undefined): TreeSource<Buffer, TreeChild<Buffer> & {entry: Entry}> {
    const trees = this.pach.ctx.trees
    return {
      root: commit?.tree ?? undefined,
      children: function* (dir, from) {
        for (const e of trees.entriesFrom(dir, from)) yield {name: e.name, dir: e.kind === 'dir' ? e.hash : undefined, entry: e}
      },
    }
  }

  private listObjects(r: Req, v2: boolean): void {
    const b = this.bucketOf(r)
    const prefix = (r.q.get('prefix') ?? '').replace(/^\/+/, '')
    const delimiter = r.q.get('delimiter') ?? ''
    const max = this.intParam(r, 'max-keys', 1000, 1000)
    const encoding = r.q.get('encoding-type')
    if (encoding !== undefined && encoding !== 'url') throw s3err(400, 'InvalidArgument', 'Invalid Encoding Method specified in Request')
    const enc = (s: string) => (encoding ? awsEncode(s, true) : s)
    let after: string
    const token = v2 ? r.q.get('continuation-token') : undefined
    if (token !== undefined) {
      const k = decodeToken(token)
      if (k === undefined) throw s3err(400, 'InvalidArgument', 'The continuation token provided is incorrect')
      after = k
    } else after = (v2 ? r.q.get('start-after') : r.q.get('marker')) ?? ''
    const commit = b.readable ? b.readCommit() : undefined
    const modified = iso(commitTime(commit))
    const page = listPage(this.treeSource(commit), {prefix, delimiter, after, max})
    const owner = !v2 || r.q.get('fetch-owner') === 'true'
    let contents = ''
    let prefixes = ''
    const files = page.items.flatMap((it) => ('key' in it ? [it.child.entry as FileEntry] : []))
    const etags = this.o.etags.forListing(files)
    let f = 0
    for (const it of page.items) {
      if ('prefix' in it) {
        prefixes += `<CommonPrefixes>${el('Prefix', enc(it.prefix))}</CommonPrefixes>`
        continue
      }
      const e = files[f]!
      contents += `<Contents>${el('Key', enc(it.key))}${el('LastModified', modified)}${el('ETag', `"${etags[f++]}"`)}${el('Size', e.size)}${owner ? OWNER : ''}<StorageClass>STANDARD</StorageClass></Contents>`
    }
    const common = `${el('Name', b.name)}${el('Prefix', enc(prefix))}${delimiter ? el('Delimiter', enc(delimiter)) : ''}${el('MaxKeys', max)}${encoding ? el('EncodingType', encoding) : ''}${el('IsTruncated', page.truncated)}`
    const body = v2
      ? `<ListBucketResult xmlns="${S3_NS}">${common}${el('KeyCount', page.items.length)}${token !== undefined ? el('ContinuationToken', token) : ''}${page.truncated ? el('NextContinuationToken', encodeToken(page.next!)) : ''}${r.q.has('start-after') ? el('StartAfter', enc(r.q.get('start-after')!)) : ''}${contents}${prefixes}</ListBucketResult>`
      : `<ListBucketResult xmlns="${S3_NS}">${common}${el('Marker', enc(r.q.get('marker') ?? ''))}${page.truncated ? el('NextMarker', enc(page.next!)) : ''}${contents}${prefixes}</ListBucketResult>`
    this.sendXml(r, 200, body)
  }

  /** ListObjectVersions, minimal: the current objects, each with its commit as version id, all latest. */
  private listVersions(r: Req): void {
    const b = this.bucketOf(r)
    const prefix = (r.q.get('prefix') ?? '').replace(/^\/+/, '')
    const delimiter = r.q.get('delimiter') ?? ''
    const max = this.intParam(r, 'max-keys', 1000, 1000)
    const after = r.q.get('key-marker') ?? ''
    const commit = b.readable ? b.readCommit() : undefined
    const modified = iso(commitTime(commit))
    const page = listPage(this.treeSource(commit), {prefix, delimiter, after, max})
    let items = ''
    const files = page.items.flatMap((it) => ('key' in it ? [it.child.entry as FileEntry] : []))
    const etags = this.o.etags.forListing(files)
    let f = 0
    for (const it of page.items) {
      if ('prefix' in it) {
        items += `<CommonPrefixes>${el('Prefix', it.prefix)}</CommonPrefixes>`
        continue
      }
      const e = files[f]!
      items += `<Version>${el('Key', it.key)}${el('VersionId', commit!.id)}<IsLatest>true</IsLatest>${el('LastModified', modified)}${el('ETag', `"${etags[f++]}"`)}${el('Size', e.size)}${OWNER}<StorageClass>STANDARD</StorageClass></Version>`
    }
    const next = page.truncated ? `${el('NextKeyMarker', page.next!)}${el('NextVersionIdMarker', commit!.id)}` : ''
    this.sendXml(
      r,
      200,
      `<ListVersionsResult xmlns="${S3_NS}">${el('Name', b.name)}${el('Prefix', prefix)}${el('KeyMarker', after)}${el('VersionIdMarker', r.q.get('version-id-marker') ?? '')}${next}${el('MaxKeys', max)}${delimiter ? el('Delimiter', delimiter) : ''}${el('IsTruncated', page.truncated)}${items}</ListVersionsResult>`,
    )
  }

  // ---------------- objects ----------------

  private async getObject(r: Req, head: boolean): Promise<void> {
    const b = this.bucketOf(r)
    const path = this.keyPath(r.key!, true)
    const commit = this.readCommit(r, b)
    const e = this.lookupFile(commit, path)
    if (!e) throw s3err(404, 'NoSuchKey')
    const etag = await this.o.etags.of(e)
    const qetag = `"${etag}"`
    const modified = commitTime(commit)
    const h = r.req.headers
    const headers: Record<string, string> = {
      ETag: qetag,
      'Last-Modified': modified.toUTCString(),
      'Accept-Ranges': 'bytes',
      'Content-Type': contentTypeOf(path),
    }
    if (b.pinned || r.q.has('versionId')) headers['x-amz-version-id'] = commit!.id
    for (const [q, hd] of [['response-content-type', 'Content-Type'], ['response-content-disposition', 'Content-Disposition'], ['response-cache-control', 'Cache-Control'], ['response-content-encoding', 'Content-Encoding'], ['response-content-language', 'Content-Language'], ['response-expires', 'Expires']] as const) {
      const v = r.q.get(q)
      if (v === undefined) continue
      if (!/^[\t\x20-\x7e]*$/.test(v)) throw s3err(400, 'InvalidArgument', `${q} must be printable ASCII`)
      headers[hd] = v
    }
    const matches = (list: string) => list.split(',').some((t) => t.trim() === '*' || t.trim().replace(/^W\//, '').replace(/^"?(.*?)"?$/, '"$1"') === qetag)
    const date = (s: string | undefined) => (s === undefined ? undefined : Date.parse(s))
    if (h['if-match'] !== undefined && !matches(String(h['if-match']))) throw s3err(412, 'PreconditionFailed', undefined, headers)
    const ius = date(h['if-unmodified-since'] as string | undefined)
    if (h['if-match'] === undefined && ius !== undefined && !Number.isNaN(ius) && modified.getTime() > ius) throw s3err(412, 'PreconditionFailed', undefined, headers)
    if (h['if-none-match'] !== undefined) {
      if (matches(String(h['if-none-match']))) return this.sendEmpty(r, 304, {ETag: qetag, 'Last-Modified': headers['Last-Modified']!})
    } else {
      const ims = date(h['if-modified-since'] as string | undefined)
      if (ims !== undefined && !Number.isNaN(ims) && modified.getTime() <= ims) return this.sendEmpty(r, 304, {ETag: qetag, 'Last-Modified': headers['Last-Modified']!})
    }
    let start = 0
    let end = e.size - 1
    let status = 200
    const range = h.range === undefined ? undefined : parseRange(String(h.range), e.size)
    if (range === 'unsatisfiable') throw s3err(416, 'InvalidRange', undefined, {'Content-Range': `bytes */${e.size}`})
    if (range) {
      const ifRange = h['if-range'] as string | undefined
      const rangeApplies = ifRange === undefined || ifRange === qetag || Date.parse(ifRange) >= modified.getTime()
      if (rangeApplies) {
        ;[start, end] = range
        status = 206
        headers['Content-Range'] = `bytes ${start}-${end}/${e.size}`
      }
    }
    const length = e.size === 0 ? 0 : end - start + 1
    headers['Content-Length'] = String(length)
    r.res.writeHead(status, headers)
    if (head || length === 0) {
      r.res.end()
      return
    }
    // a range reads only the chunks it covers; piped, with the stream's own backpressure
    const stream = readContent(this.pach.ctx.store, e, start, `file ${path} in ${b.name}`, end + 1)
    await pipeline(stream, r.res).catch(() => r.res.destroy())
  }

  private async putObject(r: Req): Promise<void> {
    const b = this.bucketOf(r, true)
    const ref = this.writable(b)
    const path = this.keyPath(r.key!, true)
    // an empty "dir/" object is a folder marker (consoles, Hadoop's s3a): PFS directories exist
    // through their files, so it changes nothing — where Pachyderm would make `dir` a file and
    // break every later write under it
    if (r.key!.endsWith('/') && r.req.headers['content-length'] === '0') {
      r.req.resume()
      return this.sendEmpty(r, 200, {ETag: '"d41d8cd98f00b204e9800998ecf8427e"'})
    }
    await this.preconditions(r, b, path)
    const body = requestBody(r.req, r.auth.signing, this.o.bodyHasher)
    // the ETag row commits with the object (in the write's transaction: no write of its own)
    const inTx = (c: CommitRow) => this.recordEtagIn(c, path, body.md5())
    const res = await this.pach.files.put(b.project, ref, [await this.source(r, path, body)], {signal: r.signal, inTx})
    const etag = body.md5()
    this.o.kick()
    this.sendEmpty(r, 200, {ETag: `"${etag}"`, 'x-amz-version-id': res.commit.id})
  }

  /**
   * A PUT body as a put source: a small one (at most one chunk) is read and verified whole
   * first, so the core can group-commit it with concurrent PUTs (FileService.putSmall);
   * anything larger streams into the store.
   */
  private async source(r: Req, path: string, body: ReturnType<typeof requestBody>): Promise<PutSource> {
    const h = r.req.headers
    const declared = Number(h['x-amz-decoded-content-length'] ?? h['content-length'])
    if (!(Number.isSafeInteger(declared) && declared <= this.pach.ctx.config.chunker.minSize)) return {path, open: () => body.stream}
    return bufferSource(path, await body.whole())
  }

  /** PUT's If-Match / If-None-Match (conditional writes). */
  private async preconditions(r: Req, b: Bucket, path: string): Promise<void> {
    const h = r.req.headers
    if (h['if-none-match'] === undefined && h['if-match'] === undefined) return
    const e = this.lookupFile(b.readable ? b.readCommit() : undefined, path)
    if (h['if-none-match'] !== undefined && String(h['if-none-match']).trim() === '*' && e) throw s3err(412, 'PreconditionFailed')
    if (h['if-match'] !== undefined) {
      const want = String(h['if-match']).trim().replace(/^"?(.*?)"?$/, '$1')
      if (!e || (want !== '*' && (await this.o.etags.of(e)) !== want)) throw s3err(e ? 412 : 404, e ? 'PreconditionFailed' : 'NoSuchKey')
    }
  }

  private recordEtag(b: Bucket, commitId: string, path: string, etag: string): void {
    this.recordEtagIn(rows.getCommit(this.pach.ctx.db, b.repo.id, commitId), path, etag)
  }

  /** Record the ETag of the file at `path` of commit `c` (in a write's transaction: PutOptions.inTx). */
  private recordEtagIn(c: CommitRow | undefined, path: string, etag: string): void {
    const e = this.lookupFile(c, path)
    if (e) this.o.etags.record(e.hash, etag)
  }

  private deleteObject(r: Req): void {
    if (r.q.has('versionId') && r.q.get('versionId') !== 'null') throw s3err(501, 'NotImplemented', 'deleting a version is not implemented: versions are commits')
    const b = this.bucketOf(r)
    const ref = this.writable(b)
    const path = this.keyPath(r.key!, true)
    // a missing key (or a directory, which is no object) is a no-op, without an empty commit
    const cur = b.readable ? b.readCommit() : rows.getCommit(this.pach.ctx.db, b.repo.id, b.pinned!)
    if (!this.lookupFile(cur, path)) return this.sendEmpty(r, 204)
    const res = this.pach.files.delete(b.project, ref, [path])
    this.o.kick()
    this.sendEmpty(r, 204, {'x-amz-version-id': res.commit.id})
  }

  private async deleteObjects(r: Req): Promise<void> {
    const b = this.bucketOf(r)
    const doc = parseBody((await smallBody(r.req, r.auth.signing)).toString('utf8'), 'Delete')
    const objects = (doc.Object ?? []) as {Key?: unknown; VersionId?: unknown}[]
    if (!Array.isArray(objects) || objects.length === 0 || objects.length > 1000) throw s3err(400, 'MalformedXML')
    const quiet = String(doc.Quiet ?? 'false').toLowerCase() === 'true'
    const ref = this.writable(b)
    const cur = b.readable ? b.readCommit() : rows.getCommit(this.pach.ctx.db, b.repo.id, b.pinned!)
    const deleted: string[] = []
    const errors: string[] = []
    const paths: string[] = []
    for (const o of objects) {
      const key = typeof o.Key === 'string' ? o.Key : o.Key === undefined ? '' : String(o.Key)
      try {
        if (o.VersionId !== undefined && String(o.VersionId) !== 'null' && String(o.VersionId) !== cur?.id) throw s3err(501, 'NotImplemented', 'deleting an old version is not implemented')
        const path = this.keyPath(key, true)
        if (this.lookupFile(cur, path)) paths.push(path)
        deleted.push(key)
      } catch (e) {
        const {err} = toS3Error(e)
        errors.push(`<Error>${el('Key', key)}${el('Code', err.code)}${el('Message', err.message)}</Error>`)
      }
    }
    // every deletion in one commit (Pachyderm makes one per key)
    if (paths.length > 0) {
      this.pach.files.delete(b.project, ref, paths)
      this.o.kick()
    }
    const body = (quiet ? '' : deleted.map((k) => `<Deleted>${el('Key', k)}</Deleted>`).join('')) + errors.join('')
    this.sendXml(r, 200, `<DeleteResult xmlns="${S3_NS}">${body}</DeleteResult>`)
  }

  private async copyObject(r: Req): Promise<void> {
    const raw = String(r.req.headers['x-amz-copy-source'])
    const qi = raw.indexOf('?')
    const src = decodeComponent((qi >= 0 ? raw.slice(0, qi) : raw).replace(/^\/+/, ''), false)
    const srcQuery = new Map(parseQuery(qi >= 0 ? raw.slice(qi + 1) : ''))
    const slash = src.indexOf('/')
    if (slash <= 0) throw s3err(400, 'InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey')
    const srcBucketName = src.slice(0, slash)
    const srcKey = src.slice(slash + 1)
    if (!srcKey) throw s3err(404, 'NoSuchKey')
    const srcVersion = srcQuery.get('versionId')
    const dst = this.bucketOf(r, true)
    const ref = this.writable(dst)
    const path = this.keyPath(r.key!, true)
    const sb = this.o.driver.bucket(srcBucketName)
    const srcPath = this.keyPath(srcKey, true)
    if (srcBucketName === r.bucket && srcPath === path && (srcVersion === undefined || srcVersion === 'null')) {
      throw s3err(400, 'InvalidRequest', 'This copy request is illegal because it is trying to copy an object to itself without changing the object\'s metadata, storage class, website redirect location or encryption attributes.')
    }
    if (!sb.readable) throw s3err(404, 'NoSuchKey')
    const srcCommit = this.readCommit({...r, q: new Map(srcVersion !== undefined ? [['versionId', srcVersion]] : [])}, sb)
    const e = this.lookupFile(srcCommit, srcPath)
    if (!e || !srcCommit) throw s3err(404, 'NoSuchKey')
    const etag = await this.o.etags.of(e)
    const h = r.req.headers
    const modified = commitTime(srcCommit).getTime()
    const cond = (n: string) => (h[n] === undefined ? undefined : String(h[n]))
    const im = cond('x-amz-copy-source-if-match')
    const inm = cond('x-amz-copy-source-if-none-match')
    const ius = cond('x-amz-copy-source-if-unmodified-since')
    const ims = cond('x-amz-copy-source-if-modified-since')
    const unq = (s: string) => s.trim().replace(/^"?(.*?)"?$/, '$1')
    if ((im !== undefined && unq(im) !== etag) || (inm !== undefined && unq(inm) === etag) || (ius !== undefined && modified > Date.parse(ius)) || (ims !== undefined && modified <= Date.parse(ims))) {
      throw s3err(412, 'PreconditionFailed')
    }
    if (!r.req.complete) r.req.resume()
    const res = await this.pach.files.copy(
      dst.project,
      {commit: {repo: {name: sb.repo.name, type: 'user', project: sb.project}, id: srcCommit.id}, path: srcPath, hasPath: true},
      {commit: ref, path, hasPath: true},
      {srcProject: sb.project, signal: r.signal},
    )
    this.o.kick()
    const c = rows.getCommit(this.pach.ctx.db, dst.repo.id, res.commit.id)
    this.sendXml(r, 200, `<CopyObjectResult xmlns="${S3_NS}">${el('LastModified', iso(commitTime(c)))}${el('ETag', `"${etag}"`)}</CopyObjectResult>`, {
      'x-amz-version-id': res.commit.id,
      'x-amz-copy-source-version-id': srcCommit.id,
    })
  }

  // ---------------- multipart ----------------

  /** What an upload id is tied to: the bucket's repo and branch (or commit), so another bucket cannot complete it. */
  private uploadScope(b: Bucket): string {
    return `${b.project}/${b.repo.name}/${b.branch ?? b.pinned}`
  }

  private async createUpload(r: Req): Promise<void> {
    const b = this.bucketOf(r, true)
    this.writable(b)
    this.keyPath(r.key!, true)
    const u = await this.o.multipart.create(this.uploadScope(b), r.key!, new Date())
    this.sendXml(r, 200, `<InitiateMultipartUploadResult xmlns="${S3_NS}">${el('Bucket', r.bucket!)}${el('Key', r.key!)}${el('UploadId', u.id)}</InitiateMultipartUploadResult>`)
  }

  private async uploadPart(r: Req): Promise<void> {
    if (r.req.headers['x-amz-copy-source'] !== undefined) throw s3err(501, 'NotImplemented', 'UploadPartCopy is not implemented')
    const b = this.bucketOf(r, true)
    this.writable(b)
    const n = this.partNumber(r.q.get('partNumber'))
    const id = r.q.get('uploadId') ?? ''
    await this.o.multipart.get(id, this.uploadScope(b), r.key!)
    const body = requestBody(r.req, r.auth.signing, this.o.bodyHasher)
    const part = await this.o.multipart.putPart(id, n, body.stream, () => body.md5(), r.signal)
    this.sendEmpty(r, 200, {ETag: `"${part.md5}"`})
  }

  private partNumber(v: string | undefined): number {
    if (v === undefined || !/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > MAX_PARTS) throw s3err(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive')
    return Number(v)
  }

  private async completeUpload(r: Req): Promise<void> {
    const b = this.bucketOf(r, true)
    const ref = this.writable(b)
    const path = this.keyPath(r.key!, true)
    const id = r.q.get('uploadId') ?? ''
    await this.o.multipart.get(id, this.uploadScope(b), r.key!)
    const doc = parseBody((await smallBody(r.req, r.auth.signing)).toString('utf8'), 'CompleteMultipartUpload')
    const listed = (doc.Part ?? []) as {PartNumber?: unknown; ETag?: unknown}[]
    if (!Array.isArray(listed) || listed.length === 0) throw s3err(400, 'MalformedXML')
    const stored = new Map((await this.o.multipart.parts(id)).map((p) => [p.number, p]))
    const parts: PartInfo[] = []
    let prev = 0
    for (const p of listed) {
      const n = Number(p.PartNumber)
      if (!Number.isInteger(n) || n < 1 || n > MAX_PARTS) throw s3err(400, 'MalformedXML')
      if (n <= prev) throw s3err(400, 'InvalidPartOrder')
      prev = n
      const s = stored.get(n)
      const etag = String(p.ETag ?? '').trim().replace(/^"?(.*?)"?$/, '$1').toLowerCase()
      if (!s || s.md5 !== etag) throw s3err(400, 'InvalidPart', `part ${n} was not uploaded, or its ETag does not match`)
      parts.push(s)
    }
    for (let i = 0; i < parts.length - 1; i++) if (parts[i]!.size < MIN_PART) throw s3err(400, 'EntityTooSmall', `part ${parts[i]!.number} is smaller than 5 MiB and is not the last part`)
    const md5s = createHash('md5')
    for (const p of parts) md5s.update(Buffer.from(p.md5, 'hex'))
    const etag = `${md5s.digest('hex')}-${parts.length}`
    const work = (async () => {
      const res = await this.pach.files.putConcat(b.project, ref, path, parts.map((p) => p.content), {signal: r.signal})
      this.recordEtag(b, res.commit.id, path, etag)
      await this.o.multipart.remove(id)
      this.o.kick()
      return res.commit.id
    })()
    const result = `<CompleteMultipartUploadResult xmlns="${S3_NS}">${el('Location', `/${r.bucket}/${r.key}`)}${el('Bucket', r.bucket!)}${el('Key', r.key!)}${el('ETag', `"${etag}"`)}</CompleteMultipartUploadResult>`
    const wait = this.o.completeKeepAliveMs ?? 10_000
    let timer: NodeJS.Timeout | undefined
    const first =
      wait <= 0
        ? 'slow'
        : await Promise.race([
            work.then(
              () => 'done' as const,
              () => 'done' as const,
            ),
            new Promise<'slow'>((resolve) => (timer = setTimeout(() => resolve('slow'), wait))),
          ])
    clearTimeout(timer)
    if (first === 'done') {
      const commit = await work
      return this.sendXml(r, 200, result, {'x-amz-version-id': commit})
    }
    // a long completion (many GiB): 200 and the XML prelude now, a space every interval so
    // clients' read timeouts do not fire, then the result — or an <Error> in the 200 body, as S3 does
    r.res.writeHead(200, {'Content-Type': 'application/xml'})
    r.res.write(XML_HEAD)
    const tick = setInterval(() => r.res.write(' '), Math.max(wait, 1000))
    try {
      await work
      r.res.end(result)
    } catch (e) {
      const {err, bug} = toS3Error(e)
      if (bug) this.o.onBug(`S3 CompleteMultipartUpload ${r.path}`, e)
      r.res.end(`<Error>${el('Code', err.code)}${el('Message', err.message)}${el('Resource', r.path)}${el('RequestId', r.id)}</Error>`)
    } finally {
      clearInterval(tick)
    }
  }

  private async abortUpload(r: Req): Promise<void> {
    const b = this.bucketOf(r, true)
    const id = r.q.get('uploadId') ?? ''
    await this.o.multipart.get(id, this.uploadScope(b), r.key!)
    await this.o.multipart.remove(id)
    this.sendEmpty(r, 204)
  }

  private async listParts(r: Req): Promise<void> {
    const b = this.bucketOf(r, true)
    const id = r.q.get('uploadId') ?? ''
    await this.o.multipart.get(id, this.uploadScope(b), r.key!)
    const max = this.intParam(r, 'max-parts', 1000, 1000)
    const marker = this.intParam(r, 'part-number-marker', 0, MAX_PARTS)
    const all = (await this.o.multipart.parts(id)).filter((p) => p.number > marker)
    const page = all.slice(0, max)
    const truncated = all.length > page.length
    const items = page.map((p) => `<Part>${el('PartNumber', p.number)}${el('LastModified', p.modified)}${el('ETag', `"${p.md5}"`)}${el('Size', p.size)}</Part>`).join('')
    this.sendXml(
      r,
      200,
      `<ListPartsResult xmlns="${S3_NS}">${el('Bucket', r.bucket!)}${el('Key', r.key!)}${el('UploadId', id)}${OWNER.replace('Owner', 'Initiator').replace('</Owner>', '</Initiator>')}${OWNER}<StorageClass>STANDARD</StorageClass>${el('PartNumberMarker', marker)}${el('NextPartNumberMarker', page.length ? page[page.length - 1]!.number : marker)}${el('MaxParts', max)}${el('IsTruncated', truncated)}${items}</ListPartsResult>`,
    )
  }

  private async listUploads(r: Req): Promise<void> {
    const b = this.bucketOf(r, true)
    const scope = this.uploadScope(b)
    const prefix = r.q.get('prefix') ?? ''
    const keyMarker = r.q.get('key-marker') ?? ''
    const idMarker = r.q.get('upload-id-marker') ?? ''
    const max = this.intParam(r, 'max-uploads', 1000, 1000)
    const all = (await this.o.multipart.list()).filter((u) => u.bucket === scope && u.key.startsWith(prefix) && (u.key > keyMarker || (u.key === keyMarker && idMarker !== '' && u.id > idMarker)))
    const page = all.slice(0, max)
    const truncated = all.length > page.length
    const last = page[page.length - 1]
    const items = page
      .map((u) => `<Upload>${el('Key', u.key)}${el('UploadId', u.id)}${OWNER.replace('Owner', 'Initiator').replace('</Owner>', '</Initiator>')}${OWNER}<StorageClass>STANDARD</StorageClass>${el('Initiated', u.initiated)}</Upload>`)
      .join('')
    this.sendXml(
      r,
      200,
      `<ListMultipartUploadsResult xmlns="${S3_NS}">${el('Bucket', r.bucket!)}${el('KeyMarker', keyMarker)}${el('UploadIdMarker', idMarker)}${truncated && last ? el('NextKeyMarker', last.key) + el('NextUploadIdMarker', last.id) : ''}${el('Prefix', prefix)}${el('MaxUploads', max)}${el('IsTruncated', truncated)}${items}</ListMultipartUploadsResult>`,
    )
  }
}

/**
 * An HTTP Range header against a size: [start, end] inclusive, 'unsatisfiable' (416), or
 * undefined to serve the whole object (not a bytes range, several ranges, or malformed — as
 * HTTP says, an unusable Range is ignored).
 */
export function parseRange(h: string, size: number): [number, number] | 'unsatisfiable' | undefined {
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(h.trim())
  if (!m || (m[1] === '' && m[2] === '')) return undefined
  if (m[1] === '') {
    const n = Number(m[2])
    if (n === 0) return 'unsatisfiable'
    if (size === 0) return 'unsatisfiable'
    return [Math.max(0, size - n), size - 1]
  }
  const start = Number(m[1])
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
  if (m[2] !== '' && Number(m[2]) < start) return undefined
  if (start >= size) return 'unsatisfiable'
  return [start, end]
}

