/* quant_ref.c — scalar reference dot products and the 32-element block types Q8_0 and Q4_0.
 *
 * Block layouts (reference §4, little-endian): Q8_0 = {f16 d; int8 qs[32]} (34 B), Q4_0 = {f16 d; u8 qs[16]}
 * (18 B; element j is the low nibble of qs[j], element j+16 the high nibble, value d·(nibble − 8)).
 * Blocks are addressed bytewise, so rows may start at any byte.
 *
 * Numerics vs llama.cpp (ggml-cpu/quants.c generic paths, ggml-cpu/vec.c scalar paths):
 *  - Q8_0·Q8_0, Q4_0·Q8_0: per block an exact int32 Σ q_w·q_a, then sumf += (float)sumi · (d_w·d_a) with the
 *    f16 scales widened to float, sumf a float — the generic ggml_vec_dot_q*_q8_0.
 *  - Q8_0 quantize: llama.cpp's portable quantize_row_q8_0_ref (what its x86-64 baseline build, the oracle's
 *    CPU variant, runs): d = amax/127, id = 1/d, q = roundf(x·id) (ties away from zero). (The AVX builds use
 *    id = 127/amax and round ties to even; the two differ when x·id lands on or next to a .5 step.)
 *  - Q4_0 quantize: quantize_row_q4_0_ref (d = signed max / −8, q = min(15, (int8)(x/d + 8.5))).
 *  - F32·F32, F16·F16, BF16·BF16: each product rounded to float, accumulated in double (ggml_float), as
 *    ggml's scalar ggml_vec_dot_{f32,f16,bf16}; its SIMD paths accumulate in float lanes instead.
 */
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "ref.h"

#define QK 32
#define Q8_0_BYTES 34
#define Q4_0_BYTES 18

static inline uint16_t load_u16le(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static inline void store_u16le(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v & 0xff);
    p[1] = (uint8_t)(v >> 8);
}

/* ---- plain float types -------------------------------------------------------------------------------- */

void ds2_ref_vec_dot_f32_f32(int64_t n, float *s, const void *w, const void *a) {
    const float *x = (const float *)w, *y = (const float *)a;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(x[i] * y[i]);
    *s = (float)sum;
}

void ds2_ref_vec_dot_f16_f16(int64_t n, float *s, const void *w, const void *a) {
    const uint16_t *x = (const uint16_t *)w, *y = (const uint16_t *)a;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(ds2_half_to_float_inline(x[i]) * ds2_half_to_float_inline(y[i]));
    *s = (float)sum;
}

void ds2_ref_vec_dot_bf16_bf16(int64_t n, float *s, const void *w, const void *a) {
    const uint16_t *x = (const uint16_t *)w, *y = (const uint16_t *)a;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(ds2_bf16_to_float_inline(x[i]) * ds2_bf16_to_float_inline(y[i]));
    *s = (float)sum;
}

/* ---- Q8_0 --------------------------------------------------------------------------------------------- */

void ds2_ref_q8_0_to_float(const void *x, float *y, int64_t n) {
    const uint8_t *b = (const uint8_t *)x;
    for (int64_t ib = 0; ib < n / QK; ib++, b += Q8_0_BYTES, y += QK) {
        const float d = ds2_half_to_float_inline(load_u16le(b));
        const int8_t *qs = (const int8_t *)(b + 2);
        for (int j = 0; j < QK; j++) y[j] = (float)qs[j] * d;
    }
}

void ds2_ref_q8_0_from_float(const float *x, void *y, int64_t n) {
    uint8_t *b = (uint8_t *)y;
    for (int64_t ib = 0; ib < n / QK; ib++, b += Q8_0_BYTES, x += QK) {
        float amax = 0.0f;
        for (int j = 0; j < QK; j++) {
            float v = fabsf(x[j]);
            amax = v > amax ? v : amax;
        }
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        store_u16le(b, ds2_f32_to_f16(d));
        int8_t *qs = (int8_t *)(b + 2);
        for (int j = 0; j < QK; j++) qs[j] = (int8_t)roundf(x[j] * id);
    }
}

void ds2_ref_vec_dot_q8_0_q8_0(int64_t n, float *s, const void *w, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < n / QK; ib++, bw += Q8_0_BYTES, ba += Q8_0_BYTES) {
        const int8_t *qw = (const int8_t *)(bw + 2), *qa = (const int8_t *)(ba + 2);
        int32_t sumi = 0;
        for (int j = 0; j < QK; j++) sumi += (int32_t)qw[j] * (int32_t)qa[j];
        sumf += (float)sumi * (ds2_half_to_float_inline(load_u16le(bw)) * ds2_half_to_float_inline(load_u16le(ba)));
    }
    *s = sumf;
}

/* ---- Q4_0 --------------------------------------------------------------------------------------------- */

void ds2_ref_q4_0_to_float(const void *x, float *y, int64_t n) {
    const uint8_t *b = (const uint8_t *)x;
    for (int64_t ib = 0; ib < n / QK; ib++, b += Q4_0_BYTES, y += QK) {
        const float d = ds2_half_to_float_inline(load_u16le(b));
        const uint8_t *qs = b + 2;
        for (int j = 0; j < QK / 2; j++) {
            y[j] = (float)((int)(qs[j] & 0x0f) - 8) * d;
            y[j + QK / 2] = (float)((int)(qs[j] >> 4) - 8) * d;
        }
    }
}

void ds2_ref_q4_0_from_float(const float *x, void *y, int64_t n) {
    uint8_t *b = (uint8_t *)y;
    for (int64_t ib = 0; ib < n / QK; ib++, b += Q4_0_BYTES, x += QK) {
        float amax = 0.0f, max = 0.0f; /* max: the signed value of largest magnitude */
        for (int j = 0; j < QK; j++) {
            float v = fabsf(x[j]);
            if (amax < v) {
                amax = v;
                max = x[j];
            }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        store_u16le(b, ds2_f32_to_f16(d));
        uint8_t *qs = b + 2;
        for (int j = 0; j < QK / 2; j++) {
            int q0 = (int)(int8_t)(x[j] * id + 8.5f), q1 = (int)(int8_t)(x[j + QK / 2] * id + 8.5f);
            q0 = q0 < 15 ? q0 : 15;
            q1 = q1 < 15 ? q1 : 15;
            qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

void ds2_ref_vec_dot_q4_0_q8_0(int64_t n, float *s, const void *w, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < n / QK; ib++, bw += Q4_0_BYTES, ba += Q8_0_BYTES) {
        const uint8_t *qw = bw + 2;
        const int8_t *qa = (const int8_t *)(ba + 2);
        int32_t sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < QK / 2; j++) {
            sumi0 += ((int32_t)(qw[j] & 0x0f) - 8) * (int32_t)qa[j];
            sumi1 += ((int32_t)(qw[j] >> 4) - 8) * (int32_t)qa[j + QK / 2];
        }
        sumf += (float)(sumi0 + sumi1) * (ds2_half_to_float_inline(load_u16le(bw)) * ds2_half_to_float_inline(load_u16le(ba)));
    }
    *s = sumf;
}
