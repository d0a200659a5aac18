/* quant_ref_k.c — scalar reference kernels of the 256-element "K-quant" super-block types Q2_K, Q3_K, Q4_K,
 * Q5_K, Q6_K and of their activation partner Q8_K.
 *
 * Block layouts and dequantization formulas: reference §4 (little-endian; blocks addressed bytewise, so rows
 * may start at any byte). Q8_K = {f32 d; int8 qs[256]; int16 bsums[16]} (292 B; bsums[g] = Σ qs[16g..16g+15]).
 *
 * Numerics: bit-exact with llama.cpp's portable x86-64 CPU build (ggml-cpu x64 variant, the oracle's), which
 * runs the generic (scalar) paths of ggml-cpu/quants.c for these types and ggml-quants.c for dequantization:
 *  - Q8_K quantize (quantize_row_q8_K_ref): max = the signed value of largest |x| (first one wins),
 *    iscale = −127/max, q = min(127, round-half-even(iscale·x)) via the 1.5·2^23 float trick, d = 1/iscale
 *    (f32); an all-zero block stores d = 0, q = 0.
 *  - Q3_K / Q4_K / Q5_K / Q6_K · Q8_K: per super-block exact int32 sums in 8 lanes (lane = element index mod 8,
 *    each element's product weighted by its sub-block scale); per lane a float running sum over super-blocks
 *    sums[l] += (d_w·d_a)·(float)lane; Q4_K/Q5_K subtract (dmin_w·d_a)·Σ bsums·mins from a separate float sumf
 *    per super-block; at the end sumf += sums[0], …, sums[7] in order. The lane structure is what fixes the
 *    float rounding, so it is reproduced exactly.
 *  - Q2_K · Q8_K: per super-block sumf += (d_a·d_w)·(float)isum − (d_a·dmin_w)·(float)summs.
 *  - dequantization: the products are formed in llama.cpp's order (e.g. Q4_K (d·sc)·q − dmin·m,
 *    Q6_K (d·sc)·q), each operation rounded to float (the build has -ffp-contract=off).
 */
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "ref.h"

#define QKK 256
#define Q2_K_BYTES 84
#define Q3_K_BYTES 110
#define Q4_K_BYTES 144
#define Q5_K_BYTES 176
#define Q6_K_BYTES 210
#define Q8_K_BYTES 292

static inline uint16_t ld16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline float ldh(const uint8_t *p) { return ds2_half_to_float_inline(ld16(p)); }
static inline float ldf(const uint8_t *p) {
    uint32_t u = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline int16_t ldi16(const uint8_t *p) { return (int16_t)ld16(p); }

/* ---- Q8_K (activation partner) ------------------------------------------------------------------------ */

/* Round to nearest, ties to even, for |f| ≤ 2^22: adding 1.5·2^23 leaves the integer in the low mantissa bits. */
static inline int nearest_int(float f) {
    float v = f + 12582912.0f;
    int32_t i;
    memcpy(&i, &v, 4);
    return (i & 0x007fffff) - 0x00400000;
}

void ds2_ref_q8_k_from_float(const float *x, void *y, int64_t n) {
    uint8_t *b = (uint8_t *)y;
    for (int64_t ib = 0; ib < n / QKK; ib++, b += Q8_K_BYTES, x += QKK) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QKK; j++) {
            const float ax = fabsf(x[j]);
            if (ax > amax) {
                amax = ax;
                max = x[j];
            }
        }
        int8_t *qs = (int8_t *)(b + 4);
        if (amax == 0.0f) {
            memset(b, 0, Q8_K_BYTES);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < QKK; j++) {
            const int v = nearest_int(iscale * x[j]);
            qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int g = 0; g < QKK / 16; g++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += qs[16 * g + j];
            b[260 + 2 * g] = (uint8_t)(sum & 0xff);
            b[261 + 2 * g] = (uint8_t)((sum >> 8) & 0xff);
        }
        const float d = 1.0f / iscale;
        memcpy(b, &d, 4); /* little-endian host assumed, as everywhere in the engine */
    }
}

void ds2_ref_q8_k_to_float(const void *x, float *y, int64_t n) {
    const uint8_t *b = (const uint8_t *)x;
    for (int64_t ib = 0; ib < n / QKK; ib++, b += Q8_K_BYTES, y += QKK) {
        const float d = ldf(b);
        const int8_t *qs = (const int8_t *)(b + 4);
        for (int j = 0; j < QKK; j++) y[j] = d * (float)qs[j];
    }
}

/* ---- shared helpers ----------------------------------------------------------------------------------- */

/* Q4_K/Q5_K: the 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes (reference §4). */
static inline void scale_min_k4(int j, const uint8_t *s, int *sc, int *mn) {
    if (j < 4) {
        *sc = s[j] & 63;
        *mn = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
        *mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

/* Q3_K: the 16 signed 6-bit scales (value − 32 applied). */
static inline void scales_q3k(const uint8_t *s, int sc[16]) {
    for (int j = 0; j < 16; j++) {
        const int low4 = j < 8 ? (s[j] & 0x0f) : (s[j - 8] >> 4);
        const int high2 = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
        sc[j] = (low4 | (high2 << 4)) - 32;
    }
}

/* Tail of the 8-lane K-quant dot: lanes[l] holds Σ over elements e ≡ l (mod 8) of scale(e)·q_w(e)·q_a(e). */
static inline void lanes_accumulate(float sums[8], const int32_t lanes[8], float d) {
    for (int l = 0; l < 8; l++) sums[l] += d * (float)lanes[l];
}
static inline float lanes_finish(float sumf, const float sums[8]) {
    for (int l = 0; l < 8; l++) sumf += sums[l];
    return sumf;
}

/* Σ over 256 elements with a per-16 scale table (scale16[e/16]) into 8 lanes. */
static inline void lanes_dot16(int32_t lanes[8], const int8_t *qw, const int8_t *qa, const int *scale16) {
    for (int l = 0; l < 8; l++) lanes[l] = 0;
    for (int g = 0; g < 16; g++, qw += 16, qa += 16) { /* integer sums: any grouping gives the same lanes */
        const int32_t sc = scale16[g];
        for (int l = 0; l < 8; l++)
            lanes[l] += sc * ((int32_t)qw[l] * (int32_t)qa[l] + (int32_t)qw[l + 8] * (int32_t)qa[l + 8]);
    }
}

/* ---- Q2_K --------------------------------------------------------------------------------------------- */
/* {u8 scales[16] (lo: scale, hi: min); u8 qs[64] (2-bit); f16 d; f16 dmin} */

void ds2_ref_q2_k_to_float(const void *x, float *y, int64_t n) {
    const uint8_t *b = (const uint8_t *)x;
    for (int64_t ib = 0; ib < n / QKK; ib++, b += Q2_K_BYTES) {
        const float d = ldh(b + 80), dmin = ldh(b + 82);
        const uint8_t *sc = b, *q = b + 16;
        int is = 0;
        for (int half = 0; half < 2; half++, q += 32) {
            for (int j = 0; j < 4; j++) {
                const int shift = 2 * j;
                for (int k = 0; k < 2; k++, is++) {
                    const float dl = d * (float)(sc[is] & 0x0f), ml = dmin * (float)(sc[is] >> 4);
                    for (int l = 0; l < 16; l++) *y++ = dl * (float)((q[16 * k + l] >> shift) & 3) - ml;
                }
            }
        }
    }
}

void ds2_ref_vec_dot_q2_k_q8_k(int64_t n, float *s, const void *w, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < n / QKK; ib++, bw += Q2_K_BYTES, ba += Q8_K_BYTES) {
        const uint8_t *sc = bw, *q2 = bw + 16;
        const int8_t *q8 = (const int8_t *)(ba + 4);
        int summs = 0;
        for (int j = 0; j < 16; j++) summs += ldi16(ba + 260 + 2 * j) * (sc[j] >> 4);
        const float da = ldf(ba);
        const float dall = da * ldh(bw + 80), dmin = da * ldh(bw + 82);
        int isum = 0, is = 0;
        for (int half = 0; half < 2; half++, q2 += 32) {
            for (int j = 0; j < 4; j++, q8 += 32) {
                const int shift = 2 * j;
                for (int k = 0; k < 2; k++, is++) {
                    int isuml = 0;
                    for (int l = 16 * k; l < 16 * k + 16; l++) isuml += q8[l] * ((q2[l] >> shift) & 3);
                    isum += (sc[is] & 0x0f) * isuml;
                }
            }
        }
        sumf += dall * (float)isum - dmin * (float)summs;
    }
    *s = sumf;
}

/* ---- Q3_K --------------------------------------------------------------------------------------------- */
/* {u8 hmask[32]; u8 qs[64] (low 2 bits); u8 scales[12] (16 × 6-bit); f16 d} */

/* The 256 signed 3-bit values of one block in element order. */
static void q3k_values(const uint8_t *b, int8_t v[QKK]) {
    const uint8_t *hm = b, *q = b + 32;
    int m = 0; /* hmask bit: 4·half + j */
    for (int half = 0; half < 2; half++, q += 32) {
        for (int j = 0; j < 4; j++, m++) {
            for (int l = 0; l < 32; l++)
                *v++ = (int8_t)(((q[l] >> (2 * j)) & 3) - ((hm[l] >> m) & 1 ? 0 : 4));
        }
    }
}

void ds2_ref_q3_k_to_float(const void *x, float *y, int64_t n) {
    const uint8_t *b = (const uint8_t *)x;
    int8_t v[QKK];
    int sc[16];
    for (int64_t ib = 0; ib < n / QKK; ib++, b += Q3_K_BYTES, y += QKK) {
        const float d = ldh(b + 108);
        scales_q3k(b + 96, sc);
        q3k_values(b, v);
        for (int g = 0; g < 16; g++) {
            const float dl = d * (float)sc[g];
            for (int l = 0; l < 16; l++) y[16 * g + l] = dl * (float)v[16 * g + l];
        }
    }
}

void ds2_ref_vec_dot_q3_k_q8_k(int64_t n, float *s, const void *w, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    float sums[8] = {0};
    int8_t v[QKK];
    int sc[16];
    int32_t lanes[8];
    for (int64_t ib = 0; ib < n / QKK; ib++, bw += Q3_K_BYTES, ba += Q8_K_BYTES) {
        scales_q3k(bw + 96, sc);
        q3k_values(bw, v);
        lanes_dot16(lanes, v, (const int8_t *)(ba + 4), sc);
        lanes_accumulate(sums, lanes, ldh(bw + 108) * ldf(ba));
    }
    *s = lanes_finish(0.0f, sums);
}

/* ---- Q4_K / Q5_K -------------------------------------------------------------------------------------- */
/* Q4_K {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]}; Q5_K adds u8 qh[32] (5th bits) before qs. */

/* The 256 unsigned 4/5-bit values in element order (qh NULL for Q4_K). */
static void q45k_values(const uint8_t *qs, const uint8_t *qh, int8_t v[QKK]) {
    for (int c = 0; c < 4; c++, qs += 32) {
        for (int l = 0; l < 32; l++)
            v[64 * c + l] = (int8_t)((qs[l] & 0x0f) + (qh ? ((qh[l] >> (2 * c)) & 1) << 4 : 0));
        for (int l = 0; l < 32; l++)
            v[64 * c + 32 + l] = (int8_t)((qs[l] >> 4) + (qh ? ((qh[l] >> (2 * c + 1)) & 1) << 4 : 0));
    }
}

static void q45k_to_float(const uint8_t *b, int64_t n, float *y, int bytes, int qh_off, int qs_off) {
    int8_t v[QKK];
    for (int64_t ib = 0; ib < n / QKK; ib++, b += bytes, y += QKK) {
        const float d = ldh(b), dmin = ldh(b + 2);
        q45k_values(b + qs_off, qh_off ? b + qh_off : NULL, v);
        for (int j = 0; j < 8; j++) {
            int sc, mn;
            scale_min_k4(j, b + 4, &sc, &mn);
            const float d1 = d * (float)sc, m1 = dmin * (float)mn;
            for (int l = 0; l < 32; l++) y[32 * j + l] = d1 * (float)v[32 * j + l] - m1;
        }
    }
}

static float q45k_dot(int64_t n, const uint8_t *bw, const uint8_t *ba, int bytes, int qh_off, int qs_off) {
    float sumf = 0.0f, sums[8] = {0};
    int8_t v[QKK];
    int sc16[16];
    int32_t lanes[8];
    for (int64_t ib = 0; ib < n / QKK; ib++, bw += bytes, ba += Q8_K_BYTES) {
        q45k_values(bw + qs_off, qh_off ? bw + qh_off : NULL, v);
        int sumi = 0;
        for (int j = 0; j < 8; j++) {
            int sc, mn;
            scale_min_k4(j, bw + 4, &sc, &mn);
            sc16[2 * j] = sc16[2 * j + 1] = sc;
            sumi += (ldi16(ba + 260 + 4 * j) + ldi16(ba + 262 + 4 * j)) * mn;
        }
        lanes_dot16(lanes, v, (const int8_t *)(ba + 4), sc16);
        const float da = ldf(ba);
        lanes_accumulate(sums, lanes, ldh(bw) * da);
        sumf -= (ldh(bw + 2) * da) * (float)sumi;
    }
    return lanes_finish(sumf, sums);
}

void ds2_ref_q4_k_to_float(const void *x, float *y, int64_t n) { q45k_to_float(x, n, y, Q4_K_BYTES, 0, 16); }
void ds2_ref_q5_k_to_float(const void *x, float *y, int64_t n) { q45k_to_float(x, n, y, Q5_K_BYTES, 16, 48); }

void ds2_ref_vec_dot_q4_k_q8_k(int64_t n, float *s, const void *w, const void *a) {
    *s = q45k_dot(n, w, a, Q4_K_BYTES, 0, 16);
}
void ds2_ref_vec_dot_q5_k_q8_k(int64_t n, float *s, const void *w, const void *a) {
    *s = q45k_dot(n, w, a, Q5_K_BYTES, 16, 48);
}

/* ---- Q6_K --------------------------------------------------------------------------------------------- */
/* {u8 ql[128] (low 4 bits); u8 qh[64] (high 2 bits); int8 scales[16]; f16 d} */

static void q6k_values(const uint8_t *b, int8_t v[QKK]) {
    const uint8_t *ql = b, *qh = b + 128;
    for (int half = 0; half < 2; half++, ql += 64, qh += 32, v += 128) {
        for (int l = 0; l < 32; l++) {
            v[l] = (int8_t)(((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32);
            v[l + 32] = (int8_t)(((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32);
            v[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
            v[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
        }
    }
}

void ds2_ref_q6_k_to_float(const void *x, float *y, int64_t n) {
    const uint8_t *b = (const uint8_t *)x;
    int8_t v[QKK];
    for (int64_t ib = 0; ib < n / QKK; ib++, b += Q6_K_BYTES, y += QKK) {
        const float d = ldh(b + 208);
        const int8_t *sc = (const int8_t *)(b + 192);
        q6k_values(b, v);
        for (int e = 0; e < QKK; e++) y[e] = d * (float)sc[e >> 4] * (float)v[e];
    }
}

void ds2_ref_vec_dot_q6_k_q8_k(int64_t n, float *s, const void *w, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    float sums[8] = {0};
    int8_t v[QKK];
    int sc[16];
    int32_t lanes[8];
    for (int64_t ib = 0; ib < n / QKK; ib++, bw += Q6_K_BYTES, ba += Q8_K_BYTES) {
        for (int g = 0; g < 16; g++) sc[g] = ((const int8_t *)(bw + 192))[g];
        q6k_values(bw, v);
        lanes_dot16(lanes, v, (const int8_t *)(ba + 4), sc);
        lanes_accumulate(sums, lanes, ldh(bw + 208) * ldf(ba));
    }
    *s = lanes_finish(0.0f, sums);
}
