/**
 * Content diffs for `diff file` (pachctl 2.x): each changed file's two versions are written
 * to a scratch directory and handed to a diff program, whose output goes to stdout as it
 * comes, one changed file after another in path order.
 *
 * The program is `diff -u`, with labels naming each side (`repo@commit:/path`), or the user's
 * `--diff-command` split on whitespace (as pachctl splits it) and run as `<cmd> <old> <new>`.
 * A side that does not exist is /dev/null, as in pachctl. The scratch copies keep the file's
 * path (…/old/dir/a.txt, …/new/dir/a.txt), so a tool that prints names shows the file's own.
 * Exit status 0 or 1 ("no differences" / "differences found", for diff and `git diff
 * --no-index` alike) is success; anything else, or a program that cannot start, is
 * DIFF_COMMAND_FAILED. With `--shallow` a changed directory is one line, as GNU diff words it.
 *
 * pachctl prefers `git diff --no-index` with forced colour when git is installed; pach uses
 * `diff -u` (plain text that pipes cleanly); `--diff-command "git diff --no-index"` gives git's.
 */
import {spawn} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {CancelledError, InvalidArgumentError, PachError} from '../core/errors.js'
import type {Pach} from '../core/pach.js'
import {repoLabel, type DiffFileInfo, type FileInfo} from '../core/types.js'
import {writeOut} from './base-command.js'

export interface DiffToolOptions {
  /** the user's `--diff-command` (undefined: `diff -u` with labels) */
  command?: string
  signal?: AbortSignal
}

/** `repo@commit:/path`: how a side of a change is named. */
const label = (f: FileInfo) => `${repoLabel(f.file.commit.repo)}@${f.file.commit.id}:${f.file.path}`

/** Run the diff program over every changed file of `pairs`; output goes to stdout. */
export async function runDiffs(pach: Pach, pairs: DiffFileInfo[], opts: DiffToolOptions = {}): Promise<void> {
  const custom = opts.command?.trim().split(/\s+/).filter(Boolean)
  if (opts.command !== undefined && !custom?.length) {
    throw new InvalidArgumentError('USAGE', '--diff-command is empty', {hint: 'give a program, e.g. --diff-command "git diff --no-index"'})
  }
  const scratch = mkdtempSync(join(tmpdir(), 'pach-diff-'))
  try {
    let n = 0
    for (const d of pairs) {
      opts.signal?.throwIfAborted()
      const o = d.old_file
      const nw = d.new_file
      if (o?.file_type === 'DIR' || nw?.file_type === 'DIR') {
        writeOut(o && nw ? `Directories ${label(o)} and ${label(nw)} differ\n` : `Only in ${label((nw ?? o)!)}\n`)
        continue
      }
      const dir = join(scratch, String(n++))
      const oldPath = o ? materialize(pach, o, join(dir, 'old')) : '/dev/null'
      const newPath = nw ? materialize(pach, nw, join(dir, 'new')) : '/dev/null'
      const argv = custom
        ? [...custom, oldPath, newPath]
        : ['diff', '-u', '--label', o ? label(o) : '/dev/null', '--label', nw ? label(nw) : '/dev/null', oldPath, newPath]
      await run(argv, (nw ?? o)!.file.path, opts.signal)
      rmSync(dir, {recursive: true, force: true})
    }
  } finally {
    rmSync(scratch, {recursive: true, force: true})
  }
}

/** Write one side of a change under `root`, keeping its path; returns the local file. */
function materialize(pach: Pach, f: FileInfo, root: string): string {
  const dest = join(root, f.file.path)
  mkdirSync(dirname(dest), {recursive: true})
  const c = f.file.commit
  pach.files.materialize(c.repo.project.name, {commit: {repo: {name: c.repo.name, type: c.repo.type}, id: c.id}, path: f.file.path, hasPath: true}, dest)
  return dest
}

function run(argv: string[], path: string, signal?: AbortSignal): Promise<void> {
  const [cmd, ...args] = argv as [string, ...string[]]
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {stdio: ['ignore', 'pipe', 'inherit']})
    const onAbort = () => child.kill('SIGTERM')
    signal?.addEventListener('abort', onAbort, {once: true})
    child.stdout.on('data', (b: Buffer) => writeOut(b))
    child.on('error', (e: NodeJS.ErrnoException) => {
      signal?.removeEventListener('abort', onAbort)
      reject(
        e.code === 'ENOENT'
          ? new PachError('DIFF_COMMAND_FAILED', `diff program ${JSON.stringify(cmd)} was not found`, {
              hint: 'install diffutils, or name another program with --diff-command (e.g. "git diff --no-index")',
            })
          : new PachError('DIFF_COMMAND_FAILED', `could not run ${JSON.stringify(cmd)}: ${e.message}`),
      )
    })
    child.on('close', (code, sig) => {
      signal?.removeEventListener('abort', onAbort)
      if (signal?.aborted) return reject(new CancelledError('interrupted'))
      if (code === 0 || code === 1) return resolve()
      reject(
        new PachError('DIFF_COMMAND_FAILED', `${argv.slice(0, -2).join(' ')} failed on ${path} (${sig ? `killed by ${sig}` : `exit ${code}`})`, {
          hint: 'the diff program must take two file paths (old, new) and exit 0 or 1',
        }),
      )
    })
  })
}
