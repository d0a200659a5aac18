// Pure-JS parts without the engine: build choice, shard names, reading the shards of a split all at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickBuild, detectFeatures } from '../../web/features.js';
import { shardNames, describeSource } from '../../web/fetch.js';
import { interleave } from '../../web/gguf_split.js';

test('pickBuild: threads only when cross-origin isolated, SIMD when validated, and says why', () => {
    const f = (o) => ({ isNode: false, simd: true, sharedArrayBuffer: true, sharedMemory: true, crossOriginIsolated: true, cores: 4, ...o });
    assert.equal(pickBuild({ features: f() }).build, 'simd-mt');
    const notIso = pickBuild({ features: f({ crossOriginIsolated: false }) });
    assert.equal(notIso.build, 'simd');
    assert.match(notIso.reason, /cross-origin isolated/);
    const noSab = pickBuild({ features: f({ sharedArrayBuffer: false, sharedMemory: false, crossOriginIsolated: false }) });
    assert.equal(noSab.build, 'simd');
    assert.match(noSab.reason, /SharedArrayBuffer/);
    const old = pickBuild({ features: f({ simd: false }) });
    assert.equal(old.build, 'nosimd');
    assert.match(old.reason, /SIMD128/);
    assert.equal(pickBuild({ features: f(), prefer: 'nosimd' }).build, 'nosimd');
    assert.throws(() => pickBuild({ features: f({ crossOriginIsolated: false }), prefer: 'simd-mt' }), /cannot run here/);
    // relaxed SIMD (its dot checked by running it) adds the relaxed-mt build, which needs threads like simd-mt
    assert.equal(pickBuild({ features: f({ relaxedSimd: true }) }).build, 'relaxed-mt');
    assert.equal(pickBuild({ features: f({ relaxedSimd: true, crossOriginIsolated: false }) }).build, 'simd');
    assert.match(pickBuild({ features: f({ relaxedSimd: false }) }).reason, /no relaxed SIMD/);
    assert.throws(() => pickBuild({ features: f({ relaxedSimd: false }), prefer: 'relaxed-mt' }), /cannot run here/);
    // this Node: SIMD128 validates and memory can be shared (relaxed SIMD: Node 20 only behind a flag)
    const here = detectFeatures();
    assert.equal(here.isNode, true);
    assert.equal(here.simd, true);
    assert.equal(pickBuild().build, here.relaxedSimd ? 'relaxed-mt' : 'simd-mt');
});

test('gguf-split names: any shard names the set, URLs keep their query', () => {
    assert.deepEqual(shardNames('/m/x-00002-of-00003.gguf'),
        ['/m/x-00001-of-00003.gguf', '/m/x-00002-of-00003.gguf', '/m/x-00003-of-00003.gguf']);
    assert.deepEqual(shardNames('https://h/a-b-00001-of-00002.gguf?sig=1'),
        ['https://h/a-b-00001-of-00002.gguf?sig=1', 'https://h/a-b-00002-of-00002.gguf?sig=1']);
    assert.equal(shardNames('/m/x.gguf'), null);
    assert.equal(describeSource({ path: '/m/x-00001-of-00004.gguf' }).length, 4);
    assert.equal(describeSource([{ path: '/m/x-00001-of-00004.gguf' }]).length, 1); // a list is taken as given
    assert.throws(() => describeSource(42), (e) => e.code === 'DS2_E_INVALID_ARG');
});

test('interleave: every part is read at once, chunks come in arrival order, each part\'s in its own order', { timeout: 5000 }, async () => {
    // part 0 yields nothing until part 1 has yielded all it has: a reader that drained the parts one after
    // another would never finish
    let open;
    const gate = new Promise((r) => { open = r; });
    async function* slow() { await gate; for (let i = 0; i < 3; i++) yield new Uint8Array([0, i]); }
    async function* fast() { for (let i = 0; i < 5; i++) { await null; yield new Uint8Array([1, i]); } open(); }
    const got = [];
    for await (const { shard, bytes } of interleave([{ chunks: slow() }, { chunks: fast() }])) got.push([shard, bytes[1]]);
    assert.deepEqual(got, [[1, 0], [1, 1], [1, 2], [1, 3], [1, 4], [0, 0], [0, 1], [0, 2]]);
    // an error of one part ends the whole read
    async function* bad() { await null; throw new Error('boom'); }
    await assert.rejects(async () => { for await (const c of interleave([{ chunks: slow() }, { chunks: bad() }])) void c; }, /boom/);
});
