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
    // the AWS JS SDK (the S3 client under test) warns once per process that its releases after
    // January 2027 need Node 22; the project is on Node 20 and pins the SDK: the warning is noise
    env: {AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true'},
  },
})
