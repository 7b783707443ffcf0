/**
 * The demo scenario behind `pach demo`: a scripted session over the library API, each step
 * reported with the equivalent CLI command and its human output. It needs no Docker and no
 * image: pipelines run with the local runner, using only sh from the host.
 *
 * words (repo of text files) → count (one datum per file: word count) → total (reduce: one
 * datum over all counts). Adding one file then processes exactly one `count` datum.
 */
import type {Pach} from '../core/pach.js'
import {initPach} from '../core/pach.js'
import {parseCommit, parseFile} from '../core/pfs/refs.js'
import {parseSpecs} from '../core/pps/spec/index.js'
import {commitTable, fileTable} from './format/tables.js'
import {jobTable} from './format/pps.js'
import {runnerFactory} from './jobs.js'

export interface DemoStep {
  command: string
  output: string
}

const text = (s: string) => async function* () {
  yield Buffer.from(s)
}

export const DEMO_SPECS = [
  {
    pipeline: {name: 'count'},
    description: 'words per file',
    transform: {image: 'busybox', cmd: ['sh', '-c', 'wc -w < "$words" | tr -d " " > "/pfs/out/$(basename "$words")"']},
    input: {pfs: {repo: 'words', glob: '/*'}},
  },
  {
    pipeline: {name: 'total'},
    description: 'sum of all counts',
    transform: {image: 'busybox', cmd: ['sh', '-c', 't=0; for f in /pfs/count/*; do read n < "$f"; t=$((t + n)); done; echo "$t" > /pfs/out/total']},
    input: {pfs: {repo: 'count', glob: '/'}},
  },
]

export async function runDemo(dir: string, onStep: (s: DemoStep) => void): Promise<DemoStep[]> {
  const steps: DemoStep[] = []
  const step = (command: string, output = '') => {
    const s = {command, output}
    steps.push(s)
    onStep(s)
  }
  const pach = initPach(dir)
  const P = 'default'
  const run = async (p: Pach) => p.jobs.runPending({runner: runnerFactory(p, 'local')})
  try {
    step(`pach init ${dir}`, `Initialized empty pach project in ${pach.pachDir}`)
    pach.repos.create(P, 'words', {description: 'demo text files'})
    step('pach create repo words')
    const docs: Record<string, string> = {
      '/a.txt': 'the quick brown fox jumps over the lazy dog\n',
      '/b.txt': 'pach versions data like git versions code\n',
      '/c.txt': 'every change gets one global id\n',
    }
    await pach.files.put(P, parseCommit('words@master'), Object.entries(docs).map(([path, s]) => ({path, open: text(s)})))
    step('pach put file words@master:/ -r -f ./docs')
    step('pach list file words@master', fileTable([...pach.files.list(P, parseFile('words@master'))]))
    for (const s of DEMO_SPECS) {
      const spec = parseSpecs(JSON.stringify(s), `${s.pipeline.name}.json`, P).specs[0]!
      pach.pipelines.put(spec, {update: false, reprocess: false, file: `${s.pipeline.name}.json`})
      await run(pach)
      step(`pach create pipeline -f ${s.pipeline.name}.json   # ${s.description}`)
    }
    step('pach list job', jobTable(pach.jobs.list({project: P})))
    step('pach get file count@master:/a.txt', pach.files.readAll(P, parseFile('count@master:/a.txt')).toString())
    step('pach get file total@master:/total', pach.files.readAll(P, parseFile('total@master:/total')).toString())
    await pach.files.put(P, parseCommit('words@master'), [{path: '/d.txt', open: text('a fourth file arrives\n')}])
    const jobs = await run(pach)
    step('pach put file words@master:/d.txt -f d.txt   # triggers count, then total', '')
    const count = jobs.find((j) => j.job.pipeline.name === 'count')
    step('pach list job -p count', jobTable(pach.jobs.list({project: P, pipeline: 'count'})))
    step(
      '# only the new file was processed',
      count ? `count@${count.job.id}: ${count.data_processed} datum processed, ${count.data_skipped} skipped (of ${count.data_total})\n` : 'count did not run\n',
    )
    step('pach get file total@master:/total', pach.files.readAll(P, parseFile('total@master:/total')).toString())
    step(`pach list commit ${count?.job.id ?? ''}   # one global id across the DAG`, commitTable(count ? pach.commits.listSet(count.job.id).commits : []))
    return steps
  } finally {
    pach.close()
  }
}
