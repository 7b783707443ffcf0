// Image drift's pure rule (core/pps/image-drift.ts): a spec's image reference drifts when the
// local engine now names another id than the newest job that recorded one used for it.
import {describe, expect, it} from 'vitest'
import {driftLine, imageDrift, shortImageId} from '../../src/core/pps/image-drift.js'

const A = 'sha256:' + 'a'.repeat(64)
const B = 'sha256:' + 'b'.repeat(64)
const use = {job: 'j'.repeat(32), image: 'me/app:1', image_id: A}

describe('imageDrift', () => {
  it('the same reference now naming another id is a drift', () => {
    expect(imageDrift('me/app:1', use, new Map([['me/app:1', B]]))).toEqual({image: 'me/app:1', used: A, job: use.job, now: B})
  })

  it('no drift: same id, no recorded use, another reference in the spec, or an image the engine lacks', () => {
    expect(imageDrift('me/app:1', use, new Map([['me/app:1', A]]))).toBeUndefined()
    expect(imageDrift('me/app:1', undefined, new Map([['me/app:1', B]]))).toBeUndefined()
    expect(imageDrift('me/app:2', use, new Map([['me/app:2', B]]))).toBeUndefined()
    expect(imageDrift('me/app:1', use, new Map([['me/app:1', undefined]]))).toBeUndefined()
    expect(imageDrift('me/app:1', use, new Map())).toBeUndefined()
  })

  it('says it in one line with the ids docker images shows', () => {
    expect(shortImageId(A)).toBe('sha256:aaaaaaaaaaaa')
    expect(shortImageId('abcdef0123456789')).toBe('abcdef012345')
    expect(driftLine('edges', {image: 'me/app:1', used: A, job: use.job, now: B})).toBe(`pipeline edges: image me/app:1 now names sha256:bbbbbbbbbbbb, not sha256:aaaaaaaaaaaa that job ${use.job} ran with`)
  })
})
