// Generation through the JS API against the native CLI: cancel within exactly one token (tokens faster than a
// message round trip), stop strings and stop ids as ds2_generate applies them, chat turns that reuse the cache
// (only the new tokens are evaluated; the reply equals `ds2 chat`, a fresh session), the C sampler defaults.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { loadModel } from '../../wasm/node.js';
import { ROOT, VARIANTS, NATIVE, wasmDir, tmpdir, makeModel } from './helpers.mjs';

const variant = VARIANTS.find(wasmDir);
const dir = tmpdir('gen');
let file, model;
const native = (args, input) => execFileSync(NATIVE, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
const GREEDY = ['--temp', '0'];

before(async () => {
    if (!variant) return;
    file = makeModel(dir, 'gen', ['--seed', '61']);
    model = await loadModel(file, { build: variant, wasmDir: wasmDir(variant), nCtx: 2048 });
});
after(async () => {
    if (model) await model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
});

test('cancel: aborting upon token k gives at most k + 1 tokens, even when tokens are faster than messages', async (t) => {
    if (!variant) return t.skip('no wasm build');
    // this model makes a token in well under a millisecond: an abort message alone would arrive many tokens late
    for (const k of [1, 5, 20]) {
        const ac = new AbortController();
        let seen = 0;
        const ids = await model.generateTokens([1, 2, 3], {
            maxTokens: 1500, signal: ac.signal, onToken: () => { if (++seen === k) ac.abort(); },
        });
        assert.ok(ids.length === k || ids.length === k + 1, `generateTokens: abort upon token ${k} gave ${ids.length} ids`);
        assert.deepEqual(ids, native(['run', '-m', file, '--tokens', '1,2,3', '-n', String(ids.length), '--print-ids', '1', ...GREEDY])
            .trim().split(',').map(Number));
    }
    // the text iterator: abort upon the 5th piece; the iterator ends at once and cleanly (no hang, no error)
    const ac = new AbortController();
    const stream = model.generate('Hello world', { maxTokens: 1500, stopAtEos: false, signal: ac.signal });
    const pieces = [];
    let held = 0, after = 0;
    for await (const piece of stream) {
        if (ac.signal.aborted) { after++; continue; }
        pieces.push(piece);
        if (pieces.length === 5) { held = stream.tokenCount; ac.abort(); }
    }
    const r = await stream.result;
    t.diagnostic(`iterator: aborted upon piece 5 (token ${held}); ${r.tokens.length} tokens generated, ${after} pieces after the abort`);
    assert.equal(r.aborted, true);
    assert.equal(r.stopReason, 'cancelled');
    assert.ok(held >= 5 && r.tokens.length >= held && r.tokens.length <= held + 1, `${r.tokens.length} tokens after aborting at ${held}`);
    assert.ok(after <= 1);
    // breaking out of the loop is an abort too
    const s2 = model.generate('Hello world', { maxTokens: 1500, stopAtEos: false });
    let n = 0, count = 0;
    for await (const piece of s2) { assert.equal(typeof piece, 'string'); if (++n === 3) { count = s2.tokenCount; break; } }
    const r2 = await s2.result;
    assert.ok(r2.tokens.length <= count + 1, `${r2.tokens.length} tokens after breaking at token ${count}`);
    // pacing never hangs: awaiting only the result (no loop) runs to the end; an abandoned iterator does not
    // block later calls (they end its pacing)
    assert.equal((await model.generate('Hello world', { maxTokens: 40, stopAtEos: false }).result).tokens.length, 40);
    const abandoned = model.generate('Hello world', { maxTokens: 40, stopAtEos: false });
    await abandoned.next();
    assert.ok((await model.tokenize('Hello')).length > 0);
    assert.equal((await abandoned.result).tokens.length, 40);
    // and the model is still usable
    assert.equal((await model.generateTokens([1, 2, 3], { maxTokens: 2 })).length, 2);
});

test('stop strings (across token boundaries) and stop ids, as ds2 run --stop', async (t) => {
    if (!variant) return t.skip('no wasm build');
    const full = await collect(model.generate('Hello world', { maxTokens: 24, stopAtEos: false }));
    assert.equal(full.text, native(['run', '-m', file, '-p', 'Hello world', '-n', '24', ...GREEDY]).replace(/\n$/, ''));
    // a stop string made of the end of one token's piece and the start of the next one's
    const i = full.pieces.findIndex((p, j) => j >= 2 && p.length && full.pieces[j + 1] && full.pieces[j + 1].length);
    assert.ok(i >= 0, JSON.stringify(full.pieces));
    const stop = full.pieces[i].slice(-1) + full.pieces[i + 1].slice(0, 1);
    const want = full.text.slice(0, full.text.indexOf(stop));
    const r = await collect(model.generate('Hello world', { maxTokens: 24, stopAtEos: false, stop: ['never-in-output', stop] }));
    assert.equal(r.text, want);
    assert.equal(r.pieces.join(''), want);
    assert.equal(r.result.stopReason, 'stop');
    assert.equal(r.text, native(['run', '-m', file, '-p', 'Hello world', '-n', '24', '--stop', 'never-in-output', '--stop', stop, ...GREEDY]).replace(/\n$/, ''));
    t.diagnostic(`stop ${JSON.stringify(stop)} after ${r.result.tokens.length} of ${full.result.tokens.length} tokens`);
    // a stop id ends generation with that id (included in the ids, its text not emitted); both kinds together
    const at = 6, id = full.result.tokens[at];
    const first = full.result.tokens.indexOf(id);
    const byId = await collect(model.generate('Hello world', { maxTokens: 24, stopAtEos: false, stop: [id] }));
    assert.deepEqual(byId.result.tokens, full.result.tokens.slice(0, first + 1));
    assert.equal(byId.result.stopReason, 'stop-id');
    assert.equal(byId.text, await model.detokenize(full.result.tokens.slice(0, first)));
    const both = await collect(model.generate('Hello world', { maxTokens: 24, stopAtEos: false, stop: [id, stop] }));
    assert.equal(both.result.tokens.length, Math.min(first + 1, r.result.tokens.length));
    // generateTokens takes stop ids too (stop strings are for text)
    const tk = await model.generateTokens([1, 2, 3], { maxTokens: 10 });
    assert.deepEqual(await model.generateTokens([1, 2, 3], { maxTokens: 10, stop: [tk[3]] }), tk.slice(0, tk.indexOf(tk[3]) + 1));
    await assert.rejects(model.generateTokens([1, 2, 3], { stop: ['x'] }), (e) => e.code === 'DS2_E_INVALID_ARG');
    await assert.rejects(model.generate('x', { stop: [''] }).next(), (e) => e.code === 'DS2_E_INVALID_ARG');
});

async function collect(stream) {
    const pieces = [];
    for await (const p of stream) pieces.push(p);
    const result = await stream.result;
    return { pieces, text: pieces.join(''), result };
}

test('chat reuses the cache: a second turn evaluates only its new tokens and answers as ds2 chat', async (t) => {
    if (!variant) return t.skip('no wasm build');
    const opts = { maxTokens: 8, temperature: 0 };
    const sys = { role: 'system', content: 'Be brief.' };
    // the native chat (one fresh session for the whole conversation) as the reference, turn by turn
    const ref1 = native(['chat', '-m', file, '-n', '8', '--system', 'Be brief.', ...GREEDY], 'Hi\n');
    const ref2 = native(['chat', '-m', file, '-n', '8', '--system', 'Be brief.', ...GREEDY], 'Hi\nAnd then?\n');
    const ref3 = native(['chat', '-m', file, '-n', '8', '--system', 'Be brief.', ...GREEDY], 'Hi\nAnd then?\nWhy?\n');
    assert.ok(ref2.startsWith(ref1) && ref3.startsWith(ref2));

    const c1 = [sys, { role: 'user', content: 'Hi' }];
    const s0 = await model.stats();
    const r1 = await collect(model.chat(c1, opts));
    assert.equal(r1.text + '\n', ref1);
    const c2 = [...c1, { role: 'assistant', content: r1.text }, { role: 'user', content: 'And then?' }];
    const s1 = await model.stats();
    const r2 = await collect(model.chat(c2, opts));
    const s2 = await model.stats();
    assert.equal(r2.text + '\n', ref2.slice(ref1.length));
    // reused: the first prompt and every generated id the cache holds (all but the last sampled one)
    const p1 = r1.result.promptTokens;
    assert.equal(r1.result.cachedTokens, 0);
    assert.equal(r2.result.cachedTokens, p1 + r1.result.tokens.length - 1);
    // evaluated: the reply's last id (if it was not EOS), EOS, and the new message as the template adds it
    const delta = await model.tokenize('User: And then?\n\nAssistant:', { addBos: false, parseSpecial: true });
    const eosEnded = r1.result.stopReason === 'eos';
    assert.equal(r2.result.promptTokens, (eosEnded ? 1 : 2) + delta.length);
    assert.equal(s2.promptTokens - s1.promptTokens, r2.result.promptTokens);
    assert.equal(s1.promptTokens - s0.promptTokens, p1);
    t.diagnostic(`turn 2: ${r2.result.promptTokens} ids evaluated, ${r2.result.cachedTokens} reused (first prompt ${p1})`);

    // the third turn reuses again (the caller may strip the reply's leading space)
    const c3 = [...c2, { role: 'assistant', content: r2.text.trim() }, { role: 'user', content: 'Why?' }];
    const r3 = await collect(model.chat(c3, opts));
    assert.equal(r3.text + '\n', ref3.slice(ref2.length));
    assert.equal(r3.result.cachedTokens, r2.result.cachedTokens + r2.result.promptTokens + r2.result.tokens.length - 1);

    // the same ids evaluated in one batch from an empty cache (cache: false, in a fresh worker) give the same reply
    const fresh = await loadModel(file, { build: variant, wasmDir: wasmDir(variant), nCtx: 2048 });
    try {
        await collect(fresh.chat(c1, opts));
        const f2 = await collect(fresh.chat(c2, { ...opts, cache: false }));
        assert.equal(f2.text, r2.text);
        assert.equal(f2.result.cachedTokens, 0);
        assert.equal(f2.result.promptTokens, r2.result.cachedTokens + r2.result.promptTokens);
    } finally {
        await fresh.dispose();
    }
    // a conversation that does not extend the last one starts over (its own ids, same as a fresh session)
    const other = await collect(model.chat([{ role: 'user', content: 'Hi' }], opts));
    assert.equal(other.text + '\n', native(['chat', '-m', file, '-n', '8', ...GREEDY], 'Hi\n'));
});

test('sampler defaults come from C (ds2_sampler_default_params) and every sampler option reaches it', async (t) => {
    if (!variant) return t.skip('no wasm build');
    const d = (await model.info()).samplerDefaults;
    // the defaults ds2.h documents ("Default X" after each field of ds2_sampler_params)
    const h = fs.readFileSync(`${ROOT}/src/ds2.h`, 'utf8');
    const struct = h.slice(h.indexOf('typedef struct ds2_sampler_params {'), h.indexOf('} ds2_sampler_params;'));
    const doc = (field) => {
        const m = new RegExp(`\\b${field};\\s*/\\*([^]*?)\\*/`).exec(struct);
        const v = m && /Default (\S+?)\.?\s*$/.exec(m[1].replace(/\s*\*\s*/g, ' ').trim());
        return v ? Number(v[1]) : 0;
    };
    const f32 = Math.fround;
    assert.deepEqual(d, {
        temperature: f32(doc('temperature')), topK: doc('top_k'), topP: f32(doc('top_p')), minP: f32(doc('min_p')),
        repeatPenalty: f32(doc('repeat_penalty')), presencePenalty: f32(doc('presence_penalty')),
        frequencyPenalty: f32(doc('frequency_penalty')), penaltyLastN: doc('penalty_last_n'), seed: doc('seed'),
    });
    assert.equal(d.seed, 0x5eed);
    // omitted options are the C defaults: the same ids as `ds2 run` with only temperature and seed given
    const run = (o, args, n = 16) => Promise.all([
        collect(model.generate('Hello world', { maxTokens: n, ...o })).then((r) => r.text),
        native(['run', '-m', file, '-p', 'Hello world', '-n', String(n), ...args]).replace(/\n$/, ''),
    ]);
    let [js, c] = await run({ temperature: 0.9, seed: 3 }, ['--temp', '0.9', '--seed', '3']);
    assert.equal(js, c);
    // penalties (prompt ids in the window, as ds2_generate) and the other knobs reach the C sampler
    [js, c] = await run({ temperature: 0.9, seed: 3, topK: 20, topP: 0.8, minP: 0.02, repeatPenalty: 1.5, presencePenalty: 0.7,
        frequencyPenalty: 0.3, penaltyLastN: 16 },
    ['--temp', '0.9', '--seed', '3', '--top-k', '20', '--top-p', '0.8', '--min-p', '0.02', '--repeat-penalty', '1.5',
        '--presence-penalty', '0.7', '--frequency-penalty', '0.3', '--repeat-last-n', '16']);
    assert.equal(js, c);
    // greedy picks see the penalties too
    [js, c] = await run({ temperature: 0, repeatPenalty: 3, penaltyLastN: 64 }, ['--temp', '0', '--repeat-penalty', '3', '--repeat-last-n', '64'], 48);
    assert.equal(js, c);
    assert.notEqual(js, (await collect(model.generate('Hello world', { maxTokens: 48, temperature: 0 }))).text);
});
