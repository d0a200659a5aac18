// node-shim-extern.js — prepended (--extern-pre-js) outside the module factory of the ES6 build.
// Emscripten 3.1.6's EXPORT_ES6 output still uses CommonJS `require`/`__dirname` when it runs in Node, which
// an ES module does not have. Under Node only, build a `require` from import.meta.url (top-level await is
// fine in an ES module); browsers skip it, so the same .mjs works in both.
const ds2NodeRequire =
  typeof process == 'object' && typeof process.versions == 'object' && typeof process.versions.node == 'string'
    ? (await import('node:module')).createRequire(import.meta.url)
    : null;
