// gguf_split.js — llama.cpp gguf-split shards (<prefix>-00001-of-0000N.gguf) fed to the one-file C reader.
//
// Every shard is a complete GGUF (own header, tensor directory, data section with shard-relative offsets);
// split.no / split.count / split.tensors.count are in every shard, all other metadata only in shard 0
// (reference §3.2). The C loader reads one GGUF stream, so this file rewrites the shards' headers into the
// header of the equivalent single file (shard 0's metadata minus split.*, every shard's tensor directory with
// offsets rebased onto the concatenated data sections), then passes each shard's data section through as it
// arrives. Only the headers are buffered (small); tensor bytes are never copied here.

import { DS2Error } from '../wasm/protocol.js';

const MAGIC = 0x46554747; // "GGUF" little-endian
const DEFAULT_ALIGNMENT = 32;
// ggml type → [elements per block, bytes per block] (reference §3.1); enough to find where a shard's data ends
const TYPE_SIZE = {
    0: [1, 4], 1: [1, 2], 2: [32, 18], 3: [32, 20], 6: [32, 22], 7: [32, 24], 8: [32, 34], 9: [32, 36],
    10: [256, 84], 11: [256, 110], 12: [256, 144], 13: [256, 176], 14: [256, 210], 15: [256, 292],
    20: [32, 18], 23: [256, 136], 24: [1, 1], 25: [1, 2], 26: [1, 4], 27: [1, 8], 28: [1, 8], 30: [1, 2],
};
const SCALAR_SIZE = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

const alignUp = (x, a) => Math.ceil(x / a) * a;

class Short extends Error {} // the header continues past the bytes we have

/**
 * Parses a GGUF header from the bytes available so far.
 * @returns {null|object} null if more bytes are needed
 */
export function parseHeader(u8) {
    const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
    let p = 0;
    const need = (n) => { if (p + n > u8.byteLength) throw new Short(); };
    const u32 = () => { need(4); const v = dv.getUint32(p, true); p += 4; return v; };
    const i32 = () => { need(4); const v = dv.getInt32(p, true); p += 4; return v; };
    const u64 = () => {
        need(8); const v = dv.getBigUint64(p, true); p += 8;
        if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DS2Error('DS2_E_OVERFLOW', 'a count or size in a shard header is too large');
        return Number(v);
    };
    const str = () => { const n = u64(); need(n); const s = new TextDecoder().decode(u8.subarray(p, p + n)); p += n; return s; };
    const skipValue = (t, depth) => {
        if (t === 8) { const n = u64(); need(n); p += n; return; }
        if (t === 9) {
            if (depth > 8) throw new DS2Error('DS2_E_BAD_KV_TYPE', 'array nesting too deep in a shard header');
            const et = i32(), n = u64();
            if (SCALAR_SIZE[et] !== undefined) { need(n * SCALAR_SIZE[et]); p += n * SCALAR_SIZE[et]; return; }
            for (let i = 0; i < n; i++) skipValue(et, depth + 1);
            return;
        }
        const s = SCALAR_SIZE[t];
        if (s === undefined) throw new DS2Error('DS2_E_BAD_KV_TYPE', `unknown metadata value type ${t} in a shard header`);
        need(s); p += s;
    };
    try {
        if (u32() !== MAGIC) throw new DS2Error('DS2_E_BAD_MAGIC', 'a shard is not a GGUF file (bad magic)');
        const version = u32();
        if (version !== 2 && version !== 3) throw new DS2Error('DS2_E_BAD_VERSION', `a shard has GGUF version ${version}`);
        const nTensors = u64(), nKv = u64();
        const kvs = [];
        const h = { version, kvs, tensors: [], alignment: DEFAULT_ALIGNMENT, splitNo: -1, splitCount: -1, splitTensors: -1 };
        for (let i = 0; i < nKv; i++) {
            const start = p;
            const key = str();
            const t = i32();
            const vpos = p;
            skipValue(t, 0);
            kvs.push({ key, start, end: p });
            const num = () => (t === 2 ? dv.getUint16(vpos, true) : t === 4 ? dv.getUint32(vpos, true) : t === 5 ? dv.getInt32(vpos, true) : -1);
            if (key === 'general.alignment') h.alignment = num();
            if (key === 'split.no') h.splitNo = num();
            if (key === 'split.count') h.splitCount = num();
            if (key === 'split.tensors.count') h.splitTensors = num();
        }
        for (let i = 0; i < nTensors; i++) {
            const start = p;
            const name = str();
            const nd = u32();
            if (nd > 4) throw new DS2Error('DS2_E_BAD_TENSOR', `tensor ${name}: ${nd} dimensions in a shard header`);
            let ne = 1;
            for (let d = 0; d < nd; d++) ne *= u64();
            const type = i32();
            const offPos = p;
            const offset = u64();
            const ts = TYPE_SIZE[type];
            const nbytes = ts ? (ne / ts[0]) * ts[1] : -1;
            h.tensors.push({ name, start, offPos, offset, nbytes, type });
        }
        if (!(h.alignment > 0 && (h.alignment & (h.alignment - 1)) === 0))
            throw new DS2Error('DS2_E_BAD_ALIGNMENT', 'general.alignment of a shard is not a power of two');
        h.headerEnd = p;
        h.dataStart = alignUp(p, h.alignment);
        return h;
    } catch (e) {
        if (e instanceof Short) return null;
        throw e;
    }
}

/** Reads an async chunk iterator until a GGUF header parses; returns {header, head (bytes read), rest}. */
async function readHeader(it, name) {
    let buf = new Uint8Array(0);
    let tryAt = 64;
    for (;;) {
        const { done, value } = await it.next();
        if (done) {
            const h = buf.byteLength ? parseHeader(buf) : null;
            if (h) return { header: h, head: buf };
            throw new DS2Error('DS2_E_TRUNCATED', `${name}: the file ends inside its GGUF header (${buf.byteLength} bytes)`);
        }
        const nb = new Uint8Array(buf.byteLength + value.byteLength);
        nb.set(buf); nb.set(value, buf.byteLength);
        buf = nb;
        if (buf.byteLength < tryAt) continue;
        const h = parseHeader(buf);
        if (h) return { header: h, head: buf };
        tryAt = buf.byteLength * 2; // re-parse at doubling sizes: linear total work for big vocabularies
    }
}

/**
 * Merges opened shards into the byte stream of the equivalent single GGUF.
 * @param {{name: string, size: number|null, chunks: AsyncIterator<Uint8Array>}[]} parts in shard order
 * @returns {Promise<{total: number, chunks: AsyncGenerator<Uint8Array>}>}
 */
export async function mergeShards(parts) {
    // every shard's header is read concurrently: the first bytes of all downloads arrive in parallel
    const heads = await Promise.all(parts.map((p) => readHeader(p.chunks, p.name)));
    const n = parts.length;
    let nTensors = 0;
    heads.forEach(({ header: h }, i) => {
        if (h.splitNo !== i || h.splitCount !== n)
            throw new DS2Error('DS2_E_INVALID_ARG', `${parts[i].name}: split.no ${h.splitNo} / split.count ${h.splitCount}, expected shard ${i} of ${n}`);
        nTensors += h.tensors.length;
    });
    const h0 = heads[0].header;
    if (h0.splitTensors !== nTensors)
        throw new DS2Error('DS2_E_MISSING_TENSOR', `the shards hold ${nTensors} tensors, split.tensors.count says ${h0.splitTensors}`);
    const A = h0.alignment;

    // data length of each shard, and where its data section starts in the merged data blob
    const base = [];
    const dataLen = [];
    let pos = 0;
    heads.forEach(({ header: h }, i) => {
        let end = 0;
        for (const t of h.tensors) {
            if (t.nbytes < 0) {
                if (parts[i].size == null) throw new DS2Error('DS2_E_UNKNOWN_DTYPE', `${parts[i].name}: tensor ${t.name} has unknown type ${t.type}`);
                end = parts[i].size - h.dataStart;
                break;
            }
            end = Math.max(end, t.offset + t.nbytes);
        }
        base.push(pos);
        dataLen.push(end);
        pos = alignUp(pos + end, A);
    });
    const dataTotal = pos;

    // merged header: shard 0's prefix fields, its KVs minus split.*, all tensor infos with rebased offsets
    const kvs = heads[0].head;
    const keep = h0.kvs.filter((k) => !k.key.startsWith('split.'));
    let size = 24;
    for (const k of keep) size += k.end - k.start;
    heads.forEach(({ header: h }) => { for (const t of h.tensors) size += t.offPos + 8 - t.start; });
    const headerLen = alignUp(size, A);
    const out = new Uint8Array(headerLen);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, MAGIC, true);
    dv.setUint32(4, h0.version, true);
    dv.setBigUint64(8, BigInt(nTensors), true);
    dv.setBigUint64(16, BigInt(keep.length), true);
    let w = 24;
    for (const k of keep) { out.set(kvs.subarray(k.start, k.end), w); w += k.end - k.start; }
    heads.forEach(({ header: h, head }, i) => {
        for (const t of h.tensors) {
            out.set(head.subarray(t.start, t.offPos), w);
            w += t.offPos - t.start;
            dv.setBigUint64(w, BigInt(base[i] + t.offset), true);
            w += 8;
        }
    });

    async function* chunks() {
        yield out;
        for (let i = 0; i < n; i++) {
            const { header: h, head } = heads[i];
            let skip = h.dataStart; // bytes of this shard before its data section
            let left = dataLen[i];
            const emit = function* (c) {
                if (skip >= c.byteLength) { skip -= c.byteLength; return; }
                c = c.subarray(skip); skip = 0;
                if (c.byteLength > left) c = c.subarray(0, left);
                left -= c.byteLength;
                if (c.byteLength) yield c;
            };
            yield* emit(head);
            while (left > 0) {
                const { done, value } = await parts[i].chunks.next();
                if (done) return; // a short shard: the C reader reports DS2_E_TRUNCATED at finish
                yield* emit(value);
            }
            const next = i + 1 < n ? base[i + 1] : dataTotal;
            const pad = next - base[i] - dataLen[i];
            if (pad > 0) yield new Uint8Array(pad);
            if (parts[i].chunks.return) await parts[i].chunks.return(); // close what follows the data
        }
    }
    return { total: headerLen + dataTotal, chunks: chunks() };
}
