// node-shim-pre.js — runs first inside the module factory (--pre-js). See node-shim-extern.js for why.
if (ds2NodeRequire) {
  var require = ds2NodeRequire;
  var __filename = ds2NodeRequire('node:url').fileURLToPath(_scriptDir);
  var __dirname = ds2NodeRequire('node:path').dirname(__filename);
  // Debian's emscripten 3.1.6 loader instantiates with fetch() when fetch exists, and Node 20's fetch cannot
  // read a file path: hand it the bytes instead (pthread workers get the compiled module from the main thread).
  if (!Module['wasmBinary'] && !Module['instantiateWasm'] && !Module['ENVIRONMENT_IS_PTHREAD']) {
    Module['wasmBinary'] = ds2NodeRequire('node:fs').readFileSync(__filename.replace(/\.m?js$/, '.wasm'));
  }
}
