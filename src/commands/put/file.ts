import {Args, Flags} from '@oclif/core'
import {jobFlags} from '../../cli/jobs.js'
import {envInt, PachCommand} from '../../cli/base-command.js'
import {buildSources, checkSources} from '../../cli/put-sources.js'
import {bytesSize} from '../../cli/format/values.js'
import {parseFile} from '../../core/pfs/refs.js'
import type {PutFileResult} from '../../core/types.js'

export default class PutFile extends PachCommand<typeof PutFile, PutFileResult> {
  static override summary = 'Put files into a repo: into the open commit on the branch, else a new one-off commit.'
  static override description = `Sources are local files or directories (-r), URLs, or - for stdin; -i reads a list of sources (a file, - or a URL). Without :path a source keeps its base name (its path as given with --full-path). With one source, a directory's files go under :path; a file goes to :path, or into it when it ends in /. With several sources :path is a prefix for each name. stdin needs a file path of its own. --untar unpacks .tar, .tar.gz and .tgz sources (and stdin) under :path. Writes are atomic: an interrupted put leaves nothing half-visible.`
  static override examples = [
    '<%= config.bin %> put file images@master -f cat.png',
    {description: 'A directory: ./photos/a/b.png goes to /raw/a/b.png', command: '<%= config.bin %> put file images@master:/raw -r -f ./photos'},
    'cat log.txt | <%= config.bin %> put file logs@master:/today.log -f - --append',
    '<%= config.bin %> put file data@master:/ --untar -f dataset.tar.gz',
  ]
  static override args = {file: Args.string({description: '<repo>@<branch-or-open-commit>[:<path>]', required: true})}
  static override triggersJobs = true
  static override flags = {
    ...jobFlags,
    file: Flags.string({char: 'f', description: 'local file, directory, URL, or - for stdin (repeatable)', multiple: true}),
    'input-file': Flags.string({char: 'i', description: 'file listing sources, one per line'}),
    recursive: Flags.boolean({char: 'r', description: 'put directories recursively'}),
    append: Flags.boolean({char: 'a', description: 'append to existing files instead of replacing them'}),
    'full-path': Flags.boolean({description: 'use the full source path as the target path'}),
    untar: Flags.boolean({description: 'extract a tar (.tar, .tar.gz, .tgz) source into the target directory'}),
  }
  static override aliases = ['put:files']

  async exec() {
    const ref = parseFile(this.args.file, 'master')
    const args = {
      path: ref.hasPath ? ref.path : undefined,
      files: this.flags.file ?? [],
      inputFile: this.flags['input-file'],
      recursive: this.flags.recursive,
      fullPath: this.flags['full-path'],
      untar: this.flags.untar,
      untarLimit: envInt('PACH_UNTAR_MAX_BYTES'),
      reporter: this.pach.reporter,
    }
    // the repo first, as pachctl: a typo in the address is the likelier mistake than in -f
    this.pach.repos.inspect(ref.commit.repo, this.project)
    const sources = await checkSources(args)
    return this.pach.files.put(this.project, ref.commit, buildSources(args, sources), {
      append: this.flags.append,
      signal: this.signal,
      concurrency: this.flags.untar || sources.includes('-') ? 1 : 2,
    })
  }

  human(r: PutFileResult) {
    if (!process.stderr.isTTY) return ''
    process.stderr.write(`put ${r.files} file${r.files === 1 ? '' : 's'} (${bytesSize(r.bytes)}, ${bytesSize(r.stored_bytes)} new) in ${r.commit.repo.name}@${r.commit.id}\n`)
    return ''
  }
}
