// src/cli/remotes.ts: a REMOTE argument resolved as pachctl resolves its context, over fixture
// configs written to temp dirs (PACH_CONFIG), with the environment passed explicitly.
import {mkdtempSync, rmSync, writeFileSync, mkdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {canonicalAddress, listContexts, looksLikeAddress, resolveRemote} from '../../src/cli/remotes.js'
import {isPachError} from '../../src/core/errors.js'

const ROOT = mkdtempSync(join(tmpdir(), 'pach-remotes-'))
afterAll(() => rmSync(ROOT, {recursive: true, force: true}))
let n = 0

/** A config file with `cfg` (an object, or raw text); returns the env that points at it. */
function config(cfg: object | string, env: Record<string, string> = {}): Record<string, string> {
  const path = join(ROOT, `config-${n++}.json`)
  writeFileSync(path, typeof cfg === 'string' ? cfg : JSON.stringify(cfg))
  return {PACH_CONFIG: path, ...env}
}

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
const b64 = (s: string) => Buffer.from(s).toString('base64')

/** The code and message of what `fn` throws (it must throw a PachError). */
function thrown(fn: () => unknown): {code: string; message: string; hint?: string} {
  try {
    fn()
  } catch (e) {
    if (!isPachError(e)) throw e
    return {code: e.code, message: e.message, hint: e.hint}
  }
  throw new Error('expected a PachError')
}

describe('canonicalAddress', () => {
  it.each([
    ['localhost', 'grpc://localhost:30650'],
    ['localhost:80', 'grpc://localhost:80'],
    ['grpc://pachd.example.com', 'grpc://pachd.example.com:30650'],
    ['GRPC://Pachd.Example.com:1650', 'grpc://pachd.example.com:1650'],
    ['grpc://h:30650/', 'grpc://h:30650'],
    ['grpcs://h', 'grpcs://h:30650'],
    ['http://h:8080', 'grpc://h:8080'],
    ['https://h', 'grpcs://h:30650'],
    ['[::1]:650', 'grpc://[::1]:650'],
    ['grpc://10.0.0.1', 'grpc://10.0.0.1:30650'],
    ['unix:///run/pachd.sock', 'unix:///run/pachd.sock'],
  ])('%s → %s', (given, canonical) => {
    expect(canonicalAddress(given)).toBe(canonical)
  })

  it.each([
    ['ftp://h:21', /unknown scheme ftp:\/\/ \(known: grpc, grpcs, http, https, unix\)/],
    ['unix://relative.sock', /a unix socket address needs an absolute path/],
    ['grpc://user:pw@h:1', /no user or password/],
    ['grpc://user@h:1', /no user or password/],
    ['grpc://h:1/path', /no path, query or fragment/],
    ['grpc://h:1?x=1', /no path, query or fragment/],
    ['grpc://h:1#frag', /no path, query or fragment/],
    ['grpc://h:99999', /not a URL/],
    ['grpc://', /not a URL|no host/],
  ])('refuses %s', (given, why) => {
    const e = thrown(() => canonicalAddress(given))
    expect(e.code).toBe('INVALID_INPUT')
    expect(e.message).toContain(`invalid pachd address ${JSON.stringify(given)}: `)
    expect(e.message).toMatch(why)
    expect(e.hint).toBe('use grpc://HOST:PORT or grpcs://HOST:PORT (port 30650 when left out)')
  })

  it('tells addresses from context names', () => {
    for (const a of ['grpc://h', 'unix:///s', 'localhost:30650', '10.0.0.1:1']) expect(looksLikeAddress(a), a).toBe(true)
    for (const c of ['prod', 'my-context', 'local_1', 'a.b']) expect(looksLikeAddress(c), c).toBe(false)
  })
})

describe('resolveRemote', () => {
  const v2 = {
    user_id: 'abc',
    v2: {
      active_context: 'prod',
      contexts: {
        prod: {source: 2, pachd_address: 'grpcs://prod.example.com:443', server_cas: b64(PEM), session_token: 'tok', project: 'images', cluster_deployment_id: 'dep1'},
        dev: {pachd_address: 'localhost:30650'},
        fwd: {port_forwarders: {pachd: 31650, console: 4000}},
        none: {cluster_name: 'kind'},
      },
    },
  }

  it('resolves the active context (snake_case keys): canonical address, token, decoded CAs, project, deployment id', () => {
    expect(resolveRemote(undefined, config(v2))).toEqual({
      name: 'prod',
      address: 'grpcs://prod.example.com:443',
      token: 'tok',
      serverCas: PEM,
      project: 'images',
      deploymentId: 'dep1',
      source: 'context',
    })
  })

  it('reads lowerCamel keys (protojson) the same way', () => {
    const camel = {v2: {activeContext: 'c', contexts: {c: {pachdAddress: 'grpcs://h', serverCas: b64(PEM), sessionToken: 't', clusterDeploymentId: 'd', project: 'p'}}}}
    expect(resolveRemote(undefined, config(camel))).toEqual({name: 'c', address: 'grpcs://h:30650', token: 't', serverCas: PEM, project: 'p', deploymentId: 'd', source: 'context'})
    expect(resolveRemote('c', config({v2: {contexts: {c: {portForwarders: {pachd: 9}}}}})).address).toBe('grpc://localhost:9')
  })

  it('names a context: empty project means default, no token means none', () => {
    expect(resolveRemote('dev', config(v2))).toEqual({name: 'dev', address: 'grpc://localhost:30650', project: 'default', source: 'context'})
  })

  it('uses port_forwarders.pachd when the context has no address', () => {
    expect(resolveRemote('fwd', config(v2)).address).toBe('grpc://localhost:31650')
  })

  it('refuses a context with no address, saying to run pachctl connect', () => {
    const env = config(v2)
    const e = thrown(() => resolveRemote('none', env))
    expect(e).toMatchObject({code: 'INVALID_INPUT', message: `context "none" in ${env.PACH_CONFIG} has no pachd address`})
    expect(e.hint).toMatch(/pachctl connect/)
  })

  it('a legacy v1 object is the context default (active when there is no v2)', () => {
    const v1 = {v1: {pachd_address: 'old.example.com:650', session_token: 'v1tok'}}
    expect(resolveRemote(undefined, config(v1))).toEqual({name: 'default', address: 'grpc://old.example.com:650', token: 'v1tok', project: 'default', source: 'context'})
    // with v2 present, v2's contexts win and v1 fills in only a missing `default`
    const both = {v1: {pachd_address: 'old:1'}, v2: {active_context: 'x', contexts: {x: {pachd_address: 'new:2'}}}}
    expect(resolveRemote(undefined, config(both)).address).toBe('grpc://new:2')
    expect(resolveRemote('default', config(both)).address).toBe('grpc://old:1')
  })

  it('PACH_CONTEXT picks the context; an unknown one is an error naming it and the known ones', () => {
    expect(resolveRemote(undefined, config(v2, {PACH_CONTEXT: 'dev'})).name).toBe('dev')
    // an explicit argument wins over PACH_CONTEXT
    expect(resolveRemote('fwd', config(v2, {PACH_CONTEXT: 'dev'})).name).toBe('fwd')
    const env = config(v2, {PACH_CONTEXT: 'staging'})
    expect(thrown(() => resolveRemote(undefined, env))).toMatchObject({
      code: 'INVALID_INPUT',
      message: `no pachctl context named "staging" ($PACH_CONTEXT) in ${env.PACH_CONFIG} (known: prod, dev, fwd, none)`,
    })
    expect(thrown(() => resolveRemote('staging', config(v2))).message).toMatch(/^no pachctl context named "staging" in .* \(known: prod, dev, fwd, none\)$/)
  })

  it('PACHD_ADDRESS overrides the address, and the server_cas with it (as pachctl); the token stays', () => {
    const r = resolveRemote(undefined, config(v2, {PACHD_ADDRESS: 'localhost:1650'}))
    expect(r).toEqual({name: 'prod', address: 'grpc://localhost:1650', token: 'tok', project: 'images', deploymentId: 'dep1', source: 'context'})
    expect(resolveRemote('none', config(v2, {PACHD_ADDRESS: 'grpcs://x'})).address).toBe('grpcs://x:30650')
    expect(thrown(() => resolveRemote('dev', config(v2, {PACHD_ADDRESS: 'ftp://x'}))).message).toMatch(/unknown scheme ftp/)
  })

  it('PACH_CA_CERTS (deprecated) gives the CAs of a grpcs PACHD_ADDRESS, and is refused otherwise', () => {
    const dir = join(ROOT, `cas-${n++}`)
    mkdirSync(join(dir, 'sub'), {recursive: true})
    writeFileSync(join(dir, 'a.pem'), PEM)
    writeFileSync(join(dir, 'sub', 'b.pem'), PEM)
    const single = join(ROOT, `ca-${n++}.pem`)
    writeFileSync(single, PEM)
    expect(resolveRemote('dev', config(v2, {PACHD_ADDRESS: 'grpcs://h', PACH_CA_CERTS: `${dir},${single},/no/such`})).serverCas).toBe([PEM, PEM, PEM].join('\n'))
    expect(thrown(() => resolveRemote('dev', config(v2, {PACHD_ADDRESS: 'grpc://h', PACH_CA_CERTS: single})))).toMatchObject({code: 'INVALID_ENV', message: 'PACH_CA_CERTS is set but PACHD_ADDRESS grpc://h:30650 is not grpcs://'})
    expect(thrown(() => resolveRemote('dev', config(v2, {PACH_CA_CERTS: single})))).toMatchObject({code: 'INVALID_ENV', message: 'PACH_CA_CERTS is set without PACHD_ADDRESS'})
  })

  it('refuses server_cas without a grpcs address, and server_cas that is not a PEM', () => {
    const cfg = (ctx: object) => config({v2: {active_context: 'c', contexts: {c: ctx}}})
    const env = cfg({pachd_address: 'grpc://h:1', server_cas: b64(PEM)})
    expect(thrown(() => resolveRemote(undefined, env))).toMatchObject({code: 'INVALID_INPUT', message: `context "c" in ${env.PACH_CONFIG} has server_cas but address grpc://h:1 is not grpcs://`})
    expect(thrown(() => resolveRemote(undefined, cfg({pachd_address: 'grpcs://h:1', server_cas: b64('hello')}))).message).toMatch(/server_cas is not a base64-encoded PEM certificate$/)
    // with https:// (TLS) it is accepted
    expect(resolveRemote(undefined, cfg({pachd_address: 'https://h', server_cas: b64(PEM)})).address).toBe('grpcs://h:30650')
  })

  it('refuses a context whose address is malformed, one error per kind', () => {
    const cfg = (addr: string) => config({v2: {active_context: 'c', contexts: {c: {pachd_address: addr}}}})
    expect(thrown(() => resolveRemote(undefined, cfg('tcp://h:1'))).message).toMatch(/unknown scheme tcp/)
    expect(thrown(() => resolveRemote(undefined, cfg('grpc://u:p@h:1'))).message).toMatch(/no user or password/)
    expect(thrown(() => resolveRemote(undefined, cfg('grpc://h:1/x'))).message).toMatch(/no path, query or fragment/)
    expect(thrown(() => resolveRemote(undefined, cfg('unix://rel'))).message).toMatch(/absolute path/)
  })

  it('takes an address as the argument without reading the config', () => {
    expect(resolveRemote('grpc://h', {PACH_CONFIG: join(ROOT, 'absent.json')})).toEqual({name: 'grpc://h', address: 'grpc://h:30650', project: 'default', source: 'address'})
    expect(resolveRemote('localhost:650', config('{not json')).address).toBe('grpc://localhost:650')
    expect(thrown(() => resolveRemote('grpc://h/p', {})).code).toBe('INVALID_INPUT')
  })

  it('with no config and no argument, says to name a remote or run pachctl connect', () => {
    const env = {PACH_CONFIG: join(ROOT, 'absent.json')}
    const e = thrown(() => resolveRemote(undefined, env))
    expect(e).toMatchObject({code: 'INVALID_INPUT', message: `no remote given and no active pachctl context in ${env.PACH_CONFIG}`})
    expect(e.hint).toMatch(/pachctl connect/)
  })

  it('a config that is not JSON (or not an object) is one clear error', () => {
    expect(thrown(() => resolveRemote(undefined, config('{not json'))).message).toMatch(/is not a pachctl config/)
    expect(thrown(() => resolveRemote(undefined, config('[1]'))).message).toMatch(/is not a pachctl config \(not an object\)/)
  })

  it('finds the config in $HOME/.pachyderm/config.json when PACH_CONFIG is unset', () => {
    const home = join(ROOT, `home-${n++}`)
    mkdirSync(join(home, '.pachyderm'), {recursive: true})
    writeFileSync(join(home, '.pachyderm', 'config.json'), JSON.stringify({v2: {active_context: 'h', contexts: {h: {pachd_address: 'home:1'}}}}))
    expect(resolveRemote(undefined, {HOME: home}).address).toBe('grpc://home:1')
  })
})

describe('listContexts', () => {
  it('lists every context sorted, the active one marked, never a token; a bad address is null', () => {
    const env = config({
      v2: {
        active_context: 'b',
        contexts: {
          c: {pachd_address: 'tcp://bad'},
          b: {pachd_address: 'grpcs://b', session_token: 'secret', project: 'p', cluster_deployment_id: 'dep'},
          a: {portForwarders: {pachd: 5}, sessionToken: ''},
        },
      },
    })
    const {path, contexts} = listContexts(env)
    expect(path).toBe(env.PACH_CONFIG)
    expect(contexts).toEqual([
      {name: 'a', active: false, address: 'grpc://localhost:5', project: 'default', hasToken: false, deploymentId: null},
      {name: 'b', active: true, address: 'grpcs://b:30650', project: 'p', hasToken: true, deploymentId: 'dep'},
      {name: 'c', active: false, address: null, project: 'default', hasToken: false, deploymentId: null},
    ])
    expect(JSON.stringify(contexts)).not.toContain('secret')
  })

  it('marks $PACH_CONTEXT as the active one (what push/pull use by default)', () => {
    const env = config({v2: {active_context: 'a', contexts: {a: {pachd_address: 'a:1'}, b: {pachd_address: 'b:1'}}}}, {PACH_CONTEXT: 'b'})
    expect(listContexts(env).contexts.map((c) => [c.name, c.active])).toEqual([
      ['a', false],
      ['b', true],
    ])
  })

  it('no config file: no contexts', () => {
    expect(listContexts({PACH_CONFIG: join(ROOT, 'absent.json')}).contexts).toEqual([])
  })
})
