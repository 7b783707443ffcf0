/**
 * The Python with the official SDK (pachyderm_sdk, pinned in test/python/requirements.txt):
 * the repo's own .venv-test, which `npm test` makes before vitest runs
 * (`node scripts/python-tests.mjs --venv-only` makes it by hand).
 */
import {resolve} from 'node:path'

export const SDK_PYTHON = resolve(import.meta.dirname, '../../.venv-test/bin/python')
