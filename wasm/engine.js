// engine.js — the only JavaScript that touches the WebAssembly heap.
//
// Wraps one instance of an Emscripten build of the engine (wasm/api.c, handle-based exports `ds2w_*`) in
// plain JS calls: bytes in, handles and typed arrays out. Everything above this file (worker, loaders,
// clients) sees only this API, so the JS side of wasm/api.c's ABI is written down in this file alone.
//
// Memory rules:
// - a chunk fed to the loader is copied once, from the network chunk into a reusable staging buffer in the
//   heap (the C reader then places tensor bytes straight into the weights arena); nothing else is copied.
// - heap views are re-read after every call that can grow memory (growth replaces the ArrayBuffer; with
//   pthreads another thread may have grown it: post.js's ds2Views() re-takes them).
// - every failing C call is turned into a DS2Error whose code is the C status name and whose message is the
//   C message: one ds2_error object (ds2w_error_new) is passed to every fallible export and read back with
//   ds2w_error_name / ds2w_error_message.
// - 64-bit sizes go in as two uint32 halves and come out as doubles (Emscripten 3.1.6 has no BigInt ABI).

import { DS2Error } from './protocol.js';

const STAGING_MAX = 1 << 20; // feed at most 1 MiB per C call: bounds the staging copy, not the chunking

export const LOGITS = Object.freeze({ NONE: 0, LAST: 1, ALL: 2 });

export class Engine {
    /**
     * @param {Function} factory the MODULARIZE'd Emscripten factory (default export of a ds2-*.mjs build)
     * @param {object} [moduleArg] extra Module fields (locateFile, mainScriptUrlOrBlob, print…)
     */
    static async instantiate(factory, moduleArg = {}) {
        const M = await factory({ print: () => {}, printErr: () => {}, ...moduleArg });
        return new Engine(M);
    }

    constructor(M) {
        this.M = M;
        this._staging = 0;
        this._stagingSize = 0;
        this.has = (name) => typeof M['_' + name] === 'function';
        for (const f of ['ds2w_error_new', 'ds2w_loader_create', 'ds2w_loader_feed', 'ds2w_loader_finish',
                         'ds2w_session_create', 'ds2w_session_eval', 'malloc', 'free'])
            if (!this.has(f)) throw new DS2Error('DS2_E_WORKER', `the wasm build does not export ${f}`);
        // one error object for every call (api.c fills it on failure; calls are never concurrent here)
        this.err = M._ds2w_error_new();
        if (!this.err) throw new DS2Error('DS2_E_NOMEM', 'out of memory allocating the error object');
        this.features = this.has('ds2w_build_features') ? this._cstring(M._ds2w_build_features()) : 'unknown';
    }

    /** Ends the module's pthread workers (so Node can exit); the instance is unusable afterwards. */
    dispose() {
        if (typeof this.M.ds2Terminate === 'function') this.M.ds2Terminate();
    }

    // ---- heap access --------------------------------------------------------------------------------------

    /** Current heap views (post.js's ds2Views re-takes them after growth, also from another thread). */
    views() {
        if (typeof this.M.ds2Views === 'function') return this.M.ds2Views();
        return { u8: this.M.HEAPU8, i32: this.M.HEAP32, f32: this.M.HEAPF32 };
    }
    u8() { return this.views().u8; }
    /** Bytes of linear memory (grows, never shrinks). */
    heapBytes() { return this.has('ds2w_heap_size') ? this.M._ds2w_heap_size() : this.u8().byteLength; }
    /** Bytes malloc'd and not freed (mallinfo): the measure for "an aborted load frees memory". */
    heapUsed() { return this.has('ds2w_heap_used') ? this.M._ds2w_heap_used() : -1; }

    // Pointers come back from wasm as signed i32: above 2 GiB of heap they are negative in JS, so every
    // pointer JS indexes the heap with is taken unsigned (>>> 0) and divided with >>> (never >>).
    _malloc(n) {
        const p = this.M._malloc(Math.max(1, n)) >>> 0;
        if (!p) throw new DS2Error('DS2_E_NOMEM', `out of memory allocating ${n} bytes in the wasm heap`);
        return p;
    }
    _free(p) { if (p) this.M._free(p); }

    _cstring(ptr) {
        ptr >>>= 0;
        if (!ptr) return '';
        const u8 = this.u8();
        let end = ptr;
        while (u8[end] !== 0) end++;
        // slice: TextDecoder refuses views of a SharedArrayBuffer
        return new TextDecoder().decode(u8.slice(ptr, end));
    }

    /** Throws the C error (status name + message) if `status` is not DS2_OK (0). */
    _check(status) {
        if (status !== 0) throw this.lastError();
    }
    lastError() {
        const M = this.M;
        const code = this._cstring(M._ds2w_error_name(this.err)) || 'DS2_E_INTERNAL';
        const msg = this._cstring(M._ds2w_error_message(this.err));
        return new DS2Error(code, msg || code);
    }

    // ---- loading ------------------------------------------------------------------------------------------

    /** @param {number} totalBytes size of the whole file if known, else 0 */
    loaderCreate(totalBytes = 0, allowVocabOnly = false) {
        totalBytes = totalBytes || 0;
        const lo = totalBytes % 4294967296, hi = Math.floor(totalBytes / 4294967296);
        const h = this.M._ds2w_loader_create(lo >>> 0, hi >>> 0, allowVocabOnly ? 1 : 0, this.err);
        if (!h) throw this.lastError();
        return h;
    }

    /** Feeds one chunk (any size; copied into the heap through one reused staging buffer, ≤ 1 MiB a call). */
    loaderFeed(loader, chunk) {
        for (let off = 0; off < chunk.byteLength; off += STAGING_MAX) {
            const part = chunk.subarray(off, Math.min(chunk.byteLength, off + STAGING_MAX));
            if (this._stagingSize < part.byteLength) {
                this.releaseStaging();
                const size = Math.min(STAGING_MAX, Math.max(part.byteLength, 64 * 1024));
                this._staging = this._malloc(size);
                this._stagingSize = size;
            }
            this.u8().set(part, this._staging);
            this._check(this.M._ds2w_loader_feed(loader, this._staging, part.byteLength, this.err));
        }
    }

    loaderBytesFed(loader) { return this.has('ds2w_loader_bytes_fed') ? this.M._ds2w_loader_bytes_fed(loader) : -1; }

    /** Returns a model handle. The loader stays valid either way: free it with loaderFree. */
    loaderFinish(loader) {
        this.releaseStaging();
        const m = this.M._ds2w_loader_finish(loader, this.err);
        if (!m) throw this.lastError();
        return m;
    }

    loaderFree(loader) {
        if (loader) this.M._ds2w_loader_free(loader);
        this.releaseStaging();
    }

    releaseStaging() {
        this._free(this._staging);
        this._staging = 0; this._stagingSize = 0;
    }

    modelFree(model) { if (model) this.M._ds2w_model_free(model); }

    // ---- sessions -----------------------------------------------------------------------------------------

    /** kvType: 'f32' | 'f16' (default f16, as the C library, the CLI and llama.cpp); attn: 'auto' | 'absorbed' | 'naive'; 0 sizes mean the C defaults. */
    sessionCreate(model, { nCtx = 0, nBatch = 0, nThreads = 1, kvType = 'f16', attn = 'auto' } = {}) {
        const kv = { f32: 0, f16: 1 }[kvType], am = { auto: 0, absorbed: 1, naive: 2 }[attn];
        if (kv === undefined || am === undefined)
            throw new DS2Error('DS2_E_INVALID_ARG', `bad session option kvType=${kvType} attn=${attn}`);
        const s = this.M._ds2w_session_create(model, nCtx | 0, nBatch | 0, nThreads | 0, kv, am, this.err);
        if (!s) throw this.lastError();
        return s;
    }
    sessionFree(session) { if (session) this.M._ds2w_session_free(session); }

    nVocab(model) { return this.M._ds2w_model_n_vocab(model); }
    nPast(session) { return this.M._ds2w_session_n_past(session); }
    nCtx(session) { return this.M._ds2w_session_n_ctx(session); }

    truncate(session, n) {
        this._check(this.M._ds2w_session_truncate(session, n | 0, this.err));
    }

    /**
     * Runs `ids` at the session's next positions.
     * @returns {Float32Array|null} NONE: null; LAST: [n_vocab]; ALL: [ids.length × n_vocab] (a copy)
     */
    eval(session, ids, mode, nVocab) {
        const n = ids.length;
        const tp = this._malloc(4 * n);
        const nOut = mode === LOGITS.ALL ? n * nVocab : mode === LOGITS.LAST ? nVocab : 0;
        let lp = 0;
        try {
            lp = nOut ? this._malloc(4 * nOut) : 0;
            this.views().i32.set(ids, tp >>> 2);
            this._check(this.M._ds2w_session_eval(session, tp, n, mode, lp, this.err));
            if (!nOut) return null;
            return this.views().f32.slice(lp >>> 2, (lp >>> 2) + nOut);
        } finally {
            this._free(lp);
            this._free(tp);
        }
    }

    /** Greedy pick of `eval(…, LAST)` without copying the logits out: first index of the maximum. */
    evalArgmax(session, ids, nVocab) {
        const n = ids.length;
        const tp = this._malloc(4 * n), lp = this._malloc(4 * nVocab);
        try {
            this.views().i32.set(ids, tp >>> 2);
            this._check(this.M._ds2w_session_eval(session, tp, n, LOGITS.LAST, lp, this.err));
            return this.M._ds2w_argmax(lp, nVocab);
        } finally {
            this._free(lp);
            this._free(tp);
        }
    }

    // ---- text (issue 3's C API) -------------------------------------------------------------------------
    // Present only in builds whose api.c exports it; the expected ABI is ds2.h's call with the error object
    // last, as for every other export. Without it, text calls fail with DS2_E_NO_TOKENIZER (never faked).

    hasTokenizer() { return this.has('ds2w_tokenize') && this.has('ds2w_detokenizer_create'); }

    _noTokenizer(what) {
        return new DS2Error('DS2_E_NO_TOKENIZER',
            `this wasm build does not export ${what}: text calls are unavailable; use generateTokens()/logits() with token ids`);
    }

    tokenize(model, text, addBos, parseSpecial) {
        if (!this.has('ds2w_tokenize')) throw this._noTokenizer('ds2w_tokenize');
        const bytes = new TextEncoder().encode(text);
        const cap = bytes.length + 8; // byte-level BPE: at most one token per byte, plus BOS
        const tp = this._malloc(bytes.length + 1), op = this._malloc(4 * cap), np = this._malloc(4);
        try {
            this.u8().set(bytes, tp);
            this._check(this.M._ds2w_tokenize(model, tp, bytes.length, addBos ? 1 : 0, parseSpecial ? 1 : 0,
                                              op, cap, np, this.err));
            const { i32 } = this.views();
            return Array.from(i32.subarray(op >>> 2, (op >>> 2) + i32[np >>> 2]));
        } finally {
            this._free(np); this._free(op); this._free(tp);
        }
    }

    detokenizerCreate(model) {
        if (!this.has('ds2w_detokenizer_create')) throw this._noTokenizer('ds2w_detokenizer_create');
        const d = this.M._ds2w_detokenizer_create(model, this.err);
        if (!d) throw this.lastError();
        return d;
    }
    /** Pushes one id; returns the complete UTF-8 text it releases ('' for control tokens / partial chars). */
    detokenizerPush(d, id) {
        return this._detokOut((buf, cap, lp) => this.M._ds2w_detokenizer_push(d, id, buf, cap, lp, this.err));
    }
    detokenizerFlush(d) {
        return this._detokOut((buf, cap, lp) => this.M._ds2w_detokenizer_flush(d, buf, cap, lp, this.err));
    }
    detokenizerFree(d) { if (d) this.M._ds2w_detokenizer_free(d); }
    _detokOut(call) {
        let cap = 256;
        for (;;) {
            const buf = this._malloc(cap), lp = this._malloc(4);
            try {
                const st = call(buf, cap, lp);
                const { u8, i32 } = this.views();
                const len = i32[lp >>> 2] >>> 0;
                if (st !== 0 && len > cap) { cap = len; continue; } // too small: retry with the size asked for
                this._check(st);
                return new TextDecoder().decode(u8.slice(buf, buf + len));
            } finally {
                this._free(lp); this._free(buf);
            }
        }
    }

    /** Chat prompt text from [{role, content}] with the model's built-in template (ds2w_chat_render). */
    chatRender(model, messages, addAssistant) {
        if (!this.has('ds2w_chat_render')) throw this._noTokenizer('ds2w_chat_render');
        // role\0content\0 pairs back to back: the api takes no JSON
        const enc = new TextEncoder();
        const parts = [];
        for (const m of messages) {
            if (!m || typeof m.role !== 'string' || typeof m.content !== 'string')
                throw new DS2Error('DS2_E_INVALID_ARG', 'chat messages must be {role: string, content: string}');
            parts.push(enc.encode(m.role + '\0'), enc.encode(m.content + '\0'));
        }
        const size = parts.reduce((a, p) => a + p.length, 0);
        const pp = this._malloc(size + 1);
        try {
            let o = pp;
            for (const p of parts) { this.u8().set(p, o); o += p.length; }
            const out = this.M._ds2w_chat_render(model, pp, messages.length, addAssistant ? 1 : 0, this.err);
            if (!out) throw this.lastError();
            const text = this._cstring(out);
            this.M._ds2w_free(out);
            return text;
        } finally {
            this._free(pp);
        }
    }

    // ---- sampling (the C sampler: the same seed gives the same ids on every build) ------------------------

    hasSampler() { return this.has('ds2w_sampler_create_v'); }

    /** The C sampler defaults (ds2_sampler_default_params through ds2w_sampler_defaults): the only copy. */
    samplerDefaults() {
        if (!this._samplerDefaults) {
            if (!this.has('ds2w_sampler_defaults')) throw new DS2Error('DS2_E_INVALID_ARG', 'this wasm build does not export ds2w_sampler_defaults');
            const p = this._malloc(8 * 9);
            try {
                this.M._ds2w_sampler_defaults(p);
                const [temperature, topK, topP, minP, repeatPenalty, presencePenalty, frequencyPenalty, penaltyLastN, seed] =
                    new Float64Array(this.u8().slice(p, p + 8 * 9).buffer);
                this._samplerDefaults = Object.freeze({ temperature, topK, topP, minP, repeatPenalty, presencePenalty,
                    frequencyPenalty, penaltyLastN, seed });
            } finally {
                this._free(p);
            }
        }
        return this._samplerDefaults;
    }

    /** A C sampler; options left out (or undefined) take the C defaults (samplerDefaults()). */
    samplerCreate(nVocab, options = {}) {
        if (!this.has('ds2w_sampler_create_v')) throw new DS2Error('DS2_E_INVALID_ARG', 'this wasm build has no sampler (ds2w_sampler_create_v): use temperature 0');
        const o = { ...this.samplerDefaults() };
        for (const k of Object.keys(o)) if (options[k] !== undefined && options[k] !== null) o[k] = options[k];
        o.seed = Math.max(0, Math.floor(Number(o.seed)) || 0);
        const p = this._malloc(8 * 9);
        let s;
        try {
            const v = [o.temperature, o.topK, o.topP, o.minP, o.repeatPenalty, o.presencePenalty, o.frequencyPenalty,
                o.penaltyLastN, o.seed].map(Number);
            if (v.some((x) => !Number.isFinite(x))) throw new DS2Error('DS2_E_INVALID_ARG', `sampler options must be finite numbers: ${JSON.stringify(o)}`);
            this.u8().set(new Uint8Array(new Float64Array(v).buffer), p);
            s = this.M._ds2w_sampler_create_v(nVocab, p, this.err);
        } finally {
            this._free(p);
        }
        if (!s) throw this.lastError();
        return s;
    }
    samplerFree(s) { if (s) this.M._ds2w_sampler_free(s); }
    samplerAccept(s, id) { this.M._ds2w_sampler_accept(s, id); }

    /** Runs ids and samples the next id from the last position's logits (they never leave the heap). */
    evalSample(session, ids, sampler, nVocab) {
        const n = ids.length;
        const tp = this._malloc(4 * n), lp = this._malloc(4 * nVocab);
        try {
            this.views().i32.set(ids, tp >>> 2);
            this._check(this.M._ds2w_session_eval(session, tp, n, LOGITS.LAST, lp, this.err));
            const id = this.M._ds2w_sampler_sample(sampler, lp);
            this.M._ds2w_sampler_accept(sampler, id);
            return id;
        } finally {
            this._free(lp);
            this._free(tp);
        }
    }

    /** Model information (ds2w_model_info_json) as a plain object. */
    modelInfo(model) {
        const p = this.M._ds2w_model_info_json(model, this.err);
        if (!p) throw this.lastError();
        try {
            return JSON.parse(this._cstring(p));
        } finally {
            this.M._ds2w_free(p);
        }
    }
}
