import {describe, expect, it} from 'vitest'
import {parseEditMetadataArgs, parseKeyValue, parseKeyValues} from '../../src/cli/metadata-args.js'

const ID = '0123456789ab4def8123456789abcdef'
const repo = (name: string, project = 'default', type = 'user') => ({project: {name: project}, name, type})

describe("pach edit metadata's arguments (pachctl's grammar)", () => {
  it('reads every object type and picker form, with --project for a missing project', () => {
    const edits = parseEditMetadataArgs(
      [
        'cluster', '.', 'add', 'a=1',
        'project', 'lab', 'edit', 'b=2',
        'repo', 'other/images.meta', 'delete', 'c',
        'branch', 'images@dev', 'replace', '',
        'commit', `images@${ID}`, 'edit', 'k=v',
        'commit', 'images@master^2', 'edit', 'k=v',
        'commit', 'images@master.1', 'edit', 'k=v',
        'commit', 'images@master', 'edit', 'k=v',
      ],
      'lab',
    )
    expect(edits.map((e) => e.target)).toEqual([
      {kind: 'cluster'},
      {kind: 'project', project: {name: 'lab'}},
      {kind: 'repo', repo: repo('images', 'other', 'meta')},
      {kind: 'branch', branch: {repo: repo('images', 'lab'), name: 'dev'}},
      {kind: 'commit', commit: {kind: 'id', repo: repo('images', 'lab'), id: ID}},
      {kind: 'commit', commit: {kind: 'ancestor', offset: 2, start: {kind: 'branchHead', branch: {repo: repo('images', 'lab'), name: 'master'}}}},
      {kind: 'commit', commit: {kind: 'branchRoot', offset: 0, branch: {repo: repo('images', 'lab'), name: 'master'}}},
      {kind: 'commit', commit: {kind: 'branchHead', branch: {repo: repo('images', 'lab'), name: 'master'}}},
    ])
    expect(edits.map((e) => e.op)).toEqual([
      {kind: 'add_key', key: 'a', value: '1'},
      {kind: 'edit_key', key: 'b', value: '2'},
      {kind: 'delete_key', key: 'c'},
      {kind: 'replace', replacement: {}},
      ...Array(4).fill({kind: 'edit_key', key: 'k', value: 'v'}),
    ])
  })

  it('reads key=value with quotes, and replace as JSON or k=v;k=v', () => {
    expect(parseKeyValue('"two lines"="one\\ntwo"')).toEqual({key: 'two lines', value: 'one\ntwo'})
    expect(parseKeyValue("'a=b'='c;d'")).toEqual({key: 'a=b', value: 'c;d'})
    expect(parseKeyValue('k=')).toEqual({key: 'k', value: ''})
    expect(parseKeyValues('"key1"=\'value1\';key2=value2')).toEqual({key1: 'value1', key2: 'value2'})
    expect(parseKeyValues('{"x":"1","y":"2"}')).toEqual({x: '1', y: '2'})
    expect(() => parseKeyValue('novalue')).toThrow(/not key=value/)
    expect(() => parseKeyValue('=v')).toThrow(/the key is empty/)
    expect(() => parseKeyValues('a=1;a=2')).toThrow(/duplicate key "a"/)
    expect(() => parseKeyValues('{"x":1}')).toThrow(/string values/)
  })

  it('reports every malformed group at once (USAGE)', () => {
    expect(() => parseEditMetadataArgs(['commit', 'images@master', 'add'], 'default')).toThrow(/groups of 4/)
    expect(() => parseEditMetadataArgs(['commit', 'images', 'add', 'k=v', 'thing', 'x', 'add', 'k=v', 'repo', 'r', 'frob', 'k'], 'default')).toThrow(
      /^arg set 0: "images" is not a commit.*; arg set 1: unknown object type "thing".*; arg set 2: unknown operation "frob"/,
    )
    expect(() => parseEditMetadataArgs(['pipeline', 'p', 'add', 'k=v'], 'default')).toThrow(/no metadata on pipelines/)
    expect(() => parseEditMetadataArgs(['commit', `images@${ID}.1`, 'add', 'k=v'], 'default')).toThrow(/name a branch/)
  })
})
