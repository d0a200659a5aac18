// gguf_split.js — llama.cpp gguf-split shards (<prefix>-00001-of-0000N.gguf) loaded in parallel.
//
// Every shard is a complete GGUF (own header, tensor directory, data section with shard-relative offsets), so
// the C loader parses each one on its own (ds2_loader_create_split / ds2_loader_feed_shard, src/model.c): a
// shard's tensor data goes straight into its own block of the weights, reserved as soon as that shard's
// directory has been read. Nothing here waits for one shard before another, and nothing is buffered: every
// shard's stream is read at once and each chunk is fed, tagged with its shard, the moment it arrives.
// Whether the shards form one set (split.count, split.no, a tensor in two shards, split.tensors.count) is
// checked in C, which names what is wrong.

import { DS2Error } from '../wasm/protocol.js';

const STAGING_MAX = 1 << 20; // at most 1 MiB copied into the heap per C call (as engine.js's loaderFeed)

/**
 * Reads every part at the same time and yields {shard, bytes} in arrival order. Each part has exactly one
 * read outstanding; the next read of a part is started before its chunk is handed on, so every download keeps
 * going while the consumer copies. Ends when all parts have ended; the first error ends it (the caller then
 * closes the parts).
 * @param {{chunks: AsyncIterator<Uint8Array>}[]} parts
 */
export async function* interleave(parts) {
    const pending = new Map(); // part index → promise of its next read, settled as {i, r} or {i, e}
    const pull = (i) => pending.set(i, parts[i].chunks.next().then((r) => ({ i, r }), (e) => ({ i, e })));
    parts.forEach((_, i) => pull(i));
    while (pending.size) {
        const { i, r, e } = await Promise.race(pending.values());
        pending.delete(i);
        if (e) throw e;
        if (r.done) continue;
        pull(i);
        yield { shard: i, bytes: r.value };
    }
}

/**
 * The C split loader for `sizes.length` shards (sizes: bytes per shard, null if unknown), fed through one
 * staging buffer in the wasm heap. `handle` works with engine.loaderFinish / loaderBytesFed / loaderFree;
 * call release() afterwards for the staging buffer.
 */
export function createSplitLoader(engine, sizes, allowVocabOnly) {
    const M = engine.M;
    if (typeof M._ds2w_loader_create_split !== 'function')
        throw new DS2Error('DS2_E_WORKER', 'this wasm build cannot load gguf-split shards (no ds2w_loader_create_split)');
    const n = sizes.length;
    const sz = engine._malloc(8 * n);
    let handle;
    try {
        const f64 = new Float64Array(engine.u8().buffer, sz, n);
        sizes.forEach((s, i) => { f64[i] = s || 0; });
        handle = M._ds2w_loader_create_split(n, sz, allowVocabOnly ? 1 : 0, engine.err);
    } finally {
        engine._free(sz);
    }
    if (!handle) throw engine.lastError();
    let staging = 0, stagingSize = 0;
    return {
        handle,
        /** Feeds one chunk of shard `shard` (the C reader copies tensor bytes to their final place). */
        feed(shard, chunk) {
            for (let off = 0; off < chunk.byteLength; off += STAGING_MAX) {
                const part = chunk.subarray(off, Math.min(chunk.byteLength, off + STAGING_MAX));
                if (stagingSize < part.byteLength) {
                    engine._free(staging);
                    staging = 0; stagingSize = 0;
                    const size = Math.min(STAGING_MAX, Math.max(part.byteLength, 64 * 1024));
                    staging = engine._malloc(size);
                    stagingSize = size;
                }
                engine.u8().set(part, staging);
                engine._check(M._ds2w_loader_feed_shard(handle, shard, staging, part.byteLength, engine.err));
            }
        },
        release() { engine._free(staging); staging = 0; stagingSize = 0; },
    };
}
