import {defineConfig} from 'vitest/config'

// Unit tests (pure modules) and end-to-end tests (the built bin/run.js in temp dirs).
// `npm test` builds first (pretest) so e2e tests always run the current code.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // e2e tests mostly wait on CLI subprocesses: two files at a time keep both cores busy
    maxWorkers: 2,
    minWorkers: 1,
    reporters: ['default', ['json', {outputFile: 'test-results.json'}]],
  },
})
