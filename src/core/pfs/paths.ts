/**
 * PFS names and paths (pure).
 *
 * Rules (Pachyderm's, see reference §1.1):
 * - repo, branch, pipeline and project names match ^[a-zA-Z0-9_-]+$.
 * - a file path is absolute ("/a/b"), has no "." or ".." component, no glob metacharacter
 *   (* ? [ ] { } ! ( ) @ + ^), and no control character (C0, DEL, C1).
 *   Deviation from Pachyderm, on purpose: printable non-ASCII (UTF-8) names are accepted,
 *   because data sets carry them and every filesystem pach restores to does too.
 * - a path component is at most 255 UTF-8 bytes and a path at most 4095 bytes (what a
 *   Linux filesystem can hold, so whatever is stored can be restored with `get file -r`).
 * - normalisation: leading "/" added, repeated "/" collapsed, trailing "/" removed.
 */
import {InvalidArgumentError} from '../errors.js'
import {hasGlobChars} from './glob.js'

const NAME_RE = /^[a-zA-Z0-9_-]+$/
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/

export type NameKind = 'repo' | 'branch' | 'pipeline' | 'project'

export function validateName(kind: NameKind, name: string): void {
  if (!NAME_RE.test(name)) {
    throw new InvalidArgumentError(
      'INVALID_NAME',
      `${kind} name ${JSON.stringify(name)} is invalid: only letters, digits, "_" and "-" are allowed`,
      {data: {kind, name}},
    )
  }
  const max = kind === 'pipeline' || kind === 'project' ? 51 : 255
  if (name.length > max) {
    throw new InvalidArgumentError('INVALID_NAME', `${kind} name ${JSON.stringify(name.slice(0, 20) + '…')} is too long (at most ${max} characters)`, {
      data: {kind},
    })
  }
  if (kind === 'pipeline' && !/^[a-zA-Z0-9]/.test(name)) {
    throw new InvalidArgumentError('INVALID_NAME', `pipeline name ${JSON.stringify(name)} must start with a letter or digit`, {data: {kind, name}})
  }
}

export function isValidName(name: string): boolean {
  return NAME_RE.test(name)
}

/** Normalise without validating: "a//b/" -> "/a/b", "" -> "/". */
export function cleanPath(p: string): string {
  const parts = p.split('/').filter((s) => s.length > 0)
  return '/' + parts.join('/')
}

/** Normalise and validate a file path; throws InvalidArgumentError naming the problem. */
export function validatePath(p: string): string {
  const show = JSON.stringify(p.length > 80 ? p.slice(0, 77) + '...' : p)
  if (CONTROL_RE.test(p)) {
    throw new InvalidArgumentError('INVALID_PATH', `path ${show} contains a control character`, {hint: 'file paths must be printable text'})
  }
  if (hasGlobChars(p)) {
    throw new InvalidArgumentError('INVALID_PATH', `path ${show} contains a glob character (one of * ? [ ] { } ! ( ) @ + ^)`, {
      hint: 'rename the file; to match several files use `pach glob file`',
    })
  }
  const clean = cleanPath(p)
  for (const part of clean.split('/')) {
    if (part === '.' || part === '..') {
      throw new InvalidArgumentError('INVALID_PATH', `path ${show} contains a "${part}" component`, {hint: 'use a plain absolute path such as /dir/file'})
    }
    if (Buffer.byteLength(part) > 255) {
      throw new InvalidArgumentError('INVALID_PATH', `path ${show} has a component longer than 255 bytes`)
    }
  }
  if (Buffer.byteLength(clean) > 4095) throw new InvalidArgumentError('INVALID_PATH', `path ${show} is longer than 4095 bytes`)
  return clean
}

/** Join a directory path and a relative path ("/a" + "b/c" -> "/a/b/c"). */
export function joinPath(dir: string, rel: string): string {
  return cleanPath(`${dir}/${rel}`)
}

export function baseName(p: string): string {
  const parts = p.split('/').filter(Boolean)
  return parts[parts.length - 1] ?? ''
}

export function parentPath(p: string): string {
  const parts = cleanPath(p).split('/').filter(Boolean)
  parts.pop()
  return '/' + parts.join('/')
}
