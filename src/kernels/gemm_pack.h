/* gemm_pack.h — the multi-token (GEMM) path of the SIMD sets: packed layouts, their packers and the blocking
 * driver, shared by avx2.c and simd128.c (static inline: each file compiles them for its own instruction set;
 * only the tile kernels are written per set). Internal to src/kernels/.
 *
 * Why packing: in prefill each weight row meets hundreds of tokens, so unpacking it (nibbles, 5th bits, scales)
 * once per call instead of once per token, and widening both sides to int16 in a layout where one 16-bit
 * multiply-add (pmaddwd / i32x4.dot_i16x8_s) forms exactly the reference's integer partial sums, leaves the
 * tile kernels nothing but multiply-adds. Every output is still computed with the reference's integer sums
 * (exact) and the reference's float operations in its order, so it equals the single-row vec_dot bit for bit.
 *
 * Four families:
 *  - q32: 32-element blocks against Q8_0 (Q4_0, Q5_0, Q8_0, IQ4_NL). Per block an exact int32 Σ w·a, then
 *    sumf += (float)sumi·(d_w·d_a). Packed values are the signed element values as int16 in element order.
 *  - t32: the q32 arithmetic with 8 blocks transposed into vector lanes (AVX2 Q4_0/Q5_0; see below).
 *  - kq8: the kq lanes from byte multiply-adds (AVX2 Q4_K/Q5_K; see below).
 *  - kq: K-quants against Q8_K (Q4_K, Q5_K: lanes + mins; Q6_K, Q3_K: lanes only). The reference sums each
 *    super-block into 8 int32 lanes, lane l = Σ over elements e ≡ l (mod 8) of scale(e)·w(e)·a(e). Packed
 *    weights are scale·w as int16 (|·| ≤ 128·32 = 4096), each 16-element group stored in the order
 *    e0 e8 e1 e9 … e7 e15 (activations the same), so a 16-bit multiply-add of adjacent pairs gives lane k of
 *    that group in 32-bit slot k: slots 0..7 of a 256-bit product are lanes 0..7; a 128-bit product holds lanes
 *    0..3 (first 8 int16) or 4..7 (next 8).
 */
#ifndef DS2_KERNELS_GEMM_PACK_H
#define DS2_KERNELS_GEMM_PACK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "ref.h"

#define GP_TILE_R 4 /* rows per tile */
#define GP_TILE_T 2 /* tokens per tile */
enum { GP_Q32 = 0, GP_KQ = 1, GP_T32 = 2, GP_KQ8 = 3 }; /* the packing families below */
/* Target bytes of packed activations per token block (stays in L1/L2 while every row tile meets it), of packed
 * activations held at once (packed once per call up to this size), and of packed weights per row chunk (L2). */
#define GP_A_BLOCK_BYTES (48 * 1024)
#define GP_A_ALL_BYTES (4 * 1024 * 1024)
#define GP_W_CHUNK_BYTES (128 * 1024)

static inline float gp_half(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return ds2_half_to_float_inline(h);
}
static inline float gp_f32(const uint8_t *p) {
    float f;
    memcpy(&f, p, 4);
    return f;
}

/* position p of a packed 16-element group holds element gp_perm16[p] */
static const uint8_t gp_perm16[16] = {0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15};

/* ---- q32 family ------------------------------------------------------------------------------------------
 * W tile (4 rows), per block: int16 q[4][32] (row k's 32 values), then after all nb blocks: float d[nb][4].
 * A token: int16 q[nb][32], then float d[nb]. */
#define GP_Q32_W_BPB (4 * 32 * 2 + 4 * 4) /* bytes per block per 4-row tile */
#define GP_Q32_A_BPB (32 * 2 + 4)

/* the 32 signed values of one block of wtype (Q4_0, Q5_0, Q8_0 or IQ4_NL) and its row stride in bytes */
static inline void gp_q32_values(int32_t wtype, const uint8_t *b, int16_t *v) {
    switch (wtype) {
    case DS2_Q8_0:
        for (int j = 0; j < 32; j++) v[j] = (int8_t)b[2 + j];
        break;
    case DS2_Q4_0:
        for (int j = 0; j < 16; j++) {
            v[j] = (int16_t)((b[2 + j] & 0x0f) - 8);
            v[j + 16] = (int16_t)((b[2 + j] >> 4) - 8);
        }
        break;
    case DS2_Q5_0: {
        uint32_t qh;
        memcpy(&qh, b + 2, 4);
        for (int j = 0; j < 16; j++) {
            v[j] = (int16_t)(((b[6 + j] & 0x0f) | (((qh >> j) & 1) << 4)) - 16);
            v[j + 16] = (int16_t)(((b[6 + j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16);
        }
        break;
    }
    default: /* IQ4_NL */
        for (int j = 0; j < 16; j++) {
            v[j] = ds2_kvalues_iq4nl[b[2 + j] & 0x0f];
            v[j + 16] = ds2_kvalues_iq4nl[b[2 + j] >> 4];
        }
        break;
    }
}

static inline size_t gp_q32_block_bytes(int32_t wtype) {
    return wtype == DS2_Q8_0 ? 34 : wtype == DS2_Q5_0 ? 22 : 18;
}

static inline void gp_q32_pack_w4(int32_t wtype, const uint8_t *w, size_t w_stride, size_t w_bstep, int64_t nb,
                                  uint8_t *dst) {
    int16_t *q = (int16_t *)dst;
    float *d = (float *)(dst + (size_t)nb * 4 * 32 * 2);
    for (int64_t ib = 0; ib < nb; ib++)
        for (int k = 0; k < 4; k++) {
            const uint8_t *b = w + (size_t)k * w_stride + (size_t)ib * w_bstep;
            gp_q32_values(wtype, b, q + (ib * 4 + k) * 32);
            d[ib * 4 + k] = gp_half(b);
        }
}

static inline void gp_q32_pack_a(const uint8_t *a, int64_t nb, uint8_t *dst) {
    int16_t *q = (int16_t *)dst;
    float *d = (float *)(dst + (size_t)nb * 32 * 2);
    for (int64_t ib = 0; ib < nb; ib++, a += 34) {
        for (int j = 0; j < 32; j++) q[ib * 32 + j] = (int8_t)a[2 + j];
        d[ib] = gp_half(a);
    }
}

/* ---- t32 family (AVX2: Q4_0, Q5_0) ---------------------------------------------------------------------
 * The same per-block arithmetic as q32, with blocks transposed into vector lanes: a group of 8 blocks is
 * stored as 8 steps of 32 bytes, step s holding elements 4s..4s+3 of block j in bytes 4j..4j+3. A byte
 * multiply-add of step s then sums 2 elements of block j per 16-bit slot, and 8 steps added up (one 32-bit
 * multiply-add of pairs at the end) give block j's whole Σ w·a in 32-bit lane j — no horizontal sums. Weights
 * are stored unsigned (value + offset, offset 8 for Q4_0, 16 for Q5_0: 0..31), so the kernel subtracts
 * offset·Σa per block (Σa stored with the activations). A last partial group is padded with zero blocks.
 * W tile (4 rows), per group: u8 q[4][8][32], float d[4][8]. A token, per group: int8 q[8][32], float d[8],
 * int32 sa[8] (Σ of each block's 32 values). */
#define GP_T32_W_BPG (4 * 256 + 4 * 8 * 4)
#define GP_T32_A_BPG (256 + 8 * 4 + 8 * 4)

/* Q4_0/Q5_0 rows: 4 elements are one 32-bit word of nibbles (elements 4s..4s+3 = low nibbles of qs bytes 4s..4s+3
 * for s < 4, high nibbles of bytes 4(s−4).. for s ≥ 4), so a step is a word copy; Q5_0 ors in its 5th bits. */
static inline void gp_t32_pack_w4(int32_t wtype, const uint8_t *w, size_t w_stride, size_t w_bstep, int64_t nb,
                                  uint8_t *dst) {
    const int q5 = wtype == DS2_Q5_0;
    const int64_t ng = (nb + 7) / 8;
    memset(dst, 0, (size_t)ng * GP_T32_W_BPG);
    if (wtype == DS2_Q8_0) { /* value + 128 = byte ^ 0x80: a step is a word */
        for (int64_t ib = 0; ib < nb; ib++) {
            uint8_t *g = dst + (size_t)(ib / 8) * GP_T32_W_BPG;
            const int j = (int)(ib % 8);
            for (int k = 0; k < 4; k++) {
                const uint8_t *b = w + (size_t)k * w_stride + (size_t)ib * w_bstep;
                for (int st = 0; st < 8; st++) {
                    uint32_t word;
                    memcpy(&word, b + 2 + 4 * st, 4);
                    word ^= 0x80808080u;
                    memcpy(g + 256 * k + 32 * st + 4 * j, &word, 4);
                }
                ((float *)(g + 1024))[8 * k + j] = gp_half(b);
            }
        }
        return;
    }
    if (wtype == DS2_IQ4_NL) { /* signed values + 128 (the VNNI tile only: 0..255) */
        int16_t v[32];
        for (int64_t ib = 0; ib < nb; ib++) {
            uint8_t *g = dst + (size_t)(ib / 8) * GP_T32_W_BPG;
            const int j = (int)(ib % 8);
            for (int k = 0; k < 4; k++) {
                const uint8_t *b = w + (size_t)k * w_stride + (size_t)ib * w_bstep;
                gp_q32_values(wtype, b, v);
                for (int e = 0; e < 32; e++) g[256 * k + 32 * (e / 4) + 4 * j + e % 4] = (uint8_t)(v[e] + 128);
                ((float *)(g + 1024))[8 * k + j] = gp_half(b);
            }
        }
        return;
    }
    for (int64_t ib = 0; ib < nb; ib++) {
        uint8_t *g = dst + (size_t)(ib / 8) * GP_T32_W_BPG;
        const int j = (int)(ib % 8);
        for (int k = 0; k < 4; k++) {
            const uint8_t *b = w + (size_t)k * w_stride + (size_t)ib * w_bstep;
            uint32_t qh = 0;
            if (q5) memcpy(&qh, b + 2, 4);
            for (int s = 0; s < 8; s++) {
                uint32_t word;
                memcpy(&word, b + (q5 ? 6 : 2) + 4 * (s & 3), 4);
                word = (s < 4 ? word : word >> 4) & 0x0f0f0f0fu;
                if (q5) {
                    const uint32_t bits = qh >> (4 * s); /* elements 4s..4s+3: bits 4s..4s+3 of qh */
                    word |= ((bits & 1) << 4) | ((bits & 2) << 11) | ((bits & 4) << 18) | ((bits & 8) << 25);
                }
                memcpy(g + 256 * k + 32 * s + 4 * j, &word, 4);
            }
            ((float *)(g + 1024))[8 * k + j] = gp_half(b);
        }
    }
}

static inline void gp_t32_pack_a(const uint8_t *a, int64_t nb, uint8_t *dst) {
    const int64_t ng = (nb + 7) / 8;
    memset(dst, 0, (size_t)ng * GP_T32_A_BPG);
    for (int64_t ib = 0; ib < nb; ib++, a += 34) {
        uint8_t *g = dst + (size_t)(ib / 8) * GP_T32_A_BPG;
        const int j = (int)(ib % 8);
        int32_t sa = 0;
        for (int e = 0; e < 32; e++) sa += (int8_t)a[2 + e];
        for (int s = 0; s < 8; s++) memcpy(g + 32 * s + 4 * j, a + 2 + 4 * s, 4);
        ((float *)(g + 256))[j] = gp_half(a);
        ((int32_t *)(g + 288))[j] = sa;
    }
}

/* ---- kq family -------------------------------------------------------------------------------------------
 * W tile (4 rows), per super-block: gp_kq_w[4]. A token: gp_kq_a[nb]. 576 B each (a multiple of 32). */
typedef struct {
    int16_t sw[256]; /* scale·value, groups permuted (gp_perm16) */
    int16_t mn[16];  /* Q4_K/Q5_K: the 8 mins, each twice (pairs with the Q8_K bsums); else 0 */
    float d, dmin;   /* dmin: 0 where the type has no mins */
    float pad[6];
} gp_kq_w;
typedef struct {
    int16_t a[256]; /* the Q8_K values, groups permuted */
    int16_t bs[16]; /* the Q8_K bsums (Σ of each 16 values) */
    float d;
    float pad[7];
} gp_kq_a;

static inline size_t gp_kq_block_bytes(int32_t wtype) {
    return wtype == DS2_Q4_K ? 144 : wtype == DS2_Q5_K ? 176 : wtype == DS2_Q6_K ? 210 : 110 /* Q3_K */;
}

/* one super-block of wtype → values v[256], scales per 16-group sc[16], mins (per 32) mn[8], d, dmin */
static inline void gp_kq_unpack(int32_t wtype, const uint8_t *b, int8_t v[256], int sc[16], int mn[8], float *d,
                                float *dmin) {
    *dmin = 0.0f;
    for (int j = 0; j < 8; j++) mn[j] = 0;
    if (wtype == DS2_Q4_K || wtype == DS2_Q5_K) {
        const uint8_t *sm = b + 4, *qh = wtype == DS2_Q5_K ? b + 16 : NULL, *qs = b + (qh ? 48 : 16);
        for (int c = 0; c < 4; c++, qs += 32)
            for (int l = 0; l < 32; l++) {
                v[64 * c + l] = (int8_t)((qs[l] & 0x0f) + (qh ? ((qh[l] >> (2 * c)) & 1) << 4 : 0));
                v[64 * c + 32 + l] = (int8_t)((qs[l] >> 4) + (qh ? ((qh[l] >> (2 * c + 1)) & 1) << 4 : 0));
            }
        for (int j = 0; j < 8; j++) {
            int s, m;
            if (j < 4) {
                s = sm[j] & 63;
                m = sm[j + 4] & 63;
            } else {
                s = (sm[j + 4] & 0x0f) | ((sm[j - 4] >> 6) << 4);
                m = (sm[j + 4] >> 4) | ((sm[j] >> 6) << 4);
            }
            sc[2 * j] = sc[2 * j + 1] = s;
            mn[j] = m;
        }
        *d = gp_half(b);
        *dmin = gp_half(b + 2);
    } else if (wtype == DS2_Q6_K) {
        const uint8_t *ql = b, *qh = b + 128;
        for (int half = 0; half < 2; half++, ql += 64, qh += 32)
            for (int l = 0; l < 32; l++) {
                int8_t *o = v + 128 * half;
                o[l] = (int8_t)(((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32);
                o[l + 32] = (int8_t)(((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32);
                o[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                o[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
        for (int g = 0; g < 16; g++) sc[g] = ((const int8_t *)(b + 192))[g];
        *d = gp_half(b + 208);
    } else { /* Q3_K {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d} */
        const uint8_t *hm = b, *q = b + 32, *s = b + 96;
        for (int half = 0; half < 2; half++)
            for (int j = 0; j < 4; j++)
                for (int l = 0; l < 32; l++)
                    v[128 * half + 32 * j + l] = (int8_t)(((q[32 * half + l] >> (2 * j)) & 3) -
                                                          ((hm[l] >> (4 * half + j)) & 1 ? 0 : 4));
        for (int j = 0; j < 16; j++) {
            const int low4 = j < 8 ? (s[j] & 0x0f) : (s[j - 8] >> 4);
            const int high2 = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
            sc[j] = (low4 | (high2 << 4)) - 32;
        }
        *d = gp_half(b + 108);
    }
}

static inline void gp_kq_pack_w4(int32_t wtype, const uint8_t *w, size_t w_stride, size_t w_bstep, int64_t nb,
                                 uint8_t *dst) {
    gp_kq_w *o = (gp_kq_w *)dst;
    int8_t v[256];
    int sc[16], mn[8];
    for (int64_t ib = 0; ib < nb; ib++)
        for (int k = 0; k < 4; k++, o++) {
            gp_kq_unpack(wtype, w + (size_t)k * w_stride + (size_t)ib * w_bstep, v, sc, mn, &o->d, &o->dmin);
            for (int g = 0; g < 16; g++)
                for (int p = 0; p < 16; p++) o->sw[16 * g + p] = (int16_t)(sc[g] * v[16 * g + gp_perm16[p]]);
            for (int j = 0; j < 8; j++) o->mn[2 * j] = o->mn[2 * j + 1] = (int16_t)mn[j];
        }
}

static inline void gp_kq_pack_a(const uint8_t *a, int64_t nb, uint8_t *dst) {
    gp_kq_a *o = (gp_kq_a *)dst;
    for (int64_t ib = 0; ib < nb; ib++, a += 292, o++) {
        const int8_t *qs = (const int8_t *)(a + 4);
        for (int g = 0; g < 16; g++)
            for (int p = 0; p < 16; p++) o->a[16 * g + p] = qs[16 * g + gp_perm16[p]];
        memcpy(o->bs, a + 260, 32);
        o->d = gp_f32(a);
    }
}

/* ---- kq8 family (AVX2: Q4_K, Q5_K — unsigned values) -----------------------------------------------------
 * The kq lanes with byte multiply-adds: each 32-element chunk c (groups 2c, 2c+1) stored with element j + 8m in
 * byte 4j + m (j < 8, m < 4), weights unsigned, activations signed; a byte multiply-add then holds the two
 * groups' lane-j folds in 16-bit slots 2j, 2j+1 (≤ 2·31·127) and a 16-bit multiply-add with the scale pair
 * (sc_2c, sc_2c+1) gives lane j in 32-bit slot j. */
typedef struct {
    uint8_t q[256];
    int32_t sp[8];  /* per chunk: sc_2c | sc_2c+1 << 16 */
    int16_t mn[16]; /* the 8 mins, each twice */
    float d, dmin;
    float pad[6];
} gp_kq8_w;
typedef struct {
    int8_t a[256];
    int16_t bs[16];
    float d;
    float pad[7];
} gp_kq8_a;

static inline void gp_kq8_pack_w4(int32_t wtype, const uint8_t *w, size_t w_stride, size_t w_bstep, int64_t nb,
                                  uint8_t *dst) {
    gp_kq8_w *o = (gp_kq8_w *)dst;
    int8_t v[256];
    int sc[16], mn[8];
    for (int64_t ib = 0; ib < nb; ib++)
        for (int k = 0; k < 4; k++, o++) {
            gp_kq_unpack(wtype, w + (size_t)k * w_stride + (size_t)ib * w_bstep, v, sc, mn, &o->d, &o->dmin);
            for (int c = 0; c < 8; c++) {
                for (int j = 0; j < 8; j++)
                    for (int m = 0; m < 4; m++) o->q[32 * c + 4 * j + m] = (uint8_t)v[32 * c + j + 8 * m];
                o->sp[c] = (int32_t)((uint32_t)(uint16_t)sc[2 * c] | ((uint32_t)(uint16_t)sc[2 * c + 1] << 16));
            }
            for (int j = 0; j < 8; j++) o->mn[2 * j] = o->mn[2 * j + 1] = (int16_t)mn[j];
        }
}

static inline void gp_kq8_pack_a(const uint8_t *a, int64_t nb, uint8_t *dst) {
    gp_kq8_a *o = (gp_kq8_a *)dst;
    for (int64_t ib = 0; ib < nb; ib++, a += 292, o++) {
        const int8_t *qs = (const int8_t *)(a + 4);
        for (int c = 0; c < 8; c++)
            for (int j = 0; j < 8; j++)
                for (int m = 0; m < 4; m++) o->a[32 * c + 4 * j + m] = qs[32 * c + j + 8 * m];
        memcpy(o->bs, a + 260, 32);
        o->d = gp_f32(a);
    }
}

/* ---- driver ---------------------------------------------------------------------------------------------- */

/* A tile kernel: 4 packed rows × 2 packed tokens → out[t][k] (bit-identical to vec_dot of row k, token t). */
typedef void (*gp_tile_fn)(int64_t nb, const uint8_t *w4, const uint8_t *a0, const uint8_t *a1, float out[2][4]);

/* y[t·ldy + r] = vec_dot(n, row r, token t) for r < nr, t < nt, with the packing of family fam; rows beyond a
 * multiple of 4 and an odd last token go through vec_dot itself. Callers pass a whole row range (a thread's
 * share) so both packings are amortized: activations are packed once per call (per GP_A_ALL_BYTES of them),
 * weights once per row chunk; then token blocks of GP_A_BLOCK_BYTES meet every 4-row tile of the chunk. */
static inline void gp_pack_w4(int fam, int32_t wtype, const uint8_t *w, size_t w_stride, size_t w_bstep, int64_t nb,
                              uint8_t *dst) {
    if (fam == GP_KQ8)
#ifdef GP_KQ8_PACK_W4 /* an instruction-set version of gp_kq8_pack_w4 (same bytes) */
        GP_KQ8_PACK_W4(wtype, w, w_stride, w_bstep, nb, dst);
#else
        gp_kq8_pack_w4(wtype, w, w_stride, w_bstep, nb, dst);
#endif
    else if (fam == GP_KQ)
#ifdef GP_KQ_PACK_W4 /* an instruction-set version of gp_kq_pack_w4 (same bytes) */
        GP_KQ_PACK_W4(wtype, w, w_stride, w_bstep, nb, dst);
#else
        gp_kq_pack_w4(wtype, w, w_stride, w_bstep, nb, dst);
#endif
    else if (fam == GP_T32)
        gp_t32_pack_w4(wtype, w, w_stride, w_bstep, nb, dst);
    else
        gp_q32_pack_w4(wtype, w, w_stride, w_bstep, nb, dst);
}
static inline void gp_pack_a(int fam, const uint8_t *a, int64_t nb, uint8_t *dst) {
    if (fam == GP_KQ8)
        gp_kq8_pack_a(a, nb, dst);
    else if (fam == GP_KQ)
        gp_kq_pack_a(a, nb, dst);
    else if (fam == GP_T32)
        gp_t32_pack_a(a, nb, dst);
    else
        gp_q32_pack_a(a, nb, dst);
}

/* x4: w's whole 4-row groups are interleaved (kernels.h DS2_TYPE_X4; rows past the last multiple of 4 are
 * row-major), and vec_dot_x4 is the set's four-row form of vec_dot. */
static inline void gp_gemm(int fam, int32_t wtype, gp_tile_fn tile,
                           void (*vec_dot)(int64_t, float *, const void *, const void *), ds2_vec_dot_x4_fn vec_dot_x4,
                           int64_t n, float *y, int64_t ldy, const uint8_t *w, size_t w_stride, int x4, int64_t nr,
                           const uint8_t *a, size_t a_stride, int64_t nt) {
    const int64_t nb = n / (fam == GP_KQ || fam == GP_KQ8 ? 256 : 32), ng = (nb + 7) / 8;
    const int64_t nr4 = nr & ~(int64_t)3;
    const size_t bb = fam == GP_KQ || fam == GP_KQ8 ? gp_kq_block_bytes(wtype) : gp_q32_block_bytes(wtype);
    /* a 4-row group: row k's block ib at + k·gs + ib·gb */
    const size_t gs = x4 ? bb : w_stride, gb = x4 ? 4 * bb : bb;
    const size_t w_tile = fam == GP_KQ ? (size_t)nb * 4 * sizeof(gp_kq_w)
                          : fam == GP_KQ8 ? (size_t)nb * 4 * sizeof(gp_kq8_w)
                          : fam == GP_T32 ? (size_t)ng * GP_T32_W_BPG : (size_t)nb * GP_Q32_W_BPB;
    const size_t a_tok = ((fam == GP_KQ ? (size_t)nb * sizeof(gp_kq_a)
                           : fam == GP_KQ8 ? (size_t)nb * sizeof(gp_kq8_a)
                           : fam == GP_T32 ? (size_t)ng * GP_T32_A_BPG : (size_t)nb * GP_Q32_A_BPB) + 63) & ~(size_t)63;
    int64_t tb = (int64_t)(GP_A_BLOCK_BYTES / a_tok) & ~(int64_t)1; /* tokens per block (even) */
    if (tb < 2) tb = 2;
    int64_t ts = (int64_t)(GP_A_ALL_BYTES / a_tok) / tb * tb; /* tokens packed at once (whole blocks) */
    if (ts < tb) ts = tb;
    if (ts > nt) ts = nt;
    int64_t rc = (int64_t)(GP_W_CHUNK_BYTES / w_tile) * 4; /* rows per packed chunk */
    if (rc < 4) rc = 4;
    if (rc > nr4) rc = nr4;
    /* scratch per call (not per thread: pool threads come and go with sessions, a thread-local buffer would
     * leak); malloc reuses the freed block, so this costs no page faults after the first call */
    uint8_t *buf = nr4 > 0 && nt >= 2 ? (uint8_t *)aligned_alloc(64, ((size_t)(rc / 4) * w_tile + (size_t)ts * a_tok + 63) & ~(size_t)63) : NULL;
    if (!buf) { /* nothing to tile (or no memory): one vec_dot per element */
        for (int64_t t = 0; t < nt; t++)
            ds2_dot_rows(vec_dot, vec_dot_x4, x4, bb, w_stride, n, y + t * ldy, w, 0, nr, a + (size_t)t * a_stride);
        return;
    }
    uint8_t *wp = buf, *ap = buf + (size_t)(rc / 4) * w_tile;
    for (int64_t s0 = 0; s0 < nt; s0 += ts) {
        const int64_t ns = nt - s0 < ts ? nt - s0 : ts;
        for (int64_t t = 0; t < ns; t++) gp_pack_a(fam, a + (size_t)(s0 + t) * a_stride, nb, ap + (size_t)t * a_tok);
        for (int64_t c0 = 0; c0 < nr4; c0 += rc) {
            const int64_t nc = nr4 - c0 < rc ? nr4 - c0 : rc;
            for (int64_t r = 0; r < nc; r += 4)
                gp_pack_w4(fam, wtype, w + (size_t)(c0 + r) * w_stride, gs, gb, nb, wp + (size_t)(r / 4) * w_tile);
            for (int64_t t0 = 0; t0 + 2 <= ns; t0 += tb) {
                const int64_t t1 = (t0 + tb < ns ? t0 + tb : ns) & ~(int64_t)1;
                for (int64_t r = 0; r < nc; r += 4) {
                    const uint8_t *w4 = wp + (size_t)(r / 4) * w_tile;
                    for (int64_t t = t0; t < t1; t += 2) {
                        float out[2][4];
                        tile(nb, w4, ap + (size_t)t * a_tok, ap + (size_t)(t + 1) * a_tok, out);
                        for (int j = 0; j < 2; j++)
                            for (int k = 0; k < 4; k++) y[(s0 + t + j) * ldy + c0 + r + k] = out[j][k];
                    }
                }
            }
            if (ns & 1) /* the odd last token of this pack */
                ds2_dot_rows(vec_dot, vec_dot_x4, x4, bb, w_stride, n, y + (s0 + ns - 1) * ldy, w, c0, c0 + nc,
                             a + (size_t)(s0 + ns - 1) * a_stride);
        }
    }
    free(buf);
    for (int64_t t = 0; t < nt; t++)
        ds2_dot_rows(vec_dot, vec_dot_x4, x4, bb, w_stride, n, y + t * ldy, w, nr4, nr, a + (size_t)t * a_stride);
}

/* ---- F16 · F16: exact double products ---------------------------------------------------------------------
 * A product of two halves is exact in float (11-bit significands, exponents far inside float's range), so
 * (double)(float)(w·a) = (double)w·(double)a: a set's F16 vec_dot, which rounds each product to float and adds
 * it in double lanes, is reproduced by multiplying doubles. Activations are widened to double once per call
 * (per GP_F16_A_ALL_BYTES of them), weight rows are read as halves in chunks that stay in L2, and rows(T, ...)
 * — the set's tile, written in its vec_dot's lanes and reduction order — widens a row once for T ≤ tmax
 * tokens. */
#define GP_F16_W_CHUNK_BYTES (256 * 1024)
#define GP_F16_A_ALL_BYTES (4 * 1024 * 1024)
typedef void (*gp_f16_widen_fn)(const uint16_t *h, int64_t n, double *d);
typedef void (*gp_f16_rows_fn)(int T, int64_t n, const uint16_t *w, const double *a, int64_t lda, float *y, int64_t ldy);
static inline void gp_gemm_f16(int tmax, gp_f16_widen_fn widen, gp_f16_rows_fn rows,
                               void (*vec_dot)(int64_t, float *, const void *, const void *), int64_t n, float *y,
                               int64_t ldy, const uint8_t *w, size_t w_stride, int64_t nr, const uint8_t *a,
                               size_t a_stride, int64_t nt) {
    const int64_t lda = (n + 3) & ~(int64_t)3; /* doubles per token: rows stay 32-byte aligned */
    int64_t ts = (int64_t)(GP_F16_A_ALL_BYTES / (sizeof(double) * (size_t)lda)); /* tokens widened at once */
    if (ts < tmax) ts = tmax;
    if (ts > nt) ts = nt;
    int64_t rc = (int64_t)(GP_F16_W_CHUNK_BYTES / (2 * (size_t)n + 1)); /* rows per chunk */
    if (rc < 1) rc = 1;
    double *ad = (double *)aligned_alloc(64, (sizeof(double) * (size_t)(ts * lda) + 63) & ~(size_t)63);
    if (!ad) { /* no scratch: one vec_dot per element (the same bits) */
        for (int64_t t = 0; t < nt; t++)
            for (int64_t r = 0; r < nr; r++) vec_dot(n, &y[t * ldy + r], w + (size_t)r * w_stride, a + (size_t)t * a_stride);
        return;
    }
    for (int64_t s0 = 0; s0 < nt; s0 += ts) {
        const int64_t ns = nt - s0 < ts ? nt - s0 : ts;
        for (int64_t t = 0; t < ns; t++) widen((const uint16_t *)(a + (size_t)(s0 + t) * a_stride), n, ad + t * lda);
        for (int64_t c0 = 0; c0 < nr; c0 += rc) {
            const int64_t c1 = c0 + rc < nr ? c0 + rc : nr;
            for (int64_t t = 0; t < ns; t += tmax) {
                const int T = (int)(ns - t < tmax ? ns - t : tmax);
                for (int64_t r = c0; r < c1; r++)
                    rows(T, n, (const uint16_t *)(w + (size_t)r * w_stride), ad + t * lda, lda, y + (s0 + t) * ldy + r, ldy);
            }
        }
    }
    free(ad);
}

#endif
