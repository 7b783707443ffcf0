#!/usr/bin/env node
/**
 * The Python half of `npm test`: the pytest suite in test/python/, which drives `pach serve`
 * with Pachyderm's official Python SDK as a notebook user would.
 *
 * - The suite runs in its own virtualenv, .venv-test/ (gitignored), made with the first of
 *   python3.11 / python3 on PATH that is 3.9 or newer (pachyderm-sdk's floor).
 *   `pip install -r test/python/requirements.txt` runs only when the venv is new or the pins
 *   changed: the requirements file's text is kept in .venv-test/pins.txt after a successful
 *   install, and compared on every run.
 * - pytest writes JUnit XML to pytest-results.xml at the repo root (gitignored); .ci/run
 *   counts it together with vitest's test-results.json (scripts/test-counts.mjs). The file
 *   is removed first, so a pytest that did not run leaves no stale result behind.
 * - It builds nothing: the tests run the built bin/run.js (`npm test`'s pretest builds).
 *
 * `--venv-only` makes (or refreshes) the venv and exits: `npm test` does that before vitest,
 * whose end-to-end tests also drive `pach serve` with the SDK from .venv-test.
 * Arguments are passed to pytest (`node scripts/python-tests.mjs -k transactions -x`, or test
 * files to run only those); with none it runs every test_*.py in test/python (pytest.ini's
 * testpaths).
 * Exits with pytest's status, or 1 when the venv cannot be made.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'

const root = resolve(import.meta.dirname, '..')
const venv = join(root, '.venv-test')
const requirements = join(root, 'test/python/requirements.txt')
const stamp = join(venv, 'pins.txt')
const results = join(root, 'pytest-results.xml')
const python = join(venv, 'bin', 'python')

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, {stdio: 'inherit', cwd: root, ...opts})
  if (r.error) return {status: -1, error: r.error}
  return {status: r.status ?? 128 + (r.signal ? 1 : 0), signal: r.signal}
}

function findPython() {
  for (const p of ['python3.11', 'python3']) {
    const r = spawnSync(p, ['-c', 'import sys, venv; print(sys.version_info >= (3, 9))'], {encoding: 'utf8'})
    if (r.status === 0 && r.stdout.trim() === 'True') return p
  }
  return null
}

function ensureVenv() {
  const pins = readFileSync(requirements, 'utf8')
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8') === pins) return true
  if (!existsSync(python)) {
    const base = findPython()
    if (!base) {
      console.error('python-tests: no python3 (>= 3.9) with the venv module on PATH')
      return false
    }
    rmSync(venv, {recursive: true, force: true})
    console.error(`python-tests: creating ${venv} with ${base}`)
    if (run(base, ['-m', 'venv', venv]).status !== 0) return false
  }
  rmSync(stamp, {force: true})
  console.error('python-tests: installing test/python/requirements.txt')
  const pip = run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-r', requirements])
  if (pip.status !== 0) return false
  writeFileSync(stamp, pins)
  return true
}

if (process.argv[2] === '--venv-only') process.exit(ensureVenv() ? 0 : 1)
rmSync(results, {force: true})
if (!ensureVenv()) {
  console.error('python-tests: the test virtualenv could not be made; the Python suite did not run')
  process.exit(1)
}
const r = run(python, ['-m', 'pytest', '-c', 'test/python/pytest.ini', '--rootdir', 'test/python', `--junitxml=${results}`, ...process.argv.slice(2)], {
  env: {...process.env, PYTHONDONTWRITEBYTECODE: '1'},
})
process.exit(r.status === 0 ? 0 : r.status > 0 ? r.status : 1)
