#!/usr/bin/env node
// stage-dist.mjs — copies the Emscripten builds into wasm/dist/, the folder the package ships and the worker
// loads from by default. Run by `npm pack` / `npm publish` (package.json "prepack").
//
// Sources: $DS2_WASM_DIR (one folder with ds2-*.mjs files) or build/wasm-<variant>/ (scripts/build-wasm.sh,
// which also copies into wasm/dist/ itself); what is already in wasm/dist/ stays (e.g. the WASI ds2.wasm).
// Fails when wasm/dist/ ends up without an engine: such a package would only fail later, on a user's machine.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'wasm/dist');
const variants = ['relaxed-mt', 'simd-mt', 'simd', 'nosimd'];

fs.mkdirSync(dist, { recursive: true });
const staged = [];
for (const v of variants) {
    const dirs = [process.env.DS2_WASM_DIR, path.join(root, `build/wasm-${v}`)].filter(Boolean);
    const from = dirs.find((d) => fs.existsSync(path.join(d, `ds2-${v}.mjs`)));
    if (!from) continue;
    for (const f of fs.readdirSync(from)) {
        if (!f.startsWith(`ds2-${v}.`) || !/\.(mjs|wasm|worker\.js)$/.test(f)) continue;
        fs.copyFileSync(path.join(from, f), path.join(dist, f));
        staged.push(f);
    }
}
if (!fs.readdirSync(dist).some((f) => /^ds2-.*\.mjs$/.test(f))) {
    console.error('stage-dist: no wasm build found (scripts/build-wasm.sh, or $DS2_WASM_DIR with ds2-<variant>.mjs)');
    process.exit(1);
}
// Emscripten's pthread worker script is CommonJS (.js) inside this "type": "module" package
fs.writeFileSync(path.join(dist, 'package.json'), '{"type": "commonjs"}\n');
console.error(`stage-dist: wasm/dist/ has ${fs.readdirSync(dist).join(', ')}`);
