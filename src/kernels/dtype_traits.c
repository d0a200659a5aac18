/* dtype_traits.c — the one per-dtype kernel table (kernels.h ds2_type_traits_get).
 *
 * Adding a type: write its to_float / vec_dot (and from_float if it serves as an activation type) in a
 * quant_ref*.c file, declare them in ref.h, and add one line to k_ref below. Partner (activation) types need
 * a line too, with from_float set: Q4_1/Q5_1 pair with Q8_1, K-quants and IQ4_XS with Q8_K, IQ4_NL with Q8_0.
 * A partner-only type (Q8_1, Q8_K) has vec_dot = NULL and is not returned by ds2_type_traits_get.
 *
 * SIMD: a faster build overrides entries of the dispatch table (k_fast) at the marked spot; k_ref stays the
 * scalar oracle (ds2_type_traits_ref_get). Numerics of an override must stay within the tolerances the tests
 * allow against the reference.
 */
#include <stddef.h>

#include "kernels.h"
#include "ref.h"

static const ds2_type_traits k_ref[DS2_DTYPE_COUNT] = {
    [DS2_F32] = {DS2_F32, ds2_ref_f32_to_float, ds2_ref_f32_from_float, ds2_ref_vec_dot_f32_f32},
    [DS2_F16] = {DS2_F16, ds2_ref_f16_to_float, ds2_ref_f16_from_float, ds2_ref_vec_dot_f16_f16},
    [DS2_BF16] = {DS2_BF16, ds2_ref_bf16_to_float, ds2_ref_bf16_from_float, ds2_ref_vec_dot_bf16_bf16},
    [DS2_Q8_0] = {DS2_Q8_0, ds2_ref_q8_0_to_float, ds2_ref_q8_0_from_float, ds2_ref_vec_dot_q8_0_q8_0},
    [DS2_Q4_0] = {DS2_Q8_0, ds2_ref_q4_0_to_float, ds2_ref_q4_0_from_float, ds2_ref_vec_dot_q4_0_q8_0},
    [DS2_Q4_1] = {DS2_Q8_1, ds2_ref_q4_1_to_float, NULL, ds2_ref_vec_dot_q4_1_q8_1},
    [DS2_Q5_0] = {DS2_Q8_0, ds2_ref_q5_0_to_float, NULL, ds2_ref_vec_dot_q5_0_q8_0},
    [DS2_Q5_1] = {DS2_Q8_1, ds2_ref_q5_1_to_float, NULL, ds2_ref_vec_dot_q5_1_q8_1},
    [DS2_Q8_1] = {DS2_Q8_1, ds2_ref_q8_1_to_float, ds2_ref_q8_1_from_float, NULL},
    [DS2_Q2_K] = {DS2_Q8_K, ds2_ref_q2_k_to_float, NULL, ds2_ref_vec_dot_q2_k_q8_k},
    [DS2_Q3_K] = {DS2_Q8_K, ds2_ref_q3_k_to_float, NULL, ds2_ref_vec_dot_q3_k_q8_k},
    [DS2_Q4_K] = {DS2_Q8_K, ds2_ref_q4_k_to_float, NULL, ds2_ref_vec_dot_q4_k_q8_k},
    [DS2_Q5_K] = {DS2_Q8_K, ds2_ref_q5_k_to_float, NULL, ds2_ref_vec_dot_q5_k_q8_k},
    [DS2_Q6_K] = {DS2_Q8_K, ds2_ref_q6_k_to_float, NULL, ds2_ref_vec_dot_q6_k_q8_k},
    [DS2_Q8_K] = {DS2_Q8_K, ds2_ref_q8_k_to_float, ds2_ref_q8_k_from_float, NULL},
    [DS2_IQ4_NL] = {DS2_Q8_0, ds2_ref_iq4_nl_to_float, NULL, ds2_ref_vec_dot_iq4_nl_q8_0},
    [DS2_IQ4_XS] = {DS2_Q8_K, ds2_ref_iq4_xs_to_float, NULL, ds2_ref_vec_dot_iq4_xs_q8_k},
};

/* The table ds2_type_traits_get answers from. Today it is the reference; SIMD kernels replace entries here
 * (e.g. under #if defined(__wasm_simd128__) / __AVX2__, defined in their own src/kernels/ files). */
#define k_fast k_ref

static const ds2_type_traits *lookup(const ds2_type_traits *table, int32_t type) {
    if (type < 0 || type >= DS2_DTYPE_COUNT) return NULL;
    const ds2_type_traits *t = &table[type];
    if (!t->to_float || !t->vec_dot) return NULL;
    return t;
}

const ds2_type_traits *ds2_type_traits_get(int32_t type) { return lookup(k_fast, type); }

const ds2_type_traits *ds2_type_traits_ref_get(int32_t type) { return lookup(k_ref, type); }

/* Activation types: any entry with from_float (partner-only Q8_1 / Q8_K included). */
static const ds2_type_traits *lookup_act(const ds2_type_traits *table, int32_t type) {
    if (type < 0 || type >= DS2_DTYPE_COUNT) return NULL;
    const ds2_type_traits *t = &table[type];
    return t->from_float ? t : NULL;
}

const ds2_type_traits *ds2_type_traits_act_get(int32_t type) { return lookup_act(k_fast, type); }

const ds2_type_traits *ds2_type_traits_ref_act_get(int32_t type) { return lookup_act(k_ref, type); }
