/** Test helper: the code of the PachError a promise rejects with, or 'ACCEPTED' when it resolves (any other error is rethrown). */
import {isPachError} from '../../src/core/errors.js'

export async function refusalCode(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (e) {
    if (isPachError(e)) return e.code
    throw e
  }
  return 'ACCEPTED'
}
