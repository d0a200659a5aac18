#!/usr/bin/env node
// wasi-run.mjs — runs a WASI program (e.g. the CLI's build/wasi/ds2.wasm) under Node's node:wasi:
//   node wasm/wasi-run.mjs ds2.wasm info -m model.gguf
// The host file system is preopened at "/" (a second preopen for "." makes wasi-libc miss absolute paths), and
// arguments naming an existing file are made absolute, since a WASI program's working directory is "/"; other
// relative paths (e.g. an output file) must be given absolute. The exit code is the program's. (node:wasi prints an ExperimentalWarning; run node with
// --no-warnings to hide it.)
import fs from 'node:fs';
import path from 'node:path';
import { WASI } from 'node:wasi';

const [file, ...args] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node wasi-run.mjs program.wasm [args...]\n');
  process.exit(2);
}
const wasi = new WASI({
  version: 'preview1',
  args: [path.basename(file, '.wasm'), ...args.map((a) => (!a.startsWith('-') && fs.existsSync(a) ? path.resolve(a) : a))],
  env: process.env,
  preopens: { '/': '/' },
  returnOnExit: true,
});
const module = await WebAssembly.compile(fs.readFileSync(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
