#!/usr/bin/env node
// llama_native.mjs — llama.cpp native speed through node-llama-cpp's prebuilt CPU backends, in a tight loop.
//
//   node bench/llama_native.mjs --model m.gguf --variant zen4|haswell|sse42|x64|auto --threads N [--prompt 512] [--gen 128]
//
// Prints one JSON line: {variant, backend, prompt_tps, gen_tps}. Like llama-bench: the prompt is ONE decode
// batch of --prompt tokens, then --gen single-token decodes after it (same depth as ours); no sampling, no
// detokenization, only the llama_decode calls are timed (node-llama-cpp's queue/sampler layer adds per-token
// overhead, so the context's addon object is driven directly: initBatch/addToBatch/decodeBatch).
// The ggml CPU backend variant is pinned the way tests/oracle/llama_logprobs.mjs does it: the addon loads a
// directory holding only that libggml-cpu-<variant>.so before node-llama-cpp picks one; /proc/self/maps
// confirms which one is mapped. One variant per process (backends are process-wide).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const args = { variant: 'auto', threads: 1, prompt: 512, gen: 128 };
for (let i = 2; i < process.argv.length; i++) {
    const a = process.argv[i], v = process.argv[++i];
    if (a === '--model') args.model = v;
    else if (a === '--variant') args.variant = v;
    else if (a === '--threads') args.threads = +v;
    else if (a === '--prompt') args.prompt = +v;
    else if (a === '--gen') args.gen = +v;
    else { process.stderr.write(`llama_native: unknown argument ${a}\n`); process.exit(2); }
}
if (!args.model || !/^[A-Za-z0-9_.]+$/.test(args.variant)) { process.stderr.write('llama_native: --model required\n'); process.exit(2); }

if (args.variant !== 'auto') {
    const plat = `${process.platform}-${process.arch}`;
    const { getBinsDir } = await import(`@node-llama-cpp/${plat}`);
    const binDir = path.join(getBinsDir().binsDir, plat);
    const lib = path.join(binDir, `libggml-cpu-${args.variant}.so`);
    if (!fs.existsSync(lib)) { process.stderr.write(`llama_native: ${lib} not found\n`); process.exit(2); }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ggml-cpu-bench-'));
    fs.symlinkSync(lib, path.join(dir, path.basename(lib)));
    createRequire(import.meta.url)(path.join(binDir, 'llama-addon.node')).loadBackends(dir);
}
const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
const llama = await getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, skipDownload: true,
    progressLogs: false, logLevel: LlamaLogLevel.error });
const maps = fs.readFileSync('/proc/self/maps', 'utf8');
const backends = [...new Set([...maps.matchAll(/\/libggml-cpu-?([^/\s]*)\.so\s*$/gm)].map((m) => m[1]))];
if (args.variant !== 'auto' && (backends.length !== 1 || backends[0] !== args.variant))
    throw new Error(`wanted backend ${args.variant}, mapped: ${backends.join(',')}`);

const model = await llama.loadModel({ modelPath: path.resolve(args.model), gpuLayers: 0, useMmap: false,
    ignoreMemorySafetyChecks: true });
const ctx = await model.createContext({ contextSize: 1024, batchSize: args.prompt, sequences: 1, threads: args.threads,
    flashAttention: false, ignoreMemorySafetyChecks: true }); // KV cache: llama.cpp's default F16 (ours: --kv f16)
const seq = ctx.getSequence();
const addon = ctx._ctx;
const seqId = seq._sequenceId ?? 0;
// token ids: the same deterministic pattern run.mjs gives ours (no BOS; ids < 128 are plain ASCII bytes/pieces)
const tok = (i) => 1 + ((i * 7919) % 127);

async function decode(start, ids, logitAt) {
    addon.initBatch(ids.length);
    addon.addToBatch(seqId, start, Uint32Array.from(ids), Uint32Array.from([logitAt]));
    await addon.decodeBatch();
}
const prompt = Array.from({ length: args.prompt }, (_, i) => tok(i));
let t0 = performance.now();
await decode(0, prompt, args.prompt - 1);
const tPrompt = (performance.now() - t0) / 1000;
t0 = performance.now();
for (let i = 0; i < args.gen; i++) await decode(args.prompt + i, [tok(args.prompt + i)], 0);
const tGen = (performance.now() - t0) / 1000;
process.stdout.write(JSON.stringify({ variant: args.variant, backend: backends.join(','), prompt_tps: args.prompt / tPrompt,
    gen_tps: args.gen / tGen }) + '\n');
await ctx.dispose(); await model.dispose(); await llama.dispose();
