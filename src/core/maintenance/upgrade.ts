/**
 * Tree upgrade: rewrites the directories an older pach stored whole (layout 1 at any size) into
 * the canonical form of store/tree-node.ts (layout 1 only for small directories, prolly trees
 * for large ones), for every tree a commit or a datum output points at.
 *
 * Why: the encoding is canonical, so equal directories have equal hashes; an old large
 * directory and the same directory written today would not, which would make diffs read both
 * whole and make a datum that reads a directory look changed. Until the upgrade has run, reads
 * of the old layout work as before.
 *
 * Invariants:
 * - one transaction: a kill at any point leaves the old trees (the flag still set, so the next
 *   writing open runs it again) or the new ones (flag cleared). Files, sizes and file counts do
 *   not change, only directory hashes; the old objects stay until `pach gc` frees them.
 * - idempotent: a tree already in the new form maps to itself.
 */
import type {CoreContext} from '../context.js'
import {replaceCommitTree, listCommitTrees} from '../db/commits.js'
import {listDatumOutputTrees, replaceDatumOutput} from '../db/datums.js'
import {getMeta, setMeta} from '../db/meta.js'
import {withTx} from '../db/open.js'
import {isSmall, type Entry} from '../store/tree-node.js'

export const UPGRADE_FLAG = 'tree_upgrade'

export interface UpgradeReport {
  /** directories rewritten (large ones re-encoded, plus their ancestors) */
  dirs: number
  /** commit and datum-output roots that changed */
  roots: number
}

/** Run the tree upgrade if this project still needs it; undefined when there was nothing to do. */
export function upgradeIfNeeded(ctx: CoreContext): UpgradeReport | undefined {
  if (getMeta(ctx.db, UPGRADE_FLAG) === undefined) return undefined
  return withTx(ctx.db, () => {
    if (getMeta(ctx.db, UPGRADE_FLAG) === undefined) return undefined // another process did it
    const report = upgradeTrees(ctx)
    setMeta(ctx.db, UPGRADE_FLAG, undefined)
    return report
  })
}

/** Rewrite every reachable directory into canonical form (call inside a transaction). */
export function upgradeTrees(ctx: CoreContext): UpgradeReport {
  const memo = new Map<string, Buffer>()
  const report: UpgradeReport = {dirs: 0, roots: 0}
  const up = (hash: Buffer): Buffer => {
    const key = hash.toString('latin1')
    const done = memo.get(key)
    if (done) return done
    const node = ctx.trees.node(hash)
    let result = hash
    // leaves and index nodes are only ever written in the new form
    if (node.kind === 'small') {
      let changed = false
      const entries = node.entries.map((e): Entry => {
        if (e.kind !== 'dir') return e
        const h = up(e.hash)
        if (h.equals(e.hash)) return e
        changed = true
        return {...e, hash: h}
      })
      if (changed || !isSmall(entries)) {
        result = ctx.trees.put(entries).hash
        report.dirs++
      }
    }
    memo.set(key, result)
    return result
  }
  for (const t of listCommitTrees(ctx.db)) {
    const n = up(t)
    if (!n.equals(t)) {
      replaceCommitTree(ctx.db, t, n)
      report.roots++
    }
  }
  for (const t of listDatumOutputTrees(ctx.db)) {
    const n = up(t)
    if (!n.equals(t)) {
      replaceDatumOutput(ctx.db, t, n)
      report.roots++
    }
  }
  return report
}
