// node-program-pre.js — --pre-js of the programs run by Node (C tests, the CLI; CommonJS output).
// Debian's emscripten 3.1.6 loader instantiates with fetch() when fetch exists, and Node 20's fetch cannot
// read a file path (ERR_INVALID_URL): hand it the bytes instead. Pthread workers get the compiled module from
// the main thread, so they skip this.
if (!Module['wasmBinary'] && !Module['instantiateWasm'] && !Module['ENVIRONMENT_IS_PTHREAD']) {
  Module['wasmBinary'] = require('fs').readFileSync(__filename.replace(/\.js$/, '.wasm'));
}
