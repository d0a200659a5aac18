/* test_simd.c — the SIMD kernel set (src/kernels/simd.h) against the scalar reference, on random shapes with
 * tails: every overlaid entry, the matrix product over 1..5 tokens and 1..4 threads, and the logits of the tiny
 * fixture models with the SIMD set vs the reference set. Where no SIMD set exists (a CPU without AVX2, a wasm
 * build without -msimd128) the active set is the reference and the comparisons hold trivially; the test says so.
 *
 * Error budgets (stated per kernel; the reference is bit-exact with llama.cpp's x64 build):
 *  - Q8_0·Q8_0, Q4_0·Q8_0, Q5_0·Q8_0, IQ4_NL·Q8_0, Q4_1/Q5_1·Q8_1, Q2_K..Q6_K·Q8_K, IQ4_XS·Q8_K, the Q8_0 and F16
 *    activation rounding: identical bits.
 *  - F32·F32, F16·F16, BF16·BF16: same float products, double sums in another order: |s − ref| ≤ 2^-23·Σ|w·a|
 *    (the double sum error is ~n·2^-53·Σ|w·a|, then one float rounding of ≤ 2^-24·|s|).
 *  - attention dots ds2_dot_*_acc (double results): |d| ≤ n·2^-52·Σ|a·b|.
 *  - End to end (fixtures): F32/F16 models max |Δlogit| ≤ 1e-4·max|logit|; Q8_0/Q4_0 models, whose non-matmul
 *    F32 tensors still go through the F32 dot, ≤ 1e-3·max|logit| (a one-ulp change can move one activation to
 *    a neighbouring Q8_0 step) — printed per model.
 * Built for WASI too (DS2_TEST_NO_MODELS: no fixtures there), to run the SIMD128 kernels under Node.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds2.h"
#include "kernels/kernels.h"
#include "kernels/ref.h"
#include "test.h"
#include "threadpool.h"

#include "rng.h"
static void fill_random(float *x, int64_t n, float scale) {
    for (int64_t i = 0; i < n; i++) x[i] = rng_normalish() * scale;
}

static const int32_t k_types[] = {DS2_F32,  DS2_F16,  DS2_BF16, DS2_Q8_0, DS2_Q4_0, DS2_Q5_0, DS2_IQ4_NL, DS2_Q4_1,
                                  DS2_Q5_1, DS2_Q2_K, DS2_Q3_K, DS2_Q4_K, DS2_Q5_K, DS2_Q6_K, DS2_IQ4_XS};
#define N_TYPES (int)(sizeof k_types / sizeof k_types[0])
static int block_type(int32_t t) { return t != DS2_F32 && t != DS2_F16 && t != DS2_BF16; }
static int64_t block_len(int32_t t) {
    return t == DS2_Q2_K || t == DS2_Q3_K || t == DS2_Q4_K || t == DS2_Q5_K || t == DS2_Q6_K || t == DS2_IQ4_XS ? 256 : 32;
}

/* Weights of types without a quantizer in the engine (K-quants, Q4_1, Q5_0, Q5_1, IQ4_NL, IQ4_XS): random valid blocks — random bytes, with the
 * f16 scales replaced by finite values of moderate size (random bytes could be inf/NaN). */
static void random_weights(int32_t t, const float *x, void *dst, int64_t n) {
    const ds2_type_traits *r = ds2_type_traits_ref_get(t);
    if (r->from_float) {
        r->from_float(x, dst, n);
        /* the quantizer writes Q8_0 values within ±127, but a file may hold −128: put some in (the relaxed
         * kernels rely on the range of the activations only) */
        if (t == DS2_Q8_0)
            for (int64_t blk = 0; blk < n / 32; blk++)
                if (rng_u64() % 4 == 0) ((int8_t *)dst)[blk * 34 + 2 + (int64_t)(rng_u64() % 32)] = -128;
        return;
    }
    uint8_t *b = (uint8_t *)dst;
    const size_t bytes = ds2_row_bytes(t, n);
    for (size_t i = 0; i < bytes; i++) b[i] = (uint8_t)(rng_u64() >> 24);
    const size_t bb = ds2_row_bytes(t, block_len(t));
    for (size_t blk = 0; blk < bytes / bb; blk++) {
        uint8_t *p = b + blk * bb;
        /* f16 d (and dmin) offsets per type; the others (Q5_0, IQ4_NL, IQ4_XS) have d at 0 */
        size_t off[2] = {0, 0}; /* d, dmin */
        if (t == DS2_Q4_K || t == DS2_Q5_K || t == DS2_Q4_1 || t == DS2_Q5_1) off[1] = 2; /* dmin / m */
        if (t == DS2_Q6_K) off[0] = off[1] = 208;
        if (t == DS2_Q3_K) off[0] = off[1] = 108;
        if (t == DS2_Q2_K) off[0] = 80, off[1] = 82;
        for (int k = 0; k < 2; k++) {
            const uint16_t h = ds2_f32_to_f16((float)(rng_unit() * 0.01 + 1e-4));
            memcpy(p + off[k], &h, 2);
        }
    }
}

static const ds2_type_traits *fast(int32_t t) {
    ds2_set_kernels("auto", NULL);
    return ds2_type_traits_get(t);
}

TEST(kernel_set_named) {
    ds2_error err;
    ASSERT_TRUE(ds2_set_kernels("ref", &err) == DS2_OK);
    ASSERT_TRUE(!strcmp(ds2_kernels_name(), "ref"));
    ASSERT_TRUE(ds2_type_traits_get(DS2_Q8_0) == ds2_type_traits_ref_get(DS2_Q8_0));
    ASSERT_TRUE(ds2_vec_dot_x4_get(DS2_Q4_0) == NULL); /* the reference has no four-row form */
    ASSERT_TRUE(ds2_set_kernels("no-such-set", &err) == DS2_E_INVALID_ARG);
    ASSERT_TRUE(ds2_set_kernels(NULL, &err) == DS2_E_INVALID_ARG);
    ASSERT_TRUE(ds2_set_kernels("auto", &err) == DS2_OK);
    const char *name = ds2_kernels_name();
    printf("  best kernel set here: %s\n", name);
    ASSERT_TRUE(ds2_set_kernels(name, &err) == DS2_OK); /* the best set answers to its own name too */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__wasm__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        ASSERT_TRUE(!strcmp(name, "avx2"));
#endif
#if defined(__wasm_simd128__)
    ASSERT_TRUE(!strncmp(name, "simd128", 7));
#endif
}

/* vec_dot of the fast set vs the reference: random n (tails for F32/F16), rows at odd byte offsets for block
 * types, magnitudes from 1e-3 to 30 with outliers. */
TEST(vec_dot_vs_reference) {
    enum { MAXN = 32 * 40 + 31 };
    static float w[MAXN], a[MAXN];
    static uint8_t wq[4 * MAXN + 8], aq[4 * MAXN + 8];
    for (int i = 0; i < N_TYPES; i++) {
        const int32_t wt = k_types[i];
        const ds2_type_traits *r = ds2_type_traits_ref_get(wt), *f = fast(wt);
        const ds2_type_traits *rp = ds2_type_traits_ref_act_get(r->vec_dot_type);
        double worst = 0;
        int n_exact = 0, n_cases = 0;
        for (int rep = 0; rep < 600; rep++) {
            const int64_t bl = block_len(wt);
            int64_t n = block_type(wt) ? bl * (1 + (int64_t)(rng_u64() % (40 * 32 / bl))) : 1 + (int64_t)(rng_u64() % (MAXN - 1));
            if (rep < 40) n = block_type(wt) ? bl * (rep % 5 + 1) : rep + 1; /* every short length */
            const size_t ow = block_type(wt) ? rng_u64() % 7 : (rng_u64() % 3) * (wt == DS2_F32 ? 4 : 2);
            const size_t oa = block_type(wt) ? rng_u64() % 5 : (rng_u64() % 3) * (wt == DS2_F32 ? 4 : 2);
            fill_random(w, n, rep % 3 == 0 ? 1e-3f : 1.0f);
            fill_random(a, n, rep % 4 == 0 ? 30.0f : 1.0f);
            random_weights(wt, w, wq + ow, n);
            rp->from_float(a, aq + oa, n);
            float s_ref = -1, s = -2;
            r->vec_dot(n, &s_ref, wq + ow, aq + oa);
            f->vec_dot(n, &s, wq + ow, aq + oa);
            n_cases++;
            if (block_type(wt)) {
                if (memcmp(&s, &s_ref, 4) != 0)
                    FAIL_("%s n=%lld: %.9g vs reference %.9g (must be identical)", ds2_dtype_name(wt), (long long)n,
                          s, s_ref);
                n_exact++;
                const ds2_vec_dot_x4_fn x4 = ds2_vec_dot_x4_get(wt);
                if (x4 && rep % 4 == 0) { /* four rows of this shape, stride = row bytes + slack */
                    static uint8_t w4[4 * (4 * MAXN + 64)];
                    const size_t stride = ds2_row_bytes(wt, n) + (size_t)(rep % 3);
                    float s4[4], r4;
                    for (int k = 0; k < 4; k++) {
                        fill_random(w, n, k ? 1.0f : 0.01f);
                        random_weights(wt, w, w4 + k * stride + ow, n);
                    }
                    x4(n, s4, w4 + ow, stride, (size_t)ds2_dtype_info_get(wt)->block_bytes, aq + oa);
                    for (int k = 0; k < 4; k++) {
                        r->vec_dot(n, &r4, w4 + k * stride + ow, aq + oa);
                        if (memcmp(&s4[k], &r4, 4) != 0)
                            FAIL_("%s x4 row %d n=%lld: %.9g vs reference %.9g", ds2_dtype_name(wt), k, (long long)n,
                                  s4[k], r4);
                    }
                }
                continue;
            }
            float wd[MAXN], ad[MAXN];
            r->to_float(wq + ow, wd, n);
            rp->to_float(aq + oa, ad, n);
            double mag = 0;
            for (int64_t j = 0; j < n; j++) mag += fabs((double)wd[j] * ad[j]);
            const double e = fabs((double)s - (double)s_ref), tol = ldexp(1.0, -23) * mag + 1e-37;
            if (e > tol)
                FAIL_("%s n=%lld: %.9g vs reference %.9g (|d| %.3g > %.3g)", ds2_dtype_name(wt), (long long)n, s,
                      s_ref, e, tol);
            if (mag > 0) worst = fmax(worst, e / mag);
            n_exact += s == s_ref;
        }
        printf("  %-4s vec_dot: %d/%d cases bit-identical to the reference, max |d|/Σ|w·a| = %.2g\n",
               ds2_dtype_name(wt), n_exact, n_cases, worst);
    }
}

/* The activation rounding the fast set does (Q8_0 quantizer, F16 rounding): identical bytes, including
 * exact .5 ties (ties away from zero in the reference), zero blocks, huge and tiny values and tails. */
TEST(activation_rounding_identical) {
    enum { MAXN = 32 * 24 + 13 };
    static float x[MAXN];
    static uint8_t qr[4 * MAXN], qf[4 * MAXN];
    const int32_t types[] = {DS2_Q8_0, DS2_F16};
    for (int ti = 0; ti < 2; ti++) {
        const int32_t t = types[ti];
        const ds2_type_traits *r = ds2_type_traits_ref_get(t), *f = fast(t);
        for (int rep = 0; rep < 400; rep++) {
            int64_t n = t == DS2_Q8_0 ? 32 * (1 + (int64_t)(rng_u64() % 24)) : 1 + (int64_t)(rng_u64() % (MAXN - 1));
            const int kind = rep % 5;
            fill_random(x, n, kind == 1 ? 1e-6f : kind == 2 ? 7e4f : 1.0f);
            if (kind == 3) /* a block with amax 127: d = 1, id = 1, so k + 0.5 are exact ties */
                for (int64_t j = 0; j < n; j++) x[j] = j % 32 == 0 ? 127.0f : (float)((int)(j % 254) - 127) + 0.5f;
            if (kind == 4 && n >= 64)
                for (int j = 0; j < 32; j++) x[j] = 0.0f;
            const size_t rb = ds2_row_bytes(t, n);
            memset(qr, 0xa5, rb + 8);
            memset(qf, 0xa5, rb + 8);
            r->from_float(x, qr, n);
            f->from_float(x, qf, n);
            if (memcmp(qr, qf, rb + 8) != 0) {
                size_t k = 0;
                while (qr[k] == qf[k]) k++;
                FAIL_("%s n=%lld kind %d: byte %zu differs (%u vs reference %u)", ds2_dtype_name(t), (long long)n,
                      kind, k, qf[k], qr[k]);
            }
        }
    }
}

/* The attention dots (kernels.h ds2_dot_*_acc) of the active set vs the reference: one dot continued over
 * two segments, as attention does for [latent | rope]. Budget: double sums in another order,
 * |d| ≤ n·2^-52·Σ|a·b|. */
TEST(attention_dots_vs_reference) {
    enum { MAXN = 1100 };
    static float a[MAXN], b[MAXN];
    static uint16_t a16[MAXN], b16[MAXN];
    int n_same_float = 0, n_cases = 0;
    double worst = 0;
    for (int rep = 0; rep < 300; rep++) {
        const int64_t n1 = rep < 40 ? rep : (int64_t)(rng_u64() % 700), n2 = (int64_t)(rng_u64() % 80);
        fill_random(a, n1 + n2, 1.0f);
        fill_random(b, n1 + n2, rep % 2 ? 3.0f : 0.1f);
        ds2_f32_to_f16_row(a, a16, n1 + n2);
        ds2_f32_to_f16_row(b, b16, n1 + n2);
        for (int kind = 0; kind < 3; kind++) {
            double r, f, mag = 0;
            ds2_set_kernels("ref", NULL);
            for (int pass = 0; pass < 2; pass++) {
                double acc;
                if (kind == 0) acc = ds2_dot_f32_acc(n2, a + n1, b + n1, ds2_dot_f32_acc(n1, a, b, 0.0));
                else if (kind == 1) acc = ds2_dot_f16_f32_acc(n2, a16 + n1, b + n1, ds2_dot_f16_f32_acc(n1, a16, b, 0.0));
                else acc = ds2_dot_f16_f16_acc(n2, a16 + n1, b16 + n1, ds2_dot_f16_f16_acc(n1, a16, b16, 0.0));
                if (pass == 0) r = acc;
                else f = acc;
                ds2_set_kernels("auto", NULL);
            }
            for (int64_t i = 0; i < n1 + n2; i++)
                mag += fabs((double)(kind == 0 ? a[i] : ds2_f16_to_f32(a16[i])) *
                            (kind == 2 ? ds2_f16_to_f32(b16[i]) : b[i]));
            const double e = fabs(f - r), tol = (double)(n1 + n2 + 1) * ldexp(1.0, -52) * mag;
            if (e > tol) FAIL_("kind %d n=%lld+%lld: %.17g vs reference %.17g (|d| %.3g > %.3g)", kind, (long long)n1,
                               (long long)n2, f, r, e, tol);
            if (mag > 0) worst = fmax(worst, e / mag);
            n_same_float += (float)f == (float)r;
            n_cases++;
        }
    }
    printf("  %s: max |d|/Σ|a·b| = %.2g, rounded to float identical in %d/%d\n", ds2_kernels_name(), worst,
           n_same_float, n_cases);
}

/* The greedy pick of the fast set == the reference's first index of the largest by `>`: every short length, a
 * vocabulary-sized row, the largest value repeated (first one wins), ±0 ties, infinities, and NaNs anywhere,
 * including x[0] (then nothing is larger and the answer is 0). */
TEST(argmax_vs_reference) {
    enum { MAXN = 32000 + 37 };
    static float x[MAXN];
    ds2_set_kernels("auto", NULL);
    int cases = 0;
    for (int rep = 0; rep < 400; rep++) {
        const int64_t n = rep < 70 ? rep : rep % 10 == 0 ? MAXN - rep % 37 : 1 + (int64_t)(rng_u64() % 300);
        fill_random(x, n, rep % 2 ? 1.0f : 1e-3f);
        const int kind = rep % 7; /* 0 plain; 1 repeated maximum; 2 NaNs; 3 NaN first; 4 zeros of both signs;
                                   * 5 infinities; 6 all −∞ but NaNs */
        for (int64_t k = 0; k < n && kind; k++) {
            const uint64_t u = rng_u64() % 16;
            if (kind == 1 && u < 3) x[k] = 50.0f;
            if (kind == 2 && u < 2) x[k] = NAN;
            if (kind == 4) x[k] = u < 8 ? (u % 2 ? 0.0f : -0.0f) : -fabsf(x[k]);
            if (kind == 5 && u < 2) x[k] = u ? INFINITY : -INFINITY;
            if (kind == 6) x[k] = u < 3 ? NAN : -INFINITY;
        }
        if (kind == 3 && n > 0) x[0] = NAN;
        const int64_t want = ds2_ref_argmax_f32(x, n), got = ds2_argmax_f32(x, n);
        if (got != want) FAIL_("n=%lld kind %d: index %lld, reference %lld", (long long)n, kind, (long long)got, (long long)want);
        cases++;
    }
    ASSERT_TRUE(ds2_argmax(NULL, 5) == 0 && ds2_argmax(x, 0) == 0);
    printf("  %s: %d cases, the reference's index in all\n", ds2_kernels_name(), cases);
}

/* Softmax rows and SwiGLU of the fast set == the reference's bits (ggml's exp lane for lane): every length up to 70
 * and longer rows, masked tails (n_row > n, and rows whose length is no multiple of 4), −∞ entries, arguments
 * whose exp needs the rescaled or saturated paths (|x·log2 e| > 126 / 192), NaN. */
TEST(softmax_swiglu_vs_reference) {
    enum { MAXN = 1200 };
    static float x[MAXN], r[MAXN], f[MAXN], g[MAXN], u[MAXN];
    int cases = 0;
    for (int rep = 0; rep < 500; rep++) {
        const int64_t n = rep < 70 ? rep : 1 + (int64_t)(rng_u64() % (MAXN - 8));
        const int64_t n_row = rep % 3 == 0 ? n : rep % 3 == 1 ? (n + 3) / 4 * 4 : n + (int64_t)(rng_u64() % 7);
        const float scale = rep % 5 == 0 ? 60.0f : rep % 5 == 1 ? 150.0f : 3.0f; /* 150: exp's rescaled paths */
        fill_random(x, n, scale);
        fill_random(u, n, 1.0f);
        for (int64_t k = 0; k < n; k++) {
            const uint64_t c = rng_u64() % 64;
            if (c == 0) x[k] = -INFINITY;
            if (c == 1 && rep % 7 == 0) x[k] = NAN;
            if (c == 2) x[k] = -100.0f - (float)(rng_u64() % 60); /* −100..−160: |n| past 126 / 192 */
            g[k] = x[k];
        }
        for (int set = 0; set < 2; set++) {
            float *y = set ? f : r;
            ds2_set_kernels(set ? "auto" : "ref", NULL);
            memcpy(y, x, (size_t)n * sizeof(float));
            ds2_softmax_row(y, n, n_row);
            if (set && memcmp(r, f, (size_t)n * sizeof(float)) != 0)
                FAIL_("softmax n=%lld n_row=%lld scale %g: not the reference's bits", (long long)n, (long long)n_row, scale);
        }
        for (int set = 0; set < 2; set++) {
            ds2_set_kernels(set ? "auto" : "ref", NULL);
            ds2_swiglu(set ? f : r, g, u, n);
        }
        if (memcmp(r, f, (size_t)n * sizeof(float)) != 0)
            FAIL_("swiglu n=%lld scale %g: not the reference's bits", (long long)n, scale);
        cases++;
    }
    printf("  %s: %d rows, softmax and swiglu identical to the reference\n", ds2_kernels_name(), cases);
}

/* ds2_matmul with the fast set vs the reference set, 1..5 tokens, 1..4 threads, rows not a multiple of
 * anything. The fast result must be the same for every thread count. */
TEST(matmul_vs_reference) {
    ds2_pool *pools[5] = {0};
    ds2_error err;
    for (int nt = 1; nt <= 4; nt++) ASSERT_STATUS(ds2_pool_create(nt, &pools[nt], &err), DS2_OK, err);
    static const int64_t col_cases[] = {32, 96, 160, 544};
    static const int64_t row_cases[] = {1, 7, 33, 301};
    for (int i = 0; i < N_TYPES; i++) {
        const int32_t wt = k_types[i];
        double worst = 0;
        for (int ci = 0; ci < 4; ci++)
            for (int ri = 0; ri < 4; ri++)
                for (int64_t n_tok = 1; n_tok <= 5; n_tok++) {
                    const int64_t cols = block_len(wt) == 256 ? 256 * (ci + 1)
                                                               : col_cases[ci] + (block_type(wt) ? 0 : (ci & 1) * 3),
                                  rows = row_cases[ri];
                    const size_t wrb = ds2_row_bytes(wt, cols);
                    float *wf = malloc(sizeof(float) * cols * rows), *x = malloc(sizeof(float) * cols * n_tok);
                    void *W = malloc(wrb * rows);
                    float *yr = malloc(sizeof(float) * rows * n_tok), *yf = malloc(sizeof(float) * rows * n_tok),
                          *y1 = malloc(sizeof(float) * rows * n_tok);
                    fill_random(wf, cols * rows, 0.5f);
                    fill_random(x, cols * n_tok, 1.0f);
                    const ds2_type_traits *rt = ds2_type_traits_ref_get(wt);
                    (void)rt;
                    for (int64_t r = 0; r < rows; r++) random_weights(wt, wf + r * cols, (char *)W + r * wrb, cols);
                    ds2_set_kernels("ref", NULL);
                    void *qb = malloc(ds2_matmul_qbuf_bytes(wt, cols, n_tok) + 1);
                    ds2_matmul(pools[1], yr, rows, W, wt, x, cols, rows, n_tok, qb);
                    ds2_set_kernels("auto", NULL);
                    for (int nt = 1; nt <= 4; nt++) {
                        ds2_matmul(pools[nt], yf, rows, W, wt, x, cols, rows, n_tok, qb);
                        if (nt == 1) memcpy(y1, yf, sizeof(float) * rows * n_tok);
                        else if (memcmp(y1, yf, sizeof(float) * rows * n_tok) != 0)
                            FAIL_("%s: %d threads differ from 1 thread", ds2_dtype_name(wt), nt);
                    }
                    float *wrow = malloc(sizeof(float) * cols);
                    for (int64_t r = 0; r < rows; r++) {
                        ds2_get_row(W, wt, cols, r, wrow);
                        for (int64_t t = 0; t < n_tok; t++) {
                            const float a = yf[t * rows + r], b = yr[t * rows + r];
                            if (block_type(wt)) {
                                if (memcmp(&a, &b, 4) != 0)
                                    FAIL_("%s cols=%lld rows=%lld n_tok=%lld: %.9g vs reference %.9g",
                                          ds2_dtype_name(wt), (long long)cols, (long long)rows, (long long)n_tok, a, b);
                                continue;
                            }
                            double mag = 0; /* activations of F32/F16 rows: x rounded to the weight type */
                            for (int64_t j = 0; j < cols; j++) mag += fabs((double)wrow[j] * x[t * cols + j]) * 1.001;
                            const double e = fabs((double)a - b);
                            if (e > ldexp(1.0, -23) * mag + 1e-37)
                                FAIL_("%s cols=%lld: %.9g vs reference %.9g", ds2_dtype_name(wt), (long long)cols, a, b);
                            if (mag > 0) worst = fmax(worst, e / mag);
                        }
                    }
                    free(wrow);
                    free(qb);
                    free(wf);
                    free(x);
                    free(W);
                    free(yr);
                    free(yf);
                    free(y1);
                }
        printf("  %-4s matmul: max |d|/Σ|w·a| vs reference %.2g\n", ds2_dtype_name(wt), worst);
    }
    for (int nt = 1; nt <= 4; nt++) ds2_pool_free(pools[nt]);
}

#ifndef DS2_TEST_NO_MODELS
#define FIX(name) DS2_BINARY_DIR "/testdata/" name

static float *eval_all(const ds2_model *m, const int32_t *toks, int n, int threads, int32_t vocab) {
    ds2_session_params sp = ds2_session_default_params();
    sp.n_ctx = 64;
    sp.kv_type = DS2_KV_F32;
    sp.n_threads = threads;
    ds2_session *s = NULL;
    ds2_error err;
    float *out = malloc((size_t)n * vocab * sizeof(float));
    if (ds2_session_create(m, &sp, &s, &err) != DS2_OK ||
        ds2_session_eval(s, toks, n, DS2_LOGITS_ALL, out, &err) != DS2_OK) {
        printf("  eval failed: %s\n", err.message);
        free(out);
        out = NULL;
    }
    ds2_session_free(s);
    return out;
}

/* Logits with the SIMD set vs the reference set on the fixtures (prefill of 24 tokens, 1 and 2 threads). */
TEST(logits_vs_reference) {
    static const struct { const char *file; double tol; } cases[] = {
        {"mla-f32.gguf", 1e-4}, {"legacy-f32.gguf", 1e-4}, {"v3-f32.gguf", 1e-4}, {"mla-f16.gguf", 1e-4},
        {"mla-q8_0.gguf", 1e-3}, {"legacy-q4_0.gguf", 1e-3},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char path[512];
        snprintf(path, sizeof path, DS2_BINARY_DIR "/testdata/%s", cases[c].file);
        ds2_model *m = NULL;
        ds2_error err;
        ASSERT_STATUS(ds2_model_load_file(path, NULL, &m, &err), DS2_OK, err);
        ds2_model_info info;
        ds2_model_get_info(m, &info);
        int32_t toks[24];
        for (int i = 0; i < 24; i++) toks[i] = (int32_t)((i * 7919u + 13u) % (uint32_t)(info.n_vocab - 2));
        for (int threads = 1; threads <= 2; threads++) {
            ds2_set_kernels("ref", NULL);
            float *ref = eval_all(m, toks, 24, threads, info.n_vocab);
            ds2_set_kernels("auto", NULL);
            float *got = eval_all(m, toks, 24, threads, info.n_vocab);
            ASSERT_TRUE(ref && got);
            const size_t n = (size_t)24 * info.n_vocab;
            double md = 0, scale = 1e-6;
            int argmax_same = 0;
            for (size_t i = 0; i < n; i++) {
                scale = fmax(scale, fabs(ref[i]));
                md = fmax(md, fabs((double)got[i] - ref[i]));
            }
            for (int p = 0; p < 24; p++) {
                int ar = 0, ag = 0;
                for (int v = 1; v < info.n_vocab; v++) {
                    if (ref[(size_t)p * info.n_vocab + v] > ref[(size_t)p * info.n_vocab + ar]) ar = v;
                    if (got[(size_t)p * info.n_vocab + v] > got[(size_t)p * info.n_vocab + ag]) ag = v;
                }
                argmax_same += ar == ag;
            }
            if (threads == 1)
                printf("  %-17s %s vs ref: max |d logit| / max |logit| = %.2g (budget %.0e), argmax %d/24\n",
                       cases[c].file, ds2_kernels_name(), md / scale, cases[c].tol, argmax_same);
            free(ref);
            free(got);
            if (md > cases[c].tol * scale) FAIL_("%s: %.3g > %.3g", cases[c].file, md / scale, cases[c].tol);
        }
        ds2_model_free(m);
    }
}
#endif

int main(void) {
    rng_seed(0x243f6a8885a308d3ull);
    RUN(kernel_set_named);
    RUN(vec_dot_vs_reference);
    RUN(activation_rounding_identical);
    RUN(attention_dots_vs_reference);
    RUN(argmax_vs_reference);
    RUN(softmax_swiglu_vs_reference);
    RUN(matmul_vs_reference);
#ifndef DS2_TEST_NO_MODELS
    RUN(logits_vs_reference);
#endif
    return test_summary();
}
