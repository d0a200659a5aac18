// Text through the JS API equals the native CLI: tokenize, streamed greedy and seeded-sampled generation
// (`ds2 run`), detokenize round trip, chat pieces.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadModel } from '../../wasm/node.js';
import { VARIANTS, NATIVE, wasmDir, tmpdir, makeModel } from './helpers.mjs';

const variant = VARIANTS.find(wasmDir);
const dir = tmpdir('text');
let file, model;
const native = (args) => execFileSync(NATIVE, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

before(async () => {
    if (!variant) return;
    file = makeModel(dir, 'text', ['--seed', '61']);
    model = await loadModel(file, { build: variant, wasmDir: wasmDir(variant) });
});
after(async () => {
    if (model) await model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
});

const PROMPTS = ['Hello world', 'Ünïcödé and 数字 123, tabs\tand\nnewlines', ''];

test('tokenize and detokenize equal the native tokenizer', async (t) => {
    if (!variant) return t.skip('no wasm build');
    assert.equal((await model.info()).hasTokenizer, true);
    for (const p of PROMPTS) {
        const want = JSON.parse(native(['tokenize', '-m', file, '-p', p]));
        assert.deepEqual(await model.tokenize(p), want, JSON.stringify(p));
        assert.equal(await model.detokenize(want), p); // BOS is a control token: no text
    }
});

test('generate streams the native greedy and seeded-sampled text', async (t) => {
    if (!variant) return t.skip('no wasm build');
    for (const [opts, args] of [
        [{ temperature: 0 }, ['--temp', '0']],
        [{ temperature: 0.8, seed: 7 }, ['--temp', '0.8', '--seed', '7']],
    ]) {
        const want = native(['run', '-m', file, '-p', 'Hello world', '-n', '12', ...args]).replace(/\n$/, '');
        const pieces = [];
        const stream = model.generate('Hello world', { maxTokens: 12, ...opts });
        for await (const piece of stream) pieces.push(piece);
        const r = await stream.result;
        assert.equal(pieces.join(''), want, JSON.stringify(opts));
        assert.equal(r.text, want);
        assert.ok(r.tokens.length >= 1 && r.tokens.length <= 12);
    }
});

test('chat streams pieces; breaking out of the loop cancels', async (t) => {
    if (!variant) return t.skip('no wasm build');
    const stream = model.chat([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }], { maxTokens: 8 });
    let text = '';
    for await (const piece of stream) text += piece;
    assert.equal((await stream.result).text, text);
    const s2 = model.chat([{ role: 'user', content: 'Hi' }], { maxTokens: 200, stopAtEos: false });
    for await (const piece of s2) { assert.equal(typeof piece, 'string'); break; }
    const r2 = await s2.result;
    assert.ok(r2.tokens.length < 200);
    await assert.rejects(model.chat([{ role: 'user' }]).next(), (e) => e.code === 'DS2_E_INVALID_ARG');
});

test('CLI: deepseek2-wasm run (text and ids) equals ds2 run / ds2 eval; chat answers each stdin line', async (t) => {
    if (!variant) return t.skip('no wasm build');
    const bin = new URL('../../bin/deepseek2-wasm.mjs', import.meta.url).pathname;
    const cli = (args, input, wd = wasmDir(variant), cwd = undefined) => execFileSync(process.execPath, [bin,
        ...args, '--build', variant, '--wasm-dir', wd, '--quiet'], { encoding: 'utf8', input, cwd });
    const want = native(['run', '-m', file, '-p', 'Hello world', '-n', '12', '--temp', '0']);
    assert.equal(cli(['run', '-m', file, '-p', 'Hello world', '-n', '12']), want);
    const ids = /^greedy:(.*)$/m.exec(native(['eval', '-m', file, '--tokens', '9,8,7', '-n', '5', '--kv', 'f16']))[1].trim();
    assert.equal(cli(['run', '-m', file, '--tokens', '9,8,7', '-n', '5']).trim(), ids);
    // --wasm-dir is a path: relative to the working directory, with or without its trailing slash
    const wd = wasmDir(variant).replace(/[\\/]+$/, '');
    assert.equal(cli(['run', '-m', file, '--tokens', '9,8,7', '-n', '5'], undefined, path.basename(wd), path.dirname(wd)).trim(), ids);
    const out = cli(['chat', '-m', file, '-n', '4', '--system', 'Be brief.'], 'Hi\nAnd then?\n');
    assert.equal(out.split('\n').length - 1, 2, JSON.stringify(out)); // one reply line per user line
    assert.throws(() => cli(['run', '-m', `${dir}/missing.gguf`, '-p', 'x']), (e) => /DS2_E_IO/.test(e.stderr) && e.status === 1);
});
