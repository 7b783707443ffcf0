/**
 * End-to-end helpers: run the built CLI (bin/run.js) as a user would, in a fresh temp project.
 * An `Exe` runs another build of the CLI instead (the single executable, test/e2e/binary.test.ts)
 * with exactly the environment it carries.
 */
import {execa} from 'execa'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {onTestFinished} from 'vitest'

export const BIN = resolve(import.meta.dirname, '../../bin/run.js')

/** An executable to run instead of `node bin/run.js`, and its whole environment (nothing inherited). */
export interface Exe {
  file: string
  env: Record<string, string>
}

export interface RunResult {
  stdout: string
  stderr: string
  exitCode: number
  json<T = any>(): T
}

export interface Project {
  dir: string
  run(args: string[], opts?: {input?: string | Buffer; env?: Record<string, string>; cwd?: string}): Promise<RunResult>
  /** run and expect exit 0; returns stdout */
  ok(args: string[], opts?: {input?: string | Buffer; env?: Record<string, string>; cwd?: string}): Promise<string>
  /** run with --json and expect exit 0; returns the parsed JSON */
  json<T = any>(args: string[], opts?: {input?: string | Buffer}): Promise<T>
}

export async function runPach(args: string[], opts: {cwd: string; input?: string | Buffer; env?: Record<string, string>; exe?: Exe}): Promise<RunResult> {
  const [file, argv] = opts.exe ? [opts.exe.file, args] : ['node', [BIN, ...args]]
  const r = await execa(file, argv, {
    cwd: opts.cwd,
    input: opts.input,
    env: {...opts.exe?.env, PACH_DETACH: '', ...opts.env},
    extendEnv: !opts.exe,
    reject: false,
    stripFinalNewline: false,
  })
  const stdout = String(r.stdout)
  return {
    stdout,
    stderr: String(r.stderr),
    exitCode: r.exitCode ?? -1,
    json: () => JSON.parse(stdout),
  }
}

/**
 * A fresh temp dir (removed after the test), initialised with `pach init` unless init=false.
 * Concurrent tests pass their own context (`ctx`) so the cleanup attaches to that test, not to
 * whichever test happens to be current. With `exe`, every command runs that executable.
 */
export async function tmpProject(init = true, ctx?: {onTestFinished: (fn: () => void) => void}, exe?: Exe): Promise<Project> {
  const dir = mkdtempSync(join(tmpdir(), 'pach-e2e-'))
  ;(ctx?.onTestFinished ?? onTestFinished)(() => rmSync(dir, {recursive: true, force: true}))
  const p: Project = {
    dir,
    run: (args, opts = {}) => runPach(args, {cwd: opts.cwd ?? dir, input: opts.input, env: opts.env, exe}),
    async ok(args, opts = {}) {
      const r = await p.run(args, opts)
      if (r.exitCode !== 0) throw new Error(`pach ${args.join(' ')} exited ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
      return r.stdout
    },
    async json(args, opts = {}) {
      return JSON.parse(await p.ok([...args, '--json'], opts))
    },
  }
  if (init) await p.ok(['init'])
  return p
}
