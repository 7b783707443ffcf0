// Stands in for `node:module` in the single executable's bundle, for pach's own modules only
// (scripts/build-binary.mjs): their createRequire(import.meta.url)(name) loads a package
// lazily from node_modules, which the binary does not have. Here it returns the bundled copy
// of the packages they load that way, and Node's require for anything else (built-ins).
const {createRequire: nodeCreateRequire} = require('node:module')

const bundled = {
  yaml: () => require('yaml'),
}

exports.createRequire = function createRequire(from) {
  const real = nodeCreateRequire(from)
  const load = (id) => (Object.hasOwn(bundled, id) ? bundled[id]() : real(id))
  load.resolve = real.resolve
  return load
}
