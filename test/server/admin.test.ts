import {status} from '@grpc/grpc-js'
import {describe, expect, it} from 'vitest'
import {serve} from '../helpers/serve.js'

describe('pach serve: what every client calls first', () => {
  it("answers pachctl's connection sequence: InspectCluster (stable ids, a warning for a missing project), then GetVersion", async () => {
    const s = await serve()
    const c = s.client
    const a = await c.unary(c.admin, 'InspectCluster', {client_version: {major: 2, minor: 11, micro: 0}, current_project: {name: 'default'}})
    expect(a.warnings).toEqual([])
    expect(a.deployment_id).toMatch(/^[0-9a-f]{32}$/)
    const b = await c.unary(c.admin, 'InspectCluster', {client_version: {major: 2, minor: 11, micro: 0}, current_project: {name: 'nope'}})
    expect(b.deployment_id).toBe(a.deployment_id)
    expect(b.warnings).toEqual(['WARNING: Could not inspect project "nope": project "nope" not found'])
    const v = await c.unary(c.version, 'GetVersion', {})
    expect(v).toMatchObject({major: 2, minor: 12, additional: ''})
    const h = await c.unary(c.health, 'Check', {service: ''})
    expect(h.status).toBe('SERVING')
    // the same .pach keeps its deployment id across restarts
    await s.stop()
    const s2 = await serve({project: s.project})
    const again = await s2.client.unary(s2.client.admin, 'InspectCluster', {client_version: null, current_project: null})
    expect(again.deployment_id).toBe(a.deployment_id)
  })

  it("answers every auth method with pachd's exact not-activated text, and an unserved method with a reason", async () => {
    const s = await serve()
    const c = s.client
    await expect(c.unary(c.auth, 'WhoAmI', {})).rejects.toMatchObject({code: status.UNIMPLEMENTED, details: 'the auth service is not activated'})
    await expect(c.unary(c.auth, 'GetRoleBinding', {})).rejects.toMatchObject({code: status.UNIMPLEMENTED, details: 'the auth service is not activated'})
    await expect(c.unary(c.pfs, 'ClearCache', {})).rejects.toMatchObject({code: status.UNIMPLEMENTED, details: expect.stringMatching(/^not supported by pach serve: /)})
    const st = await c.unary(c.enterprise, 'GetState', {})
    expect(st.state).toBe('NONE')
  })
})
