// cache.js — downloaded models kept in the Cache API, one entry per chunk, each chunk checked when read back.
//
//   const cache = new ModelCache();
//   const { blob, refetched } = await cache.fetchModel(url, { onProgress, signal });   // → model.load(blob)
//
// Layout (one Cache, CACHE_NAME): for a model URL, a manifest entry and its chunks under synthetic same-origin
// keys  /__ds2-model-cache__/<encoded url>/manifest  and  …/<chunk index>.  The manifest records the file's
// size, the chunk size and, per chunk, its byte length and SHA-256 (hex). It is rewritten after every stored
// chunk, so an interrupted download keeps what arrived and the next visit continues from there with an HTTP
// Range request.
//
// Reading back, every chunk is hashed again (crypto.subtle) and compared with the manifest: a chunk that is
// missing, short, or whose hash differs (a torn write, a storage bug, tampering) is fetched again from the
// network (Range: just that chunk) and replaced — never handed to the engine. If the network is unreachable
// the load fails with a readable message instead.
//
// Why per chunk rather than one entry per file: quota errors and interruptions cost one chunk, not the
// whole download, and verification can stream (one chunk in memory at a time while hashing).

export const CACHE_NAME = 'ds2-models-v1';
const PREFIX = '/__ds2-model-cache__/';
const MIN_CHUNK = 64 << 10;
const MAX_CHUNK = 8 << 20;

export class CacheError extends Error {
    constructor(code, message) { super(message); this.name = 'CacheError'; this.code = code; }
}

/** Chunk size for a file: ~16 chunks for small files (so tests see several), at most 8 MiB each. */
export function chunkSizeFor(size) {
    if (!size) return 1 << 20;
    const c = Math.ceil(size / 16);
    return Math.min(MAX_CHUNK, Math.max(MIN_CHUNK, Math.ceil(c / 4096) * 4096));
}

export async function sha256Hex(buf) {
    const d = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
    let s = '';
    for (const b of d) s += b.toString(16).padStart(2, '0');
    return s;
}

/** Internal: the file on the server differs from the stored one. */
class Changed extends Error {}

function abortError() { return new CacheError('DS2_E_CANCELLED', 'load cancelled'); }

export class ModelCache {
    constructor({ cacheName = CACHE_NAME, fetchImpl = (...a) => globalThis.fetch(...a) } = {}) {
        this.cacheName = cacheName;
        this.fetch = fetchImpl;
    }

    static supported() { return typeof caches !== 'undefined' && !!(globalThis.crypto && crypto.subtle); }

    _open() { return caches.open(this.cacheName); }
    _base(url) { return new URL(PREFIX + encodeURIComponent(url) + '/', location.href).href; }
    _manifestKey(url) { return this._base(url) + 'manifest'; }
    _chunkKey(url, i) { return this._base(url) + i; }

    async manifest(url) {
        const r = await (await this._open()).match(this._manifestKey(url));
        return r ? r.json() : null;
    }

    async _putManifest(cache, m) {
        await cache.put(this._manifestKey(m.url), new Response(JSON.stringify(m), { headers: { 'Content-Type': 'application/json' } }));
    }

    /**
     * The model's bytes as a Blob of verified chunks, from the cache where possible, from the network where not.
     * onProgress({phase: 'verify'|'download', loaded, total}); `refetched` lists chunk indices that failed
     * verification and were downloaded again.
     */
    async fetchModel(url, options = {}) {
        url = new URL(url, location.href).href;
        try {
            return await this._fetchModel(url, options);
        } catch (e) {
            if (!(e instanceof Changed)) throw e;
            // the server's file is not the one stored (a new version): forget the old copy, download again
            await this.delete(url);
            const r = await this._fetchModel(url, options);
            return { ...r, replaced: true };
        }
    }

    /** The server's current validator (ETag / Last-Modified) for url, or null (offline, no header, slow). */
    async _validatorNow(url, signal) {
        const ctl = new AbortController();
        const timer = setTimeout(() => ctl.abort(), 3000);
        const onAbort = () => ctl.abort();
        signal && signal.addEventListener('abort', onAbort, { once: true });
        try {
            const r = await this.fetch(url, { method: 'HEAD', cache: 'no-store', signal: ctl.signal });
            return r.ok ? r.headers.get('ETag') || r.headers.get('Last-Modified') : null;
        } catch {
            return null;
        } finally {
            clearTimeout(timer);
            signal && signal.removeEventListener('abort', onAbort);
        }
    }

    async _fetchModel(url, { onProgress = () => {}, signal, name } = {}) {
        const cache = await this._open();
        let m = await this.manifest(url);
        if (m && m.validator) {
            // online: is the stored copy still the server's file? (offline: the stored copy is used as it is)
            const now = await this._validatorNow(url, signal);
            if (now && now !== m.validator) throw new Changed();
        }
        const parts = [];          // verified chunks as Blobs, in order
        const refetched = [];
        let fromNetwork = 0;

        // 1. Verify what is stored (a prefix of chunks for an interrupted download, all of them when complete).
        if (m) {
            let verified = 0;
            for (let i = 0; i < m.chunks.length; i++) {
                if (signal && signal.aborted) throw abortError();
                const c = m.chunks[i];
                const r = await cache.match(this._chunkKey(url, i));
                let ok = false, buf = null;
                if (r) {
                    buf = await r.arrayBuffer();
                    ok = buf.byteLength === c.size && (await sha256Hex(buf)) === c.sha256;
                }
                if (!ok) {
                    // wrong size or hash: fetch exactly this chunk again; only complete files know where it ends
                    if (!m.complete) { m.chunks.length = i; break; }
                    buf = await this._fetchRange(url, i * m.chunkSize, c.size, m, signal);
                    // a different file on the server now: its chunk cannot match the stored checksums
                    if ((await sha256Hex(buf)) !== c.sha256) throw new Changed();
                    await cache.put(this._chunkKey(url, i), new Response(buf));
                    refetched.push(i);
                    fromNetwork += buf.byteLength;
                }
                parts.push(await this._storedBlob(cache, url, i, buf));
                verified += c.size;
                onProgress({ phase: 'verify', loaded: verified, total: m.size });
            }
            if (m.complete && parts.length === m.chunks.length)
                return { blob: new Blob(parts), size: m.size, fromCache: true, refetched, fromNetwork, manifest: m };
        }

        // 2. Download what is missing (all, or from the end of the verified prefix) and store it chunk by chunk.
        const start = m ? m.chunks.reduce((a, c) => a + c.size, 0) : 0;
        const headers = start > 0 ? { Range: `bytes=${start}-` } : {};
        if (start > 0 && m.validator) headers['If-Range'] = m.validator;
        let res;
        try {
            res = await this.fetch(url, { signal, headers, cache: 'no-store' });
        } catch (e) {
            if (signal && signal.aborted) throw abortError();
            throw new CacheError('DS2_E_NETWORK', `cannot download ${url}: ${e.message} (offline? the server stopped?)`);
        }
        if (!res.ok) throw new CacheError('DS2_E_NETWORK', `cannot download ${url}: HTTP ${res.status} ${res.statusText}`.trim());
        let offset = start;
        if (start > 0 && res.status !== 206) { // the server ignored Range: start over
            offset = 0; parts.length = 0; m = null;
        }
        const lenHeader = res.headers.get('Content-Length');
        const enc = res.headers.get('Content-Encoding');
        let size = m ? m.size : null;
        if (!m) {
            const cr = res.headers.get('Content-Range');
            if (cr && /\/(\d+)$/.test(cr)) size = parseInt(/\/(\d+)$/.exec(cr)[1], 10);
            else if (lenHeader !== null && (!enc || enc === 'identity')) size = parseInt(lenHeader, 10);
            m = { url, name: name || decodeURIComponent(url.split('/').pop().split('?')[0]) || url, size,
                chunkSize: chunkSizeFor(size), chunks: [], complete: false,
                validator: res.headers.get('ETag') || res.headers.get('Last-Modified'), storedAt: Date.now() };
            await this._putManifest(cache, m);
        }
        const chunkSize = m.chunkSize;
        let pending = new Uint8Array(chunkSize), fill = 0;
        const flush = async () => {
            if (!fill) return;
            const buf = pending.slice(0, fill).buffer;
            const i = m.chunks.length;
            const sha = await sha256Hex(buf);
            try {
                await cache.put(this._chunkKey(url, i), new Response(buf));
            } catch (e) {
                throw new CacheError('DS2_E_NOMEM', `cannot store chunk ${i} of ${m.name} in the browser cache: ${e.message} (storage full? free some in the cache panel)`);
            }
            m.chunks.push({ size: fill, sha256: sha });
            await this._putManifest(cache, m);
            parts.push(await this._storedBlob(cache, url, i, buf));
            fill = 0;
        };
        const reader = res.body.getReader();
        const onAbort = () => reader.cancel().catch(() => {});
        signal && signal.addEventListener('abort', onAbort, { once: true });
        try {
            for (;;) {
                let r;
                try {
                    r = await reader.read();
                } catch (e) {
                    if (signal && signal.aborted) throw abortError();
                    throw new CacheError('DS2_E_TRUNCATED', `download of ${url} interrupted at byte ${offset}: ${e.message}; load again to resume`);
                }
                if (signal && signal.aborted) throw abortError();
                if (r.done) break;
                let v = r.value;
                while (v.byteLength) {
                    const n = Math.min(v.byteLength, chunkSize - fill);
                    pending.set(v.subarray(0, n), fill);
                    fill += n; offset += n; fromNetwork += n;
                    v = v.subarray(n);
                    if (fill === chunkSize) await flush();
                }
                onProgress({ phase: 'download', loaded: offset, total: size });
            }
            await flush();
        } finally {
            signal && signal.removeEventListener('abort', onAbort);
        }
        if (size !== null && offset !== size)
            throw new CacheError('DS2_E_TRUNCATED', `download of ${url} ended at byte ${offset} of ${size}; load again to resume`);
        m.size = offset;
        m.complete = true;
        await this._putManifest(cache, m);
        onProgress({ phase: 'download', loaded: offset, total: offset });
        return { blob: new Blob(parts), size: offset, fromCache: start > 0, refetched, fromNetwork, manifest: m };
    }

    // The chunk as the Cache API's own Blob (disk-backed in Chromium/Firefox), so a multi-GB model is not held
    // in memory twice (chunks + the engine's heap) while the worker reads it; the buffer just checked if not.
    async _storedBlob(cache, url, i, buf) {
        const r = await cache.match(this._chunkKey(url, i));
        const b = r ? await r.blob() : null;
        return b && b.size === buf.byteLength ? b : new Blob([buf]);
    }

    async _fetchRange(url, start, length, m, signal) {
        const headers = { Range: `bytes=${start}-${start + length - 1}` };
        if (m.validator) headers['If-Range'] = m.validator; // a changed file answers 200 with all of it
        let res;
        try {
            res = await this.fetch(url, { signal, headers, cache: 'no-store' });
        } catch (e) {
            if (signal && signal.aborted) throw abortError();
            throw new CacheError('DS2_E_NETWORK',
                `a stored chunk of ${m.name} is damaged and the server cannot be reached to fetch it again (${e.message})`);
        }
        if (!res.ok) throw new CacheError('DS2_E_NETWORK', `re-fetching a damaged chunk of ${url}: HTTP ${res.status}`);
        if (res.status !== 206 && m.validator && (res.headers.get('ETag') || res.headers.get('Last-Modified')) !== m.validator) {
            res.body && res.body.cancel().catch(() => {});
            throw new Changed();
        }
        const buf = await res.arrayBuffer();
        if (res.status === 206) return buf;
        if (buf.byteLength >= start + length) return buf.slice(start, start + length); // server ignored Range
        throw new CacheError('DS2_E_TRUNCATED', `re-fetching a damaged chunk of ${url}: short response`);
    }

    /** Stored models: [{url, name, size, stored, complete, chunks}]. */
    async list() {
        if (!ModelCache.supported()) return [];
        const cache = await this._open();
        const out = [];
        for (const req of await cache.keys()) {
            if (!req.url.endsWith('/manifest') || !req.url.includes(PREFIX)) continue;
            const r = await cache.match(req);
            if (!r) continue;
            try {
                const m = await r.json();
                out.push({ url: m.url, name: m.name, size: m.size, stored: m.chunks.reduce((a, c) => a + c.size, 0),
                    complete: !!m.complete, chunks: m.chunks.length, storedAt: m.storedAt });
            } catch { /* an unreadable manifest: ignore (its chunks go with delete) */ }
        }
        return out.sort((a, b) => a.name.localeCompare(b.name));
    }

    /** Removes a model's manifest and chunks. */
    async delete(url) {
        const cache = await this._open();
        const base = this._base(url);
        let n = 0;
        for (const req of await cache.keys())
            if (req.url.startsWith(base)) { await cache.delete(req); n++; }
        return n;
    }

    /** For tests and the curious: overwrite one stored chunk with other bytes (the read-back check finds it). */
    async corruptChunk(url, i = 0) {
        url = new URL(url, location.href).href;
        const cache = await this._open();
        const r = await cache.match(this._chunkKey(url, i));
        if (!r) throw new CacheError('DS2_E_INVALID_ARG', `no chunk ${i} stored for ${url}`);
        const buf = new Uint8Array(await r.arrayBuffer());
        buf[buf.length >> 1] ^= 0xff;
        await cache.put(this._chunkKey(url, i), new Response(buf));
    }
}

/** navigator.storage facts for the cache panel: {usage, quota, persisted} (nulls where unsupported). */
export async function storageInfo() {
    const s = globalThis.navigator && navigator.storage;
    const est = s && s.estimate ? await s.estimate().catch(() => ({})) : {};
    const persisted = s && s.persisted ? await s.persisted().catch(() => null) : null;
    return { usage: est.usage ?? null, quota: est.quota ?? null, persisted };
}

/** Asks the browser to keep this origin's storage under pressure; resolves to true if granted. */
export async function requestPersistence() {
    const s = globalThis.navigator && navigator.storage;
    if (!s || !s.persist) return false;
    return s.persist().catch(() => false);
}
