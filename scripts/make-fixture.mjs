#!/usr/bin/env node
/**
 * Build the frozen format fixture: `node scripts/make-fixture.mjs [outDir]` after `npm run
 * build` (default outDir: fixtures/repos/v<schema>, today v6). It writes `<outDir>/.pach` (a
 * small but complete project of today's on-disk format) and `<outDir>/MANIFEST.json` (what
 * that project holds, read back through the library). test/compat/format-v6.test.ts opens the committed bytes
 * with the current code and checks them against the manifest; docs/format.md §Compatibility.
 *
 * Deterministic where pach lets it be: a fixed clock (one second per reading from
 * 2026-01-01T00:00:00Z) and counter ids, seeded file contents. Datum timings (stats) come
 * from the wall clock and differ between runs; the manifest leaves them out.
 *
 * Re-make only when the fixture itself must change; a format upgrade must keep opening the
 * committed one (that is what it guards). Needs the local runner (bubblewrap or not).
 */
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const dist = (p) => import(join(root, 'dist', p))
const {initPach, openPach, parseCommit, parseFile} = await dist('index.js')
const {parseSpecs} = await dist('core/pps/spec/index.js')
const {writeConfig, defaultConfig, FORMAT_VERSION} = await dist('core/config.js')
const {SCHEMA_VERSION} = await dist('core/db/migrations.js')
const {selectRunner} = await dist('runner/select.js')

// named by the schema it was made with, so a later pach never overwrites an older fixture
const out = resolve(process.argv[2] ?? join(root, 'fixtures', 'repos', `v${SCHEMA_VERSION}`))
const pachDir = join(out, '.pach')
if (existsSync(out)) rmSync(out, {recursive: true})
mkdirSync(pachDir, {recursive: true})

// --- deterministic edges -------------------------------------------------------------------
let tick = Date.parse('2026-01-01T00:00:00Z')
const now = () => {
  const t = new Date(tick).toISOString()
  tick += 1000
  return t
}
let counter = 0
const newId = () => (++counter).toString(16).padStart(8, '0').padStart(32, 'f')
/** n bytes of seeded pseudo-random data (sha256 in counter mode) */
function bytes(seed, n) {
  const parts = []
  for (let i = 0, have = 0; have < n; i++) {
    const b = createHash('sha256').update(`${seed}:${i}`).digest()
    parts.push(b)
    have += b.length
  }
  return Buffer.concat(parts).subarray(0, n)
}
const src = (path, data) => ({path, open: async function* () { if (data.length) yield data }})
const text = (s) => Buffer.from(s, 'utf8')

// a 1 MiB pack target (a valid setting) so the 3 MiB file spans several packs as well as chunks
const cfg = defaultConfig(now())
cfg.pack_target = 1024 * 1024
writeConfig(pachDir, cfg)

const pach = initPach(out, {now, newId})
const D = 'default'
const put = (project, ref, files, opts) => pach.files.put(project, parseCommit(ref), Object.entries(files).map(([p, d]) => src(p, d)), opts)
const spec = (obj) => parseSpecs(JSON.stringify(obj), 'fixture.json').specs[0]

// --- project "default": a pipeline over raw, a secret ------------------------------------------
pach.projects.create('lab', 'second project')
pach.repos.create(D, 'raw', {description: 'pipeline input'})
await put(D, 'raw@master', {'/a.txt': text('alpha\n'), '/b.txt': text('bravo bravo\n'), '/empty': Buffer.alloc(0)})
pach.secrets.create({kind: 'Secret', metadata: {name: 'creds'}, stringData: {token: 's3cr3t'}}, 'fixture-secret.json')
pach.pipelines.put(
  spec({
    pipeline: {name: 'sizes'},
    description: 'byte count of every input file',
    transform: {
      cmd: ['/bin/sh', '-c', 'for f in /pfs/raw/*; do n=$(basename "$f"); wc -c < "$f" > "/pfs/out/$n.len"; echo "sized $n"; echo "token ${#TOKEN}" >&2; done'],
      secrets: [{name: 'creds', key: 'token', env_var: 'TOKEN'}],
    },
    input: {pfs: {repo: 'raw', glob: '/*'}},
  }),
  {update: false, reprocess: false, file: 'fixture.json'},
)
const runner = await selectRunner('local', () => {})
const run = async () => {
  const jobs = await pach.jobs.runPending({runner: async () => runner})
  for (const j of jobs) if (j.state !== 'JOB_SUCCESS') throw new Error(`job ${j.job.id} ended ${j.state}: ${j.reason}`)
  return jobs
}
await run() // job 1: every datum runs
// one commit that adds c.txt and deletes b.txt
pach.commits.start(D, parseCommit('raw@master'), {description: 'add c, drop b'})
await put(D, 'raw@master', {'/c.txt': text('charlie\n')})
pach.files.delete(D, parseCommit('raw@master'), ['/b.txt'])
pach.commits.finish(D, parseCommit('raw@master'), {})
await run() // job 2 (incremental): c.txt runs, a.txt and empty are skipped, b.txt vanishes
await runner.close?.()

// --- user repos with history in "default" ----------------------------------------------------
pach.repos.create(D, 'data', {description: 'files of several sizes'})
const many = {}
for (let i = 0; i < 300; i++) many[`/many/f${String(i).padStart(3, '0')}.txt`] = text(`entry ${i}\n`)
await put(D, 'data@master', {'/big.bin': bytes('big', 3 * 1024 * 1024 + 12345), '/empty': Buffer.alloc(0), '/small.txt': text('small\n'), '/doomed.txt': text('to be deleted\n'), ...many})
await put(D, 'data@master', {'/small.txt': text('small, second version\n'), '/nested/deep/file.json': text('{"k": 1}\n')})
pach.files.delete(D, parseCommit('data@master'), ['/doomed.txt'])
// branch provenance: joined@master follows data@master and raw@master (a user branch, no pipeline)
pach.repos.create(D, 'joined')
pach.branches.create(D, {name: 'joined', type: 'user'}, 'master', {provenance: ['data@master', 'raw@master']})
pach.commits.finish(D, parseCommit('joined@master'), {}) // the commit the new provenance started
// a squashed commit: the middle of three commits, its changes folded into its child
pach.repos.create(D, 'notes')
await put(D, 'notes@master', {'/n1': text('one\n')})
await put(D, 'notes@master', {'/n2': text('two\n')})
const middle = pach.commits.inspect(D, parseCommit('notes@master')).commit.id
await put(D, 'notes@master', {'/n3': text('three\n')})
pach.commits.squash(D, middle, (r, c) => pach.pipelines.isSpecCommit(r, c))

// --- project "lab": a trigger, an open commit ------------------------------------------------
pach.repos.create('lab', 'docs', {description: 'in the second project'})
pach.branches.create('lab', {name: 'docs', type: 'user'}, 'staging', {})
pach.branches.create('lab', {name: 'docs', type: 'user'}, 'release', {trigger: {branch: 'staging', commits: 2}})
await put('lab', 'docs@staging', {'/readme.md': text('# docs\n')})
await put('lab', 'docs@staging', {'/guide.md': text('guide\n')}) // second commit fires the trigger
await put('lab', 'docs@staging', {'/draft.md': text('draft\n')})
pach.repos.create('lab', 'scratch')
await put('lab', 'scratch@master', {'/kept': text('finished\n')})
pach.commits.start('lab', parseCommit('scratch@master'), {description: 'left open'})
await put('lab', 'scratch@master', {'/wip': text('work in progress\n')})

// --- a queued transaction, set aside --------------------------------------------------------
pach.transactions.start()
pach.repos.create(D, 'queued', {description: 'created when the transaction finishes'})
pach.branches.create(D, {name: 'raw', type: 'user'}, 'next', {head: 'master'})
pach.transactions.stop()

const report = pach.fsck({readData: true})
pach.close()
if (report.errors?.length) throw new Error(`fsck: ${JSON.stringify(report.errors)}`)
rmSync(join(pachDir, 'tmp'), {recursive: true, force: true})
const dropEmptyWal = () => {
  // a clean close checkpoints the WAL; an empty one (and its index) need not be committed
  const wal = join(pachDir, 'pach.db-wal')
  if (existsSync(wal) && statSync(wal).size > 0) throw new Error('the WAL was not checkpointed')
  for (const f of [wal, join(pachDir, 'pach.db-shm')]) rmSync(f, {force: true})
}
dropEmptyWal()

// --- the manifest, read back through a fresh open --------------------------------------------
const p = openPach({pachDir, readonly: true})
const sha = (b) => createHash('sha256').update(b).digest('hex')
const manifest = {schema: SCHEMA_VERSION, format: FORMAT_VERSION, generated_by: 'scripts/make-fixture.mjs', projects: [], repos: [], jobs: [], secrets: [], transactions: []}
for (const pr of p.projects.list()) {
  manifest.projects.push({name: pr.project.name, description: pr.description})
  for (const r of p.repos.list({project: pr.project.name, type: 'all'})) {
    const repo = {project: pr.project.name, name: r.repo.name, type: r.repo.type, branches: [], commits: []}
    for (const b of p.branches.list(pr.project.name, r.repo)) {
      repo.branches.push({name: b.branch.name, head: b.head.id, provenance: (b.direct_provenance ?? []).map((x) => `${x.repo.project.name}/${x.repo.name}${x.repo.type === 'user' ? '' : '.' + x.repo.type}@${x.name}`).sort(), trigger: b.trigger ?? null})
    }
    repo.branches.sort((a, b) => a.name.localeCompare(b.name))
    for (const c of p.commits.list(pr.project.name, {repo: {name: r.repo.name, type: r.repo.type}})) {
      const cm = {id: c.commit.id, branch: c.commit.branch?.name ?? null, parent: c.parent_commit?.id ?? null, finished: c.finished != null, files: []}
      if (cm.finished) {
        const ref = `${r.repo.name}${r.repo.type === 'user' ? '' : '.' + r.repo.type}@${c.commit.id}`
        const walk = (dir) => {
          for (const f of p.files.list(pr.project.name, parseFile(`${ref}:${dir}`))) {
            if (f.file_type === 'DIR') walk(f.file.path)
            else cm.files.push({path: f.file.path, size: Number(f.size_bytes), sha256: sha(p.files.readAll(pr.project.name, parseFile(`${ref}:${f.file.path}`)))})
          }
        }
        walk('/')
        cm.files.sort((a, b) => (a.path < b.path ? -1 : 1))
      }
      repo.commits.push(cm)
    }
    manifest.repos.push(repo)
  }
}
for (const j of p.jobs.list({})) {
  const datums = p.jobs.listDatums(j.job.pipeline.project.name, j.job.pipeline.name, j.job.id)
  const count = {}
  for (const d of datums) count[d.state] = (count[d.state] ?? 0) + 1
  manifest.jobs.push({project: j.job.pipeline.project.name, pipeline: j.job.pipeline.name, id: j.job.id, state: j.state, data_total: j.data_total, data_processed: j.data_processed, data_skipped: j.data_skipped, datums: datums.map((d) => ({id: d.datum.id, state: d.state})).sort((a, b) => (a.id < b.id ? -1 : 1)), datum_states: count, log_lines: p.jobs.logs(j.job.pipeline.project.name, j.job.pipeline.name, {job: j.job.id}).map((l) => `${l.datum} ${l.stream} ${l.message}`).sort()})
}
manifest.secrets = p.secrets.list().map((s) => s.secret.name)
manifest.transactions = p.transactions.list().map((t) => ({id: t.transaction.id, requests: t.requests.length}))
p.close()
dropEmptyWal()
// one line per file and per datum, so a diff of the manifest reads like a listing
const json = JSON.stringify(manifest, null, 2)
  .replace(/\{\n\s+"path": ("[^"\n]*"),\n\s+"size": (\d+),\n\s+"sha256": ("[0-9a-f]{64}")\n\s+\}/g, '{"path": $1, "size": $2, "sha256": $3}')
  .replace(/\{\n\s+"id": ("[0-9a-f]+"),\n\s+"state": ("[A-Z_]+")\n\s+\}/g, '{"id": $1, "state": $2}')
writeFileSync(join(out, 'MANIFEST.json'), json + '\n')

let size = 0
const du = (d) => { for (const n of readdirSync(d)) { const f = join(d, n); const s = statSync(f); if (s.isDirectory()) du(f); else size += s.size } }
du(pachDir)
console.log(`fixture: ${out} (${(size / 1024 / 1024).toFixed(2)} MiB)`)
