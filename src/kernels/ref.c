/* ref.c — scalar reference: f16/bf16 conversions, the small f32 vector ops, and the row converters of the
 * plain float types.
 *
 * Bit-exact with llama.cpp's portable x86-64 CPU build (libggml-cpu-x64: SSE2, no FMA, no tinyBLAS), which
 * is the variant tests/oracle compares against (its AVX2 / AVX-512 variants differ from it, and from each
 * other, in the last bits of sums and of exp; with Q8_0 activations such bits decide rounding steps):
 *  - rmsnorm: Σ (float)(x·x) in double, mean rounded to float, scale = 1/sqrtf(mean + eps), y = (x·scale)·w
 *    (ggml_compute_forward_rms_norm_f32 followed by ggml_mul).
 *  - softmax (ggml_vec_soft_max_f32, SSE2 path): max in float; e = ggml_v_expf(x − max) for each aligned group
 *    of 4, the group summed as (e0+e1)+(e2+e3) in float and added to a double Σ; leftover elements use libm
 *    expf and are added to Σ one by one; x = e · (float)(1/Σ).
 *  - swiglu (ggml_vec_swiglu_f32, SSE2 path): per row, groups of 4 use silu(g) = g / (1 + ggml_v_expf(0 − g)),
 *    leftovers g / (1 + expf(−g)); times u.
 *  - dot_f32 / dot_f16_f32: products in float, accumulated in double, result rounded to float.
 *  - axpy: y += alpha·x in float (ggml_vec_mad_f32).
 * ggml_v_expf is evaluated lane by lane with the same float operations as its SSE2 form (every multiply and
 * add rounded separately), so the result is the same on any IEEE-754 target (x86, WASM, ARM). The build uses
 * -ffp-contract=off (a·b + c fused into an FMA would change the bits).
 */
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "ref.h"

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

/* ggml_v_expf (ggml-cpu/vec.h, the SSE2 form used by the x86-64 baseline build) for one lane: exp(x) as
 * 2^n · (1 + p(b)) with n = round(x·log2 e) and b = x − n·ln 2 in two parts; |n| > 126 rescales in two steps,
 * |n| > 192 saturates (to 0 or inf). */
static inline float ggml_expf_lane(float x) {
    const float r = 0x1.8p23f;
    const float z = x * 0x1.715476p+0f + r;
    const float n = z - r;
    const float b = (x - n * 0x1.62e4p-1f) - n * 0x1.7f7d1cp-20f;
    const uint32_t e = f32_bits(z) << 23;
    const float k = f32_from_bits(e + f32_bits(1.0f));
    const float u = b * b;
    const float j = ((0x1.0e4020p-7f * b + 0x1.573e2ep-5f) * u + (0x1.555e66p-3f * b + 0x1.fffdb6p-2f)) * u +
                    0x1.ffffecp-1f * b;
    const float an = fabsf(n);
    if (!(an > 126.0f)) return j * k + k;
    const uint32_t g = n <= 0.0f ? 0x82000000u : 0u;
    const float s1 = f32_from_bits(g + 0x7f000000u);
    const float s2 = f32_from_bits(e - g);
    if (an > 192.0f) return s1 * s1;
    return (s2 * j + s2) * s1;
}

double ds2_ref_softmax_exp_from(float *x, int64_t i, int64_t n, int64_t n_row, float max, double sum) {
    for (; i + 3 < n_row; i += 4) { /* groups of 4; entries at or beyond n are masked: exp = 0 */
        float e[4];
        for (int l = 0; l < 4; l++) {
            if (i + l < n) {
                e[l] = ggml_expf_lane(x[i + l] - max);
                x[i + l] = e[l];
            } else {
                e[l] = 0.0f;
            }
        }
        sum += (double)((e[0] + e[1]) + (e[2] + e[3]));
    }
    for (; i < n; i++) {
        float e = expf(x[i] - max);
        x[i] = e;
        sum += (double)e;
    }
    return sum;
}

void ds2_ref_softmax_row(float *x, int64_t n, int64_t n_row) {
    if (n <= 0) return;
    if (n_row < n) n_row = n;
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++) max = x[i] > max ? x[i] : max;
    const float inv = (float)(1.0 / ds2_ref_softmax_exp_from(x, 0, n, n_row, max, 0.0));
    for (int64_t k = 0; k < n; k++) x[k] *= inv;
}

void ds2_softmax(float *x, int64_t n) { ds2_softmax_row(x, n, n); }

void ds2_ref_swiglu(float *out, const float *g, const float *u, int64_t n) {
    int64_t i = 0;
    for (; i + 3 < n; i += 4) {
        for (int l = 0; l < 4; l++) {
            const float gi = g[i + l], ui = u[i + l];
            out[i + l] = gi / (1.0f + ggml_expf_lane(0.0f - gi)) * ui;
        }
    }
    for (; i < n; i++) {
        const float gi = g[i], ui = u[i];
        out[i] = gi / (1.0f + expf(-gi)) * ui;
    }
}

void ds2_swiglu_rows(float *out, const float *g, const float *u, int64_t rows, int64_t cols) {
    for (int64_t r = 0; r < rows; r++) ds2_swiglu(out + r * cols, g + r * cols, u + r * cols, cols);
}

double ds2_ref_dot_f32_acc(int64_t n, const float *a, const float *b, double acc) {
    for (int64_t i = 0; i < n; i++) acc += (double)(a[i] * b[i]);
    return acc;
}

double ds2_ref_dot_f16_f32_acc(int64_t n, const uint16_t *a, const float *b, double acc) {
    for (int64_t i = 0; i < n; i++) acc += (double)(ds2_half_to_float_inline(a[i]) * b[i]);
    return acc;
}

double ds2_ref_dot_f16_f16_acc(int64_t n, const uint16_t *a, const uint16_t *b, double acc) {
    for (int64_t i = 0; i < n; i++) acc += (double)(ds2_half_to_float_inline(a[i]) * ds2_half_to_float_inline(b[i]));
    return acc;
}

int64_t ds2_ref_argmax_f32(const float *x, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
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
