/**
 * pachd parses a CreatePipelineV2 spec with protojson, which refuses a key its message does
 * not have: `proto: (line L:C): unknown field "x"`, at the first such key in the text
 * (L:C of the key's opening quote, C counted in characters from 1). pach's own spec parser
 * is kinder (it names the path and suggests a field); the server words the refusal as pachd
 * does, so a client tested against `pach serve` meets what a real pachd would answer.
 *
 * The message types are the core's spec schema (core/pps/spec/schema.ts). Text that is not
 * JSON is left to the spec parser (which also reads YAML): undefined here.
 */
import {messageSchema, PIPELINE_SPEC, protoFieldKind, type Schema} from '../../core/pps/spec/schema.js'

class Found extends Error {
  constructor(readonly at: number, readonly key: string) {
    super('unknown field')
  }
}
class NotJson extends Error {}

/** The first unknown field of a CreatePipelineRequest in protojson text, in protojson's words; undefined when none (or not JSON). */
export function unknownFieldError(text: string): string | undefined {
  let i = 0
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++
  }
  const string = (): string => {
    if (text[i] !== '"') throw new NotJson()
    const start = i
    i++
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1
    if (i >= text.length) throw new NotJson()
    i++
    try {
      return JSON.parse(text.slice(start, i)) as string
    } catch {
      throw new NotJson()
    }
  }
  const scalar = () => {
    const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64))
    if (!m) throw new NotJson()
    i += m[0].length
  }
  // a value; `schema` when it is a message (or list of them) whose keys are checked
  const value = (schema: Schema | undefined, repeated: boolean): void => {
    ws()
    const c = text[i]
    if (c === '{') return object(repeated ? undefined : schema)
    if (c === '[') {
      i++
      ws()
      if (text[i] === ']') return void i++
      for (;;) {
        value(repeated ? schema : undefined, false)
        ws()
        if (text[i] === ',') i++
        else if (text[i] === ']') return void i++
        else throw new NotJson()
      }
    }
    if (c === '"') return void string()
    scalar()
  }
  const object = (schema: Schema | undefined): void => {
    i++ // {
    ws()
    if (text[i] === '}') return void i++
    for (;;) {
      ws()
      const at = i
      const key = string()
      let inner: {schema: Schema; repeated: boolean} | undefined
      if (schema) {
        const kind = protoFieldKind(schema, key)
        if (kind === undefined) throw new Found(at, key)
        inner = messageSchema(kind)
      }
      ws()
      if (text[i] !== ':') throw new NotJson()
      i++
      value(inner?.schema, inner?.repeated ?? false)
      ws()
      if (text[i] === ',') i++
      else if (text[i] === '}') return void i++
      else throw new NotJson()
    }
  }
  try {
    ws()
    if (text[i] !== '{') return undefined
    object(PIPELINE_SPEC)
    return undefined
  } catch (e) {
    if (!(e instanceof Found)) return undefined
    const before = text.slice(0, e.at)
    const line = before.split('\n').length
    const column = [...before.slice(before.lastIndexOf('\n') + 1)].length + 1
    return `proto: (line ${line}:${column}): unknown field ${JSON.stringify(e.key)}`
  }
}
