#!/usr/bin/env node
// deepseek2-wasm — the Node CLI on the package's own API (wasm/node.js).
//
//   deepseek2-wasm run  -m model.gguf -p "Once upon a time" [-n 64] [--temp 0] [--seed N] [--build simd]
//   deepseek2-wasm run  -m model.gguf --tokens 1,2,3 -n 8        (token ids in, ids out: no tokenizer needed)
//   deepseek2-wasm chat -m model.gguf [--system "..."]           (reads user turns from stdin)
//   deepseek2-wasm info -m model.gguf

import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { loadModel } from '../wasm/node.js';

const USAGE = `usage:
  deepseek2-wasm run  -m MODEL -p PROMPT [-n N] [--temp T] [--seed S] [--top-k K] [--top-p P]
  deepseek2-wasm run  -m MODEL --tokens 1,2,3 [-n N]
  deepseek2-wasm chat -m MODEL [--system TEXT] [-n N]
  deepseek2-wasm info -m MODEL
common: [--build simd-mt|simd|nosimd] [--threads N] [--ctx N] [--wasm-dir DIR] [--quiet]
MODEL is a file path, an http(s) URL or a gguf-split shard name (-00001-of-0000N.gguf).`;

function parse(argv) {
    const [cmd, ...rest] = argv;
    const o = { cmd, n: 64, temp: 0 };
    const num = (v, k) => { const x = Number(v); if (!Number.isFinite(x)) throw new Error(`${k} needs a number, got ${v}`); return x; };
    for (let i = 0; i < rest.length; i++) {
        const a = rest[i], v = () => { if (i + 1 >= rest.length) throw new Error(`${a} needs a value`); return rest[++i]; };
        switch (a) {
            case '-m': case '--model': o.model = v(); break;
            case '-p': case '--prompt': o.prompt = v(); break;
            case '--tokens': o.tokens = v().split(',').filter(Boolean).map((t) => num(t, '--tokens')); break;
            case '-n': case '--max-tokens': o.n = num(v(), a); break;
            case '--temp': o.temp = num(v(), a); break;
            case '--seed': o.seed = num(v(), a); break;
            case '--top-k': o.topK = num(v(), a); break;
            case '--top-p': o.topP = num(v(), a); break;
            case '--system': o.system = v(); break;
            case '--build': o.build = v(); break;
            case '--threads': o.threads = num(v(), a); break;
            case '--ctx': o.nCtx = num(v(), a); break;
            // a path from the command line is relative to the working directory (the API resolves URLs against
            // web/worker.js), so hand the API an absolute file URL
            case '--wasm-dir': o.wasmDir = pathToFileURL(path.resolve(v()) + path.sep).href; break;
            case '--quiet': o.quiet = true; break;
            case '-h': case '--help': o.help = true; break;
            default: throw new Error(`unknown argument ${a}`);
        }
    }
    return o;
}

async function main() {
    let o;
    try { o = parse(process.argv.slice(2)); } catch (e) { console.error(`${e.message}\n${USAGE}`); return 2; }
    if (o.help || !o.cmd) { console.log(USAGE); return o.help ? 0 : 2; }
    if (!['run', 'chat', 'info'].includes(o.cmd)) { console.error(`unknown command ${o.cmd}\n${USAGE}`); return 2; }
    if (!o.model) { console.error(`-m MODEL is required\n${USAGE}`); return 2; }

    const log = (s) => { if (!o.quiet) process.stderr.write(s); };
    const ac = new AbortController();
    process.once('SIGINT', () => ac.abort());
    let lastPct = -1;
    const model = await loadModel(o.model, {
        build: o.build, threads: o.threads, nCtx: o.nCtx, wasmDir: o.wasmDir, signal: ac.signal,
        onProgress: ({ loaded, total }) => {
            const pct = total ? Math.floor((100 * loaded) / total) : -1;
            if (pct !== lastPct) { lastPct = pct; log(`\rloading ${pct >= 0 ? pct + '%' : loaded + ' bytes'}`); }
        },
    });
    try {
        const info = await model.info();
        log(`\rloaded ${info.meta?.['general.name'] || o.model}: ${info.n_layer} layers, vocab ${info.n_vocab}; build ${info.build.name} (${info.build.reason})\n`);
        const gen = { maxTokens: o.n, temperature: o.temp, seed: o.seed, topK: o.topK, topP: o.topP, signal: ac.signal };
        if (o.cmd === 'info') {
            console.log(JSON.stringify(info, null, 2));
        } else if (o.cmd === 'run' && o.tokens) {
            const ids = await model.generateTokens(o.tokens, gen);
            console.log(ids.join(' '));
        } else if (o.cmd === 'run') {
            if (o.prompt === undefined) throw Object.assign(new Error('run needs -p PROMPT (or --tokens)'), { code: 'USAGE' });
            const stream = model.generate(o.prompt, gen);
            for await (const piece of stream) process.stdout.write(piece);
            process.stdout.write('\n');
        } else {
            const messages = o.system ? [{ role: 'system', content: o.system }] : [];
            const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY });
            if (process.stdin.isTTY) rl.setPrompt('> '), rl.prompt();
            for await (const line of rl) {
                if (!line.trim()) { if (process.stdin.isTTY) rl.prompt(); continue; }
                messages.push({ role: 'user', content: line });
                let reply = '';
                for await (const piece of model.chat(messages, gen)) { reply += piece; process.stdout.write(piece); }
                process.stdout.write('\n');
                messages.push({ role: 'assistant', content: reply });
                if (process.stdin.isTTY) rl.prompt();
            }
        }
        const s = await model.stats();
        if (s.genTokens) log(`prompt ${s.promptTokensPerSecond.toFixed(1)} tok/s, generation ${s.genTokensPerSecond.toFixed(1)} tok/s, heap ${(s.heapBytes / 1048576).toFixed(1)} MiB\n`);
        return 0;
    } finally {
        await model.dispose();
    }
}

main().then((rc) => { process.exitCode = rc; }, (e) => {
    console.error(`deepseek2-wasm: ${e.code ? e.code + ': ' : ''}${e.message}`);
    process.exitCode = 1;
});
