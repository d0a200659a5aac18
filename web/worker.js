// worker.js — the engine's thread: a Web Worker (module) in browsers, a worker_threads Worker in Node.
//
// Owns the one engine instance, the loaded model and its session. Requests (wasm/protocol.js) run one at a
// time in arrival order; only 'abort' is handled at once. Long work yields to the event loop between chunks
// and between tokens so an abort is seen within one chunk / one token. Every request ends with exactly one
// 'result' or 'error' message.

import { OP, TYPE, DS2Error, errorToWire } from '../wasm/protocol.js';
import { Engine, LOGITS } from '../wasm/engine.js';
import { pickBuild } from './features.js';
import { openModelStream } from './fetch.js';

// ---- transport ------------------------------------------------------------------------------------------
let post;
let nodeExit = null;
if (typeof WorkerGlobalScope !== 'undefined' && typeof self !== 'undefined' && self instanceof WorkerGlobalScope) {
    post = (m, transfer) => self.postMessage(m, transfer || []);
    self.onmessage = (e) => receive(e.data);
} else {
    const wt = await import('node:worker_threads');
    if (!wt.parentPort) throw new Error('web/worker.js must run in a Web Worker or a worker_threads Worker');
    post = (m, transfer) => wt.parentPort.postMessage(m, transfer || []);
    wt.parentPort.on('message', receive);
    nodeExit = () => process.exit(0);
}

// setImmediate (Node) / a MessageChannel tick (browsers): a macrotask, so queued 'abort' messages run first
const tick = typeof setImmediate === 'function' ? () => new Promise((r) => setImmediate(r)) : (() => {
    const ch = new MessageChannel();
    const waiting = [];
    ch.port1.onmessage = () => { const r = waiting.shift(); if (r) r(); };
    return () => new Promise((r) => { waiting.push(r); ch.port2.postMessage(0); });
})();

// ---- state ----------------------------------------------------------------------------------------------
const state = {
    engine: null,
    build: null,      // { build, file, threads, reason, features }
    model: 0,
    session: 0,
    info: null,
    nVocab: 0,
    stats: { loadMs: 0, loadBytes: 0, promptTokens: 0, promptMs: 0, genTokens: 0, genMs: 0 },
};
const running = new Map(); // request id → AbortController

async function ensureEngine(opts = {}) {
    if (state.engine) return state.engine;
    const choice = pickBuild({ prefer: opts.build });
    const dir = opts.wasmDir ? new URL(opts.wasmDir, import.meta.url) : new URL('../wasm/dist/', import.meta.url);
    // the best build first; without an explicit choice, a build that is not shipped falls back to the next
    const order = ['simd-mt', 'simd', 'nosimd'];
    const tries = opts.build ? [choice.build] : order.slice(order.indexOf(choice.build));
    const missing = [];
    for (const build of tries) {
        const c = build === choice.build ? choice : { ...pickBuild({ prefer: build, features: choice.features }) };
        const url = new URL(c.file, dir);
        let factory;
        try {
            factory = (await import(url.href)).default;
        } catch (e) {
            missing.push(`${c.file}: ${e.message}`);
            continue;
        }
        const moduleArg = {};
        if (c.threads) moduleArg.ds2PoolSize = Math.max(1, Math.min(8, opts.threads || c.features.cores || 4));
        state.engine = await Engine.instantiate(factory, moduleArg);
        const reason = missing.length ? `${choice.reason}; ${missing.map((m) => m.split(':')[0]).join(', ')} not shipped` : choice.reason;
        state.build = { ...c, reason, url: url.href, compiled: state.engine.features };
        return state.engine;
    }
    throw new DS2Error('DS2_E_WORKER', `cannot load the engine from ${dir.href}: ${missing.join('; ')}`);
}

function freeModel() {
    const e = state.engine;
    if (!e) return;
    e.sessionFree(state.session);
    e.modelFree(state.model);
    state.session = 0; state.model = 0; state.info = null; state.nVocab = 0;
}

function needModel() {
    if (!state.model) throw new DS2Error('DS2_E_STATE', 'no model is loaded: call load() first');
}
function needWeights() {
    needModel();
    if (!state.session) throw new DS2Error('DS2_E_STATE', 'the loaded file is vocabulary-only: it can tokenize but not evaluate');
}

// ---- operations -----------------------------------------------------------------------------------------
async function load({ source, options = {} }, signal, id) {
    const e = await ensureEngine(options);
    freeModel();
    const t0 = Date.now();
    const stream = await openModelStream(source, {
        signal,
        chunkSize: options.chunkSize,
        retries: options.retries,
        readAheadBytes: options.readAheadBytes,
        onProgress: (p) => post({ id, type: TYPE.PROGRESS, ...p }),
    });
    let loader;
    try {
        loader = e.loaderCreate(stream.total || 0, !!options.allowVocabOnly);
    } catch (err) {
        await stream.chunks.return(); // close the requests / files already opened
        throw err;
    }
    let model = 0;
    try {
        let last = Date.now();
        for await (const chunk of stream.chunks) {
            e.loaderFeed(loader, chunk);
            if (Date.now() - last > 30) { // let an abort through (in-memory sources never wait otherwise)
                await tick();
                last = Date.now();
                if (signal.aborted) throw new DS2Error('DS2_E_CANCELLED', 'load cancelled');
            }
        }
        if (signal.aborted) throw new DS2Error('DS2_E_CANCELLED', 'load cancelled');
        state.stats.loadBytes = e.loaderBytesFed(loader);
        model = e.loaderFinish(loader);
    } finally {
        e.loaderFree(loader); // on every path: an aborted or failed load leaves the heap as it was
        if (!model) await stream.chunks.return?.();
    }
    try {
        state.info = e.modelInfo(model);
        state.nVocab = state.info.n_vocab;
        if (state.info.has_weights) state.session = e.sessionCreate(model, {
            nCtx: options.nCtx || 0, nBatch: options.nBatch || 0,
            nThreads: state.build.threads ? (options.threads || Math.min(4, state.build.features.cores || 1)) : 1,
            kvType: options.kvType || 'f32', attn: options.attn || 'auto',
        });
        state.model = model;
    } catch (err) {
        e.sessionFree(state.session); state.session = 0;
        e.modelFree(model);
        throw err;
    }
    state.stats.loadMs = Date.now() - t0;
    return infoResult();
}

function infoResult() {
    return {
        ...state.info,
        nCtx: state.session ? state.engine.nCtx(state.session) : 0,
        hasTokenizer: !!state.engine && state.engine.hasTokenizer(),
        build: state.build && { name: state.build.build, reason: state.build.reason, compiled: state.build.compiled, url: state.build.url },
    };
}

function checkIds(ids) {
    if (!Array.isArray(ids) && !ArrayBuffer.isView(ids)) throw new DS2Error('DS2_E_INVALID_ARG', 'ids must be an array of token ids');
    ids = Array.from(ids);
    if (!ids.length) throw new DS2Error('DS2_E_INVALID_ARG', 'ids must not be empty');
    return ids;
}

function logits({ ids }) {
    needWeights();
    ids = checkIds(ids);
    const e = state.engine;
    e.truncate(state.session, 0);
    const t0 = performance.now();
    const out = e.eval(state.session, ids, LOGITS.ALL, state.nVocab);
    state.stats.promptTokens += ids.length; state.stats.promptMs += performance.now() - t0;
    return out;
}

/**
 * The generation loop shared by generateTokens / generate / chat: ids as given (no BOS added), greedy when
 * temperature is 0 (first index of the maximum, as the native CLI), else seeded sampling.
 * onToken(id) is called per new id; returning false stops.
 */
async function generateLoop(ids, opts, signal, onToken) {
    needWeights();
    ids = checkIds(ids);
    const e = state.engine;
    const maxTokens = opts.maxTokens ?? 16;
    const temperature = opts.temperature ?? 0;
    const stopIds = new Set(opts.stopAtEos ? [state.info.eos_id] : []);
    for (const s of opts.stop || []) stopIds.add(s);
    if (ids.length + maxTokens > e.nCtx(state.session))
        throw new DS2Error('DS2_E_CONTEXT_FULL', `${ids.length} prompt + ${maxTokens} new tokens exceed the context of ${e.nCtx(state.session)}`);
    const out = [];
    // greedy: the first index of the maximum, as the native CLI; otherwise the C sampler chain (top-k/p,
    // min-p, repetition penalty), seeded, so the same seed gives the same ids on every build
    const sampler = temperature > 0 ? e.samplerCreate(state.nVocab, { ...opts, temperature }) : 0;
    const pick = (pending) => (sampler ? e.evalSample(state.session, pending, sampler, state.nVocab)
        : e.evalArgmax(state.session, pending, state.nVocab));
    let t0 = performance.now();
    try {
        // Every call starts from an empty cache: reusing a cached prefix would run its tail one token at a
        // time, and for legacy (attn_kv_b) files batched prefill and single-token decode take different
        // (equally valid) attention paths, so the same ids would not always give the same answer.
        e.truncate(state.session, 0);
        let next = pick(ids);
        state.stats.promptTokens += ids.length; state.stats.promptMs += performance.now() - t0;
        t0 = performance.now();
        while (out.length < maxTokens) {
            out.push(next);
            if (stopIds.has(next) || onToken(next) === false || out.length === maxTokens) break;
            await tick(); // an abort posted meanwhile is handled here: cancel within one token
            if (signal.aborted) break;
            next = pick([next]);
        }
    } finally {
        e.samplerFree(sampler);
        state.stats.genTokens += out.length; state.stats.genMs += performance.now() - t0;
    }
    return out;
}

async function generateTokens({ ids, options = {}, stream = false }, signal, id) {
    return generateLoop(ids, options, signal, (tok) => { if (stream) post({ id, type: TYPE.PIECE, text: '', token: tok }); });
}

async function generateText(promptIds, options, signal, id) {
    const e = state.engine;
    const d = e.detokenizerCreate(state.model);
    let text = '';
    try {
        const ids = await generateLoop(promptIds, { stopAtEos: true, ...options }, signal, (tok) => {
            const piece = e.detokenizerPush(d, tok);
            if (piece) { text += piece; post({ id, type: TYPE.PIECE, text: piece, token: tok }); }
            return true;
        });
        const tail = e.detokenizerFlush(d);
        if (tail) { text += tail; post({ id, type: TYPE.PIECE, text: tail, token: -1 }); }
        return { text, tokens: ids, aborted: signal.aborted };
    } finally {
        e.detokenizerFree(d);
    }
}

async function generate({ prompt, options = {} }, signal, id) {
    needModel();
    const ids = state.engine.tokenize(state.model, prompt, options.addBos ?? true, options.parseSpecial ?? false);
    return generateText(ids, options, signal, id);
}

async function chat({ messages, options = {} }, signal, id) {
    needModel();
    const text = state.engine.chatRender(state.model, messages, true);
    // the rendered text never starts with BOS: tokenize adds it when the model asks (no doubled BOS)
    const ids = state.engine.tokenize(state.model, text, true, true);
    return generateText(ids, options, signal, id);
}

function stats() {
    const s = state.stats, e = state.engine;
    return {
        ...s,
        promptTokensPerSecond: s.promptMs ? (s.promptTokens / s.promptMs) * 1000 : 0,
        genTokensPerSecond: s.genMs ? (s.genTokens / s.genMs) * 1000 : 0,
        heapBytes: e ? e.heapBytes() : 0,
        heapUsed: e ? e.heapUsed() : 0,
        weightBytes: state.info ? state.info.weight_bytes : 0,
        build: state.build && state.build.build,
    };
}

const handlers = {
    [OP.LOAD]: load,
    [OP.UNLOAD]: () => { freeModel(); return null; },
    [OP.INFO]: () => { needModel(); return infoResult(); },
    [OP.STATS]: () => stats(),
    [OP.HEAP]: async (args) => {
        const e = await ensureEngine(args || {});
        return { heapBytes: e.heapBytes(), heapUsed: e.heapUsed(), build: state.build.build, reason: state.build.reason };
    },
    [OP.TOKENIZE]: ({ text, addBos = true, parseSpecial = false }) => {
        needModel();
        return state.engine.tokenize(state.model, text, addBos, parseSpecial);
    },
    [OP.DETOKENIZE]: ({ ids }) => {
        needModel();
        const e = state.engine;
        const d = e.detokenizerCreate(state.model);
        try {
            let s = '';
            for (const t of ids) s += e.detokenizerPush(d, t);
            return s + e.detokenizerFlush(d);
        } finally { e.detokenizerFree(d); }
    },
    [OP.LOGITS]: logits,
    [OP.GENERATE_TOKENS]: generateTokens,
    [OP.GENERATE]: generate,
    [OP.CHAT]: chat,
};

// ---- dispatch -------------------------------------------------------------------------------------------
let queue = Promise.resolve();

function receive(msg) {
    if (!msg || typeof msg !== 'object') return;
    if (msg.op === OP.ABORT) {
        const c = running.get(msg.target);
        if (c) c.abort();
        return;
    }
    if (msg.op === OP.EXIT) { freeModel(); state.engine && state.engine.dispose(); if (nodeExit) nodeExit(); else self.close(); return; }
    const ctl = new AbortController();
    running.set(msg.id, ctl);
    queue = queue.then(() => run(msg, ctl));
}

async function run(msg, ctl) {
    const h = handlers[msg.op];
    try {
        if (!h) throw new DS2Error('DS2_E_INVALID_ARG', `unknown operation ${msg.op}`);
        if (ctl.signal.aborted) throw new DS2Error('DS2_E_CANCELLED', `${msg.op} cancelled`);
        const result = await h(msg.args || {}, ctl.signal, msg.id);
        const transfer = result instanceof Float32Array ? [result.buffer] : [];
        post({ id: msg.id, type: TYPE.RESULT, result }, transfer);
    } catch (e) {
        post({ id: msg.id, type: TYPE.ERROR, error: errorToWire(e) });
    } finally {
        running.delete(msg.id);
    }
}

post({ type: TYPE.READY });
