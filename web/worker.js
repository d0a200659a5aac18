// worker.js — the engine's thread: a Web Worker (module) in browsers, a worker_threads Worker in Node.
//
// Owns the one engine instance, the loaded model and its session. Requests (wasm/protocol.js) run one at a
// time in arrival order; only 'abort' and 'ack' are handled at once. Long work yields to the event loop between
// chunks and between tokens so an abort is seen within one chunk / one token; a streamed generation also waits
// for the caller's acks (OP.ACK) so it is never more than one token ahead of the caller, and an abort made upon
// token k ends it after token k + 1 at the latest, however fast tokens are. Every request ends with exactly one
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
// Long work without awaits (a load from memory, a non-streamed generation) ticks at least this often.
const TICK_EVERY_MS = 30;

// ---- state ----------------------------------------------------------------------------------------------
const state = {
    engine: null,
    build: null,      // { build, file, threads, reason, features }
    model: 0,
    session: 0,
    info: null,
    nVocab: 0,
    cached: [],       // the ids in the session's cache, position by position (null: unknown → truncate to 0)
    chat: null,       // the last chat conversation as ids: { messages (with the reply), ids }
    stats: { loadMs: 0, loadBytes: 0, promptTokens: 0, promptMs: 0, genTokens: 0, genMs: 0 },
};
const running = new Map(); // request id → { ctl: AbortController, acked, paced, wake }

async function ensureEngine(opts = {}) {
    if (state.engine) return state.engine;
    const choice = pickBuild({ prefer: opts.build });
    // a directory given without its trailing slash still names the directory, not a file beside it
    const wd = opts.wasmDir && !String(opts.wasmDir).endsWith('/') ? `${opts.wasmDir}/` : opts.wasmDir;
    const dir = wd ? new URL(wd, import.meta.url) : new URL('../wasm/dist/', import.meta.url);
    // the best build first; without an explicit choice, a build that is not shipped falls back to the next
    const order = ['relaxed-mt', 'simd-mt', 'simd', 'nosimd'];
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
    state.session = 0; state.model = 0; state.info = null; state.nVocab = 0; state.cached = []; state.chat = null;
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
        onProgress: (p) => post({ id, type: TYPE.PROGRESS, ...p }),
    });
    let loader;
    try {
        loader = stream.createLoader(e, !!options.allowVocabOnly); // a split loader for gguf-split shards
    } catch (err) {
        await stream.chunks.return(); // close the requests / files already opened
        throw err;
    }
    let model = 0;
    try {
        let last = Date.now();
        for await (const chunk of stream.chunks) {
            stream.feed(chunk);
            if (Date.now() - last > TICK_EVERY_MS) { // let an abort through (in-memory sources never wait otherwise)
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
            kvType: options.kvType || 'f16', attn: options.attn || 'auto',
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
        samplerDefaults: state.engine && state.engine.has('ds2w_sampler_defaults') ? state.engine.samplerDefaults() : null,
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
    setCache(0);
    const t0 = performance.now();
    state.cached = null; // unknown if eval fails halfway
    const out = e.eval(state.session, ids, LOGITS.ALL, state.nVocab);
    state.cached = ids.slice();
    state.stats.promptTokens += ids.length; state.stats.promptMs += performance.now() - t0;
    return out;
}

/** Truncates the session's cache to its first n ids (state.cached mirrors what the cache holds). */
function setCache(n) {
    const have = state.cached ? state.cached.length : 0;
    if (!state.cached || n < have || n === 0) state.engine.truncate(state.session, Math.min(n, have));
    state.cached = state.cached ? state.cached.slice(0, Math.min(n, have)) : [];
}

/** Splits options.stop into token ids (numbers) and stop strings (non-empty, as ds2_generate wants them). */
function splitStops(stop) {
    const ids = [], strings = [];
    for (const [i, s] of (stop == null ? [] : Array.isArray(stop) ? stop : [stop]).entries()) {
        if (typeof s === 'number' && Number.isInteger(s)) ids.push(s);
        else if (typeof s === 'string' && s.length) strings.push(s);
        else throw new DS2Error('DS2_E_INVALID_ARG', `stop ${i} must be a token id or a non-empty string, not ${JSON.stringify(s)}`);
    }
    return { ids, strings };
}

// Stop strings as ds2_generate matches them (src/generate.c ds2_stop_find / ds2_stop_partial): the earliest
// match in the text not yet emitted (the longest stop string at that index); otherwise the longest end of the
// text that is a proper prefix of a stop string is held back until the next token decides. The text holds
// whole characters only (the detokenizer's pieces), so matching UTF-16 units matches the C's UTF-8 bytes.
function findStop(text, stops) {
    let at = -1;
    for (const s of stops) {
        const i = text.indexOf(s);
        if (i >= 0 && (at < 0 || i < at)) at = i;
    }
    return at;
}
function heldBack(text, stops) {
    let hold = 0;
    for (const s of stops)
        for (let m = Math.min(s.length - 1, text.length); m > hold; m--)
            if (text.endsWith(s.slice(0, m))) { hold = m; break; }
    return hold;
}

/**
 * The generation loop shared by generateTokens / generate / chat: ids as given (no BOS added), greedy when
 * temperature is 0 (first index of the maximum, as the native CLI), else the C sampler.
 * onToken(id) is called per new id; returning false stops. `run.pace(n)` (streamed calls) resolves when the
 * caller has taken n − 1 of the n tokens delivered: the worker never computes more than one token beyond the
 * one the caller holds, so an abort made upon receiving token k ends the call after token k + 1 at the latest.
 * `run.reuse`: keep the cached common prefix of `ids` and evaluate only the rest (chat); otherwise every call
 * starts from an empty cache (same ids → same answer: for legacy attn_kv_b files batched prefill and single-token
 * decode take different, equally valid, attention paths). `run.info` receives per-call counts.
 */
async function generateLoop(ids, opts, signal, onToken, run = {}) {
    needWeights();
    ids = checkIds(ids);
    const e = state.engine;
    const maxTokens = opts.maxTokens ?? 16;
    const temperature = opts.temperature ?? 0;
    const stopIds = new Set(opts.stopAtEos ? [state.info.eos_id] : []);
    for (const s of splitStops(opts.stop).ids) stopIds.add(s);
    if (ids.length + maxTokens > e.nCtx(state.session))
        throw new DS2Error('DS2_E_CONTEXT_FULL', `${ids.length} prompt + ${maxTokens} new tokens exceed the context of ${e.nCtx(state.session)}`);
    let keep = 0;
    if (run.reuse && state.cached) while (keep < state.cached.length && keep < ids.length - 1 && state.cached[keep] === ids[keep]) keep++;
    const out = [];
    // greedy: the first index of the maximum, as the native CLI; otherwise the C sampler chain (top-k/p,
    // min-p, penalties), seeded, so the same seed gives the same ids on every build. Options left out take
    // the C defaults (engine.samplerDefaults); temperature's default here is 0 (greedy).
    // penalties apply to greedy picks too (the C sampler at temperature 0: argmax after them)
    const penalised = (opts.repeatPenalty ?? 1) !== 1 || (opts.presencePenalty ?? 0) !== 0 || (opts.frequencyPenalty ?? 0) !== 0;
    const sampler = temperature > 0 || penalised ? e.samplerCreate(state.nVocab, { ...opts, temperature }) : 0;
    const pick = (pending) => {
        const cached = state.cached;
        state.cached = null; // unknown until the eval succeeds
        const id = sampler ? e.evalSample(state.session, pending, sampler, state.nVocab)
            : e.evalArgmax(state.session, pending, state.nVocab);
        for (const t of pending) cached.push(t);
        state.cached = cached;
        return id;
    };
    let t0 = performance.now(), lastTick = t0;
    const info = run.info || {};
    info.cachedTokens = keep;
    info.promptTokens = ids.length - keep;
    try {
        setCache(keep);
        // as ds2_generate: the prompt ids enter the penalty window — all of them, cached or not, so the answer
        // does not depend on what the cache held
        if (sampler) for (const t of ids) e.samplerAccept(sampler, t);
        let next = pick(ids.slice(keep));
        state.stats.promptTokens += ids.length - keep; state.stats.promptMs += performance.now() - t0;
        t0 = performance.now();
        while (out.length < maxTokens) {
            out.push(next);
            if (stopIds.has(next) || onToken(next) === false || out.length === maxTokens) break;
            // an abort posted meanwhile is handled at a tick: after every token of a streamed call (its caller may
            // abort upon any token), else every TICK_EVERY_MS — a browser's tick costs ~0.2 ms, 1% of a 2-thread
            // token of the 300 MB bench model and far more of a small model's
            if (run.pace || performance.now() - lastTick >= TICK_EVERY_MS) {
                await tick();
                lastTick = performance.now();
            }
            if (signal.aborted) break;
            if (run.pace) { // token out.length + 1 starts once the caller has taken all but the newest one
                await run.pace(out.length);
                if (signal.aborted) break;
            }
            next = pick([next]);
        }
    } finally {
        e.samplerFree(sampler);
        state.stats.genTokens += out.length; state.stats.genMs += performance.now() - t0;
    }
    return out;
}

async function generateTokens({ ids, options = {}, stream = false }, signal, id, req) {
    if (splitStops(options.stop).strings.length)
        throw new DS2Error('DS2_E_INVALID_ARG', 'stop strings apply to text (generate / chat); generateTokens takes stop ids');
    return generateLoop(ids, options, signal, (tok) => { if (stream) post({ id, type: TYPE.PIECE, text: '', token: tok }); },
        { pace: stream ? req.pace : null });
}

/**
 * Text generation: one 'piece' message per token (its text may be empty: held back for an unfinished
 * character or a possible stop string), then the held text (token -1). Stop strings as ds2_generate: the text
 * before the stop string is emitted, the stop string and anything after it are not.
 */
async function generateText(promptIds, options, signal, id, req, reuse = false) {
    const e = state.engine;
    const stops = splitStops(options.stop).strings;
    const d = e.detokenizerCreate(state.model);
    let text = '', pending = '', stopped = null;
    const info = {};
    const emit = (piece, tok) => {
        text += piece;
        post({ id, type: TYPE.PIECE, text: piece, token: tok });
    };
    try {
        const ids = await generateLoop(promptIds, { stopAtEos: true, ...options }, signal, (tok) => {
            pending += e.detokenizerPush(d, tok);
            const at = findStop(pending, stops);
            const n = at >= 0 ? at : pending.length - heldBack(pending, stops);
            emit(pending.slice(0, n), tok);
            pending = pending.slice(n);
            if (at >= 0) { stopped = 'stop'; return false; }
            return true;
        }, { pace: req.pace, reuse, info });
        if (!stopped) {
            pending += e.detokenizerFlush(d);
            const at = findStop(pending, stops);
            if (at >= 0) stopped = 'stop';
            const tail = at >= 0 ? pending.slice(0, at) : pending;
            if (tail) emit(tail, -1);
        }
        const last = ids[ids.length - 1];
        const reason = signal.aborted ? 'cancelled' : stopped ? 'stop'
            : (options.stopAtEos ?? true) && last === state.info.eos_id ? 'eos'
                : splitStops(options.stop).ids.includes(last) ? 'stop-id' : 'max-tokens';
        return { text, tokens: ids, aborted: signal.aborted, stopReason: reason, promptTokens: info.promptTokens, cachedTokens: info.cachedTokens };
    } finally {
        e.detokenizerFree(d);
    }
}

async function generate({ prompt, options = {} }, signal, id, req) {
    needModel();
    const ids = state.engine.tokenize(state.model, prompt, options.addBos ?? true, options.parseSpecial ?? false);
    return generateText(ids, options, signal, id, req);
}

// ---- chat: the conversation as ids, as the C chat keeps it (src/cli/cmd_run.c) ------------------------------
// A reply stays as the ids the model generated (+ EOS, which the template closes every reply with), and each
// message adds the ids of the text it adds to the rendering; a call whose messages extend the previous call's
// conversation by its reply evaluates only the new ids (the rest is in the cache).

function checkMessages(messages) {
    if (!Array.isArray(messages)) throw new DS2Error('DS2_E_INVALID_ARG', 'chat messages must be an array');
    for (const m of messages)
        if (!m || typeof m.role !== 'string' || typeof m.content !== 'string')
            throw new DS2Error('DS2_E_INVALID_ARG', 'chat messages must be {role: string, content: string}');
}

/** Ids of what messages[from..] add to the rendering of messages[0..from) (BOS first when from is 0). */
function deltaIds(messages, from, prefix) {
    const e = state.engine, m = state.model;
    const ids = prefix.slice();
    let before = from ? e.chatRender(m, messages.slice(0, from), false) : '';
    for (let i = from; i < messages.length; i++) {
        const after = e.chatRender(m, messages.slice(0, i + 1), i === messages.length - 1);
        // DeepSeek-V2/V3 renderings grow by appending; anything else is tokenized whole
        if (!after.startsWith(before)) return e.tokenize(m, e.chatRender(m, messages, true), true, true);
        // the rendered text never starts with BOS: tokenize adds it when the model asks (no doubled BOS)
        ids.push(...e.tokenize(m, after.slice(before.length), ids.length === 0, true));
        before = after;
    }
    return ids;
}

function chatIds(messages) {
    const prev = state.chat;
    const same = (a, b) => a.role === b.role && (a.content === b.content
        || (a.role === 'assistant' && a.content.trim() === b.content.trim())); // V2's "Assistant: " space
    if (prev && messages.length > prev.messages.length && prev.messages.every((m, i) => same(m, messages[i])))
        return deltaIds(messages, prev.messages.length, prev.ids);
    return deltaIds(messages, 0, []);
}

async function chat({ messages, options = {} }, signal, id, req) {
    needModel();
    checkMessages(messages);
    const ids = chatIds(messages);
    state.chat = null;
    const r = await generateText(ids, options, signal, id, req, options.cache ?? true);
    // the reply as ids for the next turn, closed by EOS as the template closes it; after a stop string the
    // ids ran past the text, so the next turn tokenizes the reply as text instead
    const eos = state.info.eos_id;
    if (r.stopReason !== 'stop' && r.stopReason !== 'stop-id') {
        const gen = r.tokens[r.tokens.length - 1] === eos ? r.tokens.slice(0, -1) : r.tokens;
        state.chat = { messages: [...messages, { role: 'assistant', content: r.text }], ids: ids.concat(gen, eos >= 0 ? [eos] : []) };
    }
    return r;
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
    if (msg.op === OP.ABORT || msg.op === OP.ACK) {
        const r = running.get(msg.target);
        if (!r) return;
        if (msg.op === OP.ABORT) r.ctl.abort();
        else r.acked = Math.max(r.acked, Number(msg.n) || 0);
        r.wake();
        return;
    }
    if (msg.op === OP.EXIT) { freeModel(); state.engine && state.engine.dispose(); if (nodeExit) nodeExit(); else self.close(); return; }
    // a stream waiting for its consumer never blocks later calls: they end its pacing (it runs on unpaced)
    for (const r of running.values()) { r.paced = false; r.wake(); }
    const req = { ctl: new AbortController(), acked: 0, paced: true, wake: () => {} };
    // resolves once the caller has taken n - 1 tokens (or the call is aborted / no longer paced)
    req.pace = async (n) => {
        while (req.paced && req.acked < n - 1 && !req.ctl.signal.aborted) await new Promise((r) => { req.wake = r; });
        req.wake = () => {};
    };
    running.set(msg.id, req);
    queue = queue.then(() => run(msg, req));
}

async function run(msg, req) {
    const h = handlers[msg.op];
    const ctl = req.ctl;
    try {
        if (!h) throw new DS2Error('DS2_E_INVALID_ARG', `unknown operation ${msg.op}`);
        if (ctl.signal.aborted) throw new DS2Error('DS2_E_CANCELLED', `${msg.op} cancelled`);
        const result = await h(msg.args || {}, ctl.signal, msg.id, req);
        const transfer = result instanceof Float32Array ? [result.buffer] : [];
        post({ id: msg.id, type: TYPE.RESULT, result }, transfer);
    } catch (e) {
        post({ id: msg.id, type: TYPE.ERROR, error: errorToWire(e) });
    } finally {
        running.delete(msg.id);
    }
}

post({ type: TYPE.READY });
