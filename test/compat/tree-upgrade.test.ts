/**
 * The tree upgrade (src/core/maintenance/upgrade.ts) on the frozen schema-6 fixture, whose
 * `/many` directory (300 entries) an older pach stored whole: the first writing open rewrites
 * it into a prolly tree; every commit's tree is then exactly what the current code builds from
 * the same files (canonical), nothing a user sees changes, and a kill at any moment of that
 * first open leaves a project that opens with the same content.
 */
import Database from 'better-sqlite3'
import {spawn} from 'node:child_process'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {openPach} from '../../src/index.js'
import {migrate, SCHEMA_VERSION} from '../../src/core/db/migrations.js'
import {TreeStore, type TreeOp} from '../../src/core/store/tree-store.js'
import {BIN} from '../helpers/cli.js'
import {fixtureCopies, expectMatchesManifest, expectSameFiles, loadManifest} from '../helpers/fixture.js'

const manifest = loadManifest('v6')
/** A fresh copy of the fixture (its directory holds `.pach`). */
const copy = fixtureCopies('v6')

/** Schema version and upgrade flag, read without opening through pach (which would upgrade). */
function state(dir: string): {schema: number; pending: boolean} {
  const db = new Database(join(dir, '.pach', 'pach.db'), {readonly: true})
  try {
    const schema = db.pragma('user_version', {simple: true}) as number
    const pending = schema === SCHEMA_VERSION && db.prepare("SELECT 1 FROM meta WHERE key = 'tree_upgrade'").get() !== undefined
    return {schema, pending}
  } finally {
    db.close()
  }
}

describe('tree upgrade of the v6 fixture', () => {
  it('rewrites large directories into canonical prolly trees on the first writing open', async () => {
    const dir = copy()
    expect(state(dir)).toEqual({schema: 6, pending: false})
    const pach = openPach({cwd: dir})
    try {
      expect(state(dir)).toEqual({schema: SCHEMA_VERSION, pending: false})
      const trees = pach.ctx.trees
      // canonical: every commit's root is what a fresh build of its files gives
      const db = new Database(':memory:')
      migrate(db, 0)
      const fresh = new TreeStore(db)
      const roots = pach.ctx.db.prepare('SELECT tree FROM commits WHERE tree IS NOT NULL').pluck().all() as Buffer[]
      expect(roots.length).toBeGreaterThan(5)
      const many = roots.map((r) => trees.lookup(r, '/many')).filter((e) => e !== undefined)
      expect(many.length).toBeGreaterThan(0)
      for (const e of many) expect(trees.node(e.hash).kind).toBe('index')
      for (const root of roots) {
        const ops: TreeOp[] = [...trees.walk(root)].flatMap(([path, e]) => (e.kind === 'file' ? [{type: 'put' as const, path, content: {hash: e.hash, size: e.size, chunks: e.chunks, sizes: e.sizes}}] : []))
        expect(fresh.apply(null, ops)!.toString('hex')).toBe(root.toString('hex'))
      }
      expectMatchesManifest(pach, manifest)
      // the old objects are garbage now; gc frees them and the project stays whole
      expect((await pach.gc({})).deleted_trees).toBeGreaterThan(0)
      expectMatchesManifest(pach, manifest)
    } finally {
      pach.close()
    }
  }, 60_000)

  it('reads the old layout while the upgrade is pending (schema migrated, trees not yet)', () => {
    const dir = copy()
    const db = new Database(join(dir, '.pach', 'pach.db'))
    db.transaction(() => migrate(db, 6))()
    db.close()
    expect(state(dir)).toEqual({schema: SCHEMA_VERSION, pending: true})
    const pach = openPach({cwd: dir, readonly: true})
    try {
      expectSameFiles(pach, manifest)
    } finally {
      pach.close()
    }
    expect(state(dir).pending).toBe(true)
  }, 30_000)

  it('survives a kill at any moment of the first open: old or new, same content', async () => {
    // calibrate: how long the upgrading open takes as a whole process
    const run = (dir: string, killAfterMs?: number) =>
      new Promise<{ms: number; killed: boolean}>((resolve) => {
        const t0 = performance.now()
        const p = spawn(process.execPath, [BIN, 'list', 'repo'], {cwd: dir, stdio: 'ignore'})
        const timer = killAfterMs === undefined ? undefined : setTimeout(() => p.kill('SIGKILL'), killAfterMs)
        p.on('exit', (_code, signal) => {
          clearTimeout(timer)
          resolve({ms: performance.now() - t0, killed: signal === 'SIGKILL'})
        })
      })
    const whole = (await run(copy())).ms
    const seen = new Set<string>()
    let killed = 0
    for (let k = 0; k < 10; k++) {
      const dir = copy()
      const r = await run(dir, Math.round((whole * (k + 0.5)) / 10))
      if (r.killed) killed++
      const s = state(dir)
      seen.add(s.schema === 6 ? 'old' : s.pending ? 'migrated, trees pending' : 'new')
      const pach = openPach({cwd: dir})
      try {
        expect(state(dir)).toEqual({schema: SCHEMA_VERSION, pending: false})
        expectMatchesManifest(pach, manifest)
      } finally {
        pach.close()
      }
    }
    expect(killed).toBeGreaterThan(0)
    expect(seen.size).toBeGreaterThan(0)
  }, 180_000)
})
