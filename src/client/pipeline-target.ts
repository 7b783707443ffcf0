/**
 * The core's PipelineTarget (src/core/remote/pipelines.ts) over pach's gRPC client: what a
 * pipeline promotion asks of a pachd (or `pach serve`).
 *
 * Errors: a request the remote understood and refused (INVALID_ARGUMENT, NOT_FOUND,
 * ALREADY_EXISTS, FAILED_PRECONDITION, OUT_OF_RANGE, and UNKNOWN, which pachd answers for most
 * of its own refusals) becomes a RemoteRefusal carrying the remote's words; anything else
 * (UNAVAILABLE, UNAUTHENTICATED, deadlines…) passes through unchanged for the caller's
 * connection handling. "Not found" on InspectPipeline/InspectRepo is an answer, not an error.
 */
import {status} from '@grpc/grpc-js'
import {RemoteRefusal, type PipelineTarget} from '../core/remote/pipelines.js'
import {isGrpcError, type PachdClient} from './pachd-client.js'

const REFUSALS = new Set<number>([status.INVALID_ARGUMENT, status.NOT_FOUND, status.ALREADY_EXISTS, status.FAILED_PRECONDITION, status.OUT_OF_RANGE, status.UNKNOWN])

/** e as a RemoteRefusal when the remote refused the request, else e. */
function refusal(e: unknown): unknown {
  return isGrpcError(e) && REFUSALS.has(e.code) ? new RemoteRefusal(e.details || e.message) : e
}

/** Whether e says the thing asked about does not exist (NOT_FOUND, or pachd's UNKNOWN "… not found"). */
function notFound(e: unknown): boolean {
  return isGrpcError(e) && (e.code === status.NOT_FOUND || (e.code === status.UNKNOWN && /not found/i.test(e.details)))
}

/** A PipelineTarget over `client` (which the caller owns and closes). */
export function pipelineTarget(client: PachdClient): PipelineTarget {
  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn()
    } catch (e) {
      throw refusal(e)
    }
  }
  return {
    platform: () => call(async () => (await client.unary(client.version, 'GetVersion', {})).platform || undefined),
    async userSpec(project, name) {
      try {
        const info = await client.unary(client.pps, 'InspectPipeline', {pipeline: {name, project: {name: project}}, details: true})
        return info.user_spec_json || undefined
      } catch (e) {
        if (notFound(e)) return undefined
        throw refusal(e)
      }
    },
    async projectExists(project) {
      try {
        await client.unary(client.pfs, 'InspectProject', {project: {name: project}})
        return true
      } catch (e) {
        if (notFound(e)) return false
        throw refusal(e)
      }
    },
    async repoExists(project, name) {
      try {
        await client.unary(client.pfs, 'InspectRepo', {repo: {name, type: 'user', project: {name: project}}})
        return true
      } catch (e) {
        if (notFound(e)) return false
        throw refusal(e)
      }
    },
    startTransaction: () => call(async () => (await client.unary(client.transaction, 'StartTransaction', {})).id ?? ''),
    createRepo: (project, name, transaction) =>
      call(async () => {
        await client.unary(client.pfs, 'CreateRepo', {repo: {name, type: 'user', project: {name: project}}}, {transaction})
      }),
    createPipeline: (json, {reprocess, transaction}) =>
      call(async () => {
        await client.unary(client.pps, 'CreatePipelineV2', {create_pipeline_request_json: json, update: true, reprocess}, {transaction})
      }),
    finishTransaction: (id) =>
      call(async () => {
        await client.unary(client.transaction, 'FinishTransaction', {transaction: {id}})
      }),
    deleteTransaction: (id) =>
      call(async () => {
        await client.unary(client.transaction, 'DeleteTransaction', {transaction: {id}})
      }),
  }
}
