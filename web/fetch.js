// fetch.js — model bytes from a URL, gguf-split shard set, File/Blob, ArrayBuffer or (Node) file path, as
// chunks for the C reader.
//
// - Streamed: each network/disk chunk is handed on as it arrives (no whole-file buffer in JS). `chunkSize`
//   re-slices chunks (subarray views, no copy) — used by tests to prove chunking does not matter.
// - Shards (`-00001-of-0000N.gguf`): all downloads run at once at full speed, each chunk is fed the moment it
//   arrives, tagged with its shard, to the C split loader (gguf_split.js), which parses every shard on its
//   own — no shard waits for another, nothing is buffered here.
// - Interrupted downloads resume with an HTTP Range request (If-Range on the ETag/Last-Modified), per shard; a
//   server that ignores Range sends the whole file again and the bytes already fed are skipped (a clean
//   restart that keeps the C reader's state); giving up after `retries` reports DS2_E_TRUNCATED.
// - Progress {loaded, total, rate}: loaded counts source bytes received (all shards), never decreases, the
//   last event has loaded === total; events come at most every 50 ms, and the latest state always follows.
// - `signal` (AbortSignal) cancels every request and stream; on any failure every other request is cancelled.

import { DS2Error } from '../wasm/protocol.js';
import { interleave, createSplitLoader } from './gguf_split.js';

const SHARD_RE = /-(\d{5})-of-(\d{5})\.gguf$/;
const DEFAULT_SLICE = 1 << 20; // ArrayBuffer sources are handed on in 1 MiB views

function abortError(signal) {
    const r = signal && signal.reason;
    return new DS2Error('DS2_E_CANCELLED', r && r.message ? `load cancelled: ${r.message}` : 'load cancelled');
}

const sleep = (ms, signal) => new Promise((resolve, reject) => {
    const onAbort = () => { clearTimeout(t); reject(abortError(signal)); };
    const t = setTimeout(() => { signal && signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal && signal.addEventListener('abort', onAbort, { once: true });
});

/** Shard names for a gguf-split name (any of the shards), else null. Works for URLs and paths. */
export function shardNames(name) {
    const [base, query = ''] = String(name).split(/(?=[?#])/);
    const m = SHARD_RE.exec(base);
    if (!m) return null;
    const count = parseInt(m[2], 10);
    const prefix = base.slice(0, m.index);
    const names = [];
    for (let i = 1; i <= count; i++)
        names.push(`${prefix}-${String(i).padStart(5, '0')}-of-${m[2]}.gguf${query}`);
    return names;
}

// ---- one part: {name, size|null, chunks: AsyncIterator<Uint8Array>} --------------------------------------

async function openUrl(url, { signal, fetchImpl = globalThis.fetch, retries = 3, retryDelayMs = 200 }) {
    let pos = 0;
    let size = null;
    let validator = null;
    let res = null;

    async function request() {
        for (let attempt = 0; ; attempt++) {
            const headers = {};
            if (pos > 0) {
                headers.Range = `bytes=${pos}-`;
                if (validator) headers['If-Range'] = validator;
            }
            let r;
            try {
                r = await fetchImpl(url, { signal, headers });
            } catch (e) {
                if (signal && signal.aborted) throw abortError(signal);
                if (attempt >= retries) throw new DS2Error(pos ? 'DS2_E_TRUNCATED' : 'DS2_E_NETWORK',
                    `${url}: ${pos ? `download interrupted at byte ${pos}${size ? ` of ${size}` : ''}` : 'request failed'}: ${e.message}`);
                await sleep(retryDelayMs * (attempt + 1), signal);
                continue;
            }
            if (!r.ok) throw new DS2Error('DS2_E_NETWORK', `${url}: HTTP ${r.status} ${r.statusText}`.trim());
            return r;
        }
    }

    res = await request();
    const enc = res.headers.get('Content-Encoding');
    const len = res.headers.get('Content-Length');
    if (len !== null && (!enc || enc === 'identity')) size = parseInt(len, 10);
    validator = res.headers.get('ETag') || res.headers.get('Last-Modified');

    async function* chunks() {
        let skip = 0;
        let failures = 0;
        for (;;) {
            const reader = res.body.getReader();
            try {
                for (;;) {
                    const { done, value } = await reader.read();
                    if (done) return;
                    let c = value;
                    if (skip) { // a server without Range support resent the start: drop what was already fed
                        if (skip >= c.byteLength) { skip -= c.byteLength; continue; }
                        c = c.subarray(skip); skip = 0;
                    }
                    pos += c.byteLength;
                    failures = 0;
                    yield c;
                }
            } catch (e) {
                if (signal && signal.aborted) throw abortError(signal);
                if (e instanceof DS2Error) throw e;
                if (++failures > retries) throw new DS2Error('DS2_E_TRUNCATED',
                    `${url}: download interrupted at byte ${pos}${size ? ` of ${size}` : ''} after ${retries} retries: ${e.message}`);
                await sleep(retryDelayMs * failures, signal);
                res = await request();
                if (pos > 0 && res.status !== 206) skip = pos; // Range ignored (or If-Range failed): full body
                else if (pos > 0) {
                    const cr = /bytes (\d+)-/.exec(res.headers.get('Content-Range') || '');
                    if (cr && parseInt(cr[1], 10) !== pos)
                        throw new DS2Error('DS2_E_NETWORK', `${url}: server resumed at ${cr[1]}, asked for ${pos}`);
                }
                const nv = res.headers.get('ETag') || res.headers.get('Last-Modified');
                if (validator && nv && nv !== validator)
                    throw new DS2Error('DS2_E_IO', `${url}: the file changed on the server during the download`);
            } finally {
                try { reader.releaseLock(); } catch { /* already released */ }
            }
        }
    }
    const it = chunks();
    const close = async () => { try { await res.body.cancel(); } catch { /* closed */ } };
    return { name: String(url), size, chunks: withClose(it, close) };
}

function withClose(it, close) {
    return {
        next: () => it.next(),
        return: async (v) => { await close(); return it.return(v); },
        [Symbol.asyncIterator]() { return this; },
    };
}

async function openBlob(blob, { signal }) {
    const reader = blob.stream().getReader();
    async function* chunks() {
        try {
            for (;;) {
                if (signal && signal.aborted) throw abortError(signal);
                const { done, value } = await reader.read();
                if (done) return;
                yield value;
            }
        } finally {
            try { await reader.cancel(); } catch { /* closed */ }
        }
    }
    return { name: blob.name || 'blob', size: blob.size, chunks: chunks() };
}

function openBytes(bytes) {
    const u8 = bytes instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && bytes instanceof SharedArrayBuffer)
        ? new Uint8Array(bytes) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    async function* chunks() {
        for (let o = 0; o < u8.byteLength; o += DEFAULT_SLICE) yield u8.subarray(o, Math.min(u8.byteLength, o + DEFAULT_SLICE));
    }
    return { name: 'buffer', size: u8.byteLength, chunks: chunks() };
}

async function openPath(path, { signal }) {
    const fs = await import('node:fs');
    const st = await fs.promises.stat(path).catch((e) => {
        throw new DS2Error('DS2_E_IO', `${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
    });
    const stream = fs.createReadStream(path, { highWaterMark: 1 << 20, signal });
    async function* chunks() {
        try {
            for await (const c of stream) yield new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
        } catch (e) {
            if (signal && signal.aborted) throw abortError(signal);
            throw new DS2Error('DS2_E_IO', `${path}: ${e.message}`);
        } finally {
            stream.destroy();
        }
    }
    return { name: path, size: st.size, chunks: chunks() };
}

function isBlob(x) { return typeof Blob !== 'undefined' && x instanceof Blob; }
function isBytes(x) {
    return x instanceof ArrayBuffer || ArrayBuffer.isView(x) ||
        (typeof SharedArrayBuffer !== 'undefined' && x instanceof SharedArrayBuffer);
}

/** Normalises a source to a list of part descriptors (several = gguf-split shards, in order). */
export function describeSource(source, expand = true) {
    // a list names every shard itself: its entries are not expanded again
    if (Array.isArray(source)) return source.map((s) => describeSource(s, false)[0]);
    if (isBlob(source)) return [{ kind: 'blob', blob: source }];
    if (isBytes(source)) return [{ kind: 'bytes', bytes: source }];
    if (source && typeof source === 'object' && typeof source.path === 'string') {
        const names = expand && shardNames(source.path);
        return (names || [source.path]).map((path) => ({ kind: 'path', path }));
    }
    if (typeof source === 'string' || (typeof URL !== 'undefined' && source instanceof URL)) {
        const url = String(source);
        return ((expand && shardNames(url)) || [url]).map((u) => ({ kind: 'url', url: u }));
    }
    throw new DS2Error('DS2_E_INVALID_ARG', 'model source must be a URL, File/Blob, ArrayBuffer/typed array, {path} or an array of them');
}

/**
 * Opens a model source for the C loader.
 * @param {*} source URL string/URL, array of shard URLs, File/Blob, ArrayBuffer/view, {path} (Node)
 * @param {{signal?: AbortSignal, onProgress?: Function, chunkSize?: number, fetch?: Function,
 *          retries?: number}} [opts]
 * @returns {Promise<{total: number|null, shards: number, chunks: AsyncIterator,
 *          createLoader: (engine, allowVocabOnly) => number, feed: (chunk) => void}>}
 *   createLoader makes the C loader (a split loader for shards) and returns its handle (engine.loaderFinish /
 *   loaderFree take it); feed(chunk) feeds one item of `chunks` to it. `shards` is 0 for a single file.
 */
export async function openModelStream(source, opts = {}) {
    const { signal, onProgress } = opts;
    if (signal && signal.aborted) throw abortError(signal);
    const descs = describeSource(source);
    // one controller for every request: the caller's abort reaches them all, and a failure cancels the rest
    const inner = new AbortController();
    const onAbort = () => inner.abort(signal.reason);
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
    const o = { ...opts, signal: inner.signal };
    const open = (d) => d.kind === 'url' ? openUrl(d.url, { ...o, fetchImpl: opts.fetch || globalThis.fetch })
        : d.kind === 'blob' ? openBlob(d.blob, o)
        : d.kind === 'path' ? openPath(d.path, o)
        : openBytes(d.bytes);
    let closed = false;
    const closeAll = async (parts) => {
        if (closed) return;
        closed = true;
        if (signal) signal.removeEventListener('abort', onAbort);
        inner.abort(new Error('closed')); // ends reads still waiting on the network
        await Promise.all(parts.map((p) => (p.chunks.return ? p.chunks.return().catch(() => {}) : null)));
    };
    // all requests at once: the shard downloads run in parallel
    const settled = await Promise.allSettled(descs.map(open));
    const failed = settled.find((s) => s.status === 'rejected');
    const parts = settled.filter((s) => s.status === 'fulfilled').map((s) => s.value);
    if (failed) {
        await closeAll(parts);
        throw signal && signal.aborted ? abortError(signal) : failed.reason;
    }

    // progress over source bytes (what the network or disk delivered), monotonic, last event at total
    const sourceTotal = parts.every((p) => p.size != null) ? parts.reduce((a, p) => a + p.size, 0) : null;
    let loaded = 0, lastEmit = 0, trailing = null;
    const t0 = Date.now();
    const send = (total) => {
        const now = Date.now();
        lastEmit = now;
        onProgress({ loaded, total, rate: loaded / Math.max(1e-3, (now - t0) / 1000) });
    };
    const emit = (final) => {
        if (!onProgress) return;
        if (final) { clearTimeout(trailing); trailing = null; send(loaded); return; }
        const wait = 50 - (Date.now() - lastEmit);
        if (wait <= 0) { clearTimeout(trailing); trailing = null; send(sourceTotal); return; }
        // throttled: the latest count still goes out when the window ends (a stalled source shows where it is)
        if (!trailing) trailing = setTimeout(() => { trailing = null; if (!closed) send(sourceTotal); }, wait);
    };
    const counted = (it) => ({
        async next() {
            const r = await it.next();
            if (!r.done) { loaded += r.value.byteLength; emit(false); }
            return r;
        },
        return: (v) => (it.return ? it.return(v) : Promise.resolve({ done: true, value: v })),
        [Symbol.asyncIterator]() { return this; },
    });
    for (const p of parts) p.chunks = counted(p.chunks);

    const split = parts.length > 1;
    let splitLoader = null;
    const body = split ? interleave(parts) : parts[0].chunks;
    const step = opts.chunkSize > 0 ? opts.chunkSize : Infinity;
    const slices = (c) => {
        if (c.byteLength <= step) return [c];
        const out = [];
        for (let off = 0; off < c.byteLength; off += step) out.push(c.subarray(off, Math.min(c.byteLength, off + step)));
        return out;
    };
    async function* gen() {
        let completed = false;
        try {
            for await (const c of body) {
                if (signal && signal.aborted) throw abortError(signal);
                if (split) for (const b of slices(c.bytes)) yield { shard: c.shard, bytes: b };
                else yield* slices(c);
            }
            completed = true;
        } catch (e) {
            throw signal && signal.aborted ? abortError(signal) : e;
        } finally {
            if (splitLoader) splitLoader.release();
            clearTimeout(trailing);
            if (!completed) await closeAll(parts);
        }
        // the final event: loaded equals total (for a truncated source, total is what actually arrived)
        emit(true);
        closed = true;
        if (signal) signal.removeEventListener('abort', onAbort);
    }
    const it = gen();
    const chunks = {
        next: () => it.next(),
        // also when the generator never started (then its finally would not run): close every request
        return: async (v) => { const r = await it.return(v); if (splitLoader) splitLoader.release(); await closeAll(parts); return r; },
        [Symbol.asyncIterator]() { return this; },
    };
    return {
        total: sourceTotal,
        shards: split ? parts.length : 0,
        chunks,
        createLoader(engine, allowVocabOnly) {
            if (!split) {
                const h = engine.loaderCreate(sourceTotal || 0, allowVocabOnly);
                this.feed = (chunk) => engine.loaderFeed(h, chunk);
                return h;
            }
            splitLoader = createSplitLoader(engine, parts.map((p) => p.size), allowVocabOnly);
            this.feed = (chunk) => splitLoader.feed(chunk.shard, chunk.bytes);
            return splitLoader.handle;
        },
        feed() { throw new DS2Error('DS2_E_STATE', 'createLoader first'); },
    };
}
