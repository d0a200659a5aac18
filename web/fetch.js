// fetch.js — model bytes from a URL, gguf-split shard set, File/Blob, ArrayBuffer or (Node) file path, as one
// stream of chunks for the C reader.
//
// - Streamed: each network/disk chunk is handed on as it arrives (no whole-file buffer in JS). `chunkSize`
//   re-slices chunks (subarray views, no copy) — used by tests to prove chunking does not matter.
// - Shards (`-00001-of-0000N.gguf`): all downloads start at once, each shard reads ahead a bounded amount,
//   and the shards are merged in order into one GGUF stream (gguf_split.js).
// - Interrupted downloads resume with an HTTP Range request (If-Range on the ETag/Last-Modified); a server
//   that ignores Range sends the whole file again and the bytes already fed are skipped (a clean restart that
//   keeps the C reader's state); giving up after `retries` reports DS2_E_TRUNCATED.
// - Progress {loaded, total, rate}: loaded counts source bytes received, never decreases, and the last event
//   has loaded === total.
// - `signal` (AbortSignal) cancels every request and stream.

import { DS2Error } from '../wasm/protocol.js';
import { mergeShards } from './gguf_split.js';

const SHARD_RE = /-(\d{5})-of-(\d{5})\.gguf$/;
const DEFAULT_READ_AHEAD = 8 << 20;
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

/** Pulls up to `limit` bytes ahead of the consumer, so later shards download while earlier ones are fed. */
function readAhead(it, limit) {
    const queue = [];
    let queued = 0, done = false, error = null, wake = null, pumping = false;
    const notify = () => { if (wake) { const w = wake; wake = null; w(); } };
    async function pump() {
        if (pumping) return;
        pumping = true;
        try {
            while (!done && queued < limit) {
                const r = await it.next();
                if (r.done) { done = true; break; }
                queue.push(r.value); queued += r.value.byteLength;
                notify();
            }
        } catch (e) { error = e; done = true; }
        pumping = false;
        notify();
    }
    pump();
    return {
        async next() {
            for (;;) {
                if (queue.length) {
                    const v = queue.shift(); queued -= v.byteLength;
                    pump();
                    return { done: false, value: v };
                }
                if (error) throw error;
                if (done) return { done: true, value: undefined };
                await new Promise((r) => { wake = r; });
            }
        },
        async return(v) { done = true; queue.length = 0; if (it.return) await it.return(v); return { done: true, value: v }; },
        [Symbol.asyncIterator]() { return this; },
    };
}

/**
 * Opens a model source as one GGUF byte stream.
 * @param {*} source URL string/URL, array of shard URLs, File/Blob, ArrayBuffer/view, {path} (Node)
 * @param {{signal?: AbortSignal, onProgress?: Function, chunkSize?: number, fetch?: Function,
 *          retries?: number, readAheadBytes?: number}} [opts]
 * @returns {Promise<{total: number|null, chunks: AsyncGenerator<Uint8Array>}>}
 */
export async function openModelStream(source, opts = {}) {
    const { signal, onProgress } = opts;
    if (signal && signal.aborted) throw abortError(signal);
    const descs = describeSource(source);
    const open = (d) => d.kind === 'url' ? openUrl(d.url, { ...opts, fetchImpl: opts.fetch || globalThis.fetch })
        : d.kind === 'blob' ? openBlob(d.blob, opts)
        : d.kind === 'path' ? openPath(d.path, opts)
        : openBytes(d.bytes);
    // all requests at once: the shard downloads run in parallel
    const settled = await Promise.allSettled(descs.map(open));
    const failed = settled.find((s) => s.status === 'rejected');
    const parts = settled.filter((s) => s.status === 'fulfilled').map((s) => s.value);
    if (failed) {
        await Promise.all(parts.map((p) => p.chunks.return && p.chunks.return()));
        throw failed.reason;
    }

    // progress over source bytes (what the network or disk delivered), monotonic, last event at total
    const sourceTotal = parts.every((p) => p.size != null) ? parts.reduce((a, p) => a + p.size, 0) : null;
    let loaded = 0, lastEmit = 0;
    const t0 = Date.now();
    const emit = (final) => {
        if (!onProgress) return;
        const now = Date.now();
        if (!final && now - lastEmit < 50) return;
        lastEmit = now;
        const total = final ? loaded : sourceTotal;
        onProgress({ loaded, total, rate: loaded / Math.max(1e-3, (now - t0) / 1000) });
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
    for (const p of parts) {
        p.chunks = counted(parts.length > 1 ? readAhead(p.chunks, opts.readAheadBytes || DEFAULT_READ_AHEAD) : p.chunks);
    }

    let total, body;
    if (parts.length > 1) {
        let merged;
        try {
            merged = await mergeShards(parts);
        } catch (e) {
            await Promise.all(parts.map((p) => p.chunks.return()));
            throw e;
        }
        total = merged.total; body = merged.chunks;
    } else {
        total = parts[0].size; body = parts[0].chunks;
    }

    const step = opts.chunkSize > 0 ? opts.chunkSize : Infinity;
    async function* chunks() {
        let completed = false;
        try {
            for await (const c of body) {
                if (signal && signal.aborted) throw abortError(signal);
                if (c.byteLength <= step) yield c;
                else for (let o = 0; o < c.byteLength; o += step) yield c.subarray(o, Math.min(c.byteLength, o + step));
            }
            completed = true;
        } finally {
            if (!completed) await Promise.all(parts.map((p) => p.chunks.return()));
        }
        // the final event: loaded equals total (for a truncated source, total is what actually arrived)
        emit(true);
    }
    return { total, chunks: chunks() };
}
