/* quant_ref_iq.c — scalar reference kernels of the non-linear 4-bit types IQ4_NL (32-element blocks, dotted
 * with Q8_0) and IQ4_XS (256-element super-blocks, dotted with Q8_K).
 *
 * Block layouts (reference §4, little-endian, addressed bytewise):
 *   IQ4_NL = {f16 d; u8 qs[16]} (18 B): element j = d·K[lo(qs[j])], element j+16 = d·K[hi(qs[j])]
 *   IQ4_XS = {f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]} (136 B): 8 sub-blocks of 32 with 6-bit scales
 *            ls = lo/hi nibble of scales_l[ib/2] | ((scales_h >> 2·ib) & 3) << 4, value (d·(ls − 32))·K[nibble]
 * K = kvalues_iq4nl, the 16-entry codebook below (llama.cpp ggml-common.h; a fixed format constant).
 *
 * Numerics: bit-exact with llama.cpp's portable x86-64 CPU build (generic paths):
 *  - IQ4_NL·Q8_0: per block sumf += (d_a·d_w)·(float)(Σ_lo + Σ_hi).
 *  - IQ4_XS·Q8_K: per sub-block of 32, sumf += ((d_w·d_a)·(float)(ls − 32))·(float)(Σ_lo + Σ_hi).
 */
#include <string.h>

#include "kernels.h"
#include "ref.h"

#define QK 32
#define QKK 256
#define IQ4_NL_BYTES 18
#define IQ4_XS_BYTES 136
#define Q8_0_BYTES 34
#define Q8_K_BYTES 292

const int8_t ds2_kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

static inline float ldh(const uint8_t *p) { return ds2_half_to_float_inline((uint16_t)(p[0] | (p[1] << 8))); }
static inline float ldf(const uint8_t *p) {
    uint32_t u = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Σ_lo + Σ_hi of 16 packed bytes (32 codebook values) against 32 int8 activations. */
static inline int32_t iq4_dot32(const uint8_t *qs, const int8_t *qa) {
    int32_t s1 = 0, s2 = 0;
    for (int j = 0; j < 16; j++) {
        s1 += qa[j] * ds2_kvalues_iq4nl[qs[j] & 0x0f];
        s2 += qa[j + 16] * ds2_kvalues_iq4nl[qs[j] >> 4];
    }
    return s1 + s2;
}

/* ---- IQ4_NL ------------------------------------------------------------------------------------------- */

void ds2_ref_iq4_nl_to_float(const void *x, float *y, int64_t n) {
    const uint8_t *b = (const uint8_t *)x;
    for (int64_t ib = 0; ib < n / QK; ib++, b += IQ4_NL_BYTES, y += QK) {
        const float d = ldh(b);
        const uint8_t *qs = b + 2;
        for (int j = 0; j < 16; j++) {
            y[j] = d * (float)ds2_kvalues_iq4nl[qs[j] & 0x0f];
            y[j + 16] = d * (float)ds2_kvalues_iq4nl[qs[j] >> 4];
        }
    }
}

void ds2_ref_vec_dot_iq4_nl_q8_0(int64_t n, float *s, const void *w, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < n / QK; ib++, bw += IQ4_NL_BYTES, ba += Q8_0_BYTES) {
        const float d = ldh(ba) * ldh(bw);
        sumf += d * (float)iq4_dot32(bw + 2, (const int8_t *)(ba + 2));
    }
    *s = sumf;
}

/* ---- IQ4_XS ------------------------------------------------------------------------------------------- */

static inline int iq4_xs_ls(const uint8_t *b, int ib) {
    const uint16_t h = (uint16_t)(b[2] | (b[3] << 8));
    return ((b[4 + ib / 2] >> (4 * (ib % 2))) & 0x0f) | (((h >> (2 * ib)) & 3) << 4);
}

void ds2_ref_iq4_xs_to_float(const void *x, float *y, int64_t n) {
    const uint8_t *b = (const uint8_t *)x;
    for (int64_t ibl = 0; ibl < n / QKK; ibl++, b += IQ4_XS_BYTES) {
        const float d = ldh(b);
        const uint8_t *qs = b + 8;
        for (int ib = 0; ib < 8; ib++, qs += 16, y += 32) {
            const float dl = d * (float)(iq4_xs_ls(b, ib) - 32);
            for (int j = 0; j < 16; j++) {
                y[j] = dl * (float)ds2_kvalues_iq4nl[qs[j] & 0x0f];
                y[j + 16] = dl * (float)ds2_kvalues_iq4nl[qs[j] >> 4];
            }
        }
    }
}

void ds2_ref_vec_dot_iq4_xs_q8_k(int64_t n, float *s, const void *w, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    float sumf = 0.0f;
    for (int64_t ibl = 0; ibl < n / QKK; ibl++, bw += IQ4_XS_BYTES, ba += Q8_K_BYTES) {
        const float d4d8 = ldh(bw) * ldf(ba);
        const uint8_t *qs = bw + 8;
        const int8_t *q8 = (const int8_t *)(ba + 4);
        for (int ib = 0; ib < 8; ib++, qs += 16, q8 += 32) {
            const float dl = d4d8 * (float)(iq4_xs_ls(bw, ib) - 32);
            sumf += dl * (float)iq4_dot32(qs, q8);
        }
    }
    *s = sumf;
}
