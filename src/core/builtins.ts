/**
 * Node built-ins that only some commands need, loaded on first use.
 *
 * Loading `node:crypto` costs ~11 ms, `node:child_process` ~8 ms and `node:zlib` ~5 ms at
 * start; `pach list repo` needs none of them, and cold start is a product target (< 250 ms).
 * A static `import` would load them for every command, so modules that use them at call time
 * get them from here instead. The result is the module object itself, cached by Node.
 */
import {createRequire} from 'node:module'

const load = createRequire(import.meta.url)

export const nodeCrypto = (): typeof import('node:crypto') => load('node:crypto')
export const nodeZlib = (): typeof import('node:zlib') => load('node:zlib')
export const nodeChildProcess = (): typeof import('node:child_process') => load('node:child_process')
