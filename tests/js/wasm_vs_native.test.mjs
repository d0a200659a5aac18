// Every wasm build gives the native CLI's greedy tokens and its logits within 1e-4, through the public API
// (loadModel from a file path → worker_threads → engine.js → wasm/api.c).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { loadModel } from '../../wasm/node.js';
import { VARIANTS, wasmDir, tmpdir, makeModel, nativeEval, maxAbsDiff } from './helpers.mjs';

const dir = tmpdir('wasm');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const MODELS = [
    ['mla-f32', ['--seed', '11']],
    ['legacy-q8_0', ['--gen', 'legacy', '--dtype', 'q8_0', '--seed', '12']],
    ['mla-q4_0-sigmoid', ['--dtype', 'q4_0', '--gating', 'sigmoid', '--exp-probs-b', '--seed', '13']],
];
const IDS = [1, 2, 3, 5, 8, 13, 21, 34];
const N = 12;

for (const variant of VARIANTS) {
    test(`wasm ${variant} == native (greedy tokens, logits within 1e-4)`, async (t) => {
        const wd = wasmDir(variant);
        if (!wd) return t.skip(`ds2-${variant}.mjs is not built (scripts/build-wasm.sh)`);
        for (const [name, args] of MODELS) {
            const file = makeModel(dir, name, args);
            const ref = nativeEval(file, IDS, N);
            const model = await loadModel(file, { build: variant, wasmDir: wd, threads: 2 });
            try {
                const info = await model.info();
                assert.equal(info.build.name, variant);
                const toks = await model.generateTokens(IDS, { maxTokens: N, temperature: 0 });
                assert.deepEqual(toks, ref.greedy, `${name}: greedy tokens`);
                const logits = await model.logits(IDS);
                assert.equal(logits.length, IDS.length * info.n_vocab);
                const d = maxAbsDiff(logits, ref.logits);
                t.diagnostic(`${variant} ${name}: max |logit - native| = ${d.toExponential(2)}`);
                assert.ok(d <= 1e-4, `${name}: logits differ by ${d}`);
                // calls are independent: the same question twice gives the same answer
                assert.deepEqual(await model.generateTokens(IDS, { maxTokens: N }), ref.greedy);
                assert.deepEqual(await model.generateTokens(IDS.slice(0, 5), { maxTokens: 3 }),
                    nativeEval(file, IDS.slice(0, 5), 3).greedy);
            } finally {
                await model.dispose();
            }
        }
    });
}

test('cancel mid-generation returns within one token with the ids so far', async (t) => {
    const variant = VARIANTS.slice().reverse().find(wasmDir);
    if (!variant) return t.skip('no wasm build');
    // a model big enough that one token (~10 ms) outlasts a message round trip between threads
    const file = makeModel(dir, 'mid', ['--hidden', '512', '--layers', '3', '--vocab', '16000', '--ff', '1024',
        '--expert-ff', '256', '--heads', '8', '--q-lora-rank', '128', '--kv-lora-rank', '128', '--seed', '41', '--dtype', 'q8_0']);
    const model = await loadModel(file, { build: variant, wasmDir: wasmDir(variant), nCtx: 512 });
    try {
        const ac = new AbortController();
        let seen = 0, abortedAt = 0;
        const ids = await model.generateTokens([1, 2, 3], {
            maxTokens: 400, signal: ac.signal,
            onToken: () => { if (++seen === 5) { abortedAt = performance.now(); ac.abort(); } },
        });
        const took = performance.now() - abortedAt;
        const s = await model.stats();
        const perToken = s.genMs / s.genTokens;
        t.diagnostic(`abort after 5 streamed ids: ${ids.length} ids, resolved ${took.toFixed(1)} ms after abort (${perToken.toFixed(1)} ms per token)`);
        // the worker stays at most one token ahead of onToken: the token being computed may complete, no other
        assert.ok(ids.length >= 5 && ids.length <= 6, `got ${ids.length} ids after aborting at 5`);
        assert.deepEqual(ids.slice(0, 5), nativeEval(file, [1, 2, 3], 5).greedy);
        // and the model is still usable
        assert.equal((await model.generateTokens([1, 2, 3], { maxTokens: 2 })).length, 2);
    } finally {
        await model.dispose();
    }
});

test('errors carry the C status name and message', async (t) => {
    const variant = VARIANTS.find(wasmDir);
    if (!variant) return t.skip('no wasm build');
    const file = makeModel(dir, 'mla-f32', ['--seed', '11']);
    const model = await loadModel(file, { build: variant, wasmDir: wasmDir(variant) });
    try {
        const info = await model.info();
        await assert.rejects(model.logits([1, info.n_vocab + 5]), (e) => e.code === 'DS2_E_BAD_TOKEN' && e.message.length > 0);
        await assert.rejects(model.logits([]), (e) => e.code === 'DS2_E_INVALID_ARG');
        // text calls work once the build exports the tokenizer (wasm/api.c ds2w_tokenize…); a bad option is a C error
        await assert.rejects(model.generate('hello', { maxTokens: 1e9 }).next(), (e) => e.code === 'DS2_E_CONTEXT_FULL');
    } finally {
        await model.dispose();
    }
    await assert.rejects(loadModel('/nonexistent/model.gguf', { build: variant, wasmDir: wasmDir(variant) }),
        (e) => e.code === 'DS2_E_IO' && /no such file/.test(e.message));
});

test('a worker that dies rejects what is pending with DS2_E_WORKER (no silent hang)', async (t) => {
    const variant = VARIANTS.find(wasmDir);
    if (!variant) return t.skip('no wasm build');
    const file = makeModel(dir, 'mla-f32', ['--seed', '11']);
    const model = await loadModel(file, { build: variant, wasmDir: wasmDir(variant), nCtx: 4096 });
    const pending = model.generateTokens([1, 2, 3], { maxTokens: 4000, onToken: () => {} });
    setTimeout(() => model._t.terminate(), 50); // the thread goes away underneath the client
    await assert.rejects(pending, (e) => e instanceof Error && e.code === 'DS2_E_WORKER');
    await assert.rejects(model.info(), (e) => e.code === 'DS2_E_WORKER');
});
