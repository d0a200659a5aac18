// Pure-JS parts without the engine: build choice, shard names, the incremental GGUF header parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { pickBuild, detectFeatures } from '../../web/features.js';
import { shardNames, describeSource } from '../../web/fetch.js';
import { parseHeader } from '../../web/gguf_split.js';
import { ROOT, PY, tmpdir } from './helpers.mjs';

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
    // this Node: SIMD128 validates and memory can be shared
    const here = detectFeatures();
    assert.equal(here.isNode, true);
    assert.equal(here.simd, true);
    assert.equal(pickBuild().build, 'simd-mt');
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

test('parseHeader: null until the whole header has arrived, then the layout', () => {
    const dir = tmpdir('units');
    try {
        const file = path.join(dir, 'm.gguf');
        execFileSync(PY, [path.join(ROOT, 'models/make_tiny.py'), '--out', file, '--seed', '3']);
        const bytes = new Uint8Array(fs.readFileSync(file));
        const h = parseHeader(bytes);
        assert.ok(h && h.tensors.length > 10 && h.dataStart % h.alignment === 0 && h.dataStart <= bytes.length);
        for (const cut of [0, 4, 23, 24, 100, h.headerEnd - 1]) assert.equal(parseHeader(bytes.subarray(0, cut)), null, `cut ${cut}`);
        assert.ok(parseHeader(bytes.subarray(0, h.headerEnd)));
        const last = h.tensors.at(-1);
        assert.equal(h.dataStart + last.offset + last.nbytes <= bytes.length, true);
        const bad = bytes.slice(0, 64); bad[0] = 0;
        assert.throws(() => parseHeader(bad), (e) => e.code === 'DS2_E_BAD_MAGIC');
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
