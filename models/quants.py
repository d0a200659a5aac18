#!/usr/bin/python3
# Run with /usr/bin/python3 (Debian's numpy is only visible to the system interpreter).
"""Encoders and decoders of the ggml block types beyond Q8_0/Q4_0, for TEST models (numpy only).

Types: Q4_1, Q5_0, Q5_1, IQ4_NL (32-element blocks) and Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS
(256-element super-blocks). Block layouts and dequantization formulas: the project reference §4
(llama.cpp ggml-common.h / ggml-quants.c); all multi-byte fields little-endian.

The ENCODERS are simple round-to-nearest quantizers (min/max or absmax per sub-block, scales
rounded to their storage grid, then every value rounded on the resulting grid). They write valid
blocks that any reader decodes identically, but they are NOT llama.cpp's quantizers (no error-
minimising scale search, no importance matrix): the same float weights quantized by llama-quantize
give different bytes. For engine-vs-llama.cpp tests that does not matter (both read the same bytes).

The DECODERS follow llama.cpp's dequantize_row_* in float32 (products formed in the same order),
so models/reference.py sees the weights the engines see.

Each encoder takes a float32 array whose size is a multiple of the block size and returns bytes;
each decoder takes the raw uint8 buffer and returns a flat float32 array.
"""
import numpy as np

F32 = np.float32

# llama.cpp kvalues_iq4nl: the IQ4_NL / IQ4_XS codebook (a format constant).
KVALUES_IQ4NL = np.array([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113],
                         dtype=np.int8)


def _f16(x):
    """float32 -> (f16 bytes as uint8[..., 2], the f16 value back in float32)."""
    h = np.asarray(x, dtype=F32).astype("<f2")
    return h.view(np.uint8).reshape(h.shape + (2,)), h.astype(F32)


def _rdh(blk, off):
    return blk[:, off:off + 2].copy().view("<f2").astype(F32).reshape(-1)


def _blocks(x, n):
    x = np.ascontiguousarray(x, dtype=F32).reshape(-1)
    if x.size % n:
        raise ValueError("size %d is not a multiple of the block size %d" % (x.size, n))
    return x.reshape(-1, n)


def _safe_inv(d):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d != 0, F32(1) / np.where(d != 0, d, F32(1)), F32(0)).astype(F32)


def _signed_absmax(x, axis=-1):
    """The signed value of largest magnitude along axis (first one on ties)."""
    idx = np.argmax(np.abs(x), axis=axis)
    return np.take_along_axis(x, np.expand_dims(idx, axis), axis=axis).squeeze(axis)


def _pack_nibbles16(q):
    """q[..., 32] (0..15) -> bytes[..., 16]: byte j = q[j] | q[j+16] << 4."""
    q = q.astype(np.uint8)
    return (q[..., :16] & 15) | ((q[..., 16:] & 15) << 4)


def _unpack_nibbles16(b):
    return np.concatenate([b & 15, b >> 4], axis=-1)


def _qh_bits(q):
    """5th bits of q[..., 32] as the u32 LE qh bytes [..., 4]: bit e = (q[e] >> 4) & 1."""
    bits = ((q.astype(np.uint32) >> 4) & 1) << np.arange(32, dtype=np.uint32)
    h = bits.sum(axis=-1, dtype=np.uint64).astype("<u4")
    return h.view(np.uint8).reshape(h.shape + (4,))


def _qh_unbits(qh):
    h = qh.copy().view("<u4").reshape(-1, 1)
    return ((h >> np.arange(32, dtype=np.uint32)) & 1).astype(np.int32)


# ---------------------------------------------------------------------------------------------
# 32-element block types
# ---------------------------------------------------------------------------------------------
def _minmax_q(b, levels):
    """Asymmetric: d = (max - min)/levels, m = min; q = clip(round((x - m)/d), 0, levels) on the f16 grid."""
    mn, mx = b.min(axis=1), b.max(axis=1)
    dh, d16 = _f16((mx - mn) / F32(levels))
    mh, m16 = _f16(mn)
    q = np.clip(np.rint((b - m16[:, None]) * _safe_inv(d16)[:, None]), 0, levels).astype(np.int32)
    return dh, mh, q


def encode_q4_1(x):
    b = _blocks(x, 32)
    dh, mh, q = _minmax_q(b, 15)
    return np.concatenate([dh, mh, _pack_nibbles16(q)], axis=1).tobytes()


def decode_q4_1(buf):
    blk = buf.reshape(-1, 20)
    d, m = _rdh(blk, 0), _rdh(blk, 2)
    q = _unpack_nibbles16(blk[:, 4:]).astype(F32)
    return (q * d[:, None] + m[:, None]).astype(F32).reshape(-1)


def encode_q5_1(x):
    b = _blocks(x, 32)
    dh, mh, q = _minmax_q(b, 31)
    return np.concatenate([dh, mh, _qh_bits(q), _pack_nibbles16(q & 15)], axis=1).tobytes()


def decode_q5_1(buf):
    blk = buf.reshape(-1, 24)
    d, m = _rdh(blk, 0), _rdh(blk, 2)
    q = (_unpack_nibbles16(blk[:, 8:]).astype(np.int32) | (_qh_unbits(blk[:, 4:8]) << 4)).astype(F32)
    return (q * d[:, None] + m[:, None]).astype(F32).reshape(-1)


def encode_q5_0(x):
    """Symmetric like Q4_0: d = (signed absmax)/-16, q = clip(round(x/d) + 16, 0, 31)."""
    b = _blocks(x, 32)
    dh, d16 = _f16(_signed_absmax(b) / F32(-16))
    q = np.clip(np.rint(b * _safe_inv(d16)[:, None]) + 16, 0, 31).astype(np.int32)
    return np.concatenate([dh, _qh_bits(q), _pack_nibbles16(q & 15)], axis=1).tobytes()


def decode_q5_0(buf):
    blk = buf.reshape(-1, 22)
    d = _rdh(blk, 0)
    q = (_unpack_nibbles16(blk[:, 6:]).astype(np.int32) | (_qh_unbits(blk[:, 2:6]) << 4)) - 16
    return (q.astype(F32) * d[:, None]).astype(F32).reshape(-1)


def _iq4_index(v):
    """Index of the nearest codebook entry to v (in codebook units)."""
    return np.argmin(np.abs(v[..., None] - KVALUES_IQ4NL.astype(F32)), axis=-1).astype(np.uint8)


def encode_iq4_nl(x):
    """d = (signed absmax)/-127 so the extreme value maps to the codebook's −127; nearest entry."""
    b = _blocks(x, 32)
    dh, d16 = _f16(_signed_absmax(b) / F32(-127))
    idx = _iq4_index(b * _safe_inv(d16)[:, None])
    return np.concatenate([dh, _pack_nibbles16(idx)], axis=1).tobytes()


def decode_iq4_nl(buf):
    blk = buf.reshape(-1, 18)
    d = _rdh(blk, 0)
    k = KVALUES_IQ4NL[_unpack_nibbles16(blk[:, 2:])].astype(F32)
    return (d[:, None] * k).astype(F32).reshape(-1)


# ---------------------------------------------------------------------------------------------
# K-quants (256-element super-blocks)
# ---------------------------------------------------------------------------------------------
def _kq_scales_mins(sub, levels, scale_levels):
    """Per sub-block min/max quantization with the scales and mins themselves quantized to
    scale_levels steps of the super-block d / dmin (both f16). sub: [nb, n_sub, sub_len].
    Returns (d bytes, dmin bytes, sc int, m int, q int) with value = d·sc·q − dmin·m."""
    mn = np.minimum(sub.min(axis=2), 0).astype(F32)
    mx = sub.max(axis=2)
    scale = ((mx - mn) / F32(levels)).astype(F32)
    dh, d16 = _f16(scale.max(axis=1) / F32(scale_levels))
    mh, m16 = _f16((-mn).max(axis=1) / F32(scale_levels))
    sc = np.clip(np.rint(scale * _safe_inv(d16)[:, None]), 0, scale_levels).astype(np.int32)
    m = np.clip(np.rint(-mn * _safe_inv(m16)[:, None]), 0, scale_levels).astype(np.int32)
    ds = (d16[:, None] * sc.astype(F32)).astype(F32)
    dm = (m16[:, None] * m.astype(F32)).astype(F32)
    q = np.clip(np.rint((sub + dm[:, :, None]) * _safe_inv(ds)[:, :, None]), 0, levels).astype(np.int32)
    return dh, mh, sc, m, q


def _pack_scale_min_k4(sc, m):
    """8 six-bit scales and mins -> the 12 bytes of Q4_K/Q5_K (reference §4)."""
    s = np.zeros((sc.shape[0], 12), dtype=np.int32)
    s[:, 0:4] = sc[:, 0:4] | ((sc[:, 4:8] >> 4) << 6)
    s[:, 4:8] = m[:, 0:4] | ((m[:, 4:8] >> 4) << 6)
    s[:, 8:12] = (sc[:, 4:8] & 15) | ((m[:, 4:8] & 15) << 4)
    return s.astype(np.uint8)


def _unpack_scale_min_k4(s):
    s = s.astype(np.int32)
    sc = np.empty((s.shape[0], 8), dtype=np.int32)
    m = np.empty_like(sc)
    sc[:, 0:4] = s[:, 0:4] & 63
    m[:, 0:4] = s[:, 4:8] & 63
    sc[:, 4:8] = (s[:, 8:12] & 15) | ((s[:, 0:4] >> 6) << 4)
    m[:, 4:8] = (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)
    return sc, m


def _k45_pack_qs(q):
    """q[nb, 256] (low 4 bits used) -> qs[nb, 128]: chunk c byte l = q[64c+l] | q[64c+32+l] << 4."""
    q = q.reshape(-1, 4, 2, 32) & 15
    return (q[:, :, 0, :] | (q[:, :, 1, :] << 4)).reshape(-1, 128).astype(np.uint8)


def _k45_unpack_qs(qs):
    qs = qs.reshape(-1, 4, 1, 32).astype(np.int32)
    return np.concatenate([qs & 15, qs >> 4], axis=2).reshape(-1, 256)


def encode_q4_k(x):
    sub = _blocks(x, 256).reshape(-1, 8, 32)
    dh, mh, sc, m, q = _kq_scales_mins(sub, 15, 63)
    return np.concatenate([dh, mh, _pack_scale_min_k4(sc, m), _k45_pack_qs(q.reshape(-1, 256))],
                          axis=1).tobytes()


def _k45_decode(blk, q):
    d, dmin = _rdh(blk, 0), _rdh(blk, 2)
    sc, m = _unpack_scale_min_k4(blk[:, 4:16])
    d1 = (d[:, None] * sc.astype(F32)).astype(F32)
    m1 = (dmin[:, None] * m.astype(F32)).astype(F32)
    y = (d1[:, :, None] * q.reshape(-1, 8, 32).astype(F32)).astype(F32) - m1[:, :, None]
    return y.astype(F32).reshape(-1)


def decode_q4_k(buf):
    blk = buf.reshape(-1, 144)
    return _k45_decode(blk, _k45_unpack_qs(blk[:, 16:144]))


def encode_q5_k(x):
    sub = _blocks(x, 256).reshape(-1, 8, 32)
    dh, mh, sc, m, q = _kq_scales_mins(sub, 31, 63)
    q = q.reshape(-1, 4, 2, 32)
    hb = (q >> 4) & 1  # [nb, c, half, l] -> bit 2c + half of qh[l]
    shifts = (2 * np.arange(4)[:, None] + np.arange(2)[None, :]).reshape(1, 4, 2, 1)
    qh = (hb << shifts).sum(axis=(1, 2)).astype(np.uint8)
    return np.concatenate([dh, mh, _pack_scale_min_k4(sc, m), qh, _k45_pack_qs(q.reshape(-1, 256))],
                          axis=1).tobytes()


def decode_q5_k(buf):
    blk = buf.reshape(-1, 176)
    q = _k45_unpack_qs(blk[:, 48:176]).reshape(-1, 4, 2, 32)
    qh = blk[:, 16:48].astype(np.int32).reshape(-1, 1, 1, 32)
    shifts = (2 * np.arange(4)[:, None] + np.arange(2)[None, :]).reshape(1, 4, 2, 1)
    q = q + (((qh >> shifts) & 1) << 4)
    return _k45_decode(blk, q.reshape(-1, 256))


def _k23_pack_low2(v):
    """v[nb, 256] (low 2 bits used) -> qs[nb, 64]: element 128n+32j+i sits in qs[32n+i] bits 2j."""
    v = (v.reshape(-1, 2, 4, 32) & 3).astype(np.int32)
    return (v << (2 * np.arange(4)).reshape(1, 1, 4, 1)).sum(axis=2).reshape(-1, 64).astype(np.uint8)


def _k23_unpack_low2(qs):
    qs = qs.reshape(-1, 2, 1, 32).astype(np.int32)
    return ((qs >> (2 * np.arange(4)).reshape(1, 1, 4, 1)) & 3).reshape(-1, 256)


def encode_q2_k(x):
    sub = _blocks(x, 256).reshape(-1, 16, 16)
    dh, mh, sc, m, q = _kq_scales_mins(sub, 3, 15)
    scales = (sc | (m << 4)).astype(np.uint8)
    return np.concatenate([scales, _k23_pack_low2(q.reshape(-1, 256)), dh, mh], axis=1).tobytes()


def decode_q2_k(buf):
    blk = buf.reshape(-1, 84)
    d, dmin = _rdh(blk, 80), _rdh(blk, 82)
    sc = blk[:, 0:16].astype(np.int32)
    dl = (d[:, None] * (sc & 15).astype(F32)).astype(F32)
    ml = (dmin[:, None] * (sc >> 4).astype(F32)).astype(F32)
    q = _k23_unpack_low2(blk[:, 16:80]).reshape(-1, 16, 16).astype(F32)
    return ((dl[:, :, None] * q).astype(F32) - ml[:, :, None]).astype(F32).reshape(-1)


def _symmetric_sub(sub, qmin, qmax, sc_lo, sc_hi, sc_div):
    """Symmetric sub-blocks: scale_j = (signed absmax)/qmin, super-block d = max|scale|/sc_div (f16),
    sc = clip(round(scale/d)), q = clip(round(x/(d·sc)), qmin, qmax)."""
    scale = (_signed_absmax(sub, axis=2) / F32(qmin)).astype(F32)
    dh, d16 = _f16(np.abs(scale).max(axis=1) / F32(sc_div))
    sc = np.clip(np.rint(scale * _safe_inv(d16)[:, None]), sc_lo, sc_hi).astype(np.int32)
    ds = (d16[:, None] * sc.astype(F32)).astype(F32)
    q = np.clip(np.rint(sub * _safe_inv(ds)[:, :, None]), qmin, qmax).astype(np.int32)
    return dh, sc, q


def _unpack_q3k_scales(s):
    s = s.astype(np.int32)
    j = np.arange(16)
    low4 = np.where(j < 8, s[:, j % 8] & 15, s[:, j % 8] >> 4)
    high2 = (s[:, 8 + j % 4] >> (2 * (j // 4))) & 3
    return (low4 | (high2 << 4)) - 32


def encode_q3_k(x):
    sub = _blocks(x, 256).reshape(-1, 16, 16)
    dh, sc, q = _symmetric_sub(sub, -4, 3, -32, 31, 32)
    v = (q + 4).reshape(-1, 256)                       # 0..7: low 2 bits in qs, bit 2 in hmask
    hb = (v >> 2).reshape(-1, 2, 4, 32)                # element 128n+32j+i -> hmask[i] bit 4n+j
    hmask = (hb << np.arange(8).reshape(1, 2, 4, 1)).sum(axis=(1, 2)).astype(np.uint8)
    u = sc + 32                                        # 0..63
    s = np.zeros((u.shape[0], 12), dtype=np.int32)
    s[:, 0:8] = (u[:, 0:8] & 15) | ((u[:, 8:16] & 15) << 4)
    hi = u >> 4                                        # scale j: byte 8 + j%4, bits 2·(j/4)
    for j in range(16):
        s[:, 8 + j % 4] |= hi[:, j] << (2 * (j // 4))
    dump = np.concatenate([hmask, _k23_pack_low2(v), s.astype(np.uint8), dh], axis=1)
    out = dump.tobytes()
    assert np.array_equal(_unpack_q3k_scales(s.astype(np.uint8)), sc)
    return out


def decode_q3_k(buf):
    blk = buf.reshape(-1, 110)
    d = _rdh(blk, 108)
    sc = _unpack_q3k_scales(blk[:, 96:108])
    low = _k23_unpack_low2(blk[:, 32:96])
    hm = blk[:, 0:32].astype(np.int32).reshape(-1, 1, 1, 32)
    hb = ((hm >> np.arange(8).reshape(1, 2, 4, 1)) & 1).reshape(-1, 256)
    q = (low - np.where(hb == 1, 0, 4)).reshape(-1, 16, 16).astype(F32)
    dl = (d[:, None] * sc.astype(F32)).astype(F32)
    return (dl[:, :, None] * q).astype(F32).reshape(-1)


def encode_q6_k(x):
    sub = _blocks(x, 256).reshape(-1, 16, 16)
    dh, sc, q = _symmetric_sub(sub, -32, 31, -128, 127, 127)
    v = (q + 32).reshape(-1, 2, 4, 32)                 # [nb, n, quarter, l]: element 128n + 32·quarter + l
    ql = np.concatenate([(v[:, :, 0] & 15) | ((v[:, :, 2] & 15) << 4),
                         (v[:, :, 1] & 15) | ((v[:, :, 3] & 15) << 4)], axis=2).reshape(-1, 128)
    qh = ((v >> 4) << (2 * np.arange(4)).reshape(1, 1, 4, 1)).sum(axis=2).reshape(-1, 64)
    return np.concatenate([ql.astype(np.uint8), qh.astype(np.uint8), sc.astype(np.int8).view(np.uint8), dh],
                          axis=1).tobytes()


def decode_q6_k(buf):
    blk = buf.reshape(-1, 210)
    d = _rdh(blk, 208)
    ql = blk[:, 0:128].astype(np.int32).reshape(-1, 2, 2, 32)   # [nb, n, lo/hi32, l]
    qh = blk[:, 128:192].astype(np.int32).reshape(-1, 2, 1, 32)
    low = np.stack([ql[:, :, 0] & 15, ql[:, :, 1] & 15, ql[:, :, 0] >> 4, ql[:, :, 1] >> 4], axis=2)
    high = (qh >> (2 * np.arange(4)).reshape(1, 1, 4, 1)) & 3
    q = ((low | (high << 4)) - 32).reshape(-1, 16, 16).astype(F32)
    sc = blk[:, 192:208].copy().view(np.int8).astype(F32)
    dsc = (d[:, None] * sc).astype(F32)
    return (dsc[:, :, None] * q).astype(F32).reshape(-1)


def encode_iq4_xs(x):
    sub = _blocks(x, 256).reshape(-1, 8, 32)
    scale = (_signed_absmax(sub, axis=2) / F32(-127)).astype(F32)
    dh, d16 = _f16(np.abs(scale).max(axis=1) / F32(31))
    ls = np.clip(np.rint(scale * _safe_inv(d16)[:, None]), -32, 31).astype(np.int32)
    dl = (d16[:, None] * ls.astype(F32)).astype(F32)
    idx = _iq4_index(sub * _safe_inv(dl)[:, :, None])
    u = ls + 32
    sh = ((u >> 4) << (2 * np.arange(8))).sum(axis=1).astype("<u2")
    sl = (u[:, 0::2] & 15) | ((u[:, 1::2] & 15) << 4)
    return np.concatenate([dh, sh.view(np.uint8).reshape(-1, 2), sl.astype(np.uint8),
                           _pack_nibbles16(idx).reshape(-1, 128)], axis=1).tobytes()


def decode_iq4_xs(buf):
    blk = buf.reshape(-1, 136)
    d = _rdh(blk, 0)
    h = blk[:, 2:4].copy().view("<u2").astype(np.int32).reshape(-1, 1)
    sl = blk[:, 4:8].astype(np.int32)
    ib = np.arange(8)
    ls = ((sl[:, ib // 2] >> (4 * (ib % 2))) & 15) | (((h >> (2 * ib)) & 3) << 4)
    dl = (d[:, None] * (ls - 32).astype(F32)).astype(F32)
    k = KVALUES_IQ4NL[_unpack_nibbles16(blk[:, 8:].reshape(-1, 8, 16))].astype(F32)
    return (dl[:, :, None] * k).astype(F32).reshape(-1)


# ggml type id -> (block elems, block bytes, encoder, decoder)
CODECS = {
    3: (32, 20, encode_q4_1, decode_q4_1),
    6: (32, 22, encode_q5_0, decode_q5_0),
    7: (32, 24, encode_q5_1, decode_q5_1),
    10: (256, 84, encode_q2_k, decode_q2_k),
    11: (256, 110, encode_q3_k, decode_q3_k),
    12: (256, 144, encode_q4_k, decode_q4_k),
    13: (256, 176, encode_q5_k, decode_q5_k),
    14: (256, 210, encode_q6_k, decode_q6_k),
    20: (32, 18, encode_iq4_nl, decode_iq4_nl),
    23: (256, 136, encode_iq4_xs, decode_iq4_xs),
}


def _dump(outdir, seed=3, n=256 * 40):
    """Write, per type, <outdir>/t<id>.raw (encoded seeded Gaussian data) and t<id>.f32 (this module's
    decoding of it, little-endian float32): tests/test_quant.c checks the C kernels decode them bit for bit."""
    import os
    x = (np.random.default_rng(seed).standard_normal(n) * 0.3).astype(F32)
    x[:256] = 0.0  # an all-zero (super-)block
    for t, (_be, bb, enc, dec) in CODECS.items():
        raw = enc(x)
        with open(os.path.join(outdir, "t%d.raw" % t), "wb") as f:
            f.write(raw)
        with open(os.path.join(outdir, "t%d.f32" % t), "wb") as f:
            f.write(dec(np.frombuffer(raw, np.uint8).reshape(-1, bb)).astype("<f4").tobytes())


if __name__ == "__main__":
    import sys
    if len(sys.argv) != 3 or sys.argv[1] != "--dump":
        sys.exit("usage: quants.py --dump OUTDIR")
    _dump(sys.argv[2])
