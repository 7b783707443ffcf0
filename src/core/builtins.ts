/**
 * Node built-ins that only some commands need, loaded on first use.
 *
 * Loading `node:crypto` costs ~11 ms, `node:child_process` ~8 ms and `node:zlib` ~5 ms at
 * start; `pach list repo` needs none of them, and cold start is a product target (< 250 ms).
 * A static `import` would load them for every command, so modules that use them at call time
 * get them from here instead. Each module object is looked up once and kept (hashing calls
 * nodeCrypto() per 1 KiB file, where even a require-cache hit shows up).
 */
import {createRequire} from 'node:module'

const load = createRequire(import.meta.url)

let crypto: typeof import('node:crypto') | undefined
let zlib: typeof import('node:zlib') | undefined
let childProcess: typeof import('node:child_process') | undefined
let net: typeof import('node:net') | undefined

export const nodeCrypto = (): typeof import('node:crypto') => (crypto ??= load('node:crypto'))
export const nodeZlib = (): typeof import('node:zlib') => (zlib ??= load('node:zlib'))
export const nodeChildProcess = (): typeof import('node:child_process') => (childProcess ??= load('node:child_process'))
export const nodeNet = (): typeof import('node:net') => (net ??= load('node:net'))
