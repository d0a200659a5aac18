#!/usr/bin/env node
// run.mjs — issue 7's benchmark: our engine vs llama.cpp on the same random deepseek2 GGUF, same threads, same depth.
//
//   node bench/run.mjs [--quick] [--sizes small,big] [--dtypes f16,q8_0,q4_0,q4_k_m] [--threads 1,2]
//                      [--engines native,wasm] [--prompt 512] [--gen 128] [--repeat N] [--out bench/results/DATE.md]
//
// Rows (per size x dtype x threads):
//   native: ours (build/release/ds2 run --tokens … --kv f16) vs llama.cpp through node-llama-cpp's prebuilt CPU backends:
//           the best one for this CPU (ggml's own pick, named in the row) and the SSE4.2 one (128-bit, like
//           wasm SIMD128) — bench/llama_native.mjs, a tight llama_decode loop like llama-bench.
//   wasm:   ours (wasm/dist SIMD128+threads build, web/client.js API) vs wllama, both in headless Chromium on a
//           COOP/COEP page — bench/browser.mjs.
// Prompt = one batch of --prompt tokens; generation = --gen single tokens right after it (depth --prompt).
// The roofline column: bytes of weights a decode step reads (every tensor except the token embedding (one row)
// and the routed experts (top-k of n)) x gen tok/s ÷ copy bandwidth of the same runtime (Buffer.copy = memcpy
// natively, TypedArray.set in the browser; bytes copied per second). --repeat N: every engine of a row runs N
// times, taking turns with its peer, and the row keeps each one's best prompt and best generation rate (on a
// shared 2-core VM the same build's rate moves by up to ±10% from run to run, mostly in whole-run steps; the
// best of a few is what the code can do, for both sides alike). --quick: small Q4_0 only, 64+16 tokens,
// 1 thread — a few-second smoke run. Needs: cmake --build build/release; for wasm rows scripts/build-wasm.sh.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, ensureModel } from './models.mjs';

const argv = process.argv.slice(2);
const opt = { sizes: ['small', 'big'], dtypes: ['f16', 'q8_0', 'q4_0', 'q4_k_m'], threads: [1, 2],
    engines: ['native', 'wasm'], prompt: 512, gen: 128, repeat: 1, out: null, quick: false };
for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    if (a === '--quick') Object.assign(opt, { quick: true, sizes: ['small'], dtypes: ['q4_0'], threads: [1], prompt: 64, gen: 16,
        engines: ['native'] });
    else if (a === '--sizes') opt.sizes = v().split(',');
    else if (a === '--dtypes') opt.dtypes = v().split(',');
    else if (a === '--threads') opt.threads = v().split(',').map(Number);
    else if (a === '--engines') opt.engines = v().split(',');
    else if (a === '--prompt') opt.prompt = +v();
    else if (a === '--gen') opt.gen = +v();
    else if (a === '--repeat') opt.repeat = Math.max(1, Math.floor(+v()) || 1);
    else if (a === '--out') opt.out = v();
    else { console.error(`bench: unknown argument ${a}`); process.exit(2); }
}
const log = (s) => process.stderr.write(s + '\n');
const DS2 = path.join(ROOT, 'build', 'release', 'ds2');
const STREAM = path.join(ROOT, 'build', 'release', 'ds2-stream');
const STREAM_MB = opt.quick ? 32 : 256;
const tok = (i) => 1 + ((i * 7919) % 127); // same ids as llama_native.mjs / browser.mjs

/** Bytes of weights one decode step reads, from `ds2 info`'s tensor table. */
export function decodeBytes(model) {
    const r = spawnSync(DS2, ['info', '-m', model], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ds2 info failed: ${r.stderr}`);
    const used = +/top-(\d+)/.exec(r.stdout)[1], n = +/experts:\s+(\d+) routed/.exec(r.stdout)[1];
    let bytes = 0, total = 0;
    for (const m of r.stdout.matchAll(/^\s+(\S+)\s+\S+\s+\{(\d+), (\d+), (\d+), (\d+)\} (\d+) bytes/gm)) {
        const [name, b] = [m[1], +m[6]];
        total += b;
        if (name === 'token_embd.weight') bytes += b / +m[3];      // one row
        else if (/_exps\.weight$/.test(name)) bytes += b * used / n; // top-k of n experts
        else bytes += b;
    }
    return { bytes, total };
}

/** memcpy bandwidth of this machine (bytes copied per second), best of a few 256 MB copies. */
function nativeCopyBW() {
    const n = 256 << 20, a = Buffer.alloc(n, 1), b = Buffer.alloc(n);
    let best = Infinity;
    for (let i = 0; i < 5; i++) { const t = performance.now(); a.copy(b); best = Math.min(best, performance.now() - t); }
    return n / (best / 1000);
}

function ours(model, threads) {
    const ids = Array.from({ length: opt.prompt }, (_, i) => tok(i)).join(',');
    // `ds2 run` (not `eval`, which computes and prints every position's logits): prompt with last-position
    // logits only, as llama.cpp; -n gen+1 because the first new token comes from the prompt's logits, so its
    // generation time covers exactly `gen` single-token decodes (greedy argmax included)
    const r = spawnSync(DS2, ['run', '-m', model, '--tokens', ids, '-n', String(opt.gen + 1), '--temp', '0', '--print-ids', '1', '-v',
        '--threads', String(threads), '--kv', 'f16', '--batch', String(opt.prompt), '--ctx', String(opt.prompt + opt.gen + 8)],
    { encoding: 'utf8', maxBuffer: 1 << 26 });
    const m = /prompt: (\d+) tokens in ([\d.]+) ms .*generated: (\d+) tokens in ([\d.]+) ms/.exec(r.stderr);
    if (r.status !== 0 || !m) throw new Error(`ds2 run failed (${r.status}): ${r.stderr.slice(-500)}`);
    return { prompt: +m[1] / (+m[2] / 1000), gen: (+m[3] - 1) / (+m[4] / 1000) };
}

/** bench/stream.c's rates for this model: the largest matrix of each weight type, decode product from memory and
 *  from cache, per thread count — the memory ceiling that 2 ÷ 1 threads of a memory-bound decode runs into. */
function stream(model) {
    const r = spawnSync(STREAM, ['-m', model, '--threads', opt.threads.join(','), '--mb', String(STREAM_MB)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ds2-stream failed (${r.status}): ${r.stderr.slice(-500)}`);
    return [...r.stdout.matchAll(/^(\S+) threads (\d+): memory ([\d.]+) GB\/s, cache ([\d.]+) GB\/s \((\S+), /gm)]
        .map((m) => ({ type: m[1], threads: +m[2], memory: +m[3], cache: +m[4], tensor: m[5] }));
}

function llama(model, threads, variant) {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bench', 'llama_native.mjs'), '--model', model, '--variant', variant,
        '--threads', String(threads), '--prompt', String(opt.prompt), '--gen', String(opt.gen)], { encoding: 'utf8' });
    const line = r.stdout.trim().split('\n').pop();
    if (r.status !== 0 || !line) throw new Error(`llama_native ${variant} failed (${r.status}): ${r.stderr.slice(-500)}`);
    const j = JSON.parse(line);
    return { prompt: j.prompt_tps, gen: j.gen_tps, backend: j.backend };
}

/** The better of two runs of one engine (null: none yet): the best prompt and the best generation rate. */
function faster(a, b) {
    if (!a) return b;
    if (opt.repeat > 1) log(`    run: ${f(b.prompt)} / ${f(b.gen)} tok/s (best so far ${f(a.prompt)} / ${f(a.gen)})`);
    return { ...a, ...b, prompt: Math.max(a.prompt, b.prompt), gen: Math.max(a.gen, b.gen) };
}

const rows = [];
const models = []; // size, dtype, file bytes, bytes read per decoded token
const streams = []; // bench/stream.c rows: size, dtype, weight type, threads, GB/s from memory and from cache
const f = (x, d = 1) => (x == null || !isFinite(x) ? '—' : x.toFixed(d));
function addRow(engine, size, dtype, threads, us, them, themName, roof) {
    rows.push({ engine, size, dtype, threads, us, them, themName, roof });
    const r = rows[rows.length - 1];
    log(`  ${engine} ${size} ${dtype} t${threads}: ours ${f(us?.prompt)}/${f(us?.gen)} tok/s, ${themName} ${f(them?.prompt)}/${f(them?.gen)}` +
        (roof ? `, roofline ${f(roof.gen)} gen tok/s (ours ${f(100 * us.gen / roof.gen, 0)}%)` : ''));
}

const started = new Date();
const env = { host: os.hostname(), cpu: os.cpus()[0]?.model, cores: os.cpus().length, load: os.loadavg().map((x) => x.toFixed(1)).join(' ') };
const bwNative = opt.engines.includes('native') ? nativeCopyBW() : null;
if (bwNative) log(`bench: native copy bandwidth ${(bwNative / 1e9).toFixed(1)} GB/s`);

let browser = null;
if (opt.engines.includes('wasm')) {
    try { browser = await (await import('./browser.mjs')).startBench({ log }); }
    catch (e) { log(`bench: wasm rows skipped: ${e.message}`); }
}

for (const size of opt.sizes) for (const dtype of opt.dtypes) {
    const model = ensureModel(size, dtype, log);
    const { bytes } = decodeBytes(model);
    models.push(`${size} ${dtype}: file ${(fs.statSync(model).size / 1e6).toFixed(0)} MB, ${(bytes / 1e6).toFixed(1)} MB of weights read per decoded token`);
    if (opt.engines.includes('native')) {
        try { for (const x of stream(model)) streams.push({ size, dtype, ...x }); } catch (e) { log(`  stream: ${e.message}`); }
    }
    for (const threads of opt.threads) {
        if (opt.engines.includes('native')) {
            const roof = { gen: bwNative / bytes };
            let us = null, best = null, sse = null;
            for (let i = 0; i < opt.repeat; i++) {
                try { us = faster(us, ours(model, threads)); } catch (e) { log(`  ours native: ${e.message}`); }
                try { best = faster(best, llama(model, threads, 'auto')); } catch (e) { log(`  llama auto: ${e.message}`); }
                if (!opt.quick) try { sse = faster(sse, llama(model, threads, 'sse42')); } catch (e) { log(`  llama sse42: ${e.message}`); }
            }
            addRow('native', size, dtype, threads, us, best, `llama.cpp ${best?.backend ?? 'best'}`, roof);
            if (!opt.quick) addRow('native', size, dtype, threads, us, sse, 'llama.cpp sse42', null);
        }
        if (browser) {
            let us = null, them = null;
            for (let i = 0; i < opt.repeat; i++) {
                try { us = faster(us, await browser.ours(model, threads, opt.prompt, opt.gen)); } catch (e) { log(`  ours wasm: ${e.message}`); }
                try { them = faster(them, await browser.wllama(model, threads, opt.prompt, opt.gen)); } catch (e) { log(`  wllama: ${e.message}`); }
            }
            addRow(`wasm (${us?.build ?? 'ours'})`, size, dtype, threads, us, them, them ? `wllama ${them.multithread ? `${them.threads} threads` : 'single-thread'}` : 'wllama', browser.copyBW ? { gen: browser.copyBW / bytes } : null);
        }
    }
}
if (browser) await browser.close();

const lines = [];
lines.push(`| engine | model | dtype | threads | ours prompt tok/s | ours gen tok/s | them | them prompt tok/s | them gen tok/s | prompt us/them | gen us/them | gen roofline tok/s | ours % of roofline |`);
lines.push(`|---|---|---|---|---|---|---|---|---|---|---|---|---|`);
for (const r of rows) {
    lines.push(`| ${r.engine} | ${r.size} | ${r.dtype} | ${r.threads} | ${f(r.us?.prompt)} | ${f(r.us?.gen)} | ${r.themName} | ${f(r.them?.prompt)} | ${f(r.them?.gen)} | ` +
        `${f(r.us?.prompt / r.them?.prompt, 2)} | ${f(r.us?.gen / r.them?.gen, 2)} | ${r.roof ? f(r.roof.gen) : ''} | ${r.roof ? f(100 * r.us?.gen / r.roof.gen, 0) : ''} |`);
}
const header = [`# deepseek2-wasm benchmark, ${started.toISOString()}`, '',
    `Command: \`node bench/run.mjs ${argv.join(' ')}\`  `,
    `Machine: ${env.cpu}, ${env.cores} logical CPUs; load average at start ${env.load}  `,
    `Prompt ${opt.prompt} tokens (one batch), then ${opt.gen} generated tokens at depth ${opt.prompt}` +
    `${opt.repeat > 1 ? `; every engine ran ${opt.repeat} times per row, best prompt and best generation rate kept` : ''}. ` +
    `Copy bandwidth: native ${bwNative ? (bwNative / 1e9).toFixed(1) + ' GB/s' : '—'}, browser ${browser?.copyBW ? (browser.copyBW / 1e9).toFixed(1) + ' GB/s' : '—'}.  `,
    `Builds: native ${fs.existsSync(DS2) ? `build/release/ds2 of ${fs.statSync(DS2).mtime.toISOString()}` : '—'}` +
    `${browser ? `, wasm ${browser.wasmBuild}` : ''}; git ${spawnSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim()}.  `,
    `Roofline = copy bandwidth ÷ bytes of weights read per decoded token (dense + attention + shared + top-k experts + head + one embedding row).`, ''];
if (streams.length) {
    // a type's memory rate at N threads over its 1-thread rate bounds what N threads gain on the share of a
    // memory-bound decode step that streams that type's weights
    const one = (x) => streams.find((y) => y.size === x.size && y.dtype === x.dtype && y.type === x.type && y.threads === 1);
    lines.push('', 'Decode kernels streaming the file\'s weights (build/release/ds2-stream: the largest matrix of each type, one ' +
        `token's product on the thread pool; "memory": tiled over ${STREAM_MB} MiB, past the caches; "cache": a 1 MiB slice ` +
        'repeated). A type whose memory rate is well below its cache rate is bound by memory, and there N threads ' +
        'cannot beat 1 by more than the ratio of their memory rates.', '',
    '| model | dtype | weight type | threads | memory GB/s | cache GB/s | memory ÷ cache | memory ÷ 1-thread memory |', '|---|---|---|---|---|---|---|---|');
    for (const x of streams) {
        lines.push(`| ${x.size} | ${x.dtype} | ${x.type} | ${x.threads} | ${f(x.memory)} | ${f(x.cache)} | ${f(x.memory / x.cache, 2)} | ` +
            `${one(x) ? f(x.memory / one(x).memory, 2) : '—'} |`);
    }
}
const md = header.concat(lines, ['', `Models (models/make_tiny.py, bench/models.mjs): ${models.join('; ')}.`]).join('\n') + '\n';
process.stdout.write('\n' + md);
if (!opt.quick || opt.out) {
    const out = opt.out ?? path.join(ROOT, 'bench', 'results', `${started.toISOString().slice(0, 10)}.md`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    // several runs on one day (e.g. native and wasm rows separately) append their sections
    if (fs.existsSync(out)) fs.appendFileSync(out, '\n' + md); else fs.writeFileSync(out, md);
    log(`bench: wrote ${path.relative(ROOT, out)}`);
}
if (rows.some((r) => !r.us || !r.them)) process.exitCode = opt.quick ? 1 : 0;
