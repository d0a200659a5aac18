// wasm_exports.test.mjs — the C export layer (wasm/api.c) called directly, per built variant, the way a
// script without the worker API would: the build says what it is, a model streamed 1 byte per call loads,
// ds2w_generate (C sampling loop, token callback through the function table) gives the native CLI's greedy
// tokens, a context shift drops cached positions, a callback can stop it, errors arrive as the C status name + message (names agree with the
// generated wasm/status.js), a session asking for more threads than the pthread pool fails cleanly instead of
// hanging, and freeing everything returns malloc'd bytes to the baseline.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Status, statusName } from '../../wasm/status.js';
import { VARIANTS, wasmDir, tmpdir, makeModel, nativeEval } from './helpers.mjs';

const dir = tmpdir('exports');
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const IDS = [1, 2, 3, 5, 8, 13, 21, 34];
const N = 10;
const FEATURES = { 'simd-mt': 'simd128 pthreads', simd: 'simd128', nosimd: 'baseline' };

/** Small helpers over one module instance: C strings in and out, and the error object. */
function wrap(M) {
    const err = M._ds2w_error_new();
    const str = (p) => M.UTF8ToString(p);
    const cstr = (s) => { const n = M.lengthBytesUTF8(s) + 1, p = M._malloc(n); M.stringToUTF8(s, p, n); return p; };
    const error = () => ({ code: M._ds2w_error_code(err), name: str(M._ds2w_error_name(err)), message: str(M._ds2w_error_message(err)) });
    const check = (st) => { if (st !== 0) { const e = error(); throw new Error(`${e.name}: ${e.message}`); } };
    return { M, err, str, cstr, error, check };
}

/** Streams bytes through the loader in chunks of `chunk` bytes via one reused heap buffer. */
function load(w, bytes, chunk) {
    const { M, err } = w;
    const L = M._ds2w_loader_create(bytes.length >>> 0, Math.floor(bytes.length / 2 ** 32), 0, w.err);
    assert.ok(L, 'loader');
    const buf = M._malloc(chunk);
    let expectedSeen = 0;
    try {
        for (let i = 0; i < bytes.length; i += chunk) {
            const c = bytes.subarray(i, i + chunk);
            M.ds2Views().u8.set(c, buf);
            const st = M._ds2w_loader_feed(L, buf, c.length, err);
            if (st !== 0) return { model: 0, loaderStatus: w.error(), L };
            if (!expectedSeen) expectedSeen = M._ds2w_loader_bytes_expected(L);
        }
        const fed = M._ds2w_loader_bytes_fed(L); // before finish: the model takes over the reader
        const model = M._ds2w_loader_finish(L, err);
        return { model, error: model ? null : w.error(), expectedSeen, fed };
    } finally {
        M._free(buf);
        M._ds2w_loader_free(L);
    }
}

function setParam(w, g, key, v) {
    const k = w.cstr(key);
    try { return w.M._ds2w_gen_params_set(g, k, v, w.err); } finally { w.M._free(k); }
}

/** ds2w_generate from IDS; the callback collects ids and may stop after `stopAfter` of them. */
function generate(w, session, { maxTokens, stopAfter = Infinity }) {
    const { M, err } = w;
    const g = M._ds2w_gen_params_new();
    for (const [k, v] of [['max_tokens', maxTokens], ['temperature', 0], ['stop_at_eos', 0]]) w.check(setParam(w, g, k, v));
    const ids = [];
    const fn = M.addFunction((ud, id) => { if (id >= 0) ids.push(id); return ids.length >= stopAfter ? 1 : 0; }, 'iiiii');
    const tp = M._malloc(4 * IDS.length), sp = M._malloc(64);
    M.ds2Views().i32.set(IDS, tp >> 2);
    try {
        const st = M._ds2w_generate(session, tp, IDS.length, g, fn, 0, 0, sp, err);
        const f64 = new Float64Array(M.ds2Views().u8.buffer, sp, 8).slice();
        return { st, ids, nGen: f64[1], stopReason: f64[6] };
    } finally {
        M.removeFunction(fn);
        M._free(sp); M._free(tp);
        M._ds2w_gen_params_free(g);
    }
}

for (const variant of VARIANTS) {
    test(`wasm ${variant}: the export layer directly`, async (t) => {
        const wd = wasmDir(variant);
        if (!wd) return t.skip(`ds2-${variant}.mjs is not built (scripts/build-wasm.sh)`);
        const { default: create } = await import(pathToFileURL(path.join(wd, `ds2-${variant}.mjs`)).href);
        const w = wrap(await create());
        const { M } = w;
        try {
            assert.equal(w.str(M._ds2w_build_features()), FEATURES[variant]);
            const file = makeModel(dir, 'mla-q8', ['--seed', '21', '--dtype', 'q8_0']);
            const bytes = fs.readFileSync(file);
            const ref = nativeEval(file, IDS, N, 'f32'); // the sessions below are created with an f32 cache
            const base = M._ds2w_heap_used();

            // 1 byte per call: the directory announces the full size, the model loads
            const one = load(w, bytes, 1);
            assert.ok(one.model, one.error && `${one.error.name}: ${one.error.message}`);
            assert.equal(one.expectedSeen, bytes.length, 'bytes_expected = file size once the directory is read');
            assert.equal(one.fed, bytes.length);
            const infoP = M._ds2w_model_info_json(one.model, w.err);
            const info = JSON.parse(w.str(infoP));
            M._ds2w_free(infoP);
            assert.equal(info.n_vocab, M._ds2w_model_n_vocab(one.model));
            assert.equal(info.meta['general.architecture'], 'deepseek2');

            const s = M._ds2w_session_create(one.model, 64, 0, variant === 'simd-mt' ? 2 : 1, 0, 0, w.err);
            assert.ok(s, JSON.stringify(w.error()));
            const full = generate(w, s, { maxTokens: N });
            assert.equal(full.st, 0, JSON.stringify(w.error()));
            assert.deepEqual(full.ids, ref.greedy, 'ds2w_generate greedy == native CLI');
            assert.equal(full.nGen, N);
            assert.equal(full.stopReason, 3, 'DS2_STOP_MAX_TOKENS');

            // the cache holds the prompt and all generated ids but the last; a context shift drops 3 of them
            const past = M._ds2w_session_n_past(s);
            assert.equal(past, IDS.length + N - 1);
            w.check(M._ds2w_session_shift(s, 2, 3, w.err));
            assert.equal(M._ds2w_session_n_past(s), past - 3);
            assert.notEqual(M._ds2w_session_shift(s, 2, 1000, w.err), 0, 'shifting out more than is cached fails');

            M._ds2w_session_truncate(s, 0, w.err);
            const stopped = generate(w, s, { maxTokens: N, stopAfter: 3 });
            assert.equal(stopped.st, 0);
            assert.deepEqual(stopped.ids, ref.greedy.slice(0, 3), 'the callback stops generation');
            assert.equal(stopped.stopReason, 4, 'DS2_STOP_CALLBACK');

            // a parameter name C does not know is a named error, not a silent default
            const g = M._ds2w_gen_params_new();
            const st = setParam(w, g, 'temprature', 0.5);
            M._ds2w_gen_params_free(g);
            assert.equal(st, Status.DS2_E_INVALID_ARG);
            assert.equal(w.error().name, 'DS2_E_INVALID_ARG');
            assert.match(w.error().message, /temprature/);

            if (variant === 'simd-mt') {
                // more threads than the preallocated pthread pool (8): fails cleanly instead of deadlocking
                const big = M._ds2w_session_create(one.model, 64, 0, 64, 0, 0, w.err);
                assert.equal(big, 0);
                assert.notEqual(w.error().code, 0);
                assert.equal(w.error().name, 'DS2_E_INVALID_ARG');
                assert.match(w.error().message, /pthread workers/);
            }
            M._ds2w_session_free(s);
            M._ds2w_model_free(one.model);

            // a truncated file: the loader's named status, the same name as status.js gives for the code
            const cut = load(w, bytes.subarray(0, bytes.length - 100), 4096);
            const e = cut.error || cut.loaderStatus;
            assert.equal(cut.model, 0);
            assert.equal(e.name, 'DS2_E_TRUNCATED');
            assert.equal(statusName(e.code), e.name);
            assert.ok(e.message.length > 0);

            // pthread stacks are released when the main thread handles the workers' exit messages: let the
            // event loop run a little before measuring
            for (let i = 0; i < 40 && M._ds2w_heap_used() > base + 4096; i++) await new Promise((r) => setTimeout(r, 25));
            assert.ok(M._ds2w_heap_used() <= base + 4096,
                `malloc'd bytes back to baseline after freeing (${M._ds2w_heap_used()} vs ${base})`);
            // MAXIMUM_MEMORY=4GB: Emscripten caps it one 64 KiB page short of 2^32 (the largest size_t)
            assert.ok(M._ds2w_heap_size() <= M._ds2w_heap_max() && M._ds2w_heap_max() >= 4 * 2 ** 30 - 65536,
                `memory may grow to 4 GiB (max ${M._ds2w_heap_max()})`);
        } finally {
            M._ds2w_error_free(w.err);
            M.ds2Terminate();
        }
    });
}
