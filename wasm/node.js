// node.js — the Node.js API: `import { loadModel } from 'deepseek2-wasm'`.
//
// Same Model as the browser (web/client.js), with the engine in a worker_threads Worker running the same
// web/worker.js. Sources: a file path (streamed from disk, never read whole), an http(s) URL (fetch, Range
// resume), a Buffer / typed array / ArrayBuffer, or a list of gguf-split shard paths/URLs (a single shard
// name `-00001-of-0000N.gguf` expands to all of them).

import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { Model, DS2Error } from '../web/client.js';
import { OP } from './protocol.js';

export { Model, DS2Error };
export { pickBuild, detectFeatures } from '../web/features.js';

function nodeTransport(worker) {
    let failed = false;
    return {
        post: (m, transfer) => worker.postMessage(m, transfer || []),
        onMessage: (fn) => worker.on('message', fn),
        onFailure: (fn) => {
            worker.on('error', (e) => { failed = true; fn(e); });
            worker.on('exit', (code) => { if (!failed) fn(new Error(`worker exited with code ${code}`)); });
        },
        terminate: () => { worker.terminate(); },
        // an idle model must not keep the process alive; a pending call must
        busy: (b) => (b ? worker.ref() : worker.unref()),
    };
}

/** Source as the worker takes it: {path} for files, URL strings, typed arrays. */
export function normalizeSource(source) {
    if (Array.isArray(source)) return source.map(normalizeSource);
    if (source instanceof URL) source = source.href;
    if (typeof source === 'string') {
        if (/^file:/i.test(source)) return { path: fileURLToPath(source) };
        if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source) || /^(data|blob):/i.test(source)) return source;
        return { path: source };
    }
    if (Buffer.isBuffer(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    return source;
}

/** A worker with no model loaded yet. */
export function createModel() {
    const worker = new Worker(new URL('../web/worker.js', import.meta.url));
    const model = new Model(nodeTransport(worker));
    const load = model.load.bind(model);
    model.load = (source, options) => load(normalizeSource(source), options);
    model.dispose = async () => {
        try { await model.unload(); } catch { /* already stopped */ }
        if (model._dead) return;
        worker.ref(); // wait for the exit below even with nothing else pending
        await new Promise((r) => { worker.once('exit', r); model._t.post({ op: OP.EXIT }); });
    };
    worker.unref();
    return model;
}

/**
 * Starts an engine worker and loads a model.
 * @param {string|URL|Uint8Array|ArrayBuffer|Array} source file path, URL, bytes, or shard list
 * @param {object} [options] see index.d.ts (onProgress, signal, build, nCtx, threads, chunkSize…)
 */
export async function loadModel(source, options = {}) {
    const model = createModel();
    try {
        await model.load(source, options);
    } catch (e) {
        await model.dispose().catch(() => {});
        throw e;
    }
    return model;
}
