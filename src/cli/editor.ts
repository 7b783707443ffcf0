/**
 * Editing a document in the user's text editor (`pach edit pipeline`), as pachctl does: the
 * editor is `--editor`, else `$EDITOR`, else `vi`; its value is split on spaces (so
 * `EDITOR="code --wait"` works) and the file is its last argument. The editor gets the
 * terminal (stdin, stdout, stderr) and pach waits for it to exit.
 */
import {randomBytes} from 'node:crypto'
import {spawnSync} from 'node:child_process'
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {PachError} from '../core/errors.js'

/** The editor command line: the flag, else $EDITOR, else vi. */
export function editorCommand(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const chosen = flag || env.EDITOR || 'vi'
  return chosen.split(' ').filter((w) => w !== '')
}

/**
 * Write `text` to a new temp file named `<name>-<random>.<ext>`, open it in the editor and
 * return the file's path and its text after the editor exited. The file is left in place (the
 * caller removes it once the edit is applied, or leaves it so the user's work is not lost).
 *
 * @throws PachError EDITOR_FAILED when the editor cannot be started or exits non-zero (the file is removed)
 */
export function editInEditor(text: string, name: string, ext: string, editor: string[]): {file: string; text: string} {
  const file = join(tmpdir(), `${name}-${randomBytes(6).toString('hex')}.${ext}`)
  writeFileSync(file, text, {flag: 'wx', mode: 0o600})
  const [cmd, ...args] = editor
  const r = spawnSync(cmd!, [...args, file], {stdio: 'inherit'})
  if (r.error || r.status !== 0) {
    rmSync(file, {force: true})
    const why = r.error ? `cannot be run: ${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'command not found' : r.error.message}` : r.signal ? `was killed by ${r.signal}` : `exited with status ${r.status}`
    throw new PachError('EDITOR_FAILED', `editor ${JSON.stringify(editor.join(' '))} ${why}; nothing changed`, {hint: 'choose the editor with --editor or $EDITOR'})
  }
  return {file, text: readFileSync(file, 'utf8')}
}
