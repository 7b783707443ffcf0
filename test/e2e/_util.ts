/**
 * Shared assertions for the e2e suite (not a test file itself).
 */
import {execa} from 'execa'
import {createHash} from 'node:crypto'
import {expect} from 'vitest'
import {BIN, type Project, type RunResult} from '../helpers/cli.js'

export const ID_RE = /^[0-9a-f]{32}$/

/**
 * A user error: the given exit code, exactly one line on stderr starting with "pach: ",
 * no stack trace anywhere, and (optionally) the line matching `re`.
 */
export function expectUserError(r: RunResult, exitCode: number, re?: RegExp): string {
  const ctx = `exit ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`
  expect(r.exitCode, ctx).toBe(exitCode)
  const lines = r.stderr.split('\n').filter((l) => l.trim().length > 0)
  expect(lines, ctx).toHaveLength(1)
  expect(lines[0], ctx).toMatch(/^pach: /)
  expect(r.stderr, ctx).not.toContain('    at ')
  expect(r.stdout, ctx).not.toContain('    at ')
  if (re) expect(lines[0], ctx).toMatch(re)
  return lines[0]!
}

/** Like expectUserError, for a command run with --json: stdout is one JSON error envelope. */
export function expectJsonError(r: RunResult, exitCode: number, code?: string): {code: string; message: string} {
  expectUserError(r, exitCode)
  const env = JSON.parse(r.stdout) as {error: {code: string; message: string}}
  expect(env.error).toBeDefined()
  expect(typeof env.error.code).toBe('string')
  if (code) expect(env.error.code).toBe(code)
  return env.error
}

/** Run the CLI capturing stdout as raw bytes (for binary content). */
export async function runBytes(p: Project, args: string[]): Promise<{stdout: Buffer; stderr: string; exitCode: number}> {
  const r = await execa('node', [BIN, ...args], {
    cwd: p.dir,
    env: {PACH_DETACH: ''},
    reject: false,
    encoding: 'buffer',
    stripFinalNewline: false,
  })
  return {stdout: Buffer.from(r.stdout as Uint8Array), stderr: Buffer.from(r.stderr as Uint8Array).toString('utf8'), exitCode: r.exitCode ?? -1}
}

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

/** Deterministic pseudo-random bytes (xorshift32), so failures are reproducible. */
export function pseudoRandom(n: number, seed = 0x9e3779b9): Buffer {
  const out = Buffer.alloc(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

/** Commit ids of a repo (all branches), newest first. */
export async function commitIds(p: Project, repo: string): Promise<string[]> {
  const list = (await p.json(['list', 'commit', repo])) as {commit: {id: string}}[]
  return list.map((c) => c.commit.id)
}

/** put file from stdin; returns the commit id written to. */
export async function putText(p: Project, target: string, text: string | Buffer, extra: string[] = []): Promise<string> {
  const r = (await p.json(['put', 'file', target, '-f', '-', ...extra], {input: text})) as {commit: {id: string}}
  expect(r.commit.id).toMatch(ID_RE)
  return r.commit.id
}

/**
 * A stream of JSON values as `jq` reads it (pachctl's `--raw`): values one after another,
 * with or without whitespace between them. Throws on anything else.
 */
export function jsonStream(text: string): unknown[] {
  const out: unknown[] = []
  let i = 0
  const ws = /\s/
  while (i < text.length) {
    if (ws.test(text[i]!)) {
      i++
      continue
    }
    if (text[i] !== '{' && text[i] !== '[') throw new Error(`not a JSON object or array at offset ${i}: ${JSON.stringify(text.slice(i, i + 20))}`)
    let depth = 0
    let inString = false
    let j = i
    for (; j < text.length; j++) {
      const c = text[j]!
      if (inString) {
        if (c === '\\') j++
        else if (c === '"') inString = false
      } else if (c === '"') inString = true
      else if (c === '{' || c === '[') depth++
      else if (c === '}' || c === ']') {
        if (--depth === 0) break
      }
    }
    if (depth !== 0 || j >= text.length) throw new Error(`unterminated JSON value at offset ${i}`)
    out.push(JSON.parse(text.slice(i, j + 1)))
    i = j + 1
  }
  return out
}
