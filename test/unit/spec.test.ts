import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {InvalidArgumentError, PachError} from '../../src/core/errors.js'
import {
  CLUSTER_ONLY_FIELDS,
  clusterOnlyFieldsIn,
  creationOrder,
  effectiveDefaults,
  parseDefaults,
  localRefusals,
  parseEditedSpec,
  parseSpecs,
  pipelineKind,
  servicePorts,
  REFUSED_FIELDS,
  specInputRank,
  specSummary,
  validateSpec,
  type PipelineSpec,
} from '../../src/core/pps/spec/index.js'
import {sortInput, type PfsInput} from '../../src/core/pps/input.js'
import {mergePatch} from '../../src/core/pps/spec/defaults.js'
import {parseDuration} from '../../src/core/units/duration.js'

const FIXTURES = join(import.meta.dirname, '../../fixtures/pipelines')
const INVALID = join(FIXTURES, 'invalid')
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8')

/** The error thrown by fn (fails the test if nothing is thrown). */
function caught(fn: () => unknown): PachError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError)
    return e as PachError
  }
  throw new Error('expected an error')
}

const EDGES_NORMALISED: PipelineSpec = {
  pipeline: {name: 'edges', project: {name: 'default'}},
  description: 'A pipeline that performs image edge detection by using the OpenCV library.',
  transform: {
    image: 'pachyderm/opencv:1.0',
    cmd: ['python3', '/edges.py'],
    stdin: [],
    err_cmd: [],
    err_stdin: [],
    env: {},
    secrets: [],
    image_pull_secrets: [],
    accept_return_code: [],
    debug: false,
    user: '',
    working_dir: '',
    dockerfile: '',
    memory_volume: false,
    datum_batching: false,
  },
  input: {
    pfs: {
      name: 'images',
      repo: 'images',
      repo_type: 'user',
      branch: 'master',
      glob: '/*',
      project: 'default',
      join_on: '',
      outer_join: false,
      group_by: '',
      lazy: false,
      empty_files: false,
      reference: false,
      s3: false,
    },
  },
  parallelism_spec: {constant: 1},
  datum_tries: 3,
  output_branch: 'master',
  reprocess_spec: 'until_success',
  autoscaling: false,
  s3_out: false,
}

const mini = (name: string, extra = ''): string =>
  `{"pipeline": {"name": "${name}"}, "transform": {"cmd": ["true"]}, "input": {"pfs": {"repo": "in", "glob": "/*"}}${extra}}`

/** A spec using (nearly) every field, in snake_case. */
const FULL_SNAKE = {
  pipeline: {name: 'full', project: {name: 'research'}},
  description: 'everything',
  transform: {
    image: 'python:3.12-slim',
    cmd: ['python3', '/app.py'],
    stdin: ['line 1'],
    err_cmd: ['sh'],
    err_stdin: ['exit 0'],
    env: {MODE: 'fast', some_key: 'v'},
    secrets: [{name: 'db', key: 'password', env_var: 'DB_PASSWORD'}, {name: 'tls', mount_path: '/tls'}],
    image_pull_secrets: ['regcred'],
    accept_return_code: [1, 2],
    debug: true,
    user: '1000',
    working_dir: '/work',
    dockerfile: 'Dockerfile',
    memory_volume: true,
    datum_batching: false,
  },
  input: {
    cross: [
      {pfs: {repo: 'images', glob: '/*', lazy: true, empty_files: false, reference: true, propagation_spec: {never: true}}},
      {
        join: [
          {pfs: {repo: 'left', glob: '/(*).csv', join_on: '$1', outer_join: true}},
          {pfs: {repo: 'right', glob: '/(*).json', join_on: '$1', repo_type: 'user', branch: 'dev'}},
        ],
      },
      {group: [{pfs: {repo: 'labs', glob: '/*-(*).txt', group_by: '$1'}}]},
    ],
  },
  parallelism_spec: {constant: 4},
  datum_tries: 5,
  datum_timeout: '30s',
  job_timeout: '1h30m',
  output_branch: 'out',
  reprocess_spec: 'every_job',
  salt: 'abc',
  resource_requests: {cpu: 0.5, memory: '256Mi', disk: '1Gi'},
  resource_limits: {cpu: 2, memory: '1Gi', gpu: {type: 'nvidia.com/gpu', number: 1}},
  sidecar_resource_limits: {cpu: 1, memory: '512Mi'},
  sidecar_resource_requests: {cpu: 0.1},
  datum_set_spec: {number: 10, size_bytes: 1000},
  autoscaling: true,
  s3_out: false,
  egress: {object_storage: {url: 's3://bucket/dir'}},
  scheduling_spec: {node_selector: {disktype: 'ssd'}, priority_class_name: 'high'},
  tolerations: [{key: 'dedicated', operator: 'EQUAL', value: 'gpu', effect: 'NO_SCHEDULE', toleration_seconds: 60}],
  pod_patch: '[{"op": "add", "path": "/spec/nodeName", "value": "n1"}]',
  pod_spec: '{"nodeName": "n1"}',
  metadata: {annotations: {team: 'vision'}, labels: {tier: 'batch'}},
  maximum_expected_uptime: '10m',
  determined: {workspaces: ['ws']},
}

const toCamel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())
/** Rename every field to lowerCamelCase, leaving user-chosen map keys (env, labels, ...) alone. */
function camelize(v: unknown, inMap = false): unknown {
  if (Array.isArray(v)) return v.map((x) => camelize(x))
  if (v === null || typeof v !== 'object') return v
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v)) {
    const isMap = ['env', 'node_selector', 'annotations', 'labels'].includes(k)
    out[inMap ? k : toCamel(k)] = isMap ? camelize(x, true) : camelize(x)
  }
  return out
}

describe('parseSpecs: file formats', () => {
  it('reads a JSON object (Pachyderm OpenCV edges.json)', () => {
    const {specs, warnings} = parseSpecs(fixture('edges.json'), 'edges.json')
    expect(specs).toEqual([EDGES_NORMALISED])
    expect(warnings).toEqual([])
  })

  it('reads a JSON array', () => {
    const {specs} = parseSpecs(`[${mini('a')}, ${mini('b')}]`, 'list.json')
    expect(specs.map((s) => s.pipeline.name)).toEqual(['a', 'b'])
  })

  it('reads concatenated JSON objects', () => {
    const {specs} = parseSpecs(`${mini('a')}\n${mini('b')}${mini('c')}\n\n`, 'stream.json')
    expect(specs.map((s) => s.pipeline.name)).toEqual(['a', 'b', 'c'])
  })

  it('reads multi-document YAML (documents may also be lists)', () => {
    const yaml = [
      '# two pipelines',
      'pipeline: {name: a}',
      'transform: {cmd: [sh]}',
      'input: {pfs: {repo: in, glob: "/*"}}',
      '---',
      '- pipeline: {name: b}',
      '  transform: {cmd: [sh]}',
      '  input: {pfs: {repo: a, glob: /}}',
      '- pipeline: {name: c}',
      '  transform:',
      '    cmd: [sh]',
      '  input:',
      '    pfs: {repo: b, glob: "*"}',
      '---',
      '',
    ].join('\n')
    const {specs} = parseSpecs(yaml, 'p.yaml')
    expect(specs.map((s) => s.pipeline.name)).toEqual(['a', 'b', 'c'])
    expect(specSummary(specs[2]!)).toBe('b:/*')
  })

  it('reads a YAML fixture with camelCase fields', () => {
    const {specs} = parseSpecs(fixture('union.yaml'), 'union.yaml')
    const s = specs[0]!
    expect(s.parallelism_spec).toEqual({constant: 2})
    expect(s.datum_tries).toBe(1)
    expect(specSummary(s)).toBe('(web-logs:/* ∪ app-logs:/*)')
  })

  it('reads text that starts like JSON but is YAML flow style (as Pachyderm, which converts YAML to JSON)', () => {
    const {specs} = parseSpecs('{pipeline: {name: flow}, transform: {cmd: [sh]}, input: {pfs: {repo: r, glob: "/*"}},}', 'flow.yaml')
    expect(specs[0]!.pipeline.name).toBe('flow')
  })

  it('returns each spec with the document it was read from, as written (userSpecs)', () => {
    const doc = (name: string) => JSON.parse(mini(name)) as unknown
    expect(parseSpecs(mini('a'), 'one.json').userSpecs).toEqual([doc('a')])
    expect(parseSpecs(`[${mini('a')}, ${mini('b')}]`, 'list.json').userSpecs).toEqual([doc('a'), doc('b')])
    expect(parseSpecs(`\uFEFF${mini('a')}\n${mini('b')}${mini('c')}\n`, 'stream.json').userSpecs).toEqual([doc('a'), doc('b'), doc('c')])
    const yaml = [
      'pipeline: {name: a}',
      'transform: {cmd: [sh], workingDir: null}',
      'input: {pfs: {repo: in, glob: "*", joinOn: "$1"}}',
      'datumTries: "4"',
      '---',
      '- pipeline: {name: b}',
      '  transform: {cmd: [sh], env: {N: 1}}',
      '  input: {pfs: {repo: a, glob: /}}',
      '',
    ].join('\n')
    const {specs, userSpecs} = parseSpecs(yaml, 'p.yaml')
    expect(userSpecs).toEqual([
      {pipeline: {name: 'a'}, transform: {cmd: ['sh'], workingDir: null}, input: {pfs: {repo: 'in', glob: '*', joinOn: '$1'}}, datumTries: '4'},
      {pipeline: {name: 'b'}, transform: {cmd: ['sh'], env: {N: 1}}, input: {pfs: {repo: 'a', glob: '/'}}},
    ])
    // the normalised specs are built from the same documents, which stay untouched
    expect(specs.map((s) => [s.pipeline.name, s.datum_tries, s.transform.env])).toEqual([
      ['a', 4, {}],
      ['b', 3, {N: '1'}],
    ])
  })

  it('rejects broken JSON and YAML, non-objects and empty files, naming the file', () => {
    for (const [text, fragment] of [
      ['{"pipeline" {"name": "a"}}', 'invalid JSON'],
      ['{"pipeline": ', 'invalid JSON'],
      ['pipeline:\n  name: a\n name: b\n', 'invalid YAML'],
      ['42', 'not a pipeline spec'],
      ['', 'no pipeline spec found'],
    ] as const) {
      const e = caught(() => parseSpecs(text, 'bad.txt'))
      expect(e.code).toBe('INVALID_SPEC')
      expect(e.message).toContain('bad.txt: ')
      expect(e.message).toContain(fragment)
    }
  })
})

describe('parseSpecs: normalisation', () => {
  it('gives the same result for snake_case and lowerCamelCase', () => {
    const snake = parseSpecs(JSON.stringify(FULL_SNAKE), 'snake.json')
    const camelText = JSON.stringify(camelize(FULL_SNAKE))
    expect(camelText).toContain('"acceptReturnCode"')
    expect(camelText).toContain('"joinOn"')
    expect(camelText).toContain('"outerJoin"')
    expect(camelText).toContain('"groupBy"')
    expect(camelText).toContain('"parallelismSpec"')
    expect(camelText).toContain('"resourceLimits"')
    expect(camelText).toContain('"some_key"') // env keys are data, not field names
    const camel = parseSpecs(camelText, 'camel.json')
    expect(camel.specs).toEqual(snake.specs)
  })

  it('keeps every field of the reference spec table', () => {
    const s = parseSpecs(JSON.stringify(FULL_SNAKE), 'full.json').specs[0]!
    expect(s.transform).toEqual({...FULL_SNAKE.transform})
    expect(s.datum_timeout).toBe('30s')
    expect(s.job_timeout).toBe('1h30m')
    expect(s.output_branch).toBe('out')
    expect(s.reprocess_spec).toBe('every_job')
    expect(s.salt).toBe('abc')
    expect(s.resource_requests).toEqual({cpu: 0.5, memory: '256Mi', disk: '1Gi'})
    expect(s.resource_limits).toEqual({cpu: 2, memory: '1Gi', gpu: {type: 'nvidia.com/gpu', number: 1}})
    expect(s.sidecar_resource_limits).toEqual({cpu: 1, memory: '512Mi'})
    expect(s.sidecar_resource_requests).toEqual({cpu: 0.1})
    expect(s.datum_set_spec).toEqual({number: 10, size_bytes: 1000})
    expect(s.autoscaling).toBe(true)
    expect(s.egress).toEqual({object_storage: {url: 's3://bucket/dir'}})
    expect(s.scheduling_spec).toEqual(FULL_SNAKE.scheduling_spec)
    expect(s.tolerations).toEqual(FULL_SNAKE.tolerations)
    expect(s.pod_patch).toBe(FULL_SNAKE.pod_patch)
    expect(s.pod_spec).toBe(FULL_SNAKE.pod_spec)
    expect(s.metadata).toEqual(FULL_SNAKE.metadata)
    expect(s.maximum_expected_uptime).toBe('10m')
    expect(s.determined).toEqual({workspaces: ['ws']})
    const images = (s.input as {cross: {pfs?: {name: string; lazy: boolean; reference: boolean; propagation_spec?: unknown}}[]}).cross.find(
      (c) => c.pfs?.name === 'images',
    )!.pfs!
    expect(images).toMatchObject({lazy: true, reference: true, propagation_spec: {never: true}, project: 'research'})
    // in spec order (the datum planner sorts by name, as Pachyderm)
    expect(specSummary(s)).toBe('(images:/* ⨯ (left:/(*).csv ⋈ right@dev:/(*).json) ⨯ group(labs:/*-(*).txt))')
  })

  it('keeps cluster-only fields and reports which ones are set', () => {
    const s = parseSpecs(JSON.stringify(FULL_SNAKE), 'full.json').specs[0]!
    const set = clusterOnlyFieldsIn(s)
    for (const f of ['autoscaling', 'datum_set_spec', 'scheduling_spec', 'tolerations', 'pod_patch', 'pod_spec', 'metadata']) {
      expect(CLUSTER_ONLY_FIELDS).toContain(f)
      expect(set).toContain(f)
    }
    expect(set).toContain('transform.image_pull_secrets')
    expect(set).toContain('transform.memory_volume')
    // egress is kept too, but refused rather than noticed (localRefusals)
    expect(s.egress).toEqual({object_storage: {url: 's3://bucket/dir'}})
    for (const f of REFUSED_FIELDS) expect(CLUSTER_ONLY_FIELDS).not.toContain(f)
    expect(set).not.toContain('egress')
    expect(set).not.toContain('s3_out')
    expect(REFUSED_FIELDS).toEqual(['egress'])
    expect(clusterOnlyFieldsIn(parseSpecs(fixture('edges.json'), 'edges.json').specs[0]!)).toEqual([])
  })

  it('names every field pach refuses to run (localRefusals); spouts and services are not refused', () => {
    const s = parseSpecs(JSON.stringify({...FULL_SNAKE, service: {internal_port: 80, external_port: 30080}, parallelism_spec: {constant: 1}}), 'full.json').specs[0]!
    expect(localRefusals(s).map((r) => r.field)).toEqual(['egress'])
    expect(pipelineKind(s)).toBe('service')
    expect(servicePorts(s)).toEqual({internal_port: 80, external_port: 30080, type: 'NodePort'})
    // s3 inputs and s3_out run (through the job's S3 sidecar): neither refused nor noticed
    const s3 = parseSpecs(mini('s3').replace('"glob": "/*"', '"glob": "/", "s3": true').replace('"pipeline":', '"s3_out": true, "pipeline":'), 's3.json').specs[0]!
    expect(s3.s3_out).toBe(true)
    expect(localRefusals(s3)).toEqual([])
    // a service's code runs outside jobs: no per-job gateway serves it, so its s3 input is refused
    const svc = parseSpecs(mini('svc').replace('"glob": "/*"', '"glob": "/", "s3": true').replace('"pipeline":', '"service": {"internal_port": 80, "external_port": 30080}, "pipeline":'), 'svc.json').specs[0]!
    expect(localRefusals(svc)).toEqual([
      {field: 'input.pfs.s3', message: 'input.pfs.s3: an s3 input to a service is not supported by pach yet', hint: 'remove "s3": true; the service then reads the input at /pfs/in'},
    ])
    expect(clusterOnlyFieldsIn(s3)).toEqual([])
    const spout = parseSpecs('{"pipeline": {"name": "sp"}, "transform": {"cmd": ["sh"]}, "spout": {}, "egress": {"URL": "s3://b"}}', 'sp.json').specs[0]!
    expect(localRefusals(spout).map((x) => x.field)).toEqual(['egress'])
    expect(pipelineKind(spout)).toBe('spout')
    expect(servicePorts(spout)).toBeUndefined()
    expect(localRefusals(parseSpecs(fixture('edges.json'), 'edges.json').specs[0]!)).toEqual([])
  })

  it('applies defaults', () => {
    const s = parseSpecs('{"pipeline": {"name": "p"}, "transform": {"cmd": ["true"]}, "input": {"pfs": {"repo": "r", "glob": "/*"}}}', 'd.json', 'proj').specs[0]!
    expect(s.pipeline.project.name).toBe('proj')
    expect(s.transform.image).toBe('ubuntu:20.04')
    expect(s.datum_tries).toBe(3)
    expect(s.parallelism_spec.constant).toBe(1)
    expect(s.output_branch).toBe('master')
    expect(s.reprocess_spec).toBe('until_success')
    expect(s.description).toBe('')
    expect(s.input).toEqual({
      pfs: expect.objectContaining({name: 'r', repo: 'r', branch: 'master', repo_type: 'user', project: 'proj'}) as unknown,
    })
    const zeros = parseSpecs(mini('z', ', "datum_tries": 0, "parallelism_spec": {"constant": 0}, "output_branch": "", "reprocess_spec": ""'), 'z.json').specs[0]!
    expect(zeros.datum_tries).toBe(3)
    expect(zeros.parallelism_spec.constant).toBe(1)
    expect(zeros.output_branch).toBe('master')
    expect(zeros.reprocess_spec).toBe('until_success')
    // a spec's own project wins over the default and is inherited by its inputs
    const own = parseSpecs('{"pipeline": {"name": "p", "project": {"name": "mine"}}, "transform": {"cmd": ["x"]}, "input": {"pfs": {"repo": "r", "glob": "/"}}}', 'o.json', 'proj').specs[0]!
    expect(own.pipeline.project.name).toBe('mine')
    expect((own.input as {pfs: {project: string}}).pfs.project).toBe('mine')
  })

  it('defaults cron inputs (repo <pipeline>_<name>) and trigger branches', () => {
    const cron = parseSpecs(
      '{"pipeline": {"name": "clock"}, "transform": {"cmd": ["date"]}, "input": {"cron": {"name": "tick", "spec": "*/5 * * * *", "overwrite": true}}}',
      'c.json',
    ).specs[0]!
    expect(cron.input).toEqual({cron: {name: 'tick', repo: 'clock_tick', spec: '*/5 * * * *', overwrite: true, project: 'default'}})
    expect(specSummary(cron)).toBe('tick:*/5 * * * *')
    for (const spec of ['@every 30s', '@daily', '@never', '0 9 * * MON-FRI', 'TZ=Europe/Paris 0 0 1 jan ?']) {
      expect(() => parseSpecs(`{"pipeline": {"name": "c"}, "transform": {"cmd": ["x"]}, "input": {"cron": {"name": "t", "spec": "${spec}"}}}`, 'c.json')).not.toThrow()
    }
    const trig = parseSpecs(mini('t').replace('"glob": "/*"', '"glob": "/*", "trigger": {"size": "1M"}'), 't.json').specs[0]!
    expect((trig.input as {pfs: {branch: string; trigger: unknown}}).pfs).toMatchObject({branch: 't-trigger-1', trigger: {branch: 'master', size: '1M'}})
  })

  it('cleans globs', () => {
    const glob = (g: string): string => (parseSpecs(mini('g').replace('"/*"', JSON.stringify(g)), 'g.json').specs[0]!.input as {pfs: {glob: string}}).pfs.glob
    expect(glob('abc')).toBe('/abc')
    expect(glob('abc/')).toBe('/abc')
    expect(glob('/')).toBe('/')
    expect(glob('*')).toBe('/*')
    expect(glob('/a//b/')).toBe('/a/b')
  })

  it('keeps the children of cross/union/join/group in spec order (sortInput, which the planner applies, sorts them by name)', () => {
    const p = (repo: string, name?: string): unknown => ({pfs: {repo, glob: '/*', ...(name ? {name} : {})}})
    const input = {cross: [p('c'), {union: [p('z'), p('y')]}, p('q', 'a'), p('b')]}
    const s = parseSpecs(JSON.stringify({pipeline: {name: 's'}, transform: {cmd: ['x']}, input}), 's.json').specs[0]!
    expect(specSummary(s)).toBe('(c:/* ⨯ (z:/* ∪ y:/*) ⨯ q:/* ⨯ b:/*)')
    expect(specSummary({...s, input: sortInput(s.input)})).toBe('(q:/* ⨯ b:/* ⨯ c:/* ⨯ (y:/* ∪ z:/*))')
    const montage = parseSpecs(fixture('montage.json'), 'montage.json').specs[0]!
    expect(specSummary(montage)).toBe('(images:/ ⨯ edges:/)')
  })

  it('accepts numeric strings for integer and float fields', () => {
    const s = parseSpecs(
      mini(
        'n',
        ', "datum_tries": "5", "parallelism_spec": {"constant": "4"}, "resource_limits": {"cpu": "0.5", "gpu": {"type": "nvidia.com/gpu", "number": "2"}}, "datum_set_spec": {"per_worker": "3"}',
      ).replace('"cmd": ["true"]', '"cmd": ["true"], "accept_return_code": ["1", 2]'),
      'n.json',
    ).specs[0]!
    expect(s.datum_tries).toBe(5)
    expect(s.parallelism_spec.constant).toBe(4)
    expect(s.resource_limits).toEqual({cpu: 0.5, gpu: {type: 'nvidia.com/gpu', number: 2}})
    expect(s.datum_set_spec).toEqual({per_worker: 3})
    expect(s.transform.accept_return_code).toEqual([1, 2])
    const e = caught(() => parseSpecs(mini('n', ', "datum_tries": "2.5"'), 'n.json'))
    expect(e.message).toContain('datum_tries must be an integer')
  })

  it('turns YAML numbers in env and memory into strings', () => {
    const yaml = 'pipeline: {name: y}\ntransform:\n  cmd: [sh]\n  env: {N: 3, DEBUG: true}\ninput: {pfs: {repo: r, glob: /}}\nresource_limits: {memory: 1024}\n'
    const s = parseSpecs(yaml, 'y.yaml').specs[0]!
    expect(s.transform.env).toEqual({N: '3', DEBUG: 'true'})
    expect(s.resource_limits).toEqual({memory: '1024'})
  })

  it('treats null as unset', () => {
    const s = parseSpecs(mini('n', ', "description": null, "salt": null, "resource_limits": null'), 'n.json').specs[0]!
    expect(s.description).toBe('')
    expect(s).not.toHaveProperty('salt')
    expect(s).not.toHaveProperty('resource_limits')
  })

  it('accepts a spout without input (input undefined)', () => {
    const s = parseSpecs('{"pipeline": {"name": "sp"}, "transform": {"cmd": ["gen"]}, "spout": {}}', 'sp.json').specs[0]!
    expect(s.input).toBeUndefined()
    expect(s.spout).toEqual({})
    expect(specSummary(s)).toBe('none')
    const svc = parseSpecs(mini('svc', ', "spout": {"service": {"internal_port": 8000, "external_port": 30000}}'), 'svc.json').specs[0]!
    expect(svc.spout).toEqual({service: {internal_port: 8000, external_port: 30000, type: 'NodePort'}})
  })
})

describe('parseSpecs: Pachyderm 1.x and CLI-only fields', () => {
  it('maps atom to pfs with a deprecation warning', () => {
    const text = '{"pipeline": {"name": "old"}, "transform": {"cmd": ["x"]}, "input": {"cross": [{"atom": {"repo": "a", "glob": "/*"}}, {"pfs": {"repo": "b", "glob": "/"}}]}}'
    const {specs, warnings} = parseSpecs(text, 'old.json')
    expect(specSummary(specs[0]!)).toBe('(a:/* ⨯ b:/)')
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain('old.json: pipeline "old": deprecated (Pachyderm 1.x): ')
    expect(warnings[0]).toContain('input.cross[0].atom')
  })

  it('maps standby to autoscaling and drops enable_stats, with warnings', () => {
    const {specs, warnings} = parseSpecs(mini('old', ', "standby": true, "enableStats": true'), 'old.json')
    expect(specs[0]!.autoscaling).toBe(true)
    expect(warnings).toHaveLength(2)
    expect(warnings.every((w) => w.includes('deprecated (Pachyderm 1.x): '))).toBe(true)
    expect(warnings.join('\n')).toContain('standby')
    expect(warnings.join('\n')).toContain('enableStats')
    const e = caught(() => parseSpecs(mini('old', ', "standby": true, "autoscaling": false'), 'old.json'))
    expect(e.message).toContain('autoscaling is set twice')
  })

  it('ignores fields the CLI sets, with a warning', () => {
    const {warnings} = parseSpecs(mini('u', ', "update": true, "reprocess": true'), 'u.json')
    expect(warnings).toHaveLength(2)
    expect(warnings[0]).toContain('update is set by the CLI')
  })

  it('warns about images without a pinned tag', () => {
    const w = (image: string): string[] => parseSpecs(mini('i').replace('"cmd"', `"image": "${image}", "cmd"`), 'i.json').warnings
    expect(w('alpine')[0]).toContain('has no tag')
    expect(w('alpine:latest')[0]).toContain('"latest"')
    expect(w('localhost:5000/team/img')[0]).toContain('has no tag')
    expect(w('alpine:3.19')).toEqual([])
    expect(w('alpine@sha256:0123')).toEqual([])
  })
})

/** fixtures/pipelines/invalid/<rule>.<ext> -> [field path named in the message, fragment of the message] */
const INVALID_CASES: Record<string, [string, string]> = {
  'bad-boolean.json': ['input.pfs.lazy', 'must be true or false'],
  'bad-cpu.json': ['resource_requests.cpu', 'must be a number'],
  'bad-cron.json': ['input.cron.spec', 'not a valid cron expression'],
  'bad-datum-timeout.json': ['datum_timeout', 'is not a duration'],
  'bad-glob.json': ['input.pfs.glob', 'is invalid'],
  'bad-integer.json': ['datum_tries', 'must be an integer'],
  'bad-job-timeout.json': ['job_timeout', 'is not a duration'],
  'bad-memory.json': ['resource_limits.memory', 'is not a valid quantity'],
  'bad-pod-patch.json': ['pod_patch', 'is not valid JSON'],
  'bad-pod-spec.json': ['pod_spec', 'is not valid JSON'],
  'bad-repo-name.json': ['input.pfs.repo', 'is not a valid repo name'],
  'bad-repo-type.json': ['input.pfs.repo_type', 'must be "user", "meta" or "spec"'],
  'bad-reprocess-spec.json': ['reprocess_spec', 'must be "until_success" or "every_job"'],
  'bad-service-type.json': ['service.type', 'is not allowed'],
  'cmd-not-a-list.json': ['transform.cmd', 'must be a list of strings'],
  'cycle.json': ['input', 'pipelines form a cycle: a -> b -> a'],
  'datum-set-spec-conflict.json': ['datum_set_spec.per_worker', 'cannot be set together with number or size_bytes'],
  'duplicate-input-name-across-union.json': ['input.cross[1].pfs.name', 'name "x" was used more than once'],
  'duplicate-input-name.json': ['input.cross[1].pfs.name', 'name "images" was used more than once'],
  'duplicate-pipeline.json': ['pipeline.name', 'is defined more than once'],
  'empty-cmd.json': ['transform.cmd', 'no command specified'],
  'empty-cross.json': ['input.cross', 'is empty'],
  'empty-group.json': ['input.group', 'is empty'],
  'empty.yaml': ['', 'no pipeline spec found'],
  'field-set-twice.json': ['input.pfs.join_on', 'is set twice (as "join_on" and "joinOn")'],
  'input-from-commit.json': ['input.pfs.commit', 'input cannot come from a commit; use a branch'],
  'input-named-out.json': ['input.pfs.name', 'cannot be named "out"'],
  'invalid-json.json': ['', 'invalid JSON'],
  'invalid-pipeline-name.json': ['pipeline.name', 'only letters, digits, "_" and "-" are allowed'],
  'invalid-yaml.yaml': ['', 'invalid YAML'],
  'missing-cmd.json': ['transform.cmd', 'no command specified'],
  'missing-glob.json': ['input.pfs.glob', 'is required'],
  'missing-input.json': ['input', 'is required (only spouts have no input)'],
  'missing-pipeline-name.json': ['pipeline.name', 'is required'],
  'missing-repo.json': ['input.pfs.repo', 'is required'],
  'missing-transform.json': ['transform', 'is required'],
  'multiple-input-types.json': ['input', 'multiple input types set'],
  'negative-datum-tries.json': ['datum_tries', 'must be a positive integer'],
  'no-input-set.json': ['input.cross[1]', 'no input set'],
  'not-an-object.json': ['', 'is not a pipeline spec'],
  'own-output-repo.json': ['input.pfs.repo', 'cannot read its own output repo'],
  'pipeline-name-first-char.json': ['pipeline.name', 'must start with a letter or a digit'],
  'pipeline-name-too-long.json': ['pipeline.name', 'at most 51'],
  's3-glob-not-root.json': ['input.pfs.glob', 'inputs that set "s3" to true must also set "glob" to "/", as the S3 gateway is only able to expose data at the commit level'],
  's3-in-join.json': ['input.join', 'S3 inputs in join expressions are not supported'],
  's3-in-union.json': ['input.union', 'S3 inputs in union expressions are not supported'],
  'secret-env-var-without-key.json': ['transform.secrets[0].key', 'is required when env_var is set'],
  'service-parallelism.json': ['parallelism_spec.constant', 'services can only be run with a constant parallelism of 1'],
  'spout-with-autoscaling.json': ['autoscaling', "can't be used with spouts"],
  'spout-with-input.json': ['input', 'spout pipelines (without a service) must not have an input'],
  'tf-job.json': ['tf_job', 'not supported yet'],
  'unknown-field.json': ['transform.cmdd', 'unknown field transform.cmdd (did you mean "cmd"?)'],
  'unknown-input-field.json': ['input.pfs.globb', 'unknown field input.pfs.globb'],
  'v1-coefficient.json': ['parallelism_spec.coefficient', 'was removed in Pachyderm 2.x'],
  'v1-git-input.json': ['input.git', 'was removed in Pachyderm 2.x'],
  'v1-inputs.json': ['inputs', 'is the Pachyderm 1.x (≤ 1.3) input list and is not supported'],
  'v1-method.json': ['input.pfs.method', 'Pachyderm 1.x'],
}

describe('parseSpecs: rejections (fixtures/pipelines/invalid, one spec per rule)', () => {
  const files = readdirSync(INVALID).sort()

  it('has an expectation for every invalid fixture and a fixture for every expectation', () => {
    expect(files).toEqual(Object.keys(INVALID_CASES).sort())
  })

  for (const file of files) {
    it(`rejects ${file}`, () => {
      const [field, fragment] = INVALID_CASES[file] ?? ['?', '?']
      const e = caught(() => parseSpecs(readFileSync(join(INVALID, file), 'utf8'), file))
      expect(e.code).toBe('INVALID_SPEC')
      expect(e.exitCode).toBe(2)
      expect(e.message.startsWith(`${file}: `)).toBe(true)
      expect(e.message).toContain(fragment)
      expect(e.data.file).toBe(file)
      expect(e.data.field).toBe(field)
      if (field !== '') expect(e.message).toContain(field)
    })
  }

  it('names the pipeline, or the spec number when the name is missing', () => {
    const e1 = caught(() => parseSpecs(fixture('invalid/missing-glob.json'), 'spec.json'))
    expect(e1.message).toBe('spec.json: pipeline "edges": input.pfs.glob is required')
    const e2 = caught(() => parseSpecs(`[${mini('a')}, {"transform": {"cmd": ["x"]}, "input": {"pfs": {"repo": "r", "glob": "/"}}}]`, 'two.json'))
    expect(e2.message).toBe('two.json: spec #2: pipeline.name is required')
  })

  it('suggests the right spelling for a wrongly cased field', () => {
    const e = caught(() => parseSpecs(mini('c').replace('"glob"', '"Glob"'), 'c.json'))
    expect(e.message).toContain('unknown field input.pfs.Glob (did you mean "glob"?)')
  })

  it('allows equal names between the alternatives of a union only', () => {
    expect(() => parseSpecs(fixture('union.yaml'), 'union.yaml')).not.toThrow()
  })

  it('rejects s3 inputs combined with lazy or empty_files', () => {
    const e = caught(() => parseSpecs(mini('s').replace('"glob": "/*"', '"glob": "/", "s3": true, "lazy": true'), 's.json'))
    expect(e.message).toContain(`input.pfs: input cannot specify both "s3" and "lazy", as "s3" requires input data to be accessed via Pachyderm's S3 gateway rather than the file system`)
    const f = caught(() => parseSpecs(mini('s').replace('"glob": "/*"', '"glob": "/", "s3": true, "empty_files": true'), 's.json'))
    expect(f.message).toContain('input.pfs: input cannot specify both "s3" and "empty_files"')
  })

  it('rejects s3 inputs in a group (nested too), accepts them alone and in a cross', () => {
    const leaf = (repo: string, s3: boolean) => ({pfs: {repo, glob: s3 ? '/' : '/*', s3}})
    const spec = (input: unknown, extra: object = {}) => JSON.stringify({pipeline: {name: 'p'}, transform: {cmd: ['sh']}, input, ...extra})
    const g = caught(() => parseSpecs(spec({group: [{cross: [leaf('a', true), leaf('b', false)]}]}), 'g.json'))
    expect(g.message).toContain('input.group: S3 inputs in group expressions are not supported')
    expect(() => parseSpecs(spec({cross: [leaf('a', true), leaf('b', false)]}, {s3_out: true}), 'c.json')).not.toThrow()
    expect(() => parseSpecs(spec(leaf('a', true)), 'a.json')).not.toThrow()
  })

  it('rejects s3_out on a service or a spout (Pachyderm\'s message)', () => {
    const svc = caught(() => parseSpecs(mini('s').replace('"pipeline":', '"s3_out": true, "service": {"internal_port": 80, "external_port": 30080}, "pipeline":'), 's.json'))
    expect(svc.message).toContain('s3_out: s3 output is not supported in spouts or services')
    const sp = caught(() => parseSpecs('{"pipeline": {"name": "sp"}, "transform": {"cmd": ["sh"]}, "spout": {}, "s3_out": true}', 'sp.json'))
    expect(sp.message).toContain('s3_out: s3 output is not supported in spouts or services')
  })
})

describe('fixtures/pipelines examples', () => {
  it('parses every valid example', () => {
    const summaries = Object.fromEntries(
      readdirSync(FIXTURES)
        .filter((f) => /\.(json|ya?ml)$/.test(f))
        .sort()
        .map((f) => [f, specSummary(parseSpecs(fixture(f), f).specs[0]!)]),
    )
    expect(summaries).toEqual({
      'edges.json': 'images:/*',
      'group.json': 'group(labresults:/*-CLIA(*).txt, hospitals:/*-CLIA(*).txt)',
      'join.json': '(stores:/STOREID(*).txt ⋈ purchases:/*_STOREID(*).txt)',
      'montage.json': '(images:/ ⨯ edges:/)',
      'union.yaml': '(web-logs:/* ∪ app-logs:/*)',
    })
  })

  it('parses the join and group examples in camelCase and snake_case', () => {
    const join = parseSpecs(fixture('join.json'), 'join.json').specs[0]!
    expect((join.input as {join: {pfs: {name: string; join_on: string; outer_join: boolean}}[]}).join.map((c) => c.pfs)).toMatchObject([
      {name: 'stores', join_on: '$1', outer_join: false},
      {name: 'purchases', join_on: '$1', outer_join: true},
    ])
    const group = parseSpecs(fixture('group.json'), 'group.json').specs[0]!
    expect((group.input as {group: {pfs: {group_by: string}}[]}).group.map((c) => c.pfs.group_by)).toEqual(['$1', '$1'])
    expect(group.resource_limits).toEqual({cpu: 0.5, memory: '512Mi'})
    expect(parseDuration(group.datum_timeout!)).toBe(300_000)
    expect(parseDuration(group.job_timeout!)).toBe(3_600_000)
  })
})

describe('validateSpec', () => {
  it('accepts a normalised spec and rejects a broken one, naming file and field', () => {
    const spec = parseSpecs(fixture('edges.json'), 'edges.json').specs[0]!
    expect(() => validateSpec(spec, 'edges.json')).not.toThrow()
    const e = caught(() => validateSpec({...spec, transform: {...spec.transform, cmd: []}}, 'edited.json'))
    expect(e.message).toBe('edited.json: pipeline "edges": transform.cmd: no command specified')
    const e2 = caught(() => validateSpec({...spec, input: {pfs: {...(spec.input as {pfs: PfsInput}).pfs, glob: ''}}}, 'edited.json'))
    expect(e2.message).toContain('input.pfs.glob is required')
    const e3 = caught(() => validateSpec({...spec, datum_timeout: 'soon'}, 'edited.json'))
    expect(e3.data).toMatchObject({file: 'edited.json', field: 'datum_timeout', pipeline: 'edges'})
  })
})

describe('parseSpecs: every problem in one run', () => {
  it('reports each problem of each spec, one line each, in one INVALID_SPEC error', () => {
    const text = JSON.stringify([
      {pipeline: {name: 'x'}, transform: {cmdd: ['sh'], image: 5}, input: {cross: [{pfs: {repo: 'a'}}, {pfs: {repo: 'b', glob: '/*', lazy: 'yes'}}]}, datum_tries: -1, job_timeout: 'abc'},
      {pipeline: {name: 'y'}, transform: {cmd: ['sh']}, input: {pfs: {repo: 'a', glob: '/[', name: 'out'}}},
    ])
    const e = caught(() => parseSpecs(text, 'two.json'))
    const errors = e.data.errors as {message: string; field: string; pipeline?: string}[]
    expect(errors.map((x) => [x.pipeline, x.field])).toEqual([
      ['x', 'transform.cmdd'],
      ['x', 'transform.image'],
      ['x', 'input.cross[1].pfs.lazy'],
      ['x', 'transform.cmd'],
      ['x', 'input.cross[0].pfs.glob'],
      ['x', 'datum_tries'],
      ['x', 'job_timeout'],
      ['y', 'input.pfs.name'],
      ['y', 'input.pfs.glob'],
    ])
    for (const x of errors) {
      expect(x.message).not.toMatch(/[\n\r]/)
      expect(x.message.startsWith(`two.json: pipeline "${x.pipeline}": `)).toBe(true)
    }
    expect(e.message).toBe(`${errors[0]!.message} (and 8 more errors)`)
    expect(e.data.field).toBe('transform.cmdd')
  })

  it('says nothing more about a field inside one that already has a problem', () => {
    const e = caught(() => parseSpecs('{"pipeline": {"name": "z"}, "transform": 7, "input": {"pfs": {"repo": "a", "glob": "/*"}}}', 'z.json'))
    expect((e.data.errors as {field: string}[]).map((x) => x.field)).toEqual(['transform'])
    expect(e.message).toBe('z.json: pipeline "z": transform must be an object, got number 7')
    // nor about a field around one: a cmd dropped for its bad element is not then "missing"
    const e2 = caught(() => parseSpecs('{"pipeline": {"name": "z"}, "transform": {"cmd": ["sh", 5]}, "input": {"pfs": {"repo": "a", "glob": "/*"}}}', 'z.json'))
    expect((e2.data.errors as {field: string}[]).map((x) => x.field)).toEqual(['transform.cmd[1]'])
  })

  it('validateSpec reports every problem too', () => {
    const spec = parseSpecs(fixture('edges.json'), 'edges.json').specs[0]!
    const e = caught(() => validateSpec({...spec, datum_tries: 0, output_branch: 'a b', transform: {...spec.transform, cmd: []}}, 'edges.json'))
    expect((e.data.errors as {field: string}[]).map((x) => x.field)).toEqual(['transform.cmd', 'datum_tries', 'output_branch'])
  })
})

describe('parseSpecs: join_on / group_by capture groups', () => {
  const spec = (input: unknown) => JSON.stringify({pipeline: {name: 'j'}, transform: {cmd: ['sh']}, input})
  it('warns when a template refers to a capture group the glob does not have (Pachyderm gives every file one key)', () => {
    const {warnings} = parseSpecs(spec({join: [{pfs: {repo: 'a', glob: '/*/*.vol', join_on: '$1'}}, {pfs: {repo: 'b', glob: '/(*).txt', join_on: '$1'}}]}), 'j.json')
    expect(warnings).toEqual([
      'j.json: pipeline "j": input.join[0].pfs.join_on "$1" refers to capture group 1, but glob "/*/*.vol" has no capture groups, so every file of this input gets the same join key "" (the join pairs every file with every other); put the part to match in parentheses, e.g. "/(*)/*.vol"',
    ])
    const g = parseSpecs(spec({group: [{pfs: {repo: 'a', glob: '/(*)-*', group_by: '${2}x'}}]}), 'g.json').warnings
    expect(g).toEqual(['g.json: pipeline "j": input.group[0].pfs.group_by "${2}x" refers to capture group 2, but glob "/(*)-*" has only 1 capture group, so every file of this input gets the same group key "x" (every file lands in one group)'])
    const partly = parseSpecs(spec({join: [{pfs: {repo: 'a', glob: '/(*)', join_on: '$1-$3'}}]}), 'p.json').warnings
    expect(partly).toEqual(['p.json: pipeline "j": input.join[0].pfs.join_on "$1-$3" refers to capture group 3, but glob "/(*)" has only 1 capture group, so that part of the key is always empty'])
  })

  it('is quiet when every group exists, for $0 and for $$', () => {
    expect(parseSpecs(fixture('join.json'), 'join.json').warnings).toEqual([])
    expect(parseSpecs(fixture('group.json'), 'group.json').warnings.filter((w) => w.includes('capture'))).toEqual([])
    expect(parseSpecs(spec({join: [{pfs: {repo: 'a', glob: '/*', join_on: '$0$$1'}}]}), 'z.json').warnings).toEqual([])
  })
})

describe('specInputRank', () => {
  it('ranks input repos in spec order, the first input of a repo winning, unknown repos last', () => {
    const s = parseSpecs(spec3(), 's.json').specs[0]!
    const rank = specInputRank(s.input)
    const r = (name: string) => rank({name, type: 'user', project: {name: 'default'}})
    expect([r('zeta'), r('alpha'), r('mid'), r('other')]).toEqual([0, 1, 2, 3])
  })
  function spec3(): string {
    return JSON.stringify({pipeline: {name: 's'}, transform: {cmd: ['sh']}, input: {cross: [{pfs: {repo: 'zeta', glob: '/*'}}, {join: [{pfs: {repo: 'alpha', glob: '/(*)', join_on: '$1'}}, {pfs: {repo: 'mid', glob: '/(*)', join_on: '$1'}}]}, {pfs: {repo: 'zeta', name: 'z2', glob: '/'}}]}})
  }
})

describe('parseEditedSpec', () => {
  const before = {pipeline: {name: 'e'}, transform: {cmd: ['sh']}, input: {pfs: {repo: 'in', glob: '/*'}}}
  const who = {name: 'e', project: 'default'}
  it('tells an unchanged document, fills a removed name, refuses a rename', () => {
    expect(parseEditedSpec(JSON.stringify(before), 'e.json', who, before).unchanged).toBe(true)
    const noName = parseEditedSpec(JSON.stringify({...before, pipeline: {}, description: 'd'}), 'e.json', who, before)
    expect(noName.unchanged).toBe(false)
    expect(noName.specs[0]!.pipeline).toEqual({name: 'e', project: {name: 'default'}})
    const e = caught(() => parseEditedSpec(JSON.stringify({...before, pipeline: {name: 'f'}}), 'e.json', who, before))
    expect(e.message).toBe('e.json: pipeline "e": pipeline.name: an edit cannot rename pipeline "e" (to "f")')
    const two = caught(() => parseEditedSpec(JSON.stringify([before, before]), 'e.json', who, before))
    expect(two.message).toContain('2 specs found')
  })
})

describe('creationOrder', () => {
  it('puts each spec after the specs of the batch it reads, otherwise keeps the order given', () => {
    const mk = (name: string, repo: string) => ({spec: parseSpecs(mini(name).replace('"repo": "in"', `"repo": "${repo}"`), `${name}.json`).specs[0]!})
    const batch = [mk('c', 'b'), mk('x', 'in'), mk('b', 'a'), mk('a', 'in')]
    expect(creationOrder(batch).map((s) => s.spec.pipeline.name)).toEqual(['a', 'b', 'c', 'x'])
    expect(creationOrder([mk('x', 'in'), mk('y', 'in')]).map((s) => s.spec.pipeline.name)).toEqual(['x', 'y'])
  })
})

describe('pipeline defaults (spec/defaults.ts)', () => {
  it('merges as RFC 7396 over canonical names: objects key by key, lists and scalars replace, null deletes', () => {
    expect(mergePatch({a: {b: 1, c: [1, 2]}, d: 1}, {a: {c: [3], e: null}, d: null, f: 'x'})).toEqual({a: {b: 1, c: [3]}, f: 'x'})
    const eff = effectiveDefaults({createPipelineRequest: {datumTries: 2, transform: {image: 'a:1', env: {A: '1'}}}}, {create_pipeline_request: {transform: {env: {B: '2'}}, datum_tries: null}})
    expect(eff).toEqual({transform: {image: 'a:1', env: {A: '1', B: '2'}}})
    const s = parseSpecs(mini('d').replace('"cmd": ["true"]', '"cmd": ["true"], "image": null'), 'd.json', 'default', () => ({datum_tries: 9, transform: {image: 'a:1', cmd: ['x']}})).specs[0]!
    expect([s.datum_tries, s.transform.image, s.transform.cmd]).toEqual([9, 'ubuntu:20.04', ['true']])
  })

  it('reads a defaults file with every problem reported', () => {
    expect(parseDefaults('create_pipeline_request:\n  datum_tries: 4\n', 'd.yaml')).toEqual({create_pipeline_request: {datum_tries: 4}})
    const e = caught(() => parseDefaults('{"create_pipeline_request": {"datum_tries": "x", "transfrom": {}}}', 'd.json'))
    expect((e.data.errors as {field: string}[]).map((x) => x.field)).toEqual(['create_pipeline_request.datum_tries', 'create_pipeline_request.transfrom'])
    expect(caught(() => parseDefaults('[1, 2]', 'd.json')).message).toContain('defaults must be one object')
  })
})
