/* ref.h — the scalar reference kernels behind the traits table (internal to src/kernels/).
 *
 * Owns: the per-dtype row kernels (to_float / from_float / vec_dot) of the portable C build. They are always
 * compiled; SIMD variants in other files are tested against them (ds2_type_traits_ref_get).
 * Alignment: F32 rows must be 4-byte aligned, F16/BF16 rows 2-byte aligned; block types (Q8_0, Q4_0) may sit
 * at any byte address (their f16 scales are read bytewise).
 */
#ifndef DS2_KERNELS_REF_H
#define DS2_KERNELS_REF_H

#include <stdint.h>
#include <string.h>

#include "kernels.h"

/* a float's IEEE bits and back (the reference's bit-level rounding steps; the tests' bit-exact comparisons) */
static inline uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Exact IEEE half → float without branches (vectorizable): the half's exponent+mantissa bits placed in a
 * float's low bits and scaled by 2^112 give the value for normals and subnormals alike (the float multiply is
 * exact; needs IEEE subnormals, i.e. no flush-to-zero/DAZ). Inf/NaN (exponent 31) are selected separately;
 * NaN comes out quiet with its payload kept, as VCVTPH2PS. */
static inline float ds2_half_to_float_inline(uint16_t h) {
    const uint32_t em = (uint32_t)(h & 0x7fffu) << 13;
    float f;
    memcpy(&f, &em, 4);
    f *= 5.192296858534828e+33f; /* 2^112 */
    uint32_t u;
    memcpy(&u, &f, 4);
    const uint32_t special = 0x7f800000u | em | (em & 0x7fe000u ? 0x400000u : 0u);
    u = (h & 0x7c00u) == 0x7c00u ? special : u;
    u |= (uint32_t)(h & 0x8000u) << 16;
    memcpy(&f, &u, 4);
    return f;
}

static inline float ds2_bf16_to_float_inline(uint16_t h) {
    const uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ---- ref.c: plain float types ---- */
void ds2_ref_f32_to_float(const void *x, float *y, int64_t n);
void ds2_ref_f32_from_float(const float *x, void *y, int64_t n);
void ds2_ref_f16_to_float(const void *x, float *y, int64_t n);
void ds2_ref_f16_from_float(const float *x, void *y, int64_t n);
void ds2_ref_bf16_to_float(const void *x, float *y, int64_t n);
void ds2_ref_bf16_from_float(const float *x, void *y, int64_t n);
/* the attention dots behind kernels.h ds2_dot_*_acc (dtype_traits.c dispatches them with the kernel set) */
double ds2_ref_dot_f32_acc(int64_t n, const float *a, const float *b, double acc);
double ds2_ref_dot_f16_f32_acc(int64_t n, const uint16_t *a, const float *b, double acc);
double ds2_ref_dot_f16_f16_acc(int64_t n, const uint16_t *a, const uint16_t *b, double acc);
int64_t ds2_ref_argmax_f32(const float *x, int64_t n); /* kernels.h ds2_argmax_f32 */
/* kernels.h ds2_softmax_row / ds2_swiglu: ggml's SSE2 arithmetic lane by lane, which the SIMD sets repeat 4
 * (SIMD128) or 8 (AVX2) lanes at a time (same float operations, so the same bits) */
void ds2_ref_softmax_row(float *x, int64_t n, int64_t n_row);
/* the reference's exponentials from x[i] on (i a multiple of 4: groups of 4, the masked last one, the libm tail),
 * each x[k] − max replaced by its exp; returns sum plus their double sum in the reference's order. The SIMD forms
 * take the whole groups and leave the rest to it. */
double ds2_ref_softmax_exp_from(float *x, int64_t i, int64_t n, int64_t n_row, float max, double sum);
void ds2_ref_swiglu(float *out, const float *g, const float *u, int64_t n);

/* ---- quant_ref.c: dot products (weight type · partner type) and block types ---- */
void ds2_ref_vec_dot_f32_f32(int64_t n, float *s, const void *w, const void *a);
void ds2_ref_vec_dot_f16_f16(int64_t n, float *s, const void *w, const void *a);
void ds2_ref_vec_dot_bf16_bf16(int64_t n, float *s, const void *w, const void *a);

void ds2_ref_q8_0_to_float(const void *x, float *y, int64_t n);
void ds2_ref_q8_0_from_float(const float *x, void *y, int64_t n);
void ds2_ref_vec_dot_q8_0_q8_0(int64_t n, float *s, const void *w, const void *a);

void ds2_ref_q4_0_to_float(const void *x, float *y, int64_t n);
void ds2_ref_q4_0_from_float(const float *x, void *y, int64_t n); /* llama.cpp quantize_row_q4_0_ref */
void ds2_ref_vec_dot_q4_0_q8_0(int64_t n, float *s, const void *w, const void *a);

/* ---- quant_ref_legacy.c: Q4_1, Q5_0, Q5_1 and the Q8_1 activation type ---- */
void ds2_ref_q8_1_to_float(const void *x, float *y, int64_t n);
void ds2_ref_q8_1_from_float(const float *x, void *y, int64_t n); /* llama.cpp quantize_row_q8_1_ref */
void ds2_ref_q4_1_to_float(const void *x, float *y, int64_t n);
void ds2_ref_vec_dot_q4_1_q8_1(int64_t n, float *s, const void *w, const void *a);
void ds2_ref_q5_0_to_float(const void *x, float *y, int64_t n);
void ds2_ref_vec_dot_q5_0_q8_0(int64_t n, float *s, const void *w, const void *a);
void ds2_ref_q5_1_to_float(const void *x, float *y, int64_t n);
void ds2_ref_vec_dot_q5_1_q8_1(int64_t n, float *s, const void *w, const void *a);

/* ---- quant_ref_k.c: K-quants (256-element super-blocks) and the Q8_K activation type ---- */
void ds2_ref_q8_k_to_float(const void *x, float *y, int64_t n);
void ds2_ref_q8_k_from_float(const float *x, void *y, int64_t n); /* llama.cpp quantize_row_q8_K_ref */
void ds2_ref_q2_k_to_float(const void *x, float *y, int64_t n);
void ds2_ref_vec_dot_q2_k_q8_k(int64_t n, float *s, const void *w, const void *a);
void ds2_ref_q3_k_to_float(const void *x, float *y, int64_t n);
void ds2_ref_vec_dot_q3_k_q8_k(int64_t n, float *s, const void *w, const void *a);
void ds2_ref_q4_k_to_float(const void *x, float *y, int64_t n);
void ds2_ref_vec_dot_q4_k_q8_k(int64_t n, float *s, const void *w, const void *a);
void ds2_ref_q5_k_to_float(const void *x, float *y, int64_t n);
void ds2_ref_vec_dot_q5_k_q8_k(int64_t n, float *s, const void *w, const void *a);
void ds2_ref_q6_k_to_float(const void *x, float *y, int64_t n);
void ds2_ref_vec_dot_q6_k_q8_k(int64_t n, float *s, const void *w, const void *a);

/* ---- quant_ref_iq.c: IQ4_NL (·Q8_0), IQ4_XS (·Q8_K) ---- */
extern const int8_t ds2_kvalues_iq4nl[16]; /* the IQ4 codebook */
void ds2_ref_iq4_nl_to_float(const void *x, float *y, int64_t n);
void ds2_ref_vec_dot_iq4_nl_q8_0(int64_t n, float *s, const void *w, const void *a);
void ds2_ref_iq4_xs_to_float(const void *x, float *y, int64_t n);
void ds2_ref_vec_dot_iq4_xs_q8_k(int64_t n, float *s, const void *w, const void *a);

/* ---- dtype_traits.c ---- */
/* The scalar traits of `type` regardless of what ds2_type_traits_get dispatches to (the test oracle). */
const ds2_type_traits *ds2_type_traits_ref_get(int32_t type);
/* The same for activation (partner) types, including the partner-only Q8_1 / Q8_K (from_float set). */
const ds2_type_traits *ds2_type_traits_ref_act_get(int32_t type);

/* The 8 six-bit scales and mins of a Q4_K/Q5_K super-block (its 12 packed bytes at sm) with 32-bit word masks,
 * 4 at a time (the SIMD kernels' form of the reference's per-index unpacking): u[0..1] = scales 0..7,
 * u[2..3] = mins 0..7, one per byte. */
static inline void ds2_k45_scales_mins_words(const uint8_t *sm, uint32_t u[4]) {
    memcpy(u, sm, 12);
    u[3] = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
    const uint32_t mins03 = u[1] & 0x3f3f3f3fu;
    u[1] = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
    u[2] = mins03;
    u[0] &= 0x3f3f3f3fu;
}

#endif
