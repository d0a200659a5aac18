// models.mjs — the benchmark's random deepseek2 models, made by models/make_tiny.py into build/bench/ and
// kept there between runs (a file is remade only when missing). Two sizes, as issue 7 asks:
//   small: ~31M parameters (hidden 256, 4 layers, 16 experts top-4)
//   big:   ~508M parameters (hidden 1024, 8 layers, 32 experts top-4, ~133M active per token)
// All matrix widths (ne0) are multiples of 256 where the K-quants need them; make_tiny's q4_k_m applies
// llama-quantize's fallbacks for the rest.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const MODEL_DIR = path.join(ROOT, 'build', 'bench');

export const SIZES = {
    small: { hidden: 256, layers: 4, heads: 8, 'q-lora-rank': 256, 'kv-lora-rank': 256, 'qk-nope': 64, 'qk-rope': 64,
        'v-head': 64, vocab: 32000, ff: 1024, 'expert-ff': 256, experts: 16, 'experts-used': 4, shared: 2 },
    big: { hidden: 1024, layers: 8, heads: 16, 'q-lora-rank': 512, 'kv-lora-rank': 512, 'qk-nope': 128, 'qk-rope': 64,
        'v-head': 128, vocab: 32000, ff: 4096, 'expert-ff': 512, experts: 32, 'experts-used': 4, shared: 2 },
};
export const DTYPES = ['f16', 'q8_0', 'q4_0', 'q4_k_m'];

export function modelPath(size, dtype) { return path.join(MODEL_DIR, `ds2-${size}-${dtype}.gguf`); }

/** Make the model if it is not there yet; returns its path. */
export function ensureModel(size, dtype, log = (s) => process.stderr.write(s + '\n')) {
    const out = modelPath(size, dtype);
    if (fs.existsSync(out)) return out;
    fs.mkdirSync(MODEL_DIR, { recursive: true });
    const args = [path.join(ROOT, 'models', 'make_tiny.py'), '--out', out + '.tmp', '--dtype', dtype, '--seed', '7',
        '--name', `bench-${size}`];
    for (const [k, v] of Object.entries(SIZES[size])) args.push(`--${k}`, String(v));
    log(`bench: making ${path.relative(ROOT, out)} ...`);
    const t0 = Date.now();
    // Debian's numpy is visible only to /usr/bin/python3
    const r = spawnSync('/usr/bin/python3', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`make_tiny.py failed for ${size} ${dtype} (exit ${r.status})`);
    fs.renameSync(out + '.tmp', out); // a killed run leaves only a .tmp, never a truncated model
    log(`bench: made in ${((Date.now() - t0) / 1000).toFixed(0)} s (${(fs.statSync(out).size / 1e6).toFixed(0)} MB)`);
    return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
    // node bench/models.mjs [size...]: make the models ahead of a run
    const sizes = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(SIZES);
    for (const s of sizes) for (const d of DTYPES) ensureModel(s, d);
}
