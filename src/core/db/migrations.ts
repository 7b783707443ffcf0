/**
 * Ordered schema migrations keyed by PRAGMA user_version. Migration i (1-based) moves the
 * schema from version i-1 to i; each is one SQL script (or a function, when rows must be
 * rewritten) run inside the opening transaction.
 * Never edit a released migration: append a new one. docs/format.md describes the tables.
 */
import {InternalError} from '../errors.js'
import {DatumTree, type DatumSetEntry, type DatumSetState} from './datum-tree.js'
import {encodeDatumSet, readLegacySet} from './legacy-datum-sets.js'
import type {DB} from './types.js'

const MIGRATIONS: (string | ((db: DB) => void))[] = [
  // 1: PFS
  `
  CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE projects(
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL
  );
  CREATE TABLE repos(
    id INTEGER PRIMARY KEY,
    project TEXT NOT NULL REFERENCES projects(name),
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    UNIQUE(project, name, type)
  );
  -- A commit: one per (repo, id). ids are global: one id is shared by every commit of a change.
  -- tree: root tree hash (NULL = empty). Finished commits are immutable.
  CREATE TABLE commits(
    repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    branch TEXT,
    parent TEXT,
    origin TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    started TEXT NOT NULL,
    finishing TEXT,
    finished TEXT,
    error TEXT NOT NULL DEFAULT '',
    tree BLOB,
    size INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(repo_id, id)
  );
  CREATE INDEX commits_by_id ON commits(id);
  CREATE INDEX commits_by_parent ON commits(repo_id, parent);
  CREATE INDEX commits_by_seq ON commits(repo_id, seq);
  CREATE TABLE commit_provenance(
    repo_id INTEGER NOT NULL,
    commit_id TEXT NOT NULL,
    prov_repo_id INTEGER NOT NULL,
    prov_commit_id TEXT NOT NULL,
    PRIMARY KEY(repo_id, commit_id, prov_repo_id, prov_commit_id),
    FOREIGN KEY(repo_id, commit_id) REFERENCES commits(repo_id, id) ON DELETE CASCADE
  );
  CREATE INDEX commit_prov_rev ON commit_provenance(prov_repo_id, prov_commit_id);
  CREATE TABLE commit_sets(id TEXT PRIMARY KEY, created TEXT NOT NULL, modified TEXT NOT NULL);
  CREATE TABLE branches(
    repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    head TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY(repo_id, name)
  );
  CREATE TABLE branch_provenance(
    repo_id INTEGER NOT NULL,
    branch TEXT NOT NULL,
    prov_repo_id INTEGER NOT NULL,
    prov_branch TEXT NOT NULL,
    PRIMARY KEY(repo_id, branch, prov_repo_id, prov_branch),
    FOREIGN KEY(repo_id, branch) REFERENCES branches(repo_id, name) ON DELETE CASCADE
  );
  CREATE INDEX branch_prov_rev ON branch_provenance(prov_repo_id, prov_branch);
  -- Merkle trees (content addressed by sha256 of data); see core/store/tree-store.ts for the encoding.
  CREATE TABLE trees(hash BLOB PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
  -- Blob index: where each stored chunk lives inside a pack file.
  CREATE TABLE blobs(
    id BLOB PRIMARY KEY,
    pack BLOB NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX blobs_by_pack ON blobs(pack);
  CREATE TABLE packs(id BLOB PRIMARY KEY, size INTEGER NOT NULL, created TEXT NOT NULL) WITHOUT ROWID;
  -- Processes that may be writing packs not yet indexed (gc leaves their packs alone).
  CREATE TABLE leases(
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    started TEXT NOT NULL
  );
  CREATE TABLE transactions(
    id TEXT PRIMARY KEY,
    started TEXT NOT NULL,
    requests TEXT NOT NULL DEFAULT '[]'
  );
  `,
  // 2: PPS
  `
  CREATE TABLE pipelines(
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    spec TEXT NOT NULL,
    user_spec TEXT NOT NULL,
    salt TEXT NOT NULL,
    state TEXT NOT NULL,
    stopped INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    spec_commit TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    PRIMARY KEY(project, name)
  );
  CREATE TABLE pipeline_versions(
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    spec TEXT NOT NULL,
    salt TEXT NOT NULL,
    spec_commit TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY(project, name, version)
  );
  -- A job: one per output commit of a pipeline (same id as the commit set that caused it).
  CREATE TABLE jobs(
    project TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    pipeline_version INTEGER NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    started TEXT,
    finished TEXT,
    data_processed INTEGER NOT NULL DEFAULT 0,
    data_skipped INTEGER NOT NULL DEFAULT 0,
    data_failed INTEGER NOT NULL DEFAULT 0,
    data_recovered INTEGER NOT NULL DEFAULT 0,
    data_total INTEGER NOT NULL DEFAULT 0,
    stats TEXT NOT NULL DEFAULT '{}',
    details TEXT NOT NULL DEFAULT '{}',
    lease_pid INTEGER,
    lease_host TEXT,
    lease_at TEXT,
    restart INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(project, pipeline, id)
  );
  CREATE INDEX jobs_by_state ON jobs(state, seq);
  CREATE INDEX jobs_by_id ON jobs(id);
  -- Per-datum results; output = root tree of what the datum wrote to /pfs/out.
  CREATE TABLE datums(
    project TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    job_id TEXT NOT NULL,
    datum_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    hash TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    inputs TEXT NOT NULL,
    stats TEXT NOT NULL DEFAULT '{}',
    output BLOB,
    PRIMARY KEY(project, pipeline, job_id, datum_id)
  );
  `,
  // 3: a job's datum set as one blob (datum-sets.ts); full rows only for datums a job ran.
  // Existing jobs keep their rows (skipped ones included) and get a set pointing at themselves.
  (db) => {
    db.exec(`CREATE TABLE job_datums(
      project TEXT NOT NULL,
      pipeline TEXT NOT NULL,
      job_id TEXT NOT NULL,
      list BLOB NOT NULL,
      PRIMARY KEY(project, pipeline, job_id)
    )`)
    const rowsOf = db.prepare('SELECT datum_id, hash, state FROM datums WHERE project = ? AND pipeline = ? AND job_id = ? ORDER BY idx')
    const ins = db.prepare('INSERT INTO job_datums(project, pipeline, job_id, list) VALUES (?, ?, ?, ?)')
    for (const j of db.prepare('SELECT DISTINCT project, pipeline, job_id FROM datums').all() as {project: string; pipeline: string; job_id: string}[]) {
      const entries = (rowsOf.all(j.project, j.pipeline, j.job_id) as {datum_id: string; hash: string; state: DatumSetState}[]).map((r) => ({id: r.datum_id, hash: r.hash, state: r.state, source: j.job_id}))
      ins.run(j.project, j.pipeline, j.job_id, encodeDatumSet(entries))
    }
  },
  // 4: secrets (the local stand-in for Kubernetes secrets; pps/secret-service.ts)
  `
  CREATE TABLE secrets(
    name TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    created TEXT NOT NULL
  );
  `,
  // 5: propagation_spec.never: a provenance link along which new commits do not propagate
  `
  ALTER TABLE branch_provenance ADD COLUMN never INTEGER NOT NULL DEFAULT 0;
  `,
  // 6: branch triggers (pfs/trigger.ts): the trigger as JSON, null for none
  `
  ALTER TABLE branches ADD COLUMN trigger TEXT;
  `,
  // 7: listing indexes. A commit's children are found by (repo_id, parent) and read in seq
  // order: with seq in the index SQLite no longer prefers commits_by_seq and scans the whole
  // repo per lookup (which made \`list commit\` quadratic in history). Commit sets are listed
  // newest change first, with LIMIT for \`-n\`, straight off an index.
  `
  DROP INDEX commits_by_parent;
  CREATE INDEX commits_by_parent ON commits(repo_id, parent, seq);
  CREATE INDEX commit_sets_by_modified ON commit_sets(modified DESC, created DESC);
  `,
  // 8: a job's datum set as a delta against its base job's (db/datum-sets.ts): \`base\` NULL
  // is a snapshot (every set stored so far), else the job whose set \`list\` edits; \`depth\`
  // and \`chain\` are the number and bytes of the deltas back to the snapshot.
  `
  ALTER TABLE job_datums ADD COLUMN base TEXT;
  ALTER TABLE job_datums ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE job_datums ADD COLUMN chain INTEGER NOT NULL DEFAULT 0;
  `,
  // 9: trees in the chunked format (store/tree-node.ts): large directories become prolly trees
  // and tree rows may be deltas, which an older pach cannot read. The rewrite of existing large
  // directories needs the tree store, so it runs after opening (maintenance/upgrade.ts), in its
  // own transaction, while this flag is set; the new code reads the old layout meanwhile.
  // The table becomes a rowid table: rows sit in write order (a commit's nodes, a large
  // directory's leaves, side by side) and up to ~4 KiB stay in their page, where WITHOUT ROWID
  // spilled every row over ~1 KiB into overflow pages (a million-entry listing read 3× slower).
  `
  INSERT INTO meta(key, value) SELECT 'tree_upgrade', 'pending' WHERE EXISTS (SELECT 1 FROM trees);
  CREATE TABLE trees_v9(id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, data BLOB NOT NULL);
  INSERT INTO trees_v9(hash, data) SELECT hash, data FROM trees;
  DROP TABLE trees;
  ALTER TABLE trees_v9 RENAME TO trees;
  `,
  // 10: a job's datum set as a tree of nodes keyed by datum id (db/datum-tree.ts) in
  // `datum_nodes`; `job_datums` keeps its root, entry count and how many of the job's own
  // datums did not succeed. Every stored set is converted: an entry a job skipped now carries
  // its state in its source job (the tree derives SKIPPED), read from the source's row.
  // A rowid table for the nodes, as for trees (migration 9): ~5 KiB rows stay in their pages.
  (db) => {
    db.exec(`CREATE TABLE datum_nodes(id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, data BLOB NOT NULL);
      CREATE TABLE job_datums_v10(
        project TEXT NOT NULL,
        pipeline TEXT NOT NULL,
        job_id TEXT NOT NULL,
        root BLOB,
        size INTEGER NOT NULL,
        unsettled INTEGER NOT NULL,
        PRIMARY KEY(project, pipeline, job_id)
      )`)
    const put = db.prepare('INSERT OR IGNORE INTO datum_nodes(hash, data) VALUES (?, ?)')
    const get = db.prepare('SELECT data FROM datum_nodes WHERE hash = ?').pluck()
    const tree = new DatumTree({get: (h) => get.get(h) as Buffer | undefined, put: (h, d) => void put.run(h, d)})
    const statesOf = db.prepare('SELECT datum_id, state FROM datums WHERE project = ? AND pipeline = ? AND job_id = ?')
    const ins = db.prepare('INSERT INTO job_datums_v10(project, pipeline, job_id, root, size, unsettled) VALUES (?, ?, ?, ?, ?, ?)')
    const sets = db.prepare('SELECT project, pipeline, job_id FROM job_datums ORDER BY project, pipeline').all() as {project: string; pipeline: string; job_id: string}[]
    let states = new Map<string, Map<string, DatumSetState>>()
    let pipelineKey = ''
    for (const j of sets) {
      const key = `${j.project}\0${j.pipeline}`
      if (key !== pipelineKey) [states, pipelineKey] = [new Map(), key]
      const stateAt = (source: string, id: string): DatumSetState => {
        let m = states.get(source)
        if (!m) states.set(source, (m = new Map((statesOf.all(j.project, j.pipeline, source) as {datum_id: string; state: DatumSetState}[]).map((r) => [r.datum_id, r.state]))))
        return m.get(id) ?? 'SKIPPED'
      }
      const entries = readLegacySet(db, j.project, j.pipeline, j.job_id).map((e): DatumSetEntry => (e.source === j.job_id ? e : {...e, state: stateAt(e.source, e.id)}))
      const unsettled = entries.filter((e) => e.source === j.job_id && e.state !== 'SUCCESS' && e.state !== 'SKIPPED').length
      entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      ins.run(j.project, j.pipeline, j.job_id, tree.build(entries), entries.length, unsettled)
    }
    db.exec('DROP TABLE job_datums; ALTER TABLE job_datums_v10 RENAME TO job_datums')
  },
  // 11: remotes (issue 14, `pach push`/`pull`, db/remotes.ts). A remote is a pachd cluster,
  // known by its deployment id (so two pachctl contexts naming one cluster share a mapping);
  // `remote_commits` maps a local commit to the remote commit that holds the same content
  // (pachd mints its own ids on push; a pull keeps the remote's), `remote_branches` marks a
  // local branch as tracking a remote one. And pachd's user metadata (metadata_v2
  // EditMetadata, pachd 2.10+): a JSON object of string → string on projects, repos,
  // branches and commits.
  (db) => {
    for (const table of ['projects', 'repos', 'branches', 'commits']) {
      const has = (db.prepare(`PRAGMA table_info(${table})`).all() as {name: string}[]).some((c) => c.name === 'metadata')
      if (!has) db.exec(`ALTER TABLE ${table} ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}'`)
    }
    db.exec(`
  CREATE TABLE remotes(
    deployment_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    last_push TEXT,
    last_pull TEXT
  );
  CREATE TABLE remote_commits(
    deployment_id TEXT NOT NULL REFERENCES remotes(deployment_id) ON DELETE CASCADE,
    repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    local_commit TEXT NOT NULL,
    remote_project TEXT NOT NULL,
    remote_repo TEXT NOT NULL,
    remote_commit TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('started', 'finished')),
    updated TEXT NOT NULL,
    PRIMARY KEY(deployment_id, repo_id, local_commit)
  );
  CREATE INDEX remote_commits_by_remote ON remote_commits(deployment_id, remote_project, remote_repo, remote_commit);
  CREATE TABLE remote_branches(
    repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    branch TEXT NOT NULL,
    deployment_id TEXT NOT NULL REFERENCES remotes(deployment_id) ON DELETE CASCADE,
    remote_project TEXT NOT NULL,
    remote_repo TEXT NOT NULL,
    remote_branch TEXT NOT NULL,
    PRIMARY KEY(repo_id, branch, deployment_id)
  );
  `)
  },
  // 12: remote content (issue 14, `pach pull`, db/remotes.ts). What a file's hash on a remote
  // is here: pachd's file hash (FileInfo.hash) is its own, so a pull records, per cluster,
  // remote hash + size → the local content (chunk list) it stored for it, and a later pull of
  // a file with that hash reads no bytes. A hint, not a reference: gc ignores it, and a row
  // whose chunks are gone is not used.
  (db) => {
    db.exec(`
  CREATE TABLE remote_content(
    deployment_id TEXT NOT NULL REFERENCES remotes(deployment_id) ON DELETE CASCADE,
    remote_hash BLOB NOT NULL,
    size INTEGER NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY(deployment_id, remote_hash, size)
  ) WITHOUT ROWID;
  `)
  },
  // 13: the S3 gateway's ETags (issue 15, db/s3-etags.ts): a file's content hash → the ETag S3
  // clients verify (the MD5 of the bytes, or `md5-of-md5s-N` for a multipart upload), kept
  // once computed so a HEAD of a 1 GiB file is not a full read each time. A cache, not a
  // reference: gc ignores it, and a row whose content is gone is never asked for.
  `CREATE TABLE s3_etags(hash BLOB PRIMARY KEY, etag TEXT NOT NULL) WITHOUT ROWID;`,
  // 14: per-file lineage (issue 16, pps/lineage.ts): `datum_inputs` names, for every datum
  // row, each input file or directory it read (input repo + path → pipeline, job, datum), so
  // `pach lineage --downstream` finds the datums that read a file by key instead of parsing
  // every datum's inputs. One narrow row per input of a datum a job ran (a skipped datum is
  // found through its source job's row, as its datum-set entry says). Filled here from the
  // `inputs` every existing row already records: nothing before this schema is left out.
  `
  CREATE TABLE datum_inputs(
    project TEXT NOT NULL,
    repo TEXT NOT NULL,
    repo_type TEXT NOT NULL,
    path TEXT NOT NULL,
    pipeline_project TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    job_id TEXT NOT NULL,
    datum_id TEXT NOT NULL,
    PRIMARY KEY(project, repo, repo_type, pipeline_project, pipeline, path, job_id, datum_id)
  ) WITHOUT ROWID;
  CREATE INDEX datum_inputs_by_datum ON datum_inputs(pipeline_project, pipeline, job_id);
  INSERT OR IGNORE INTO datum_inputs
    SELECT json_extract(i.value, '$.project'), json_extract(i.value, '$.repo'), coalesce(json_extract(i.value, '$.repo_type'), 'user'), json_extract(i.value, '$.path'),
      d.project, d.pipeline, d.job_id, d.datum_id
    FROM datums d, json_each(d.inputs) i
    WHERE json_extract(i.value, '$.repo') IS NOT NULL AND json_extract(i.value, '$.path') IS NOT NULL;
  `,
  // 15: commits by global seq (db/commits.ts insertCommit): a new commit's seq is MAX(seq) + 1 over
  // every repo, which commits_by_seq (repo_id first) cannot answer, so each commit scanned the
  // whole table (a gateway making one commit per S3 PUT paid for every commit before it).
  `CREATE INDEX commits_by_global_seq ON commits(seq);`,
]

export const SCHEMA_VERSION = MIGRATIONS.length

/**
 * Move the schema from version `from` to `to` (default: the current one). A lower `to` stops
 * there, which only tests use: they build a database of an older schema the way that
 * version's pach made it (test/compat/migrate-v2.test.ts).
 */
export function migrate(db: DB, from: number, to: number = SCHEMA_VERSION): void {
  if (!Number.isInteger(to) || to < from || to > SCHEMA_VERSION) throw new InternalError(`migrate: cannot go from schema ${from} to ${to} (known: 0..${SCHEMA_VERSION})`)
  for (let v = from; v < to; v++) {
    const m = MIGRATIONS[v]!
    if (typeof m === 'string') db.exec(m)
    else m(db)
  }
  db.pragma(`user_version = ${to}`)
}
