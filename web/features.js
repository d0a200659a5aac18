// features.js — picks the engine build this runtime can run best, and says which and why.
//
//   simd-mt  SIMD128 + pthreads (shared memory): needs SharedArrayBuffer, i.e. a cross-origin isolated page
//            (COOP: same-origin + COEP: require-corp) — or Node, where worker_threads always share memory.
//   simd     SIMD128, single thread: pages that are not cross-origin isolated.
//   nosimd   no SIMD: engines without WebAssembly SIMD.

// (module (func (result v128) i32.const 0 i8x16.splat)) — validates only where SIMD128 is supported
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
    10, 8, 1, 6, 0, 65, 0, 253, 15, 11]);

export const BUILDS = Object.freeze({
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
    return { isNode, simd, sharedArrayBuffer: sab, sharedMemory, crossOriginIsolated: isolated, cores };
}

/**
 * @param {{prefer?: 'simd-mt'|'simd'|'nosimd', features?: object}} [opts]
 * @returns {{build: string, file: string, threads: boolean, reason: string, features: object}}
 */
export function pickBuild(opts = {}) {
    const f = opts.features || detectFeatures();
    const ok = {
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
        build = ok['simd-mt'] ? 'simd-mt' : ok.simd ? 'simd' : 'nosimd';
        if (build === 'simd-mt') why.push(`SIMD128 and shared memory available${f.isNode ? ' (Node)' : ', page is cross-origin isolated'}`);
    }
    return { build, file: BUILDS[build].file, threads: BUILDS[build].threads, reason: why.join('; '), features: f };
}
