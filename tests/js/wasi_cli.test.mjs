// wasi_cli.test.mjs — the WASI build of the CLI (wasm/dist/ds2.wasm or build/wasi/ds2.wasm, scripts/build-wasm.sh)
// run under Node's node:wasi through wasm/wasi-run.mjs: `info` reads the model card, and `eval` gives the same
// greedy tokens and prompt logits (≤ 1e-4) as the native CLI on tiny models of both GGUF generations, on a
// gguf-split set named by one of its shards, and on a model of > 100 MB (which used to crash node:wasi).
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { ROOT, PY, NATIVE, tmpdir, makeModel, nativeEval, maxAbsDiff } from './helpers.mjs';

const WASI_CLI = [path.join(ROOT, 'wasm/dist/ds2.wasm'), path.join(ROOT, 'build/wasi/ds2.wasm')].find((f) => fs.existsSync(f));
const RUNNER = path.join(ROOT, 'wasm/wasi-run.mjs');

function wasi(args) {
    return execFileSync(process.execPath, ['--no-warnings', RUNNER, WASI_CLI, ...args],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const skip = !WASI_CLI ? 'the WASI CLI is not built (scripts/build-wasm.sh wasi)'
    : !fs.existsSync(NATIVE) ? 'the native CLI is not built (build/release/ds2)' : false;

test('WASI CLI: info and eval agree with the native CLI', { skip }, () => {
    const dir = tmpdir('wasi');
    const ids = [5, 17, 42, 3, 99, 250, 7, 64];
    for (const [name, args] of [['mla', ['--seed', '11', '--gen', 'mla', '--dtype', 'f32']],
                                ['legacy-q8', ['--seed', '12', '--gen', 'legacy', '--dtype', 'q8_0']]]) {
        const model = makeModel(dir, name, args);
        const info = wasi(['info', '-m', model]);
        assert.match(info, /architecture:\s+deepseek2/, `${name}: info names the architecture`);

        const ref = nativeEval(model, ids, 12, 'f32'); // both CLIs' eval default
        const lp = path.join(dir, `${name}.wasi.f32`); // an output path must be absolute under WASI
        const out = wasi(['eval', '-m', model, '--tokens', ids.join(','), '-n', '12', '--logits', lp]);
        const greedy = /^greedy:(.*)$/m.exec(out)[1].trim().split(/\s+/).map(Number);
        assert.equal(greedy.length, 12);
        assert.deepEqual(greedy, ref.greedy, `${name}: greedy tokens equal the native CLI's`);
        const buf = fs.readFileSync(lp);
        const logits = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
        const d = maxAbsDiff(logits, ref.logits);
        assert.ok(d <= 1e-4, `${name}: max |logit - native| = ${d} (≤ 1e-4)`);

        // the same model as gguf-split shards, named by its second shard: the whole set loads
        const shards = execFileSync(PY, [path.join(ROOT, 'models/gguf_split.py'), model, path.join(dir, `${name}-split`),
            '--shards', '3'], { encoding: 'utf8' }).trim().split('\n');
        const sout = wasi(['eval', '-m', shards[1], '--tokens', ids.join(','), '-n', '12']);
        assert.deepEqual(/^greedy:(.*)$/m.exec(sout)[1].trim().split(/\s+/).map(Number), ref.greedy, `${name}: shards`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
});

test('WASI CLI: a missing model file fails with the named status, not a trap', { skip }, () => {
    let err;
    try { wasi(['info', '-m', '/nonexistent/model.gguf']); } catch (e) { err = e; }
    assert.ok(err, 'a missing model is an error');
    assert.notEqual(err.status, 0);
    assert.match(String(err.stderr), /DS2_E_IO/);
});

// A model of > 100 MB: under Node 20's node:wasi such a wasm memory used to crash V8 at random points
// (WasmMemoryObject::Grow, GC marking, segfaults: 3 runs in 4) — wasi-run.mjs turns V8's fast API calls off.
// Several runs, since one crash-free run proved nothing before the fix. f16 weights: made in ~2 s.
test('WASI CLI: a 130 MB model runs (repeatedly) and agrees with the native CLI', { skip }, () => {
    const dir = tmpdir('wasi-big');
    try {
        const model = makeModel(dir, 'big', ['--seed', '3', '--dtype', 'f16', '--hidden', '512', '--layers', '3',
            '--experts', '36', '--experts-used', '4', '--expert-ff', '512', '--ff', '1024', '--vocab', '4000',
            '--heads', '4', '--q-lora-rank', '128', '--kv-lora-rank', '128', '--qk-nope', '32', '--qk-rope', '32',
            '--v-head', '32']);
        assert.ok(fs.statSync(model).size > 100e6, 'the model has more than 100 MB');
        const ids = [1, 2, 3, 4, 500, 3999];
        const ref = nativeEval(model, ids, 8, 'f32');
        assert.equal(ref.greedy.length, 8);
        for (let run = 0; run < 4; run++) {
            const out = wasi(['eval', '-m', model, '--tokens', ids.join(','), '-n', '8']);
            const greedy = /^greedy:(.*)$/m.exec(out)[1].trim().split(/\s+/).map(Number);
            assert.deepEqual(greedy, ref.greedy, `run ${run}: greedy tokens equal the native CLI's`);
        }
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
