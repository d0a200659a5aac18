// A vocabulary-only GGUF (models/convert.py --vocab-only, as tests/tokenizer/fixtures.sh makes them) through the
// JS API: with allowVocabOnly it loads, tokenizes and detokenizes as the native CLI and the full model do;
// everything that evaluates fails with a named error instead of hanging; without the option the load fails.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadModel } from '../../wasm/node.js';
import { ROOT, PY, VARIANTS, NATIVE, wasmDir, tmpdir } from './helpers.mjs';

const variant = VARIANTS.find(wasmDir);
const dir = tmpdir('vocab');
let full, vocab;

before(() => {
    full = path.join(dir, 'full.gguf');
    vocab = path.join(dir, 'vocab.gguf');
    execFileSync(PY, [path.join(ROOT, 'models/make_tiny.py'), '--out', full, '--hf-out', path.join(dir, 'hf'), '--seed', '61'], { stdio: 'pipe' });
    execFileSync(PY, [path.join(ROOT, 'models/convert.py'), '--vocab-only', path.join(dir, 'hf'), '--out', vocab], { stdio: 'pipe' });
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const TEXTS = ['Hello world', 'Ünïcödé and 数字 123, tabs\tand\nnewlines', 'User: Hi\n\nAssistant:'];

test('vocabulary-only GGUF: tokenize/detokenize work, evaluation gives a named error', async (t) => {
    if (!variant) return t.skip('no wasm build');
    const opts = { build: variant, wasmDir: wasmDir(variant) };
    const model = await loadModel(vocab, { ...opts, allowVocabOnly: true });
    const ref = await loadModel(full, opts);
    try {
        const info = await model.info();
        assert.equal(info.has_weights, 0);
        assert.equal(info.n_tensors, 0);
        assert.equal(info.hasTokenizer, true);
        assert.equal(info.n_vocab, (await ref.info()).n_vocab);
        for (const text of TEXTS) {
            const want = JSON.parse(execFileSync(NATIVE, ['tokenize', '-m', vocab, '-p', text], { encoding: 'utf8' }));
            const ids = await model.tokenize(text);
            assert.deepEqual(ids, want, JSON.stringify(text));
            assert.deepEqual(await ref.tokenize(text), ids); // the same tokenizer as the full model
            assert.equal(await model.detokenize(ids), text);
            assert.deepEqual(await model.tokenize(text, { addBos: false, parseSpecial: true }), await ref.tokenize(text, { addBos: false, parseSpecial: true }));
        }
        // everything that evaluates: DS2_E_STATE with a message that says why (no hang)
        const named = (e) => e.code === 'DS2_E_STATE' && /vocabulary-only/.test(e.message);
        await assert.rejects(model.generate('Hello', { maxTokens: 4 }).next(), named);
        await assert.rejects(model.chat([{ role: 'user', content: 'Hi' }], { maxTokens: 4 }).next(), named);
        await assert.rejects(model.generateTokens([1, 2, 3], { maxTokens: 4 }), named);
        await assert.rejects(model.logits([1, 2, 3]), named);
        // and the worker is still fine afterwards
        assert.deepEqual(await model.tokenize('Hello world'), await ref.tokenize('Hello world'));
    } finally {
        await model.dispose();
        await ref.dispose();
    }
    // without allowVocabOnly the load fails with the C status and message
    await assert.rejects(loadModel(vocab, opts), (e) => e.code === 'DS2_E_MISSING_TENSOR' && /vocabulary-only/.test(e.message));
});
