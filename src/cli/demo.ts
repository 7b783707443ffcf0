/**
 * The demo scenario behind `pach demo`: a scripted session over the library API, each step
 * reported with the equivalent CLI command and its human output.
 */
import {initRepo} from '../core/repo.js'
import {parseCommit, parseFile} from '../core/pfs/refs.js'
import {commitTable, diffText, fileTable} from './format/tables.js'

export interface DemoStep {
  command: string
  output: string
}

const text = (s: string) => async function* () {
  yield Buffer.from(s)
}

export async function runDemo(dir: string, onStep: (s: DemoStep) => void): Promise<DemoStep[]> {
  const steps: DemoStep[] = []
  const step = (command: string, output = '') => {
    const s = {command, output}
    steps.push(s)
    onStep(s)
  }
  const pach = initRepo(dir)
  const P = 'default'
  try {
    step(`pach init ${dir}`, `Initialized empty pach project in ${pach.pachDir}`)
    pach.repos.create(P, 'words', {description: 'demo text files'})
    step('pach create repo words')
    const docs: Record<string, string> = {
      '/a.txt': 'the quick brown fox\njumps over the lazy dog\n',
      '/b.txt': 'pach versions data\nlike git versions code\n',
      '/c.txt': 'every change gets one global id\n',
    }
    await pach.files.put(P, parseCommit('words@master'), Object.entries(docs).map(([path, s]) => ({path, open: text(s)})))
    step('pach put file words@master:/ -r -f ./docs', '')
    step('pach list file words@master', fileTable(pach.files.list(P, parseFile('words@master'))))
    await pach.files.put(P, parseCommit('words@master'), [{path: '/d.txt', open: text('a fourth file arrives\n')}])
    step('pach put file words@master:/d.txt -f d.txt')
    step('pach list commit words', commitTable(pach.commits.list(P, parseCommit('words'))))
    step('pach diff file words@master', diffText(pach.files.diff(P, parseFile('words@master'))))
    step('pach get file words@master^:/a.txt', pach.files.readAll(P, parseFile('words@master^:/a.txt')).toString())
    return steps
  } finally {
    pach.close()
  }
}
