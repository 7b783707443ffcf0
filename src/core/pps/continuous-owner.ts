/**
 * Who supervises spouts and services: the `pach serve` process whose daemon runs their code
 * (continuous.ts), named `<host>/<pid>` in the meta key `pps.continuous.owner`. A pipeline's
 * RUNNING or CRASHING state is only true while that process lives; readers (inspect/list
 * pipeline, in any process) check it with `continuousOwnerAlive`. A process on another host
 * cannot be checked and counts as alive (core/process.ts).
 */
import {hostname} from 'node:os'
import {getMeta, setMeta} from '../db/meta.js'
import type {DB} from '../db/open.js'
import {pidAlive} from '../process.js'

const KEY = 'pps.continuous.owner'

/**
 * This process supervises spouts and services from now on, unless another live process
 * does (two servers on one project would run every spout twice): false then.
 */
export function claimContinuous(db: DB): boolean {
  const me = `${hostname()}/${process.pid}`
  const v = getMeta(db, KEY)
  if (v && v !== me && continuousOwnerAlive(db)) return false
  setMeta(db, KEY, me)
  return true
}

/** This process stops supervising (a key another process holds stays). */
export function releaseContinuous(db: DB): void {
  if (getMeta(db, KEY) === `${hostname()}/${process.pid}`) setMeta(db, KEY, undefined)
}

/** Whether a supervising process is running. */
export function continuousOwnerAlive(db: DB): boolean {
  const v = getMeta(db, KEY)
  if (!v) return false
  const slash = v.lastIndexOf('/')
  const host = v.slice(0, slash)
  const pid = Number(v.slice(slash + 1))
  return host !== hostname() || pid === process.pid || pidAlive(pid)
}
