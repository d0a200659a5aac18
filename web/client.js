// client.js — the main-thread API: a model object backed by a worker that runs the engine.
//
//   import { loadModel } from 'deepseek2-wasm';            // browser build of the package
//   const model = await loadModel('/models/x.gguf', { onProgress, signal });
//   for await (const piece of model.generate('Once upon', { maxTokens: 32 })) out.textContent += piece;
//
// The same Model class serves Node (wasm/node.js gives it a worker_threads transport). Every failure reaches
// the caller as an Error whose `code` is the C status name and whose `message` is the C message; a worker that
// dies rejects everything pending with DS2_E_WORKER, so no call waits forever.

import { OP, TYPE, DS2Error, errorFromWire } from '../wasm/protocol.js';

export { DS2Error };

/**
 * @typedef {object} Transport
 * @property {(msg: object, transfer?: Transferable[]) => void} post
 * @property {(fn: (msg: object) => void) => void} onMessage
 * @property {(fn: (err: Error) => void) => void} onFailure   worker crashed / could not start / exited
 * @property {() => void} terminate
 * @property {(busy: boolean) => void} [busy]                 Node: keep the process alive only while busy
 */

export class Model {
    /** @param {Transport} transport */
    constructor(transport) {
        this._t = transport;
        this._next = 1;
        this._pending = new Map();
        this._dead = null;
        this._info = null;
        transport.onMessage((m) => this._receive(m));
        transport.onFailure((err) => this._fail(err));
    }

    _fail(err) {
        if (this._dead) return;
        this._dead = new DS2Error('DS2_E_WORKER', `the engine worker stopped: ${err && err.message ? err.message : err}`);
        for (const p of this._pending.values()) p.reject(this._dead);
        this._pending.clear();
        this._busy();
    }

    _busy() { if (this._t.busy) this._t.busy(this._pending.size > 0); }

    _receive(m) {
        if (!m || m.type === TYPE.READY) return;
        const p = this._pending.get(m.id);
        if (!p) return;
        if (m.type === TYPE.RESULT) { this._pending.delete(m.id); this._busy(); p.resolve(m.result); }
        else if (m.type === TYPE.ERROR) { this._pending.delete(m.id); this._busy(); p.reject(errorFromWire(m.error)); }
        else if (p.onEvent) p.onEvent(m);
    }

    /** One request → one promise; `signal` sends an abort to the worker, which then ends the request. */
    _call(op, args, { signal, onEvent, transfer, onStart } = {}) {
        if (this._dead) return Promise.reject(this._dead);
        if (signal && signal.aborted) return Promise.reject(new DS2Error('DS2_E_CANCELLED', `${op} cancelled`));
        const id = this._next++;
        if (onStart) onStart(id);
        return new Promise((resolve, reject) => {
            let off = () => {};
            if (signal) {
                const onAbort = () => this._t.post({ op: OP.ABORT, target: id });
                signal.addEventListener('abort', onAbort, { once: true });
                off = () => signal.removeEventListener('abort', onAbort);
            }
            this._pending.set(id, {
                resolve: (v) => { off(); resolve(v); },
                reject: (e) => { off(); reject(e); },
                onEvent,
                id,
            });
            this._busy();
            try {
                this._t.post({ id, op, args }, transfer);
            } catch (e) {
                this._pending.delete(id);
                this._busy();
                off();
                reject(new DS2Error('DS2_E_INVALID_ARG', `cannot send ${op} to the worker: ${e.message}`));
            }
        });
    }

    /**
     * Loads a model (replacing any loaded one).
     * @param source URL / URL string, array of shard URLs, File/Blob, ArrayBuffer or typed array
     * @param {{onProgress?: (p: {loaded: number, total: number|null, rate: number}) => void, signal?: AbortSignal,
     *          transfer?: boolean, build?: string, wasmDir?: string, nCtx?: number, threads?: number}} [options]
     *        wasmDir: the directory of the ds2-*.mjs/.wasm files (default wasm/dist/): a URL, relative ones resolved
     *        against web/worker.js, or in Node an absolute path
     */
    async load(source, options = {}) {
        const { onProgress, signal, transfer, ...rest } = options;
        if (typeof URL !== 'undefined' && source instanceof URL) source = source.href;
        const xfer = transfer && source instanceof ArrayBuffer ? [source] : undefined;
        this._info = await this._call(OP.LOAD, { source, options: rest }, {
            signal, transfer: xfer,
            onEvent: (m) => { if (m.type === TYPE.PROGRESS && onProgress) onProgress({ loaded: m.loaded, total: m.total, rate: m.rate }); },
        });
        return this._info;
    }

    /** Model card, the build in use and why it was picked. */
    info() { return this._call(OP.INFO); }
    /** Prompt / generation tokens per second, memory in use. */
    stats() { return this._call(OP.STATS); }
    /** Engine heap: { heapBytes (linear memory), heapUsed (malloc'd), build, reason }. */
    heap(options = {}) { return this._call(OP.HEAP, options); }
    /** Frees the model and its session (the worker and its engine stay for the next load). */
    unload() { this._info = null; return this._call(OP.UNLOAD); }

    tokenize(text, { addBos = true, parseSpecial = false } = {}) { return this._call(OP.TOKENIZE, { text, addBos, parseSpecial }); }
    detokenize(ids) { return this._call(OP.DETOKENIZE, { ids: Array.from(ids) }); }

    /** Logits of every position: Float32Array of ids.length × n_vocab (row-major). */
    logits(ids, { signal } = {}) { return this._call(OP.LOGITS, { ids: Array.from(ids) }, { signal }); }

    /** Tells the worker the caller has taken n tokens of request id (see OP.ACK: at most one token ahead). */
    _ack(id, n) {
        if (!this._dead && this._pending.has(id)) this._t.post({ op: OP.ACK, target: id, n });
    }

    /** Continuation ids (ids used as given, no BOS added). temperature 0 = greedy. `onToken(id)` sees each
     *  id as it is generated; the worker stays at most one token ahead of it, so aborting `signal` from
     *  onToken(k-th id) returns at most k + 1 ids (the ids so far are returned). */
    generateTokens(ids, { signal, onToken, ...options } = {}) {
        let id = 0, taken = 0;
        return this._call(OP.GENERATE_TOKENS, { ids: Array.from(ids), options, stream: !!onToken }, {
            signal,
            onStart: (i) => { id = i; },
            onEvent: (m) => {
                if (m.type !== TYPE.PIECE || !onToken) return;
                try { onToken(m.token); } finally { this._ack(id, ++taken); } // an abort inside goes out first
            },
        });
    }

    /** Text pieces as they are generated (async iterator); breaking out of the loop cancels. The worker stays
     *  at most one token ahead of the loop: an abort upon a piece ends generation within one more token.
     *  options.stop: strings (the text before one is emitted, not the string) and/or token ids. */
    generate(prompt, options = {}) { return this._stream(OP.GENERATE, { prompt }, options); }
    /** Same for a conversation [{role: 'system'|'user'|'assistant', content}] through the model's template.
     *  A call that extends the previous call's conversation (its messages + the reply + new messages) reuses
     *  the cache and evaluates only the new tokens (result.promptTokens; result.cachedTokens were reused). */
    chat(messages, options = {}) { return this._stream(OP.CHAT, { messages }, options); }

    _stream(op, args, { signal, ...options }) {
        // queue: one {text, token} per generated token (text may be empty) + the held-back tail (token -1)
        const queue = [];
        let waiter = null, finished = false, failure = null, id = 0;
        let taken = 0, acked = 0, holding = false, paced = true;
        const ctl = new AbortController();
        if (signal) {
            if (signal.aborted) ctl.abort();
            else signal.addEventListener('abort', () => ctl.abort(), { once: true });
        }
        const wake = () => { if (waiter) { const w = waiter; waiter = null; w(); } };
        const ack = () => { if (paced && taken > acked) { acked = taken; this._ack(id, taken); } };
        const done = this._call(op, { ...args, options }, {
            signal: ctl.signal,
            onStart: (i) => { id = i; },
            onEvent: (m) => { if (m.type === TYPE.PIECE) { queue.push(m); wake(); } },
        });
        done.then(() => { finished = true; wake(); }, (e) => { failure = e; finished = true; wake(); });
        const it = {
            /** Ids behind the pieces taken so far (the one just returned included). */
            tokenCount: 0,
            /** Resolves to {text, tokens, aborted, stopReason, promptTokens, cachedTokens} when generation ends.
             *  Asking for it before the loop is done lets generation run ahead of the loop (no pacing). */
            get result() {
                if (!finished && paced) { paced = false; releasePacing(); }
                return done;
            },
            async next() {
                if (holding) { taken++; holding = false; } // the caller is done with the piece it had
                for (;;) {
                    while (queue.length) {
                        const m = queue.shift();
                        if (m.token >= 0 && !m.text) { taken++; continue; } // nothing to show: taken at once
                        if (!m.text) continue;
                        if (m.token >= 0) holding = true;
                        it.tokenCount = taken + (holding ? 1 : 0);
                        ack();
                        return { done: false, value: m.text };
                    }
                    ack();
                    if (failure) throw failure;
                    if (finished) return { done: true, value: undefined };
                    await new Promise((r) => { waiter = r; });
                }
            },
            async return() {
                if (!finished) ctl.abort();
                await done.catch(() => {});
                return { done: true, value: undefined };
            },
            [Symbol.asyncIterator]() { return it; },
        };
        const releasePacing = () => this._ack(id, Number.MAX_SAFE_INTEGER);
        done.catch(() => {}); // consumed through next(); avoid an unhandled rejection when not iterated
        return it;
    }

    /** Stops the worker (and frees everything in it). */
    terminate() {
        this._fail(new Error('terminated'));
        this._t.terminate();
    }
}

/** A Transport over a browser Web Worker. */
export function webWorkerTransport(worker) {
    return {
        post: (m, transfer) => worker.postMessage(m, transfer || []),
        onMessage: (fn) => worker.addEventListener('message', (e) => fn(e.data)),
        onFailure: (fn) => {
            worker.addEventListener('error', (e) => { e.preventDefault && e.preventDefault(); fn(new Error(e.message || 'worker error (failed to start?)')); });
            worker.addEventListener('messageerror', () => fn(new Error('a message could not be deserialized')));
        },
        terminate: () => worker.terminate(),
    };
}

/** A new worker + Model, no model loaded yet. */
export function createModel({ workerUrl } = {}) {
    const url = workerUrl || new URL('./worker.js', import.meta.url);
    return new Model(webWorkerTransport(new Worker(url, { type: 'module' })));
}

/** Starts a worker and loads `source` into it. */
export async function loadModel(source, options = {}) {
    const model = createModel(options);
    try {
        await model.load(source, options);
    } catch (e) {
        model.terminate();
        throw e;
    }
    return model;
}

export { pickBuild, detectFeatures } from './features.js';
