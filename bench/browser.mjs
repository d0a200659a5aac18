// browser.mjs — the benchmark's wasm rows: headless Chromium (Debian's `chromium` through playwright-core) on
// bench/page.html served with COOP/COEP (cross-origin isolated: SharedArrayBuffer, so both engines' threaded
// builds). The server is tests/browser/server.mjs; models are served from build/bench/.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ROOT, MODEL_DIR } from './models.mjs';
import { startServer } from '../tests/browser/server.mjs';

const CHROMIUM = process.env.DS2_CHROMIUM || '/usr/bin/chromium';

/** The folder with the newest SIMD128+threads build (scripts/build-wasm.sh writes build/wasm-*, wasm/dist). */
function wasmDirs() {
    const cands = ['wasm/dist', 'build/wasm-simd-mt', 'build/wasm-simd', 'build/wasm-nosimd'].map((d) => path.join(ROOT, d))
        .filter((d) => fs.existsSync(path.join(d, 'ds2-simd-mt.mjs')) || fs.existsSync(path.join(d, 'ds2-simd.mjs')));
    const age = (d) => { try { return fs.statSync(path.join(d, 'ds2-simd-mt.wasm')).mtimeMs; } catch { return 0; } };
    return cands.sort((a, b) => age(b) - age(a));
}

const DS2 = path.join(ROOT, 'build', 'release', 'ds2');
const WORDS = 'the of and a to in is was he for it with as his on be at by had not are but from or have an they which one you were her all she there would their we him been has when who will more no if out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three'.split(' ');

/** Ids whose text is not plain ASCII: on random weights they can make invalid UTF-8 (byte tokens 128-255 and
 *  random merges of them), which wllama's server code rejects (a JSON exception), so wllama gets them banned. */
const banned = new Map();
function bannedIds(model) {
    const key = path.basename(model).replace(/-[^-]*\.gguf$/, '');
    if (banned.has(key)) return banned.get(key);
    const n = +/vocab:\s+(\d+)/.exec(execFileSync(DS2, ['info', '-m', model], { encoding: 'utf8' }))[1];
    const input = Array.from({ length: n }, (_, i) => `[${i}]`).join('\n') + '\n';
    const pieces = execFileSync(DS2, ['detokenize', '-m', model, '--jsonl'], { input, encoding: 'utf8', maxBuffer: 1 << 28 })
        .trim().split('\n').map((l) => JSON.parse(l));
    const ids = [];
    pieces.forEach((p, i) => { if (/[^\x00-\x7f]/.test(p)) ids.push(i); });
    banned.set(key, ids);
    return ids;
}

/** A text whose tokenization (ds2 tokenize, BOS added — as llama.cpp's server does for this model) is n ids. */
const prompts = new Map();
function promptFor(model, n) {
    const key = `${path.basename(model).replace(/-[^-]*\.gguf$/, '')}:${n}`; // one tokenizer per size
    if (prompts.has(key)) return prompts.get(key);
    const tokenize = (text) => JSON.parse(execFileSync(DS2, ['tokenize', '-m', model, '-p', text], { encoding: 'utf8' }));
    let words = [];
    for (let i = 0; words.length < n * 2; i++) words.push(WORDS[(i * 7919) % WORDS.length]);
    // drop words until the text is exactly n ids (words tokenize independently of what follows, mostly)
    let lo = 1, hi = words.length;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (tokenize(words.slice(0, mid).join(' ')).length <= n) lo = mid; else hi = mid - 1; }
    let text = words.slice(0, lo).join(' '), ids = tokenize(text);
    for (let pad = 0; ids.length < n && pad < 64; pad++) { text += '.'; ids = tokenize(text); }
    if (ids.length !== n) throw new Error(`no prompt text of exactly ${n} tokens (got ${ids.length})`);
    prompts.set(key, { text, ids });
    return { text, ids };
}

export async function startBench({ log }) {
    const { chromium } = await import('playwright-core');
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing (scripts/setup.sh installs it)`);
    const dirs = wasmDirs();
    if (!dirs.length) throw new Error('no wasm build (run scripts/build-wasm.sh)');
    const server = await startServer({ root: ROOT, wasmDirs: dirs, modelDir: MODEL_DIR, isolate: true });
    const browser = await chromium.launch({ executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
            '--no-first-run', '--js-flags=--max-old-space-size=8192'] });
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') log(`  [page] ${m.text()}`); });
    page.setDefaultTimeout(30 * 60 * 1000);
    await page.goto(`${server.base}/bench/page.html`);
    await page.waitForFunction(() => window.pageReady === true);
    const copyBW = await page.evaluate(() => window.copyBW());
    log(`bench: browser copy bandwidth ${(copyBW / 1e9).toFixed(1)} GB/s; our wasm from ${path.relative(ROOT, dirs[0])}`);
    const url = (model) => `/models/${path.basename(model)}`;
    return {
        copyBW,
        wasmBuild: `${path.relative(ROOT, dirs[0])} of ${fs.statSync(path.join(dirs[0], 'ds2-simd-mt.wasm')).mtime.toISOString()}`,
        ours: (model, threads, prompt, gen) => {
            const { ids } = promptFor(model, prompt);
            return page.evaluate(([u, t, i, g]) => window.runOurs(u, t, i, g), [url(model), threads, ids, gen]);
        },
        wllama: async (model, threads, prompt, gen) => {
            const { text, ids } = promptFor(model, prompt);
            const r = await page.evaluate(([u, t, s, g, b]) => window.runWllama(u, t, s, g, b), [url(model), threads, text, gen, bannedIds(model)]);
            // its server tokenizes the text itself (BOS added): it must have seen the same number of tokens
            if (r.prompt_n !== ids.length) throw new Error(`wllama processed ${r.prompt_n} prompt tokens, ours ${ids.length}`);
            return r;
        },
        close: async () => { await browser.close(); await server.close(); },
    };
}
