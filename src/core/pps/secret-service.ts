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
import {AlreadyExistsError, InvalidArgumentError, NotFoundError} from '../errors.js'
import type {CoreContext} from '../context.js'

export interface SecretInfo {
  secret: {name: string}
  type: string
  creation_timestamp: string
}

interface SecretRow {
  name: string
  type: string
  data: string
  created: string
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
    const r = this.ctx.db.prepare('INSERT OR IGNORE INTO secrets(name, type, data, created) VALUES (?, ?, ?, ?)').run(name, type, JSON.stringify(data), created)
    if (r.changes === 0) throw new AlreadyExistsError('SECRET_EXISTS', `secret ${name} already exists`, {hint: `delete it first with \`pach delete secret ${name}\``})
    return info({name, type, data: '', created})
  }

  list(): SecretInfo[] {
    return (this.ctx.db.prepare('SELECT * FROM secrets ORDER BY name').all() as SecretRow[]).map(info)
  }

  inspect(name: string): SecretInfo {
    return info(this.row(name))
  }

  delete(name: string): SecretInfo {
    const r = this.row(name)
    this.ctx.db.prepare('DELETE FROM secrets WHERE name = ?').run(name)
    return info(r)
  }

  /** The secret's keys and bytes (for a job); undefined when there is no such secret. */
  values(name: string): Map<string, Buffer> | undefined {
    const r = this.ctx.db.prepare('SELECT * FROM secrets WHERE name = ?').get(name) as SecretRow | undefined
    if (!r) return undefined
    return new Map(Object.entries(JSON.parse(r.data) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64')]))
  }

  private row(name: string): SecretRow {
    const r = this.ctx.db.prepare('SELECT * FROM secrets WHERE name = ?').get(name) as SecretRow | undefined
    if (!r) throw new NotFoundError('SECRET_NOT_FOUND', `secret ${name} not found`, {hint: 'list them with `pach list secret`'})
    return r
  }
}

function info(r: SecretRow): SecretInfo {
  return {secret: {name: r.name}, type: r.type, creation_timestamp: r.created}
}
