// Stands in for the `debug` package in the single executable's bundle (scripts/build-binary.mjs).
// oclif's logger requires it at load; its setup (tty, supports-color, ~8 ms of a start) only
// matters when DEBUG is set, because without DEBUG every debug function prints nothing. So:
// with DEBUG the real package (the same output as the npm package), without it functions that
// do nothing, as the real ones would.
if (process.env.DEBUG) {
  module.exports = require('debug/src/index.js')
} else {
  const createDebug = (namespace) => {
    const debug = () => {}
    debug.namespace = namespace
    debug.enabled = false
    debug.extend = (ns, delimiter = ':') => createDebug(`${namespace}${delimiter}${ns}`)
    debug.log = () => {}
    debug.destroy = () => true
    return debug
  }
  createDebug.enabled = () => false
  createDebug.enable = () => {}
  createDebug.disable = () => ''
  module.exports = createDebug
}
