/**
 * pachctl's config file (`$PACH_CONFIG`, else `~/.pachyderm/config.json`), read and written
 * the way pachctl and the Python SDK expect it: `{user_id, v2: {active_context, contexts:
 * {NAME: Context}, metrics}}`. pach writes only keys those clients know (the SDK raises on any
 * other key in a context), keeps everything else the file holds, and replaces the file in one
 * rename, so a reader never sees half of it.
 */
import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {dirname, join} from 'node:path'
import {InvalidArgumentError} from '../core/errors.js'

/** The context keys the Python SDK accepts (pachyderm_sdk/config.py). */
export const CONTEXT_KEYS = ['source', 'pachd_address', 'server_cas', 'session_token', 'active_transaction', 'cluster_name', 'auth_info', 'namespace', 'cluster_deployment_id', 'project', 'enterprise_server', 'port_forwarders'] as const

export type PachctlContext = Partial<Record<(typeof CONTEXT_KEYS)[number], unknown>>

export interface PachctlConfig {
  user_id?: string
  v2?: {active_context?: string; active_enterprise_context?: string; contexts?: Record<string, PachctlContext>; metrics?: boolean; [k: string]: unknown}
  [k: string]: unknown
}

/** Where pachctl reads its config from (as pachctl resolves it on a user's machine). */
export function pachctlConfigPath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env.PACH_CONFIG || join(env.HOME || homedir(), '.pachyderm', 'config.json')
}

export function readPachctlConfig(path: string): PachctlConfig {
  if (!existsSync(path)) return {}
  const text = readFileSync(path, 'utf8')
  if (text.trim() === '') return {}
  try {
    const v = JSON.parse(text) as unknown
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object')
    return v as PachctlConfig
  } catch (e) {
    throw new InvalidArgumentError('INVALID_INPUT', `${path} is not a pachctl config (${(e as Error).message})`, {hint: 'fix or move the file, then retry'})
  }
}

/**
 * Add (or replace) context `name` with `ctx` and make it the active one. Only standard keys
 * of `ctx` are written; the rest of the file is kept as it was.
 */
export function setPachctlContext(path: string, name: string, ctx: PachctlContext): void {
  const cfg = readPachctlConfig(path)
  cfg.user_id ??= randomBytes(16).toString('hex')
  cfg.v2 ??= {}
  cfg.v2.metrics ??= true
  const contexts = (cfg.v2.contexts ??= {})
  const clean: PachctlContext = {}
  for (const k of CONTEXT_KEYS) if (ctx[k] !== undefined) clean[k] = ctx[k]
  contexts[name] = clean
  cfg.v2.active_context = name
  mkdirSync(dirname(path), {recursive: true})
  const tmp = `${path}.pach-${process.pid}.tmp`
  try {
    writeFileSync(tmp, JSON.stringify(cfg, null, 2) + '\n', {mode: 0o600})
    renameSync(tmp, path)
  } finally {
    rmSync(tmp, {force: true})
  }
}
