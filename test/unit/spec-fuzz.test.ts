/**
 * Property-based fuzzing of the pipeline spec parser (issue 4, hostile input).
 *
 * The contract under test (src/core/pps/spec/ headers): parseSpecs either returns specs or
 * throws an InvalidArgumentError with code INVALID_SPEC whose one-line message starts with
 * the file name and names the offending field (`data.field`). Anything else — a TypeError,
 * a RangeError, a message spread over several lines — is a fault: the CLI would print it as
 * "internal error" with a stack, or as a broken multi-line error.
 *
 * Inputs come from four generators: arbitrary text, arbitrary JSON values, spec-shaped
 * objects (real field names, values of right and wrong types, nested inputs), and mutations
 * of the checked-in example specs; the spec-shaped ones are also run as YAML. Every run is
 * seeded so CI sees the same cases; bump SEED locally to explore further.
 */
import fc from 'fast-check'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {stringify as toYaml} from 'yaml'
import {describe, expect, it} from 'vitest'
import {InvalidArgumentError, isPachError} from '../../src/core/errors.js'
import {parseSpecs} from '../../src/core/pps/spec/index.js'

// FUZZ_SEED / FUZZ_RUNS explore beyond what CI runs (e.g. FUZZ_RUNS=20000)
const SEED = Number(process.env.FUZZ_SEED ?? 4_2024)
const RUNS = Number(process.env.FUZZ_RUNS ?? 300)
const FILE = 'fuzz/spec.json'
const params = {seed: SEED, numRuns: RUNS}

const FIXTURES = join(import.meta.dirname, '../../fixtures/pipelines')
const EXAMPLES = ['edges.json', 'group.json', 'join.json', 'montage.json'].map((f) => JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')) as unknown)

let tried = 0
/** outcome counts (accepted, or the field blamed), printed with FUZZ_STATS=1 */
const outcomes = new Map<string, number>()

/** Parse and check the contract; returns 'ok' or the error's field. */
function check(text: string, file = FILE): string {
  tried++
  let parsed: ReturnType<typeof parseSpecs>
  try {
    parsed = parseSpecs(text, file)
  } catch (e) {
    const ctx = `input: ${text.slice(0, 400)}\nerror: ${(e as Error)?.stack}`
    expect(isPachError(e), ctx).toBe(true)
    expect(e, ctx).toBeInstanceOf(InvalidArgumentError)
    const err = e as InvalidArgumentError
    expect(err.code, ctx).toBe('INVALID_SPEC')
    expect(err.message.startsWith(`${file}: `), ctx).toBe(true)
    expect(err.message, ctx).not.toMatch(/[\n\r]/)
    expect(err.hint ?? '', ctx).not.toMatch(/[\n\r]/)
    const field = err.data.field
    outcomes.set(String(field), (outcomes.get(String(field)) ?? 0) + 1)
    expect(typeof field, ctx).toBe('string')
    if (field !== '') expect(err.message, ctx).toContain(String(field))
    return String(field)
  }
  // every spec comes with the document it was read from, storable as user_spec_json
  expect(parsed.userSpecs, `input: ${text.slice(0, 400)}`).toHaveLength(parsed.specs.length)
  for (const u of parsed.userSpecs) expect(typeof JSON.stringify(u)).toBe('string')
  outcomes.set('ok', (outcomes.get('ok') ?? 0) + 1)
  return 'ok'
}

// ---------------------------------------------------------------------------------------------
// Generators

/** Strings that matter to a spec parser: names, globs, durations, quantities, junk. */
const specString = fc.oneof(
  fc.constantFrom('', ' ', 'a', 'images', 'out', 'master', '/*', '/', '**', '/[', '/{a,b', '/(*)', '$1', '30s', '-1s', '1h30m', 'x', '512Mi', '-1Gi', '1e400', 'NaN', '0', '5', '-5', '1.5', '@every 10s', '*/5 * * * *', '61 * * * *', '{}', '[', 'ubuntu:20.04', 'user', 'meta', 'spec', 'every_job', 'NodePort', 'EXISTS', '__proto__', 'constructor', 'toString', 'a\nb', '\u0000', '\u202e', '日本語', 'x'.repeat(300)),
  fc.string({maxLength: 12}),
  fc.string({unit: 'binary', maxLength: 8}),
)

const junk: fc.Arbitrary<unknown> = fc.oneof(
  specString,
  fc.integer(),
  fc.constantFrom(0, -1, 1, 2 ** 53, -(2 ** 53), 1.5, 1e308, -0),
  fc.double({noNaN: true, noDefaultInfinity: true}),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.array(specString, {maxLength: 3}),
  fc.dictionary(specString, specString, {maxKeys: 3}),
)

/** A value for a field: usually its own type, sometimes anything. */
const v = <T>(good: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({weight: 6, arbitrary: good}, {weight: 1, arbitrary: junk})

/** An object with some of the given fields, some in lowerCamelCase, sometimes an unknown one. */
function msg(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())
  return fc
    .tuple(
      fc.record(fields, {requiredKeys: []}),
      fc.array(fc.boolean(), {minLength: Object.keys(fields).length, maxLength: Object.keys(fields).length}),
      fc.option(fc.tuple(specString, junk), {freq: 40}),
    )
    .map(([rec, camelise, extra]) => {
      const out: Record<string, unknown> = {}
      Object.entries(rec).forEach(([k, val], i) => {
        out[camelise[i] ? camel(k) : k] = val
      })
      if (extra) Object.defineProperty(out, extra[0], {value: extra[1], enumerable: true, writable: true, configurable: true})
      return out
    })
}

const name = v(fc.oneof({weight: 8, arbitrary: fc.constantFrom('a', 'images', 'logs', 'x-1', 'B_2')}, fc.constantFrom('out', 'bad name', '', '-x', 'x'.repeat(60))))

const {input} = fc.letrec<{input: unknown}>((tie) => {
  const children = fc.array(tie('input'), {maxLength: 3})
  return {
    input: fc.oneof(
      {depthSize: 'small', withCrossShrink: true},
      msg({
        pfs: msg({
          repo: name,
          name: name,
          glob: v(fc.constantFrom('/*', '/', '/**', '/*/*', '/(*)', '/[', '', 'a/')),
          branch: name,
          project: name,
          repo_type: v(fc.constantFrom('user', 'meta', 'spec', 'bogus')),
          commit: v(fc.constantFrom('', 'abc')),
          join_on: v(fc.constantFrom('$1', '')),
          group_by: v(fc.constantFrom('$1', '')),
          outer_join: v(fc.boolean()),
          lazy: v(fc.boolean()),
          empty_files: v(fc.boolean()),
          s3: v(fc.boolean()),
          trigger: v(msg({branch: name, all: v(fc.boolean()), commits: v(fc.integer()), size: v(fc.constantFrom('1M', 'x'))})),
        }),
      }),
      msg({cross: v(children)}),
      msg({union: v(children)}),
      msg({join: v(children)}),
      msg({group: v(children)}),
      msg({cron: msg({name, spec: v(fc.constantFrom('@every 10s', '*/5 * * * *', 'nope', '@every -1s', '')), overwrite: v(fc.boolean()), start: v(fc.constantFrom('2024-05-01T10:00:00Z', '2024-13-45T99:00:00Z', 'x'))})}),
      msg({pfs: junk, cron: junk}),
    ),
  }
})

const resources = msg({cpu: v(fc.double({noNaN: true, noDefaultInfinity: true})), memory: v(fc.constantFrom('1Gi', '512Mi', 'lots', '-1')), disk: v(fc.constantFrom('1G', 'x')), gpu: msg({type: v(fc.constantFrom('nvidia.com/gpu', '')), number: v(fc.integer({min: -2, max: 4}))})})

const specLike: fc.Arbitrary<unknown> = msg({
  pipeline: msg({name, project: msg({name})}),
  description: v(fc.string({maxLength: 20})),
  transform: msg({
    image: v(fc.constantFrom('alpine:3.19', 'ubuntu', 'x:latest', '')),
    cmd: v(fc.array(specString, {maxLength: 3})),
    stdin: v(fc.array(specString, {maxLength: 2})),
    env: v(fc.dictionary(specString, v(specString), {maxKeys: 3})),
    secrets: v(fc.array(msg({name, key: name, env_var: name, mount_path: v(fc.constant('/s'))}), {maxLength: 2})),
    accept_return_code: v(fc.array(v(fc.integer()), {maxLength: 3})),
    debug: v(fc.boolean()),
    user: v(specString),
    working_dir: v(specString),
  }),
  input,
  parallelism_spec: msg({constant: v(fc.integer({min: -1, max: 4})), coefficient: v(fc.double({noNaN: true, noDefaultInfinity: true}))}),
  datum_tries: v(fc.integer({min: -2, max: 5})),
  datum_timeout: v(fc.constantFrom('30s', '-1s', '0', 'x')),
  job_timeout: v(fc.constantFrom('1h', 'x')),
  output_branch: name,
  reprocess_spec: v(fc.constantFrom('until_success', 'every_job', 'sometimes')),
  resource_requests: resources,
  resource_limits: resources,
  datum_set_spec: msg({number: v(fc.integer()), size_bytes: v(fc.integer()), per_worker: v(fc.integer())}),
  service: msg({internal_port: v(fc.integer()), external_port: v(fc.integer()), type: v(fc.constantFrom('NodePort', 'Nope'))}),
  spout: msg({service: msg({type: v(fc.constantFrom('NodePort', 'Nope'))})}),
  egress: msg({URL: v(specString), object_storage: msg({url: v(specString)})}),
  pod_spec: v(fc.constantFrom('{}', '{', '')),
  pod_patch: v(fc.constantFrom('[]', ']')),
  tolerations: v(fc.array(msg({key: v(specString), operator: v(fc.constantFrom('EXISTS', 'NOPE', 1, 9))}), {maxLength: 2})),
  metadata: msg({labels: v(fc.dictionary(specString, junk, {maxKeys: 2}))}),
  salt: v(specString),
  autoscaling: v(fc.boolean()),
  tf_job: v(msg({tf_job: v(specString)})),
  standby: v(fc.boolean()),
  enable_stats: v(fc.boolean()),
})

/** A path into a JSON value: the keys/indexes of every node, including the root (""). */
function nodesOf(value: unknown, path: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(path)
  if (Array.isArray(value)) value.forEach((x, i) => nodesOf(x, [...path, i], out))
  else if (value !== null && typeof value === 'object') for (const [k, x] of Object.entries(value)) nodesOf(x, [...path, k], out)
  return out
}

type Mutation = {kind: 'replace'; value: unknown} | {kind: 'delete'} | {kind: 'add'; key: string; value: unknown} | {kind: 'wrap'}

/** Apply one mutation at the `pick`-th node below the root of a deep copy of `spec`. */
function mutate(spec: unknown, pick: number, m: Mutation): unknown {
  const root = {v: structuredClone(spec)} as Record<string, unknown>
  const nodes = nodesOf(root.v).slice(1)
  const path = ['v', ...nodes[pick % nodes.length]!]
  const key = path.pop()!
  const parent = path.reduce<any>((o, k) => o[k], root)
  switch (m.kind) {
    case 'replace':
      parent[key] = m.value
      break
    case 'delete':
      if (Array.isArray(parent)) parent.splice(Number(key), 1)
      else delete parent[key]
      break
    case 'add':
      if (parent[key] !== null && typeof parent[key] === 'object' && !Array.isArray(parent[key])) {
        Object.defineProperty(parent[key], m.key, {value: m.value, enumerable: true, writable: true, configurable: true})
      } else parent[key] = {[m.key]: m.value}
      break
    case 'wrap':
      parent[key] = [parent[key]]
      break
  }
  return root.v
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  junk.map((value) => ({kind: 'replace' as const, value})),
  fc.constant({kind: 'delete' as const}),
  fc.tuple(specString, junk).map(([key, value]) => ({kind: 'add' as const, key, value})),
  fc.constant({kind: 'wrap' as const}),
)

// ---------------------------------------------------------------------------------------------

describe('spec parser fuzzing (seeded)', () => {
  it('arbitrary text never crashes; rejections are one line starting with the file', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({unit: 'binary'}), fc.string({unit: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '-', ' ', '\n', 'a', '1', '#', '&', '*', '!', '|', '>')})), (text) => {
        check(text)
      }),
      params,
    )
  })

  it('arbitrary JSON values never crash', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        check(JSON.stringify(value))
      }),
      params,
    )
  })

  it('spec-shaped objects: accepted, or rejected naming the field; JSON and YAML agree', () => {
    fc.assert(
      fc.property(specLike, (value) => {
        const json = check(JSON.stringify(value), 'fuzz/spec.json')
        const yaml = check(toYaml(value), 'fuzz/spec.yaml')
        expect(yaml, `${JSON.stringify(value)}\njson: ${json}\nyaml: ${yaml}`).toBe(json)
      }),
      params,
    )
  })

  it('one mutation of a valid example spec: accepted, or rejected naming the field', () => {
    fc.assert(
      fc.property(fc.constantFrom(...EXAMPLES), fc.nat(), mutation, (spec, pick, m) => {
        const field = check(JSON.stringify(mutate(spec, pick, m)))
        // a spec that is still an object can always be blamed on a field (or be accepted)
        expect(field).not.toBe('')
      }),
      params,
    )
  })

  it(`tried at least ${4 * RUNS} inputs`, () => {
    expect(tried).toBeGreaterThanOrEqual(4 * RUNS)
    if (process.env.FUZZ_STATS) console.log([...outcomes].sort((a, b) => b[1] - a[1]))
  })
})

describe('spec parser: faults the fuzzing found (regressions)', () => {
  it('a key with a newline or an escape sequence is quoted in the field path (one line, no terminal control)', () => {
    expect(check('{"pipeline": {"name": "p", "a\\nb\\u001b[31m": 1}}')).toBe('pipeline."a\\nb\\u001b[31m"')
  })

  it("invalid JSON is reported without V8's raw quote of the text (which spans lines)", () => {
    expect(check('[\n}')).toBe('')
    expect(() => parseSpecs('[\n}', FILE)).toThrow(/^fuzz\/spec\.json: invalid JSON: Unexpected token '\}' \(in the value starting at line 1, column 1\)$/)
  })

  it('deeply nested inputs are refused naming the field, not a stack overflow', () => {
    const nested = (depth: number) => `{"pipeline":{"name":"p"},"transform":{"cmd":["x"]},"input":${'{"cross":['.repeat(depth)}{"pfs":{"repo":"a","glob":"/*"}}${']}'.repeat(depth)}}`
    expect(check(nested(5000))).toBe(`input${'.cross[0]'.repeat(32)}.cross`)
    expect(() => parseSpecs(nested(5000), FILE)).toThrow(/nested more than 32 levels deep/)
    expect(check(nested(33))).not.toBe('ok')
    expect(check(nested(32))).toBe('ok')
  })
})
