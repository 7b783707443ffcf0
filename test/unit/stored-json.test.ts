import {describe, expect, it} from 'vitest'
import {parseStored} from '../../src/core/db/json.js'
import {CorruptObjectError} from '../../src/core/errors.js'

describe('stored JSON columns', () => {
  it('parse what pach wrote', () => {
    expect(parseStored<{a: number}>('{"a":1}', 'x')).toEqual({a: 1})
  })

  it('report damaged text as CORRUPT_OBJECT (exit 12) naming the column, not as a bug', () => {
    const e = (() => {
      try {
        parseStored('{"a":', 'job p@1 stats')
      } catch (err) {
        return err
      }
    })()
    expect(e).toBeInstanceOf(CorruptObjectError)
    expect(e).toMatchObject({code: 'CORRUPT_OBJECT', exitCode: 12, message: 'stored job p@1 stats is damaged (not JSON)'})
  })
})
