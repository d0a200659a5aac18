#!/usr/bin/env node
// wasi-run.mjs — runs a WASI program (e.g. the CLI's build/wasi/ds2.wasm) under Node's node:wasi:
//   node wasm/wasi-run.mjs ds2.wasm info -m model.gguf
// The host file system is preopened at "/" (a second preopen for "." makes wasi-libc miss absolute paths), and
// arguments naming an existing file are made absolute, since a WASI program's working directory is "/"; other
// relative paths (e.g. an output file) must be given absolute. The exit code is the program's. (node:wasi prints an ExperimentalWarning; run node with
// --no-warnings to hide it.)
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { WASI } from 'node:wasi';

// Node 20's node:wasi answers the program's WASI calls through V8 "fast API calls", and it reports memory it
// allocates as external memory; once the wasm memory (also external memory) is large — a model of ~60-100 MB or
// more — such a report can start a GC inside a fast call, where no GC may run (nodejs/node#46777). The heap is
// then corrupt and the process dies soon after: in WasmMemoryObject::Grow → GC marking, "Invalid bytecode", or a
// plain segfault, at random points (3 runs in 4 with a 130 MB model, none with small ones). Without fast calls
// every WASI call is an ordinary, GC-safe call (a few per token: no measurable cost). Set before the module is
// compiled; unknown to other Node versions, the flag is then ignored. Other WASI runtimes do not need this.
v8.setFlagsFromString('--no-turbo-fast-api-calls');

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
