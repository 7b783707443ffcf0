import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {handlers} from '../../src/server/grpc/call.js'
import {serviceDefinition, serviceNames} from '../../src/server/grpc/definitions.js'
import type {ServiceDeps} from '../../src/server/grpc/deps.js'
import {implementations} from '../../src/server/grpc/server.js'
import {hasReason, unsupportedReason} from '../../src/server/grpc/unsupported.js'

// deps that are never called: building the handlers only closes over them
const anything: unknown = new Proxy(function () {}, {get: (_t, k) => (k === 'then' ? undefined : anything), apply: () => anything})
const inert = anything as ServiceDeps

describe('the served gRPC surface', () => {
  const impls = implementations(inert, handlers({auth: {pipelineTokens: new Map()}, shutdown: new AbortController().signal, onBug: () => {}}))

  it('declares the services pachd registers that clients call', () => {
    expect(serviceNames().sort()).toEqual(
      ['admin_v2.API', 'auth_v2.API', 'debug_v2.Debug', 'enterprise_v2.API', 'grpc.health.v1.Health', 'identity_v2.API', 'license_v2.API', 'metadata.API', 'pfs_v2.API', 'pps_v2.API', 'transaction_v2.API', 'versionpb_v2.API'].sort(),
    )
    expect(serviceDefinition('pfs_v2.API').ModifyFile).toMatchObject({path: '/pfs_v2.API/ModifyFile', requestStream: true, responseStream: false})
    expect(serviceDefinition('admin_v2.API').InspectCluster.path).toBe('/admin_v2.API/InspectCluster')
  })

  it('every declared method is served, or refused with a written reason (auth and identity: not activated)', () => {
    const missing: string[] = []
    const both: string[] = []
    for (const name of serviceNames()) {
      for (const method of Object.keys(serviceDefinition(name))) {
        const served = Boolean(impls[name]?.[method])
        const reason = hasReason(name, method) || name === 'auth_v2.API' || name === 'identity_v2.API'
        if (!served && !reason) missing.push(`${name}/${method}`)
        if (served && hasReason(name, method) && !(name in {'license_v2.API': 1, 'debug_v2.Debug': 1, 'admin_v2.API': 1})) both.push(`${name}/${method}`)
      }
    }
    expect(missing).toEqual([])
    expect(both).toEqual([])
  })

  it('serves the connection sequence and the transaction service whole', () => {
    expect(Object.keys(impls['admin_v2.API'] ?? {})).toEqual(['InspectCluster'])
    expect(Object.keys(impls['transaction_v2.API'] ?? {}).sort()).toEqual(Object.keys(serviceDefinition('transaction_v2.API')).sort())
  })
})

/**
 * The README's table of what `pach serve` serves (between the served:start/end markers),
 * built from the server itself: run this test and paste what it prints when it fails.
 */
function servedTable(impls: ReturnType<typeof implementations>): string {
  const rows = ['| service | served | answered UNIMPLEMENTED |', '| --- | --- | --- |']
  for (const name of serviceNames().sort()) {
    const methods = Object.keys(serviceDefinition(name))
    const served = methods.filter((m) => impls[name]?.[m])
    const refused = methods.filter((m) => !impls[name]?.[m])
    let why: string
    if (name === 'auth_v2.API' || name === 'identity_v2.API') why = `all ${refused.length}: \`the auth service is not activated\` (auth is off)`
    else {
      const byReason = new Map<string, string[]>()
      for (const m of refused) {
        const r = unsupportedReason(name, m).replace(/^not supported by pach serve: /, '')
        byReason.set(r, [...(byReason.get(r) ?? []), m])
      }
      why = [...byReason].map(([r, ms]) => `${ms.map((m) => `\`${m}\``).join(', ')}: ${r}`).join('; ') || '–'
    }
    rows.push(`| \`${name}\` | ${served.map((m) => `\`${m}\``).join(', ') || '–'} | ${why.replace(/\|/g, '\\|')} |`)
  }
  return rows.join('\n')
}

describe('the README', () => {
  it("lists what pach serve serves and refuses, as the server does", () => {
    const impls = implementations(inert, handlers({auth: {pipelineTokens: new Map()}, shutdown: new AbortController().signal, onBug: () => {}}))
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const got = /<!-- served:start -->\n([\s\S]*?)\n?<!-- served:end -->/.exec(readme)?.[1]?.trim()
    const want = servedTable(impls)
    if (got !== want) console.log(want)
    expect(got).toBe(want)
  })
})
