// Streamed loading through the public API: chunking does not matter, gguf-split shards (any interleaving,
// all in flight at once, bad sets), File/Blob and ArrayBuffer sources, HTTP (progress, Range resume, clean
// restart, truncation, 404), abort frees memory (single file and shards).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadModel, createModel } from '../../wasm/node.js';
import { ROOT, PY, VARIANTS, wasmDir, tmpdir, makeModel, nativeEval, serve } from './helpers.mjs';

const variant = VARIANTS.slice().reverse().find(wasmDir); // the cheapest build present: these test the JS
const wd = variant && wasmDir(variant);
const dir = tmpdir('load');
const IDS = [1, 2, 3, 5, 8, 13];
let small, file, ref, refGreedy, shardsA, shardsB;

before(() => {
    if (!variant) return;
    small = makeModel(dir, 'small', ['--hidden', '32', '--layers', '2', '--vocab', '260', '--experts', '4',
        '--experts-used', '2', '--ff', '32', '--expert-ff', '16', '--heads', '2', '--q-lora-rank', '16',
        '--kv-lora-rank', '16', '--qk-nope', '8', '--qk-rope', '8', '--v-head', '8', '--seed', '5']);
    file = makeModel(dir, 'base', ['--seed', '21', '--dtype', 'q8_0']);
    ref = nativeEval(file, IDS, 0).logits;
    refGreedy = nativeEval(file, IDS, 6).greedy;
    const split = (n, extra, tag) => execFileSync(PY, [path.join(ROOT, 'models/gguf_split.py'), file,
        path.join(dir, tag), '--shards', String(n), ...extra], { encoding: 'utf8' }).trim().split('\n');
    shardsA = split(3, [], 'split-a');
    shardsB = split(4, ['--no-tensor-first-split'], 'split-b');
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const opts = (o = {}) => ({ build: variant, wasmDir: wd, ...o });

async function logitsOf(source, o = {}) {
    const m = await loadModel(source, opts(o));
    try { return await m.logits(IDS); } finally { await m.dispose(); }
}

test('1-byte, 7-byte, 64 KiB and whole-file chunks give identical models', async (t) => {
    if (!variant) return t.skip('no wasm build');
    const want = nativeEval(small, IDS, 0).logits;
    const whole = fs.readFileSync(small);
    for (const chunkSize of [1, 7, 65536, 0]) {
        const got = await logitsOf({ path: small }, { chunkSize });
        assert.deepEqual(got, want, `path source, chunkSize ${chunkSize || 'whole file'}`);
    }
    // whole file as one ArrayBuffer chunk, and a Blob (File) streamed
    assert.deepEqual(await logitsOf(whole.buffer.slice(whole.byteOffset, whole.byteOffset + whole.byteLength),
        { chunkSize: Infinity }), want);
    assert.deepEqual(await logitsOf(new Blob([whole])), want);
    // transfer: the caller's ArrayBuffer moves to the worker (detached here) instead of being copied
    const own = whole.buffer.slice(whole.byteOffset, whole.byteOffset + whole.byteLength);
    assert.deepEqual(await logitsOf(own, { transfer: true }), want);
    assert.equal(own.byteLength, 0);
});

test('gguf-split shards load (by shard name, by list, metadata-only first shard)', async (t) => {
    if (!variant) return t.skip('no wasm build');
    assert.deepEqual(await logitsOf(shardsA[0]), ref); // the -00001-of-00003 name expands to all shards
    assert.deepEqual(await logitsOf(shardsB.map((p) => ({ path: p }))), ref);
    assert.deepEqual(await logitsOf(shardsA.map((p) => new Blob([fs.readFileSync(p)]))), ref);
    // a missing shard is a named error
    const two = shardsA.slice(0, 2).map((p) => ({ path: p }));
    await assert.rejects(logitsOf(two), (e) => e.code === 'DS2_E_INVALID_ARG' && /split\.count = 3 but 2 shards were given: a shard is missing/.test(e.message));
    // 7-byte chunks of every shard, read all at once: the same model
    assert.deepEqual(await logitsOf(shardsB.map((p) => ({ path: p })), { chunkSize: 7 }), ref);
});

test('gguf-split: bad shard sets give named errors', async (t) => {
    if (!variant) return t.skip('no wasm build');
    const split = (tag, ...args) => execFileSync(PY, [path.join(ROOT, 'models/gguf_split.py'), file, path.join(dir, tag), ...args],
        { encoding: 'utf8' }).trim().split('\n');
    const two = split('split-two', '--shards', '2');
    const threeC = split('split-c', '--shards', '3', '--no-tensor-first-split');
    const paths = (l) => l.map((p) => ({ path: p }));
    // a shard of another (2-shard) split of the same model: its split.count disagrees
    await assert.rejects(logitsOf(paths([shardsA[0], shardsA[1], two[1]])),
        (e) => e.code === 'DS2_E_INVALID_ARG' && /split\.count = [23]/.test(e.message), 'wrong split.count');
    // shard 2 of a split whose first shard holds no tensors: its tensors are also in shard 1 of the other
    await assert.rejects(logitsOf(paths([shardsA[0], threeC[1], shardsA[2]])),
        (e) => e.code === 'DS2_E_DUPLICATE' && /tensor '.+' is in shard/.test(e.message), 'duplicate tensor');
    await assert.rejects(logitsOf(paths([shardsA[0], shardsA[1], shardsA[1]])),
        (e) => e.code === 'DS2_E_DUPLICATE' && /both split\.no 1/.test(e.message), 'a shard twice');
    const bytes = fs.readFileSync(shardsA[1]);
    const cut = path.join(dir, 'cut-00002-of-00003.gguf');
    fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.7)));
    await assert.rejects(logitsOf(paths([shardsA[0], cut, shardsA[2]])),
        (e) => e.code === 'DS2_E_TRUNCATED' && /^shard #1: /.test(e.message), 'truncated shard');
});

// Deterministic randomness for the servers below (xorshift32).
function rng(seed) {
    let s = seed >>> 0 || 1;
    return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
}

test('gguf-split over HTTP: shards arriving interleaved in random pieces, one cut and resumed, give the same model', async (t) => {
    if (!variant) return t.skip('no wasm build');
    const rand = rng(7);
    const ranges = [];
    let cut = false;
    const srv = await serve(dir, {
        behave: (req, res, f) => {
            if (!/-0000\d-of-0000\d\.gguf$/.test(f)) return false;
            const all = fs.readFileSync(f);
            const start = parseInt((/bytes=(\d+)-/.exec(req.headers.range || '') || [0, '0'])[1], 10);
            if (req.headers.range) ranges.push(`${path.basename(f)} ${req.headers.range}`);
            res.writeHead(start ? 206 : 200, { 'Content-Length': all.length - start, 'Accept-Ranges': 'bytes', 'ETag': `"${all.length}"`,
                ...(start ? { 'Content-Range': `bytes ${start}-${all.length - 1}/${all.length}` } : {}) });
            // shard 2's first response breaks off after 40 % (the client resumes it with Range)
            const stop = !cut && /-00002-of/.test(f) ? Math.floor(all.length * 0.4) : all.length;
            if (stop < all.length) cut = true;
            let pos = start;
            const next = () => {
                if (pos >= stop) { if (stop < all.length) res.socket.destroy(); else res.end(); return; }
                const n = 1 + Math.floor(rand() * 20000);
                res.write(all.subarray(pos, Math.min(stop, pos + n)));
                pos = Math.min(stop, pos + n);
                setTimeout(next, Math.floor(rand() * 3));
            };
            next();
            return true;
        },
    });
    try {
        for (const shards of [shardsA, shardsB]) {
            const ev = [];
            const m = await loadModel(`${srv.base}/${path.basename(shards[0])}`, opts({ onProgress: (p) => ev.push(p) }));
            try {
                assert.deepEqual(await m.logits(IDS), ref);
                assert.deepEqual(await m.generateTokens(IDS, { maxTokens: 6, temperature: 0 }), refGreedy);
            } finally { await m.dispose(); }
            const total = shards.reduce((a, p) => a + fs.statSync(p).size, 0);
            for (let i = 1; i < ev.length; i++) assert.ok(ev[i].loaded >= ev[i - 1].loaded, 'monotonic');
            assert.equal(ev.at(-1).loaded, total);
            assert.equal(ev.at(-1).total, total);
        }
        assert.ok(ranges.some((r) => /-00002-of-00003\.gguf bytes=[1-9]\d*-$/.test(r)), `shard 2 resumed with Range: ${ranges}`);
    } finally { await srv.close(); }
});

test('gguf-split over HTTP: every shard is in flight at once (shard 1 is held until all others were read)', async (t) => {
    if (!variant) return t.skip('no wasm build');
    // The server answers shard 1 with its headers but holds its body until the client reports (progress) that
    // it has read every other shard to the end. A loader that reads the shards one after another — or reads
    // ahead only a bounded amount of the later ones — never gets there.
    const sizes = shardsA.map((p) => fs.statSync(p).size);
    const total = sizes.reduce((a, b) => a + b, 0);
    let release, why = null;
    const released = new Promise((r) => { release = (reason) => { why = why || reason; r(); }; });
    const srv = await serve(dir, {
        behave: (req, res, f) => {
            const all = fs.readFileSync(f);
            res.writeHead(200, { 'Content-Length': all.length });
            if (path.basename(f) === path.basename(shardsA[0])) {
                res.flushHeaders(); // the response starts, its body does not
                released.then(() => res.end(all));
                return true;
            }
            // the other shards in 4 KiB pieces, so that reading a shard's header does not read the whole shard
            let pos = 0;
            const next = () => {
                if (pos >= all.length) { res.end(); return; }
                res.write(all.subarray(pos, pos + 4096));
                pos += 4096;
                setTimeout(next, 1);
            };
            next();
            return true;
        },
    });
    let sawOthers = false;
    const timer = setTimeout(() => release('timeout'), 10000);
    try {
        const ev = [];
        const m = await loadModel(`${srv.base}/${path.basename(shardsA[2])}`, opts({
            onProgress: (p) => {
                ev.push(p);
                if (p.loaded >= total - sizes[0] && !sawOthers) { sawOthers = true; release('others read'); }
            },
        }));
        try { assert.deepEqual(await m.logits(IDS), ref); } finally { await m.dispose(); }
        assert.equal(why, 'others read', 'shards 2 and 3 were read completely while shard 1 was held');
        assert.equal(ev.at(-1).loaded, total);
    } finally {
        clearTimeout(timer);
        release('end');
        await srv.close();
    }
});

test('HTTP: progress is monotonic and ends at total; shards download in parallel', async (t) => {
    if (!variant) return t.skip('no wasm build');
    const seen = [];
    const srv = await serve(dir, { behave: (req) => { seen.push(req.url); return false; } });
    try {
        const events = [];
        const m = await loadModel(`${srv.base}/base.gguf`, opts({ onProgress: (p) => events.push(p) }));
        assert.deepEqual(await m.logits(IDS), ref);
        await m.dispose();
        const size = fs.statSync(file).size;
        assert.ok(events.length >= 1);
        for (let i = 1; i < events.length; i++) assert.ok(events[i].loaded >= events[i - 1].loaded, 'monotonic');
        assert.equal(events.at(-1).loaded, size);
        assert.equal(events.at(-1).total, size);
        assert.ok(events.every((e) => e.total === size && e.rate >= 0));

        const ev2 = [];
        const name = path.basename(shardsA[1]); // any shard name names the set
        assert.deepEqual(await logitsOf(`${srv.base}/${name}`, { onProgress: (p) => ev2.push(p) }), ref);
        const total = shardsA.reduce((a, p) => a + fs.statSync(p).size, 0);
        assert.equal(ev2.at(-1).loaded, total);
        assert.equal(ev2.at(-1).total, total);
        for (let i = 1; i < ev2.length; i++) assert.ok(ev2[i].loaded >= ev2[i - 1].loaded);
        for (const p of shardsA) assert.ok(seen.includes('/' + path.basename(p)));
    } finally { await srv.close(); }
});

// A server that cuts the connection after `cut` bytes on the first request for the file.
function cutOnce(cut) {
    let done = false;
    return (req, res, f) => {
        if (done || req.headers.range) return false;
        done = true;
        const size = fs.statSync(f).size;
        res.writeHead(200, { 'Content-Length': size, 'ETag': `"${size}"`, 'Accept-Ranges': 'bytes' });
        res.write(fs.readFileSync(f).subarray(0, cut), () => res.socket.destroy());
        return true;
    };
}

test('HTTP: an interrupted download resumes with Range, or restarts cleanly without it', async (t) => {
    if (!variant) return t.skip('no wasm build');
    const ranges = [];
    const a = await serve(dir, { behave: (req, res, f) => { if (req.headers.range) ranges.push(req.headers.range); return cutOnce.inst(req, res, f); } });
    cutOnce.inst = cutOnce(150000);
    try {
        const ev = [];
        assert.deepEqual(await logitsOf(`${a.base}/base.gguf`, { onProgress: (p) => ev.push(p.loaded) }), ref);
        assert.ok(ranges.some((r) => /^bytes=\d+-$/.test(r) && parseInt(r.slice(6), 10) > 0), `Range requests: ${ranges}`);
        for (let i = 1; i < ev.length; i++) assert.ok(ev[i] >= ev[i - 1]);
    } finally { await a.close(); }

    const b = await serve(dir, { noRange: true, behave: (req, res, f) => cutOnce.inst2(req, res, f) });
    cutOnce.inst2 = cutOnce(170000);
    try {
        const ev = [];
        assert.deepEqual(await logitsOf(`${b.base}/base.gguf`, { onProgress: (p) => ev.push(p) }), ref);
        for (let i = 1; i < ev.length; i++) assert.ok(ev[i].loaded >= ev[i - 1].loaded);
        assert.equal(ev.at(-1).loaded, fs.statSync(file).size);
    } finally { await b.close(); }
});

test('a truncated file or download gives DS2_E_TRUNCATED', async (t) => {
    if (!variant) return t.skip('no wasm build');
    const bytes = fs.readFileSync(file);
    const cut = path.join(dir, 'cut.gguf');
    fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await assert.rejects(logitsOf({ path: cut }), (e) => e.code === 'DS2_E_TRUNCATED' && e.message.length > 10);
    await assert.rejects(logitsOf(bytes.subarray(0, 1000)), (e) => e.code === 'DS2_E_TRUNCATED');
    // the server announces the whole size, then always drops the connection at the same byte
    const srv = await serve(dir, {
        behave: (req, res, f) => {
            const size = fs.statSync(f).size;
            const start = parseInt((/bytes=(\d+)-/.exec(req.headers.range || '') || [0, '0'])[1], 10);
            const stop = Math.max(start, 200000); // the file has ~300 kB
            res.writeHead(start ? 206 : 200, { 'Content-Length': size - start, 'Accept-Ranges': 'bytes', 'ETag': '"x"',
                ...(start ? { 'Content-Range': `bytes ${start}-${size - 1}/${size}` } : {}) });
            res.write(fs.readFileSync(f).subarray(start, stop), () => res.socket.destroy());
            return true;
        },
    });
    try {
        await assert.rejects(logitsOf(`${srv.base}/base.gguf`, { retries: 2 }),
            (e) => e.code === 'DS2_E_TRUNCATED' && /interrupted at byte 200000/.test(e.message));
        await assert.rejects(logitsOf(`${srv.base}/missing.gguf`), (e) => e.code === 'DS2_E_NETWORK' && /404/.test(e.message));
    } finally { await srv.close(); }
});

test('an aborted load frees its memory (heap back to baseline) and the next load works', async (t) => {
    if (!variant) return t.skip('no wasm build');
    // ~29 MB of weights: the loader reserves the arena when the directory has been read, long before 40 %
    const big = makeModel(dir, 'mid', ['--hidden', '512', '--layers', '3', '--vocab', '16000', '--ff', '1024',
        '--expert-ff', '256', '--heads', '8', '--q-lora-rank', '128', '--kv-lora-rank', '128', '--seed', '41', '--dtype', 'q8_0']);
    const size = fs.statSync(big).size;
    // the server sends 40% of the file, then stalls until the client goes away
    const srv = await serve(dir, {
        behave: (req, res, f) => {
            res.writeHead(200, { 'Content-Length': fs.statSync(f).size });
            res.write(fs.readFileSync(f).subarray(0, Math.floor(fs.statSync(f).size * 0.4)));
            return true;
        },
    });
    const model = createModel();
    try {
        const base = await model.heap(opts());
        assert.ok(base.heapUsed > 0);
        const ac = new AbortController();
        const p = model.load(`${srv.base}/${path.basename(big)}`, opts({
            signal: ac.signal,
            onProgress: (e) => { if (e.loaded > 0.3 * size && !ac.signal.aborted) ac.abort(); },
        }));
        const timer = setTimeout(() => ac.abort(), 5000); // in case the last progress event is throttled away
        await assert.rejects(p, (e) => e.code === 'DS2_E_CANCELLED');
        clearTimeout(timer);
        const afterAbort = await model.heap();
        t.diagnostic(`heap used: baseline ${base.heapUsed}, after abort ${afterAbort.heapUsed}; linear memory ${base.heapBytes} → ${afterAbort.heapBytes} (file ${size})`);
        // the arena had been allocated (memory grew by about the file) and is free again
        assert.ok(afterAbort.heapBytes > base.heapBytes + 0.5 * size, 'the load had reserved its weights');
        assert.equal(afterAbort.heapUsed, base.heapUsed);
        // the same worker loads a model afterwards, and unloading returns the heap to baseline again
        await model.load({ path: file }, opts());
        assert.deepEqual(await model.logits(IDS), ref);
        await model.unload();
        assert.equal((await model.heap()).heapUsed, base.heapUsed);
    } finally {
        await model.dispose();
        await srv.close();
    }
});

test('gguf-split: an aborted load of shards frees every shard\'s memory (heap back to baseline)', async (t) => {
    if (!variant) return t.skip('no wasm build');
    // the ~29 MB model of the test above, in 3 shards; each shard's block is reserved when its directory is read
    const big = makeModel(dir, 'mid', ['--hidden', '512', '--layers', '3', '--vocab', '16000', '--ff', '1024',
        '--expert-ff', '256', '--heads', '8', '--q-lora-rank', '128', '--kv-lora-rank', '128', '--seed', '41', '--dtype', 'q8_0']);
    const shards = execFileSync(PY, [path.join(ROOT, 'models/gguf_split.py'), big, path.join(dir, 'mid-split'), '--shards', '3'],
        { encoding: 'utf8' }).trim().split('\n');
    const total = shards.reduce((a, p) => a + fs.statSync(p).size, 0);
    // every shard: 40 % of its bytes, then the server stalls until the client goes away
    const srv = await serve(dir, {
        behave: (req, res, f) => {
            const size = fs.statSync(f).size;
            res.writeHead(200, { 'Content-Length': size });
            res.write(fs.readFileSync(f).subarray(0, Math.floor(size * 0.4)));
            return true;
        },
    });
    const model = createModel();
    try {
        const base = await model.heap(opts());
        const ac = new AbortController();
        const p = model.load(`${srv.base}/${path.basename(shards[0])}`, opts({
            signal: ac.signal,
            onProgress: (e) => { if (e.loaded > 0.3 * total && !ac.signal.aborted) ac.abort(); },
        }));
        const timer = setTimeout(() => ac.abort(), 5000);
        await assert.rejects(p, (e) => e.code === 'DS2_E_CANCELLED');
        clearTimeout(timer);
        const afterAbort = await model.heap();
        t.diagnostic(`heap used: baseline ${base.heapUsed}, after abort ${afterAbort.heapUsed}; linear memory ${base.heapBytes} → ${afterAbort.heapBytes} (shards ${total})`);
        assert.ok(afterAbort.heapBytes > base.heapBytes + 0.5 * total, 'every shard had reserved its weights');
        assert.equal(afterAbort.heapUsed, base.heapUsed);
        await model.load(shards.map((s) => ({ path: s })), opts());
        assert.equal((await model.info()).n_layer, 3);
        await model.unload();
        assert.equal((await model.heap()).heapUsed, base.heapUsed);
    } finally {
        await model.dispose();
        await srv.close();
    }
});
