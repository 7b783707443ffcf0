/**
 * `.pach/config.json`: the store's fixed parameters. Written once by `pach init`; the chunker
 * parameters define how bytes become blobs, so they never change for an existing store: a store
 * made before `fastcdc-gear32-v2` keeps `fastcdc-gear32-v1` and its sizes (docs/format.md).
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {CHUNKER_ALGORITHM, CHUNKER_ALGORITHMS, DEFAULT_CHUNKER_PARAMS, isChunkerAlgorithm, validateChunkerParams, type ChunkerAlgorithm, type ChunkerParams} from './store/chunker.js'
import {CorruptObjectError, InvalidArgumentError} from './errors.js'

export const FORMAT_VERSION = 1

export interface RepoConfig {
  format: number
  chunker: {algorithm: ChunkerAlgorithm} & ChunkerParams
  hash: 'sha256'
  pack_target: number
  /** fdatasync pack files before their metadata is committed (OS-crash safety) */
  fsync: boolean
  created: string
}

export function defaultConfig(now: string): RepoConfig {
  return {
    format: FORMAT_VERSION,
    chunker: {algorithm: CHUNKER_ALGORITHM, ...DEFAULT_CHUNKER_PARAMS},
    hash: 'sha256',
    pack_target: 16 * 1024 * 1024,
    fsync: true,
    created: now,
  }
}

export function readConfig(pachDir: string): RepoConfig {
  let raw: string
  try {
    raw = readFileSync(join(pachDir, 'config.json'), 'utf8')
  } catch (e) {
    throw new CorruptObjectError(`${join(pachDir, 'config.json')} is missing or unreadable`, {cause: e})
  }
  let cfg: RepoConfig
  try {
    cfg = JSON.parse(raw) as RepoConfig
  } catch (e) {
    throw new CorruptObjectError(`${join(pachDir, 'config.json')} is not valid JSON`, {cause: e})
  }
  if (typeof cfg.format !== 'number' || cfg.format > FORMAT_VERSION) {
    throw new InvalidArgumentError('FORMAT_TOO_NEW', `this .pach has format ${cfg.format}, newer than this pach understands (${FORMAT_VERSION})`, {
      hint: 'upgrade pach to open it; nothing was changed',
    })
  }
  if (!isChunkerAlgorithm(cfg.chunker?.algorithm)) {
    throw new InvalidArgumentError(
      'FORMAT_UNSUPPORTED',
      `this .pach uses chunker ${cfg.chunker?.algorithm}, which this pach does not support (it knows ${CHUNKER_ALGORITHMS.join(', ')})`,
      {hint: 'open it with the pach that created it; nothing was changed'},
    )
  }
  try {
    validateChunkerParams(cfg.chunker)
  } catch (e) {
    // pach init wrote valid parameters, and they never change: anything else is damage
    throw new CorruptObjectError(`${join(pachDir, 'config.json')}: ${(e as Error).message}`, {cause: e})
  }
  return cfg
}

export function writeConfig(pachDir: string, cfg: RepoConfig): void {
  writeFileSync(join(pachDir, 'config.json'), JSON.stringify(cfg, null, 2) + '\n')
}
