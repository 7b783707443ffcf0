/**
 * pach as a library: open or create a project and use its services. The CLI is one consumer.
 *
 * @example
 *   const pach = initPach('/tmp/proj')
 *   pach.repos.create('default', 'images')
 *   await pach.files.put('default', parseCommit('images@master'), [{path: '/a.txt', open: async function* () { yield Buffer.from('hi') }}])
 */
export {initPach, openPach, findPachDir, Pach} from './core/pach.js'
export * from './core/errors.js'
export * from './core/types.js'
export {parseCommit, parseFile, parseRepo, parseBranch, parseJob} from './core/pfs/refs.js'
export {compileGlob, expandTemplate} from './core/pfs/glob.js'
export type {Reporter, Progress} from './core/reporter.js'
export type {Runner, Worker, WorkerSpec, DatumTask, DatumRunResult, AttachSpec, Terminal} from './core/pps/runner.js'
export type {JobEvent, RunOptions} from './core/pps/job-service.js'
export type {JobElsewhere} from './core/pps/job-handoff.js'
export {traceLineage, type LineageRow, type LineageFile, type LineageSource, type LineageStep, type DatumFacts, type LineageDirection} from './core/pps/lineage.js'
export {parseDatumFilter, type RestartResult, type RestartedDatum} from './core/pps/datum-restart.js'
export type {ExportOptions, ExportSummary} from './core/archive/export.js'
export type {ImportSummary} from './core/archive/import.js'
export {planExport, planImport} from './core/archive/plan.js'
export {planDatumDebug, selectDatum, type DatumDebugOptions, type DatumDebugPlan, type DatumDebugResult, type DebugTarget} from './core/pps/datum-debug.js'
