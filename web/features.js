// features.js — picks the engine build this runtime can run best, and says which and why.
//
//   relaxed-mt  simd-mt with relaxed SIMD (integer dots, the attention's multiply-adds): engines with relaxed
//               SIMD whose dot gives the exact sums (checked by running it once); Chromium ≥ 114, not Node 20
//               by default.
//   simd-mt  SIMD128 + pthreads (shared memory): needs SharedArrayBuffer, i.e. a cross-origin isolated page
//            (COOP: same-origin + COEP: require-corp) — or Node, where worker_threads always share memory.
//   simd     SIMD128, single thread: pages that are not cross-origin isolated.
//   nosimd   no SIMD: engines without WebAssembly SIMD.

// (module (func (result v128) i32.const 0 i8x16.splat)) — validates only where SIMD128 is supported
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
    10, 8, 1, 6, 0, 65, 0, 253, 15, 11]);

// (module (memory (export "mem") 1) (func (export "run") (v128.store (i32.const 48)
//   (i16x8.relaxed_dot_i8x16_i7x16_s (v128.load (i32.const 0)) (v128.load (i32.const 16))))))
const RELAXED_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 3, 1, 0, 1, 7, 13,
    2, 3, 109, 101, 109, 2, 0, 3, 114, 117, 110, 0, 0, 10, 25, 1, 23, 0, 65, 48, 65, 0, 253, 0, 4, 0, 65, 16, 253, 0, 4,
    0, 253, 146, 2, 253, 11, 4, 0, 11]);

/** Whether the engine runs the relaxed dot the relaxed build uses, with exact sums (a = −128..127, b = 0..63). */
function relaxedDotWorks(W) {
    try {
        if (!W.validate(RELAXED_PROBE)) return false;
        const inst = new W.Instance(new W.Module(RELAXED_PROBE));
        const m8 = new Int8Array(inst.exports.mem.buffer);
        for (let i = 0; i < 16; i++) { m8[i] = i & 1 ? -128 + 9 * i : 127 - 13 * i; m8[16 + i] = (i * 29) % 64; }
        inst.exports.run();
        const r = new Int16Array(inst.exports.mem.buffer, 48, 8);
        for (let k = 0; k < 8; k++) if (r[k] !== m8[2 * k] * m8[16 + 2 * k] + m8[2 * k + 1] * m8[17 + 2 * k]) return false;
        return true;
    } catch { return false; }
}

export const BUILDS = Object.freeze({
    'relaxed-mt': { file: 'ds2-relaxed-mt.mjs', simd: true, threads: true },
    'simd-mt': { file: 'ds2-simd-mt.mjs', simd: true, threads: true },
    simd: { file: 'ds2-simd.mjs', simd: true, threads: false },
    nosimd: { file: 'ds2-nosimd.mjs', simd: false, threads: false },
});

export function detectFeatures(g = globalThis) {
    const isNode = typeof g.process !== 'undefined' && !!(g.process.versions && g.process.versions.node);
    let simd = false;
    try { simd = typeof g.WebAssembly === 'object' && g.WebAssembly.validate(SIMD_PROBE); } catch { simd = false; }
    const sab = typeof g.SharedArrayBuffer === 'function';
    let sharedMemory = false;
    try {
        sharedMemory = sab && new g.WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof g.SharedArrayBuffer;
    } catch { sharedMemory = false; }
    // Pages must be cross-origin isolated to share memory with workers; Node has no such rule.
    const isolated = isNode ? true : g.crossOriginIsolated === true;
    const cores = (g.navigator && g.navigator.hardwareConcurrency) || 1;
    const relaxedSimd = simd && relaxedDotWorks(g.WebAssembly);
    return { isNode, simd, relaxedSimd, sharedArrayBuffer: sab, sharedMemory, crossOriginIsolated: isolated, cores };
}

/**
 * @param {{prefer?: 'relaxed-mt'|'simd-mt'|'simd'|'nosimd', features?: object}} [opts]
 * @returns {{build: string, file: string, threads: boolean, reason: string, features: object}}
 */
export function pickBuild(opts = {}) {
    const f = opts.features || detectFeatures();
    const ok = {
        'relaxed-mt': f.simd && !!f.relaxedSimd && f.sharedMemory && f.crossOriginIsolated,
        'simd-mt': f.simd && f.sharedMemory && f.crossOriginIsolated,
        simd: f.simd,
        nosimd: true,
    };
    const why = [];
    if (!f.simd) why.push('WebAssembly SIMD128 is not supported');
    if (!f.sharedArrayBuffer) why.push('SharedArrayBuffer is not available');
    else if (!f.crossOriginIsolated) why.push('the page is not cross-origin isolated (needs COOP: same-origin and COEP: require-corp)');
    else if (!f.sharedMemory) why.push('shared WebAssembly.Memory cannot be created');
    let build;
    if (opts.prefer) {
        if (!BUILDS[opts.prefer]) throw new Error(`unknown build ${opts.prefer}`);
        if (!ok[opts.prefer]) throw Object.assign(new Error(`build ${opts.prefer} cannot run here: ${why.join('; ')}`),
            { code: 'DS2_E_INVALID_ARG' });
        build = opts.prefer;
        why.unshift('requested');
    } else {
        build = ok['relaxed-mt'] ? 'relaxed-mt' : ok['simd-mt'] ? 'simd-mt' : ok.simd ? 'simd' : 'nosimd';
        if (build === 'relaxed-mt' || build === 'simd-mt')
            why.push(`SIMD128${build === 'relaxed-mt' ? ', relaxed SIMD' : ''} and shared memory available${f.isNode ? ' (Node)' : ', page is cross-origin isolated'}`);
        if (build === 'simd-mt' && !f.relaxedSimd) why.push('no relaxed SIMD (or its dot product is inexact) here');
    }
    return { build, file: BUILDS[build].file, threads: BUILDS[build].threads, reason: why.join('; '), features: f };
}
