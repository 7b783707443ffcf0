/**
 * Run a program under a pseudo-terminal (util-linux `script`; node-pty is not a dependency),
 * 120×40, and drive it by what it draws: each step waits until the screen output (ANSI
 * escapes removed) matches, then types its keys. Used for `pach top`'s live view.
 */
import {spawn} from 'node:child_process'

export interface PtyStep {
  /** wait until the output so far matches (checked on the text after the previous step's match) */
  until: RegExp
  /** then type these keys ('' types nothing) */
  send: string
  /** and call this (e.g. start another process) */
  then?: () => void
}

export interface PtyResult {
  exitCode: number | null
  /** everything drawn, escapes included */
  raw: string
  /** everything drawn, escapes removed */
  text: string
}

export const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[>=]/g, '')

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

export function inPty(argv: string[], opts: {cwd: string; env?: Record<string, string>; extendEnv?: boolean; steps: PtyStep[]; timeoutMs?: number}): Promise<PtyResult> {
  const command = `stty cols 120 rows 40; exec ${argv.map(quote).join(' ')}`
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: opts.cwd,
    env: opts.extendEnv === false ? opts.env : {...process.env, ...opts.env},
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let raw = ''
  let from = 0
  let step = 0
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`pty: step ${step} (${opts.steps[step]?.until}) never matched; screen:\n${stripAnsi(raw).slice(-3000)}`))
    }, opts.timeoutMs ?? 30_000)
    const advance = () => {
      while (step < opts.steps.length) {
        const text = stripAnsi(raw.slice(from))
        const s = opts.steps[step]!
        if (!s.until.test(text)) return
        from = raw.length
        step++
        if (s.send) child.stdin.write(s.send)
        s.then?.()
      }
    }
    child.stdout.on('data', (d: Buffer) => {
      raw += d.toString('utf8')
      advance()
    })
    child.stderr.on('data', (d: Buffer) => (raw += d.toString('utf8')))
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (step < opts.steps.length) reject(new Error(`pty: exited ${code} at step ${step} (${opts.steps[step]?.until}); screen:\n${stripAnsi(raw).slice(-3000)}`))
      else resolve({exitCode: code, raw, text: stripAnsi(raw)})
    })
  })
}
