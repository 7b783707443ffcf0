#!/usr/bin/env node
/**
 * The closing line of .ci/run: `N passed, N failed` (and `, N skipped` when any), summed over
 * vitest's test-results.json and pytest's JUnit pytest-results.xml at the repo root (or the
 * two paths given as arguments).
 *
 * A runner that left no readable result (it did not run, or crashed before writing it) counts
 * as one failed test, and so does a pytest result with no test case in it (pytest ran no test),
 * so a broken half never reads as 0 tests. Each pytest <testcase> counts once: failed when it
 * holds a <failure> or an <error> (a setup or teardown error included), skipped when it holds
 * <skipped>, passed otherwise; collection errors are test cases with an <error> too.
 */
import {readFileSync} from 'node:fs'
import {pathToFileURL} from 'node:url'

export function vitestCounts(text) {
  const r = JSON.parse(text)
  const skipped = (r.numPendingTests || 0) + (r.numTodoTests || 0)
  const failed =
    r.numFailedTests +
    (r.numRuntimeErrorTestSuites || 0) +
    (r.testResults || []).filter((t) => t.status === 'failed' && (t.assertionResults || []).length === 0).length
  return {passed: r.numPassedTests, failed, skipped}
}

export function junitCounts(xml) {
  const c = {passed: 0, failed: 0, skipped: 0}
  const cases = xml.match(/<testcase\b[^>]*?(\/>|>[\s\S]*?<\/testcase>)/g) ?? []
  for (const t of cases) {
    if (/<(failure|error)\b/.test(t)) c.failed++
    else if (/<skipped\b/.test(t)) c.skipped++
    else c.passed++
  }
  if (!/<testsuites?\b/.test(xml)) throw new Error('not a JUnit XML report')
  if (cases.length === 0) c.failed = 1
  return c
}

function read(path, parse, what) {
  try {
    return parse(readFileSync(path, 'utf8'))
  } catch (e) {
    console.error(`test-counts: no ${what} result (${path}): ${e.message}; counted as 1 failed`)
    return {passed: 0, failed: 1, skipped: 0}
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [vitestPath = 'test-results.json', pytestPath = 'pytest-results.xml'] = process.argv.slice(2)
  const parts = [read(vitestPath, vitestCounts, 'vitest'), read(pytestPath, junitCounts, 'pytest')]
  const sum = (k) => parts.reduce((n, p) => n + p[k], 0)
  const skipped = sum('skipped')
  console.log(`${sum('passed')} passed, ${sum('failed')} failed` + (skipped ? `, ${skipped} skipped` : ''))
}
