import {status} from '@grpc/grpc-js'
import {existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {PachdClient} from '../../src/client/pachd-client.js'
import {tmpProject} from '../helpers/cli.js'
import {serve} from '../helpers/serve.js'

describe('pach serve: binding, tokens, shutdown, contexts', () => {
  it('refuses to bind beyond loopback without a token, with one line; a bad address is one line too', async () => {
    const p = await tmpProject()
    const r = await p.run(['serve', '--address', '0.0.0.0:0'], {env: {PACH_SERVE_TOKEN: ''}})
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toMatch(/^pach: refusing to serve on 0\.0\.0\.0: .*\(set a token \(PACH_SERVE_TOKEN or --token\)/)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    const bad = await p.run(['serve', '--address', 'localhost:notaport'])
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr).toMatch(/^pach: invalid address "localhost:notaport": expected host:port/)
  })

  it('with a token every call must carry it: none → UNAUTHENTICATED with pachd\'s text, a wrong one too, the right one works', async () => {
    const s = await serve({token: 'sesame', args: ['--address', '127.0.0.1:0']})
    const ok = await s.client.unary(s.client.version, 'GetVersion', {})
    expect(ok.major).toBe(2)
    const none = new PachdClient(s.url)
    await expect(none.unary(none.version, 'GetVersion', {})).rejects.toMatchObject({code: status.UNAUTHENTICATED, details: 'no authentication token (try logging in)'})
    await expect(none.unary(none.auth, 'WhoAmI', {})).rejects.toMatchObject({code: status.UNAUTHENTICATED})
    const wrong = new PachdClient(s.url, {token: 'sesamf'})
    await expect(wrong.unary(wrong.admin, 'InspectCluster', {})).rejects.toMatchObject({code: status.UNAUTHENTICATED, details: expect.stringContaining('corrupted or has expired')})
    none.close()
    wrong.close()
  })

  it('SIGTERM ends open streams with UNAVAILABLE, exits 0, leaves no temp file or lease; the next serve starts cleanly', async () => {
    const s = await serve()
    const c = s.client
    const watch = (async () => {
      const got: string[] = []
      try {
        for await (const m of c.stream(c.health, 'Watch', {service: ''})) got.push(m.status)
      } catch (e) {
        return {got, e: e as {code: number; details: string}}
      }
      return {got, e: undefined}
    })()
    await new Promise((r) => setTimeout(r, 300))
    const code = await s.stop()
    const w = await watch
    expect(code).toBe(0)
    expect(w.got).toEqual(['SERVING'])
    expect(w.e?.code).toBe(status.UNAVAILABLE)
    expect(readdirSync(join(s.project.dir, '.pach', 'objects', 'tmp'))).toEqual([])
    const again = await serve({project: s.project})
    expect((await again.client.unary(again.client.health, 'Check', {service: ''})).status).toBe('SERVING')
  })

  it('--set-context writes a pachctl context with standard keys only, keeps the rest of the file, and makes it active', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pach-cfg-'))
    const cfg = join(dir, 'config.json')
    writeFileSync(cfg, JSON.stringify({user_id: 'u1', v2: {active_context: 'prod', contexts: {prod: {pachd_address: 'grpc://prod:30650', session_token: 't'}}, metrics: false}, extra: 1}))
    const s = await serve({args: ['--set-context', 'laptop'], env: {PACH_CONFIG: cfg}})
    const got = JSON.parse(readFileSync(cfg, 'utf8'))
    expect(got.user_id).toBe('u1')
    expect(got.extra).toBe(1)
    expect(got.v2.metrics).toBe(false)
    expect(got.v2.active_context).toBe('laptop')
    expect(got.v2.contexts.prod).toEqual({pachd_address: 'grpc://prod:30650', session_token: 't'})
    expect(Object.keys(got.v2.contexts.laptop).sort()).toEqual(['cluster_deployment_id', 'pachd_address'])
    expect(got.v2.contexts.laptop.pachd_address).toBe(s.url)
    const ids = await s.client.unary(s.client.admin, 'InspectCluster', {})
    expect(got.v2.contexts.laptop.cluster_deployment_id).toBe(ids.deployment_id)
    expect(readdirSync(dir)).toEqual(['config.json'])
    // a fresh file is created with pachctl's defaults
    const fresh = join(dir, 'new', 'config.json')
    await serve({project: s.project, args: ['--address', 'localhost:0', '--set-context'], env: {PACH_CONFIG: fresh}})
    const f = JSON.parse(readFileSync(fresh, 'utf8'))
    expect(f.user_id).toMatch(/^[0-9a-f]{32}$/)
    expect(f.v2.active_context).toBe('pach')
    expect(existsSync(fresh)).toBe(true)
  })
})
