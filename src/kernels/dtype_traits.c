/* dtype_traits.c — the one per-dtype kernel table (kernels.h ds2_type_traits_get).
 *
 * Adding a type: write its to_float / vec_dot (and from_float if it serves as an activation type) in a
 * quant_ref*.c file, declare them in ref.h, and add one line to k_ref below. Partner (activation) types need
 * a line too, with from_float set: Q4_1/Q5_1 pair with Q8_1, K-quants and IQ4_XS with Q8_K, IQ4_NL with Q8_0.
 * A partner-only type (Q8_1, Q8_K) has vec_dot = NULL and is not returned by ds2_type_traits_get.
 *
 * SIMD (kernel sets, below k_ref): the dispatch table is a copy of k_ref with the entries of the best
 * instruction set this CPU/build has overlaid (simd.h), chosen once per process: DS2_KERNELS=ref in the
 * environment or ds2_set_kernels("ref") keeps the scalar oracle (bit-exact with llama.cpp's x64 build).
 * k_ref itself stays the oracle (ds2_type_traits_ref_get); numerics of an overlay are tested against it.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "attn.h"
#include "kernels.h"
#include "ref.h"
#include "simd.h"

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

/* ---- kernel sets ----------------------------------------------------------------------------------------
 * "ref": k_ref. The best set ("avx2" / "simd128") is k_ref with SIMD entries overlaid;
 * built once (identical bits whichever thread builds it first), then the active table is one atomic pointer,
 * so the hot path (ds2_type_traits_get) is a load and an index. */

/* The attention dots of kernels.h (ds2_dot_*_acc) follow the same kernel set. */
typedef struct {
    double (*dot_f32_acc)(int64_t n, const float *a, const float *b, double acc);
    double (*dot_f16_f32_acc)(int64_t n, const uint16_t *a, const float *b, double acc);
    double (*dot_f16_f16_acc)(int64_t n, const uint16_t *a, const uint16_t *b, double acc);
    ds2_vec_dot_x4_fn vec_dot_x4[DS2_DTYPE_COUNT]; /* kernels.h ds2_vec_dot_x4_get */
    void (*mqa)(const ds2_mqa_args *a, int64_t h0, int64_t h1, float *scratch); /* attn.h ds2_mqa */
    ds2_gemm_fn gemm[DS2_DTYPE_COUNT]; /* kernels.h ds2_gemm_get (none in the reference set) */
    const ds2_mqa_ops *mqa_ops;        /* attn.h ds2_mqa_ops_get (none in the reference set) */
    int64_t (*argmax_f32)(const float *x, int64_t n); /* kernels.h ds2_argmax_f32 */
    void (*softmax_row)(float *x, int64_t n, int64_t n_row); /* kernels.h ds2_softmax_row */
    void (*swiglu)(float *out, const float *g, const float *u, int64_t n); /* kernels.h ds2_swiglu */
} vec_ops;
static const vec_ops k_ref_ops = {ds2_ref_dot_f32_acc, ds2_ref_dot_f16_f32_acc, ds2_ref_dot_f16_f16_acc, {0},
                                  ds2_mqa_ref, {0}, NULL, ds2_ref_argmax_f32, ds2_ref_softmax_row, ds2_ref_swiglu};

static ds2_type_traits k_best[DS2_DTYPE_COUNT];
static vec_ops k_best_ops;
static const char *k_best_name = "ref";
static atomic_int k_best_state;                     /* 0 unbuilt, 1 building, 2 built */
static _Atomic(const ds2_type_traits *) k_active;  /* NULL until the first lookup or ds2_set_kernels */
static _Atomic(const char *) k_active_name;
static _Atomic(const vec_ops *) k_active_ops = &k_ref_ops; /* stored before k_active */

#if defined(DS2_HAVE_AVX2)
static int cpu_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}
static int cpu_has_avx512_vnni(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
}
static int cpu_has_avx512_vbmi(void) { return __builtin_cpu_supports("avx512vbmi"); }
#endif

static void build_best(void) {
    int expected = 0;
    if (!atomic_compare_exchange_strong(&k_best_state, &expected, 1)) {
        while (atomic_load(&k_best_state) != 2) { /* another thread is building: microseconds */
        }
        return;
    }
    memcpy(k_best, k_ref, sizeof k_best);
    k_best_ops = k_ref_ops;
#if defined(DS2_HAVE_AVX2)
    if (cpu_has_avx2()) {
        k_best[DS2_F32].vec_dot = ds2_avx2_vec_dot_f32_f32;
        k_best[DS2_F16].vec_dot = ds2_avx2_vec_dot_f16_f16;
        k_best[DS2_F16].from_float = ds2_avx2_f16_from_float;
        k_best[DS2_Q8_0].vec_dot = ds2_avx2_vec_dot_q8_0_q8_0;
        k_best[DS2_Q8_0].from_float = ds2_avx2_q8_0_from_float;
        k_best[DS2_Q8_K].from_float = ds2_avx2_q8_k_from_float;
        k_best[DS2_Q4_0].vec_dot = ds2_avx2_vec_dot_q4_0_q8_0;
        k_best[DS2_Q5_0].vec_dot = ds2_avx2_vec_dot_q5_0_q8_0;
        k_best_ops.vec_dot_x4[DS2_Q5_0] = ds2_avx2_vec_dot_q5_0_q8_0_x4;
        k_best[DS2_IQ4_NL].vec_dot = ds2_avx2_vec_dot_iq4_nl_q8_0;
        k_best_ops.vec_dot_x4[DS2_IQ4_NL] = ds2_avx2_vec_dot_iq4_nl_q8_0_x4;
        k_best[DS2_Q5_K].vec_dot = ds2_avx2_vec_dot_q5_k_q8_k;
        k_best[DS2_BF16].vec_dot = ds2_avx2_vec_dot_bf16_bf16;
        k_best[DS2_Q4_1].vec_dot = ds2_avx2_vec_dot_q4_1_q8_1;
        k_best[DS2_Q5_1].vec_dot = ds2_avx2_vec_dot_q5_1_q8_1;
        k_best_ops.vec_dot_x4[DS2_Q4_1] = ds2_avx2_vec_dot_q4_1_q8_1_x4;
        k_best_ops.vec_dot_x4[DS2_Q5_1] = ds2_avx2_vec_dot_q5_1_q8_1_x4;
        k_best[DS2_Q2_K].vec_dot = ds2_avx2_vec_dot_q2_k_q8_k;
        k_best[DS2_Q3_K].vec_dot = ds2_avx2_vec_dot_q3_k_q8_k;
        k_best[DS2_IQ4_XS].vec_dot = ds2_avx2_vec_dot_iq4_xs_q8_k;
        k_best[DS2_Q4_K].vec_dot = ds2_avx2_vec_dot_q4_k_q8_k;
        k_best[DS2_Q6_K].vec_dot = ds2_avx2_vec_dot_q6_k_q8_k;
        k_best_ops.dot_f32_acc = ds2_avx2_dot_f32_acc;
        k_best_ops.dot_f16_f32_acc = ds2_avx2_dot_f16_f32_acc;
        k_best_ops.dot_f16_f16_acc = ds2_avx2_dot_f16_f16_acc;
        k_best_ops.softmax_row = ds2_avx2_softmax_row;
        k_best_ops.swiglu = ds2_avx2_swiglu;
        k_best_ops.mqa = ds2_avx2_mqa;
        k_best_ops.mqa_ops = &ds2_avx2_mqa_ops;
        k_best_ops.vec_dot_x4[DS2_Q8_0] = ds2_avx2_vec_dot_q8_0_q8_0_x4;
        k_best_ops.vec_dot_x4[DS2_Q4_0] = ds2_avx2_vec_dot_q4_0_q8_0_x4;
        k_best_ops.vec_dot_x4[DS2_Q4_K] = ds2_avx2_vec_dot_q4_k_q8_k_x4;
        k_best_ops.vec_dot_x4[DS2_Q5_K] = ds2_avx2_vec_dot_q5_k_q8_k_x4;
        k_best_ops.vec_dot_x4[DS2_Q6_K] = ds2_avx2_vec_dot_q6_k_q8_k_x4;
        k_best_ops.gemm[DS2_Q4_0] = ds2_avx2_gemm_q4_0;
        k_best_ops.gemm[DS2_Q5_0] = ds2_avx2_gemm_q5_0;
        k_best_ops.gemm[DS2_Q8_0] = ds2_avx2_gemm_q8_0;
        k_best_ops.gemm[DS2_IQ4_NL] = ds2_avx2_gemm_iq4_nl;
        k_best_ops.gemm[DS2_Q4_K] = ds2_avx2_gemm_q4_k;
        k_best_ops.gemm[DS2_Q5_K] = ds2_avx2_gemm_q5_k;
        k_best_ops.gemm[DS2_Q6_K] = ds2_avx2_gemm_q6_k;
        k_best_ops.gemm[DS2_Q3_K] = ds2_avx2_gemm_q3_k;
        k_best_ops.gemm[DS2_F16] = ds2_avx2_gemm_f16;
        if (cpu_has_avx512_vnni()) { /* Zen 4, Ice Lake and later: VNNI dot products in the tiles */
            k_best_ops.gemm[DS2_Q4_0] = ds2_avx2_gemm_q4_0_vnni;
            k_best_ops.vec_dot_x4[DS2_Q4_0] = ds2_avx2_vec_dot_q4_0_q8_0_x4_vnni;
            k_best_ops.gemm[DS2_Q5_0] = ds2_avx2_gemm_q5_0_vnni;
            k_best_ops.gemm[DS2_Q8_0] = ds2_avx2_gemm_q8_0_vnni;
            k_best_ops.gemm[DS2_IQ4_NL] = ds2_avx2_gemm_iq4_nl_vnni;
            k_best_ops.gemm[DS2_Q6_K] = ds2_avx2_gemm_q6_k_vnni;
            k_best_ops.gemm[DS2_Q3_K] = ds2_avx2_gemm_q3_k_vnni;
            k_best_ops.gemm[DS2_Q4_K] = ds2_avx2_gemm_q4_k_vnni;
            k_best_ops.gemm[DS2_Q5_K] = ds2_avx2_gemm_q5_k_vnni;
            if (cpu_has_avx512_vbmi()) { /* Ice Lake, Zen 4 and later: one-instruction byte permutation */
                k_best_ops.vec_dot_x4[DS2_Q4_K] = ds2_avx2_vec_dot_q4_k_q8_k_x4_vbmi;
                k_best_ops.vec_dot_x4[DS2_Q5_K] = ds2_avx2_vec_dot_q5_k_q8_k_x4_vbmi;
                k_best_ops.vec_dot_x4[DS2_Q6_K] = ds2_avx2_vec_dot_q6_k_q8_k_x4_vbmi;
            }
        }
        k_best_name = "avx2";
    }
#elif defined(__wasm_simd128__)
    k_best[DS2_F32].vec_dot = ds2_simd128_vec_dot_f32_f32;
    k_best[DS2_F16].vec_dot = ds2_simd128_vec_dot_f16_f16;
    k_best[DS2_Q8_0].vec_dot = ds2_simd128_vec_dot_q8_0_q8_0;
    k_best[DS2_Q8_0].from_float = ds2_simd128_q8_0_from_float;
    k_best[DS2_Q8_K].from_float = ds2_simd128_q8_k_from_float;
    k_best[DS2_Q4_0].vec_dot = ds2_simd128_vec_dot_q4_0_q8_0;
    k_best[DS2_Q5_0].vec_dot = ds2_simd128_vec_dot_q5_0_q8_0;
    k_best_ops.vec_dot_x4[DS2_Q5_0] = ds2_simd128_vec_dot_q5_0_q8_0_x4;
    k_best[DS2_IQ4_NL].vec_dot = ds2_simd128_vec_dot_iq4_nl_q8_0;
    k_best_ops.vec_dot_x4[DS2_IQ4_NL] = ds2_simd128_vec_dot_iq4_nl_q8_0_x4;
    k_best[DS2_Q5_K].vec_dot = ds2_simd128_vec_dot_q5_k_q8_k;
    k_best[DS2_BF16].vec_dot = ds2_simd128_vec_dot_bf16_bf16;
    k_best[DS2_Q4_1].vec_dot = ds2_simd128_vec_dot_q4_1_q8_1;
    k_best[DS2_Q5_1].vec_dot = ds2_simd128_vec_dot_q5_1_q8_1;
    k_best_ops.vec_dot_x4[DS2_Q4_1] = ds2_simd128_vec_dot_q4_1_q8_1_x4;
    k_best_ops.vec_dot_x4[DS2_Q5_1] = ds2_simd128_vec_dot_q5_1_q8_1_x4;
    k_best[DS2_Q2_K].vec_dot = ds2_simd128_vec_dot_q2_k_q8_k;
    k_best[DS2_Q3_K].vec_dot = ds2_simd128_vec_dot_q3_k_q8_k;
    k_best[DS2_IQ4_XS].vec_dot = ds2_simd128_vec_dot_iq4_xs_q8_k;
    k_best[DS2_Q4_K].vec_dot = ds2_simd128_vec_dot_q4_k_q8_k;
    k_best[DS2_Q6_K].vec_dot = ds2_simd128_vec_dot_q6_k_q8_k;
    k_best_ops.dot_f32_acc = ds2_simd128_dot_f32_acc;
    k_best_ops.dot_f16_f32_acc = ds2_simd128_dot_f16_f32_acc;
    k_best_ops.dot_f16_f16_acc = ds2_simd128_dot_f16_f16_acc;
    k_best_ops.mqa = ds2_simd128_mqa;
    k_best_ops.mqa_ops = &ds2_simd128_mqa_ops;
    k_best_ops.argmax_f32 = ds2_simd128_argmax_f32;
    k_best_ops.softmax_row = ds2_simd128_softmax_row;
    k_best_ops.swiglu = ds2_simd128_swiglu;
    k_best_ops.vec_dot_x4[DS2_Q8_0] = ds2_simd128_vec_dot_q8_0_q8_0_x4;
    k_best_ops.vec_dot_x4[DS2_Q4_0] = ds2_simd128_vec_dot_q4_0_q8_0_x4;
    k_best_ops.vec_dot_x4[DS2_Q4_K] = ds2_simd128_vec_dot_q4_k_q8_k_x4;
    k_best_ops.vec_dot_x4[DS2_Q5_K] = ds2_simd128_vec_dot_q5_k_q8_k_x4;
    k_best_ops.vec_dot_x4[DS2_Q6_K] = ds2_simd128_vec_dot_q6_k_q8_k_x4;
    k_best_ops.gemm[DS2_Q4_0] = ds2_simd128_gemm_q4_0;
    k_best_ops.gemm[DS2_Q5_0] = ds2_simd128_gemm_q5_0;
    k_best_ops.gemm[DS2_Q8_0] = ds2_simd128_gemm_q8_0;
    k_best_ops.gemm[DS2_IQ4_NL] = ds2_simd128_gemm_iq4_nl;
    k_best_ops.gemm[DS2_Q4_K] = ds2_simd128_gemm_q4_k;
    k_best_ops.gemm[DS2_Q5_K] = ds2_simd128_gemm_q5_k;
    k_best_ops.gemm[DS2_Q6_K] = ds2_simd128_gemm_q6_k;
    k_best_ops.gemm[DS2_Q3_K] = ds2_simd128_gemm_q3_k;
    k_best_ops.gemm[DS2_F16] = ds2_simd128_gemm_f16;
    k_best_name = "simd128";
#endif
    atomic_store(&k_best_state, 2);
}

static int select_set(const char *name) {
    if (!strcmp(name, "ref")) {
        atomic_store(&k_active_name, "ref");
        atomic_store(&k_active_ops, &k_ref_ops);
        atomic_store(&k_active, k_ref);
        return 1;
    }
    build_best();
    if (strcmp(name, "auto") && strcmp(name, k_best_name)) return 0;
    atomic_store(&k_active_name, k_best_name);
    atomic_store(&k_active_ops, (const vec_ops *)&k_best_ops);
    atomic_store(&k_active, (const ds2_type_traits *)k_best);
    return 1;
}

/* First use: $DS2_KERNELS ("ref", "auto", or the name of the best set; anything else means auto). */
static const ds2_type_traits *active_table(void) {
    const ds2_type_traits *t = atomic_load_explicit(&k_active, memory_order_acquire);
    if (t) return t;
    const char *env = getenv("DS2_KERNELS");
    if (!env || !select_set(env)) select_set("auto");
    return atomic_load(&k_active);
}

ds2_status ds2_set_kernels(const char *name, ds2_error *err) {
    if (!name) return ds2_fail(err, DS2_E_INVALID_ARG, "kernel set name is NULL");
    if (!select_set(name))
        return ds2_fail(err, DS2_E_INVALID_ARG, "kernel set \"%s\" not available here (have: ref, auto = %s)",
                        name, k_best_name);
    ds2_error_clear(err);
    return DS2_OK;
}

const char *ds2_kernels_name(void) {
    active_table();
    return atomic_load(&k_active_name);
}

static const ds2_type_traits *lookup(const ds2_type_traits *table, int32_t type) {
    if (type < 0 || type >= DS2_DTYPE_COUNT) return NULL;
    const ds2_type_traits *t = &table[type];
    if (!t->to_float || !t->vec_dot) return NULL;
    return t;
}

const ds2_type_traits *ds2_type_traits_get(int32_t type) { return lookup(active_table(), type); }

static const vec_ops *active_ops(void) {
    active_table();
    return atomic_load_explicit(&k_active_ops, memory_order_relaxed);
}
double ds2_dot_f32_acc(int64_t n, const float *a, const float *b, double acc) {
    return active_ops()->dot_f32_acc(n, a, b, acc);
}
ds2_vec_dot_x4_fn ds2_vec_dot_x4_get(int32_t type) {
    return type >= 0 && type < DS2_DTYPE_COUNT ? active_ops()->vec_dot_x4[type] : NULL;
}
/* the interleaved layout wherever the set has a four-row form (repack.c: in wasm Q8_0 decode +40%; natively,
 * where the four-row kernels prefetch, Q4_K_M +6%, Q4_0 / Q8_0 unchanged) */
int ds2_repack_x4_wanted(int32_t type) { return ds2_vec_dot_x4_get(type) != NULL; }
ds2_gemm_fn ds2_gemm_get(int32_t type) {
    return type >= 0 && type < DS2_DTYPE_COUNT ? active_ops()->gemm[type] : NULL;
}
double ds2_dot_f16_f32_acc(int64_t n, const uint16_t *a, const float *b, double acc) {
    return active_ops()->dot_f16_f32_acc(n, a, b, acc);
}
double ds2_dot_f16_f16_acc(int64_t n, const uint16_t *a, const uint16_t *b, double acc) {
    return active_ops()->dot_f16_f16_acc(n, a, b, acc);
}
void ds2_mqa(const ds2_mqa_args *a, int64_t h0, int64_t h1, float *scratch) { active_ops()->mqa(a, h0, h1, scratch); }
const ds2_mqa_ops *ds2_mqa_ops_get(void) { return active_ops()->mqa_ops; }
int64_t ds2_argmax_f32(const float *x, int64_t n) { return active_ops()->argmax_f32(x, n); }
void ds2_softmax_row(float *x, int64_t n, int64_t n_row) { active_ops()->softmax_row(x, n, n_row); }
void ds2_swiglu(float *out, const float *g, const float *u, int64_t n) { active_ops()->swiglu(out, g, u, n); }

const ds2_type_traits *ds2_type_traits_ref_get(int32_t type) { return lookup(k_ref, type); }

/* Activation types: any entry with from_float (partner-only Q8_1 / Q8_K included). */
static const ds2_type_traits *lookup_act(const ds2_type_traits *table, int32_t type) {
    if (type < 0 || type >= DS2_DTYPE_COUNT) return NULL;
    const ds2_type_traits *t = &table[type];
    return t->from_float ? t : NULL;
}

const ds2_type_traits *ds2_type_traits_act_get(int32_t type) { return lookup_act(active_table(), type); }

const ds2_type_traits *ds2_type_traits_ref_act_get(int32_t type) { return lookup_act(k_ref, type); }
