/* ref.c — scalar reference: f16/bf16 conversions, the small f32 vector ops, and the row converters of the
 * plain float types.
 *
 * Accumulation follows llama.cpp's scalar CPU path (ggml_float = double where ggml uses it):
 *  - rmsnorm: Σ (float)(x·x) in double, mean rounded to float, scale = 1/sqrtf(mean + eps), y = (x·scale)·w
 *    (ggml_compute_forward_rms_norm_f32 followed by ggml_mul).
 *  - softmax: max in float, e = expf(x − max) in float, Σ e in double, x = e · (float)(1/Σ).
 *  - swiglu: silu(g) = g / (1 + expf(−g)) in float, times u.
 *  - dot_f32 / dot_f16_f32: products in float, accumulated in double, result rounded to float.
 *  - axpy: y += alpha·x in float (ggml_vec_mad_f32).
 */
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "ref.h"

static inline uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* ---- scalar conversions ------------------------------------------------------------------------------- */

float ds2_f16_to_f32(uint16_t h) { return ds2_half_to_float_inline(h); }

uint16_t ds2_f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) /* NaN: quiet, top payload bits kept */
        return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x477ff000u) /* ≥ 65520 (the tie above 65504 rounds to even = inf), or inf */
        return (uint16_t)(sign | 0x7c00u);
    if (ax < 0x38800000u) { /* below 2^-14: half subnormal or zero */
        if (ax < 0x33000000u) return sign; /* < 2^-25: rounds to ±0 (2^-25 itself is handled below, → 0) */
        uint32_t e = ax >> 23;          /* 102..112 */
        uint32_t m = (ax & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126u - e;      /* 14..24 */
        uint32_t h = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (h & 1u))) h++; /* may carry into the smallest normal: correct */
        return (uint16_t)(sign | h);
    }
    uint32_t h = (ax >> 13) - (112u << 10);
    uint32_t rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++; /* carry into the exponent is correct */
    return (uint16_t)(sign | h);
}

float ds2_bf16_to_f32(uint16_t h) { return ds2_bf16_to_float_inline(h); }

uint16_t ds2_f32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* NaN: force quiet */
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

/* ---- row conversions ---------------------------------------------------------------------------------- */

void ds2_f32_to_f16_row(const float *x, uint16_t *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = ds2_f32_to_f16(x[i]);
}

void ds2_f16_to_f32_row(const uint16_t *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = ds2_half_to_float_inline(x[i]);
}

void ds2_ref_f32_to_float(const void *x, float *y, int64_t n) {
    if ((const void *)y != x) memmove(y, x, (size_t)n * sizeof(float));
}

void ds2_ref_f32_from_float(const float *x, void *y, int64_t n) {
    if ((const void *)x != y) memmove(y, x, (size_t)n * sizeof(float));
}

void ds2_ref_f16_to_float(const void *x, float *y, int64_t n) { ds2_f16_to_f32_row((const uint16_t *)x, y, n); }

void ds2_ref_f16_from_float(const float *x, void *y, int64_t n) { ds2_f32_to_f16_row(x, (uint16_t *)y, n); }

void ds2_ref_bf16_to_float(const void *x, float *y, int64_t n) {
    const uint16_t *h = (const uint16_t *)x;
    for (int64_t i = 0; i < n; i++) y[i] = ds2_bf16_to_float_inline(h[i]);
}

void ds2_ref_bf16_from_float(const float *x, void *y, int64_t n) {
    uint16_t *h = (uint16_t *)y;
    for (int64_t i = 0; i < n; i++) h[i] = ds2_f32_to_bf16(x[i]);
}

/* ---- vector ops --------------------------------------------------------------------------------------- */

void ds2_rmsnorm(float *y, const float *x, const float *w, int64_t n, float eps) {
    if (n <= 0) return;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
    const float mean = (float)(sum / (double)n);
    const float scale = 1.0f / sqrtf(mean + eps);
    if (w) {
        for (int64_t i = 0; i < n; i++) y[i] = (x[i] * scale) * w[i];
    } else {
        for (int64_t i = 0; i < n; i++) y[i] = x[i] * scale;
    }
}

void ds2_softmax(float *x, int64_t n) {
    if (n <= 0) return;
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++) max = x[i] > max ? x[i] : max;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        float e = expf(x[i] - max);
        x[i] = e;
        sum += (double)e;
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

void ds2_swiglu(float *out, const float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i], ui = u[i];
        out[i] = gi / (1.0f + expf(-gi)) * ui;
    }
}

float ds2_dot_f32(int64_t n, const float *a, const float *b) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(a[i] * b[i]);
    return (float)sum;
}

float ds2_dot_f16_f32(int64_t n, const uint16_t *a, const float *b) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(ds2_half_to_float_inline(a[i]) * b[i]);
    return (float)sum;
}

void ds2_axpy_f32(int64_t n, float alpha, const float *x, float *y) {
    for (int64_t i = 0; i < n; i++) y[i] += x[i] * alpha;
}

void ds2_axpy_f16(int64_t n, float alpha, const uint16_t *x, float *y) {
    for (int64_t i = 0; i < n; i++) y[i] += ds2_half_to_float_inline(x[i]) * alpha;
}
