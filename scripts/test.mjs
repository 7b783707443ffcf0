#!/usr/bin/env node
/**
 * `npm test`: the Python virtualenv with the official SDK (.venv-test, made when missing),
 * vitest (unit and end-to-end tests, results in test-results.json), then the
 * official-client pytest suite (scripts/python-tests.mjs, results in pytest-results.xml).
 * Both always run; the exit status is non-zero when either fails. Arguments go to vitest
 * (`npm test -- test/server/admin.test.ts`); `npm run test:python -- ARGS` runs only pytest.
 */
import {spawnSync} from 'node:child_process'
import {resolve} from 'node:path'

const root = resolve(import.meta.dirname, '..')
const node = process.execPath
const status = (r) => (r.error ? 1 : (r.status ?? 1))
// the SDK's virtualenv first: some vitest suites drive `pach serve` with it too
const venv = status(spawnSync(node, [resolve(root, 'scripts/python-tests.mjs'), '--venv-only'], {stdio: 'inherit', cwd: root}))
if (venv !== 0) console.error('test: the Python virtualenv (.venv-test) could not be made; the suites that need it will fail')
const vitest = status(spawnSync(node, [resolve(root, 'node_modules/vitest/vitest.mjs'), 'run', ...process.argv.slice(2)], {stdio: 'inherit', cwd: root}))
const pytest = status(spawnSync(node, [resolve(root, 'scripts/python-tests.mjs')], {stdio: 'inherit', cwd: root}))
process.exit(vitest !== 0 ? vitest : pytest)
