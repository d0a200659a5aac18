/* quant_ref_legacy.c — scalar reference kernels of the 32-element block types Q4_1, Q5_0, Q5_1 and of the
 * activation partner Q8_1 (Q4_0 and Q8_0 live in quant_ref.c).
 *
 * Block layouts (reference §4, little-endian, addressed bytewise):
 *   Q4_1 = {f16 d; f16 m; u8 qs[16]} (20 B)            value d·q + m,        q = nibble
 *   Q5_0 = {f16 d; u8 qh[4]; u8 qs[16]} (22 B)          value d·(q − 16),     q = nibble | bit·16
 *   Q5_1 = {f16 d; f16 m; u8 qh[4]; u8 qs[16]} (24 B)   value d·q + m
 *   Q8_1 = {f16 d; f16 s = d·Σq; int8 qs[32]} (36 B)
 * Element j (0..15) is the low nibble of qs[j], element j+16 the high nibble; the 5th bit of element j is bit j
 * of the u32 qh.
 *
 * Numerics: bit-exact with llama.cpp's portable x86-64 CPU build, which runs the generic paths:
 *  - Q8_1 quantize (quantize_row_q8_1_ref): as Q8_0 (d = amax/127, id = 1/d, q = roundf(x·id)) plus
 *    s = f16((float)Σq · d).
 *  - Q4_1·Q8_1, Q5_1·Q8_1: per block sumf += (d_w·d_a)·(float)Σq_w·q_a + m_w·s_a (float sumf).
 *  - Q5_0·Q8_0: per block sumf += (d_w·d_a)·(float)Σ(q_w − 16)·q_a.
 *  - dequantization: (float)q·d + m, (float)(q − 16)·d.
 */
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "ref.h"

#define QK 32
#define Q4_1_BYTES 20
#define Q5_0_BYTES 22
#define Q5_1_BYTES 24
#define Q8_0_BYTES 34
#define Q8_1_BYTES 36

static inline uint16_t ld16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline float ldh(const uint8_t *p) { return ds2_half_to_float_inline(ld16(p)); }
static inline uint32_t ld32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline void st16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v & 0xff);
    p[1] = (uint8_t)(v >> 8);
}

/* The 32 unsigned 4- or 5-bit values of a block (qh NULL: 4-bit). */
static inline void nibbles(const uint8_t *qs, const uint8_t *qh, int32_t v[QK]) {
    const uint32_t h = qh ? ld32(qh) : 0;
    for (int j = 0; j < QK / 2; j++) {
        v[j] = (int32_t)(qs[j] & 0x0f) | (int32_t)(((h >> j) & 1) << 4);
        v[j + QK / 2] = (int32_t)(qs[j] >> 4) | (int32_t)(((h >> (j + 16)) & 1) << 4);
    }
}

/* ---- Q8_1 (activation partner) ------------------------------------------------------------------------ */

void ds2_ref_q8_1_from_float(const float *x, void *y, int64_t n) {
    uint8_t *b = (uint8_t *)y;
    for (int64_t ib = 0; ib < n / QK; ib++, b += Q8_1_BYTES, x += QK) {
        float amax = 0.0f;
        for (int j = 0; j < QK; j++) {
            const float v = fabsf(x[j]);
            amax = v > amax ? v : amax;
        }
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        int8_t *qs = (int8_t *)(b + 4);
        int sum = 0;
        for (int j = 0; j < QK; j++) {
            qs[j] = (int8_t)roundf(x[j] * id);
            sum += qs[j];
        }
        st16(b, ds2_f32_to_f16(d));
        st16(b + 2, ds2_f32_to_f16((float)sum * d));
    }
}

void ds2_ref_q8_1_to_float(const void *x, float *y, int64_t n) {
    const uint8_t *b = (const uint8_t *)x;
    for (int64_t ib = 0; ib < n / QK; ib++, b += Q8_1_BYTES, y += QK) {
        const float d = ldh(b);
        const int8_t *qs = (const int8_t *)(b + 4);
        for (int j = 0; j < QK; j++) y[j] = (float)qs[j] * d;
    }
}

/* ---- Q4_1 / Q5_1 -------------------------------------------------------------------------------------- */

static void q41_51_to_float(const uint8_t *b, float *y, int64_t n, int bytes, int has_qh) {
    int32_t v[QK];
    for (int64_t ib = 0; ib < n / QK; ib++, b += bytes, y += QK) {
        const float d = ldh(b), m = ldh(b + 2);
        nibbles(b + (has_qh ? 8 : 4), has_qh ? b + 4 : NULL, v);
        for (int j = 0; j < QK; j++) y[j] = (float)v[j] * d + m;
    }
}

static float q41_51_dot(int64_t n, const uint8_t *bw, const uint8_t *ba, int bytes, int has_qh) {
    int32_t v[QK];
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < n / QK; ib++, bw += bytes, ba += Q8_1_BYTES) {
        nibbles(bw + (has_qh ? 8 : 4), has_qh ? bw + 4 : NULL, v);
        const int8_t *qa = (const int8_t *)(ba + 4);
        int32_t sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < QK / 2; j++) {
            sumi0 += v[j] * qa[j];
            sumi1 += v[j + QK / 2] * qa[j + QK / 2];
        }
        sumf += (ldh(bw) * ldh(ba)) * (float)(sumi0 + sumi1) + ldh(bw + 2) * ldh(ba + 2);
    }
    return sumf;
}

void ds2_ref_q4_1_to_float(const void *x, float *y, int64_t n) { q41_51_to_float(x, y, n, Q4_1_BYTES, 0); }
void ds2_ref_q5_1_to_float(const void *x, float *y, int64_t n) { q41_51_to_float(x, y, n, Q5_1_BYTES, 1); }
void ds2_ref_vec_dot_q4_1_q8_1(int64_t n, float *s, const void *w, const void *a) {
    *s = q41_51_dot(n, w, a, Q4_1_BYTES, 0);
}
void ds2_ref_vec_dot_q5_1_q8_1(int64_t n, float *s, const void *w, const void *a) {
    *s = q41_51_dot(n, w, a, Q5_1_BYTES, 1);
}

/* ---- Q5_0 --------------------------------------------------------------------------------------------- */

void ds2_ref_q5_0_to_float(const void *x, float *y, int64_t n) {
    const uint8_t *b = (const uint8_t *)x;
    int32_t v[QK];
    for (int64_t ib = 0; ib < n / QK; ib++, b += Q5_0_BYTES, y += QK) {
        const float d = ldh(b);
        nibbles(b + 6, b + 2, v);
        for (int j = 0; j < QK; j++) y[j] = (float)(v[j] - 16) * d;
    }
}

void ds2_ref_vec_dot_q5_0_q8_0(int64_t n, float *s, const void *w, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    int32_t v[QK];
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < n / QK; ib++, bw += Q5_0_BYTES, ba += Q8_0_BYTES) {
        nibbles(bw + 6, bw + 2, v);
        const int8_t *qa = (const int8_t *)(ba + 2);
        int32_t sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < QK / 2; j++) {
            sumi0 += (v[j] - 16) * qa[j];
            sumi1 += (v[j + QK / 2] - 16) * qa[j + QK / 2];
        }
        sumf += (ldh(bw) * ldh(ba)) * (float)(sumi0 + sumi1);
    }
    *s = sumf;
}
