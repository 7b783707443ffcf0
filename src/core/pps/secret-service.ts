/**
 * Secrets: the local stand-in for the Kubernetes secrets a pipeline's `transform.secrets`
 * names (`pachctl create secret -f secret.json` takes a Kubernetes Secret manifest).
 *
 * A secret is a name and a map of keys to bytes, kept in the `secrets` table of the project's
 * database (schema 4) — like Kubernetes, base64-encoded, not encrypted: whoever can read
 * `.pach` can read them. Jobs read them at start: `env_var` + `key` sets an environment
 * variable, `mount_path` mounts every key as a file (read-only) in the worker.
 * Names follow Kubernetes (RFC 1123 subdomain); a secret is global, not per project.
 */
import {parseStored} from '../db/json.js'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {AlreadyExistsError, InvalidArgumentError, NotFoundError} from '../errors.js'
import type {CoreContext} from '../context.js'
import * as secretRows from '../db/secrets.js'
import type {SecretRow} from '../db/secrets.js'
import type {PipelineSpec} from './spec/index.js'

export interface SecretInfo {
  secret: {name: string}
  type: string
  creation_timestamp: string
}

/** A job's secrets: environment variables, and read-only file mounts (host dir → container path). */
export interface JobSecrets {
  env: Record<string, string>
  mounts: {host: string; container: string}[]
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

export class SecretService {
  constructor(private readonly ctx: CoreContext) {}

  /** Store a secret from a parsed Kubernetes Secret manifest; `file` names it in errors. */
  create(manifest: unknown, file: string): SecretInfo {
    const bad = (field: string, what: string) => new InvalidArgumentError('INVALID_SECRET', `${file}: ${field} ${what}`, {hint: 'give a Kubernetes Secret manifest: {"kind": "Secret", "metadata": {"name": ...}, "data": {key: base64}} (or "stringData")'})
    if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) throw bad('the manifest', 'must be an object')
    const m = manifest as Record<string, unknown>
    if (m.kind !== undefined && m.kind !== 'Secret') throw bad('kind', `must be "Secret", not ${JSON.stringify(m.kind)}`)
    const meta = m.metadata as Record<string, unknown> | undefined
    const name = meta && typeof meta === 'object' ? meta.name : undefined
    if (typeof name !== 'string' || !NAME.test(name)) throw bad('metadata.name', 'must be a lowercase name of letters, digits, "-" and "." (Kubernetes rules)')
    const data: Record<string, string> = {}
    for (const [field, encoded] of [['data', true], ['stringData', false]] as const) {
      const v = m[field]
      if (v === undefined || v === null) continue
      if (typeof v !== 'object' || Array.isArray(v)) throw bad(field, 'must be an object of key: value')
      for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
        if (!/^[-._a-zA-Z0-9]+$/.test(k)) throw bad(`${field}.${k}`, 'is not a valid key (letters, digits, "-", "_", ".")')
        if (typeof val !== 'string') throw bad(`${field}.${k}`, 'must be a string')
        if (encoded && (!BASE64.test(val) || val.length % 4 !== 0)) throw bad(`${field}.${k}`, 'is not base64')
        data[k] = encoded ? val : Buffer.from(val, 'utf8').toString('base64')
      }
    }
    const type = typeof m.type === 'string' ? m.type : 'Opaque'
    const created = this.ctx.now()
    if (!secretRows.insertSecret(this.ctx.db, {name, type, data: JSON.stringify(data), created})) throw new AlreadyExistsError('SECRET_EXISTS', `secret ${name} already exists`, {hint: `delete it first with \`pach delete secret ${name}\``})
    return info({name, type, data: '', created})
  }

  list(): SecretInfo[] {
    return secretRows.listSecrets(this.ctx.db).map(info)
  }

  inspect(name: string): SecretInfo {
    return info(this.row(name))
  }

  delete(name: string): SecretInfo {
    const r = this.row(name)
    secretRows.deleteSecret(this.ctx.db, name)
    return info(r)
  }

  /** The secret's keys and bytes (for a job); undefined when there is no such secret. */
  values(name: string): Map<string, Buffer> | undefined {
    const r = secretRows.getSecret(this.ctx.db, name)
    if (!r) return undefined
    return new Map(Object.entries(parseStored<Record<string, string>>(r.data, `secret ${name}`)).map(([k, v]) => [k, Buffer.from(v, 'base64')]))
  }

  /**
   * transform.secrets for one job: `env_var` + `key` → an environment variable, `mount_path` →
   * the secret's keys written as files under `dir` (the job's scratch space) and mounted
   * read-only there. A secret missing from `pach create secret` may come from `environment`
   * (PACH_SECRET_<name>_<key>, for env vars only; CoreContext.env).
   * Throws SECRET_NOT_FOUND / SECRET_KEY_NOT_FOUND naming the spec field.
   */
  forJob(spec: PipelineSpec, dir: string, environment: Readonly<Record<string, string | undefined>> = {}): JobSecrets {
    const env: Record<string, string> = {}
    const mounts: {host: string; container: string}[] = []
    ;(spec.transform.secrets ?? []).forEach((s, i) => {
      const values = this.values(s.name)
      const missing = () => new NotFoundError('SECRET_NOT_FOUND', `secret ${s.name} (transform.secrets[${i}]) not found`, {hint: 'create it with `pach create secret -f secret.json`'})
      if (s.env_var) {
        const fromEnv = environment[`PACH_SECRET_${s.name}_${s.key ?? ''}`.replace(/[^A-Za-z0-9_]/g, '_')]
        const v = values ? values.get(s.key ?? '')?.toString('utf8') : fromEnv
        if (v === undefined) {
          if (!values && fromEnv === undefined) throw missing()
          throw new NotFoundError('SECRET_KEY_NOT_FOUND', `secret ${s.name} has no key ${JSON.stringify(s.key ?? '')} (transform.secrets[${i}])`)
        }
        env[s.env_var] = v
      }
      if (s.mount_path) {
        if (!values) throw missing()
        const at = join(dir, String(i))
        mkdirSync(at, {recursive: true})
        for (const [k, v] of values) writeFileSync(join(at, k), v, {mode: 0o644})
        mounts.push({host: at, container: s.mount_path})
      }
    })
    return {env, mounts}
  }

  private row(name: string): SecretRow {
    const r = secretRows.getSecret(this.ctx.db, name)
    if (!r) throw new NotFoundError('SECRET_NOT_FOUND', `secret ${name} not found`, {hint: 'list them with `pach list secret`'})
    return r
  }
}

function info(r: SecretRow): SecretInfo {
  return {secret: {name: r.name}, type: r.type, creation_timestamp: r.created}
}
