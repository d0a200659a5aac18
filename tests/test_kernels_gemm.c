/* test_kernels_gemm.c — the multi-token (GEMM) forms of the SIMD kernel sets (kernels.h ds2_gemm_get) against
 * the set's own vec_dot (and for the quantized types the scalar reference, which it equals), element by
 * element, bit for bit: random shapes with tails (rows not a multiple
 * of the 4-row tile, odd token counts, token counts past one packed token block), odd row strides, odd byte
 * offsets, outputs with a row stride wider than the block (the gaps must stay untouched), and ds2_matmul over
 * 1..4 threads with the fast set vs the reference set; the same for weights in the interleaved layout.
 * Where the active set has no GEMM form for a type (the reference set, a CPU without AVX2, a wasm build without
 * SIMD128) the test says so and checks that the reference set has none.
 */
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

static const int32_t k_types[] = {DS2_Q8_0, DS2_Q4_0, DS2_Q5_0, DS2_IQ4_NL, DS2_Q4_1, DS2_Q5_1,  DS2_Q2_K,
                                  DS2_Q3_K, DS2_Q4_K, DS2_Q5_K, DS2_Q6_K,   DS2_IQ4_XS, DS2_F16, DS2_F32};
#define N_TYPES (int)(sizeof k_types / sizeof k_types[0])
static int64_t block_len(int32_t t) {
    if (t == DS2_F16 || t == DS2_F32) return 8;
    return t == DS2_Q2_K || t == DS2_Q3_K || t == DS2_Q4_K || t == DS2_Q5_K || t == DS2_Q6_K || t == DS2_IQ4_XS ? 256 : 32;
}

/* F16/F32: the SIMD vec_dot sums in double lanes (simd.h: within an ulp of the reference, not its bits) */
static int float_type(int32_t t) { return t == DS2_F16 || t == DS2_F32; }

/* Random valid blocks: random bytes (Q8_0 values include −128), f16 scales replaced by finite moderate values. */
static void random_rows(int32_t t, uint8_t *b, size_t bytes) {
    for (size_t i = 0; i < bytes; i++) b[i] = (uint8_t)(rng_u64() >> 24);
    if (t == DS2_F16) {
        for (size_t i = 0; i + 2 <= bytes; i += 2) {
            const uint16_t h = ds2_f32_to_f16(rng_normalish());
            memcpy(b + i, &h, 2);
        }
        return;
    }
    if (t == DS2_F32) {
        for (size_t i = 0; i + 4 <= bytes; i += 4) {
            const float f = rng_normalish();
            memcpy(b + i, &f, 4);
        }
        return;
    }
    const size_t bb = ds2_row_bytes(t, block_len(t));
    for (size_t blk = 0; blk < bytes / bb; blk++) {
        uint8_t *p = b + blk * bb;
        size_t off[2] = {0, 0}; /* f16 d, dmin */
        if (t == DS2_Q4_K || t == DS2_Q5_K || t == DS2_Q4_1 || t == DS2_Q5_1) off[1] = 2;
        if (t == DS2_Q6_K) off[0] = off[1] = 208;
        if (t == DS2_Q3_K) off[0] = off[1] = 108;
        if (t == DS2_Q2_K) off[0] = 80, off[1] = 82;
        for (int k = 0; k < 2; k++) {
            const uint16_t h = ds2_f32_to_f16((float)(rng_unit() * 0.01 + 1e-4));
            memcpy(p + off[k], &h, 2);
        }
    }
}

/* Activation rows quantized by the reference quantizer of wtype's partner type, at stride a_stride. */
static void random_acts(int32_t wt, int64_t n, int64_t nt, uint8_t *dst, size_t a_stride, float scale) {
    const ds2_type_traits *rp = ds2_type_traits_ref_act_get(ds2_type_traits_ref_get(wt)->vec_dot_type);
    float *x = malloc(sizeof(float) * (size_t)n);
    for (int64_t t = 0; t < nt; t++) {
        for (int64_t i = 0; i < n; i++) x[i] = rng_normalish() * scale;
        rp->from_float(x, dst + (size_t)t * a_stride, n);
    }
    free(x);
}

TEST(reference_has_no_gemm) {
    ASSERT_TRUE(ds2_set_kernels("ref", NULL) == DS2_OK);
    for (int i = 0; i < N_TYPES; i++) ASSERT_TRUE(ds2_gemm_get(k_types[i]) == NULL);
    ASSERT_TRUE(ds2_set_kernels("auto", NULL) == DS2_OK);
}

/* gemm(n, y, ldy, W, nr rows, A, nt tokens) vs the reference vec_dot per element */
/* one GEMM form of type wt on random shapes, every element against vec_dot; *n_el = elements checked */
static void check_gemm(int32_t wt, ds2_gemm_fn gemm, long *n_el) {
    const ds2_type_traits *r = ds2_type_traits_ref_get(wt), *f = ds2_type_traits_get(wt);
    *n_el = 0;
    {
        for (int rep = 0; rep < 60; rep++) {
            const int64_t bl = block_len(wt);
            /* float rows: any length, so the 16- and 8-element steps and the element tail all occur */
            const int64_t n = float_type(wt) ? 1 + (int64_t)(rng_u64() % 400)
                                             : bl * (1 + (int64_t)(rng_u64() % (bl == 256 ? 6 : 40)));
            const int64_t nr = 1 + (int64_t)(rng_u64() % 23);
            const int64_t nt = rep % 6 == 0 ? 40 + (int64_t)(rng_u64() % 30) : 1 + (int64_t)(rng_u64() % 9);
            /* quantized rows are bytes at any address; float rows stay aligned to their element, as in a model */
            const size_t al = wt == DS2_F16 ? 2 : wt == DS2_F32 ? 4 : 1;
            const size_t w_stride = ds2_row_bytes(wt, n) + rng_u64() % 6 * al;
            const size_t a_stride = ds2_row_bytes(r->vec_dot_type, n) + rng_u64() % 6 * al;
            const int64_t ldy = nr + (int64_t)(rng_u64() % 5);
            const size_t ow = rng_u64() % 7 * al, oa = rng_u64() % 5 * al;
            uint8_t *W = malloc(w_stride * (size_t)nr + 32), *A = malloc(a_stride * (size_t)nt + 32);
            float *y = malloc(sizeof(float) * (size_t)(ldy * nt));
            for (int64_t rr = 0; rr < nr; rr++) random_rows(wt, W + ow + (size_t)rr * w_stride, w_stride);
            random_acts(wt, n, nt, A + oa, a_stride, rep % 4 == 0 ? 30.0f : 1.0f);
            for (int64_t i2 = 0; i2 < ldy * nt; i2++) y[i2] = -12345.0f; /* the gaps must keep this */
            gemm(n, y, ldy, W + ow, w_stride, 0, nr, A + oa, a_stride, nt);
            for (int64_t t = 0; t < nt; t++)
                for (int64_t rr = 0; rr < ldy; rr++) {
                    const float got = y[t * ldy + rr];
                    if (rr >= nr) {
                        if (got != -12345.0f) FAIL_("%s: gap y[%lld][%lld] written", ds2_dtype_name(wt), (long long)t, (long long)rr);
                        continue;
                    }
                    /* the active set's own vec_dot always; for the quantized types that is the reference's bits */
                    float want = 0, want_ref = 0;
                    f->vec_dot(n, &want, W + ow + (size_t)rr * w_stride, A + oa + (size_t)t * a_stride);
                    r->vec_dot(n, &want_ref, W + ow + (size_t)rr * w_stride, A + oa + (size_t)t * a_stride);
                    ++*n_el;
                    if (memcmp(&got, &want, 4) != 0 || (!float_type(wt) && memcmp(&got, &want_ref, 4) != 0))
                        FAIL_("%s n=%lld nr=%lld nt=%lld: y[%lld][%lld] = %.9g, vec_dot %.9g, reference %.9g",
                              ds2_dtype_name(wt), (long long)n, (long long)nr, (long long)nt, (long long)t, (long long)rr,
                              got, want, want_ref);
                }
            if (ds2_vec_dot_x4_get(wt)) { /* the same rows interleaved (kernels.h DS2_TYPE_X4): the same bits */
                const size_t rb = ds2_row_bytes(wt, n);
                uint8_t *Wi = malloc(rb * (size_t)nr);
                float *yi = malloc(sizeof(float) * (size_t)(ldy * nt));
                for (int64_t rr = 0; rr < nr; rr++) memcpy(Wi + (size_t)rr * rb, W + ow + (size_t)rr * w_stride, rb);
                ASSERT_TRUE(ds2_repack_x4(Wi, wt, n, nr, 1) == 1);
                for (int64_t i2 = 0; i2 < ldy * nt; i2++) yi[i2] = -12345.0f;
                gemm(n, yi, ldy, Wi, rb, 1, nr, A + oa, a_stride, nt);
                if (memcmp(yi, y, sizeof(float) * (size_t)(ldy * nt)) != 0)
                    FAIL_("%s n=%lld nr=%lld nt=%lld: interleaved rows give other outputs", ds2_dtype_name(wt),
                          (long long)n, (long long)nr, (long long)nt);
                *n_el += nr * nt;
                free(Wi);
                free(yi);
            }
            free(W);
            free(A);
            free(y);
        }
    }
}

TEST(gemm_vs_reference) {
    ASSERT_TRUE(ds2_set_kernels("auto", NULL) == DS2_OK);
    int n_types = 0;
    for (int i = 0; i < N_TYPES; i++) {
        const int32_t wt = k_types[i];
        const ds2_gemm_fn gemm = ds2_gemm_get(wt);
        if (!gemm) {
            printf("  %-6s no GEMM form in the %s set\n", ds2_dtype_name(wt), ds2_kernels_name());
            continue;
        }
        n_types++;
        long n_el = 0;
        check_gemm(wt, gemm, &n_el);
        if (test_cur_failed_) return;
        printf("  %-6s gemm: %ld elements bit-identical to %s\n", ds2_dtype_name(wt), n_el,
               float_type(wt) ? "the set's vec_dot" : "the set's and the reference vec_dot");
    }
    printf("  %d types with a GEMM form in the %s set\n", n_types, ds2_kernels_name());
}

#if defined(__x86_64__) && !defined(__EMSCRIPTEN__) && defined(__GNUC__)
/* On a CPU with AVX-512 VNNI the set uses VNNI tiles for some types; the plain AVX2 tiles they replace (what
 * CPUs without it run) are called directly here so that they stay tested on every x86-64 machine. */
#define AVX2_GEMM(name)                                                                                          \
    void ds2_avx2_gemm_##name(int64_t n, float *y, int64_t ldy, const void *w, size_t w_stride, int x4,         \
                              int64_t nr, const void *a, size_t a_stride, int64_t nt);
AVX2_GEMM(q4_0)
AVX2_GEMM(q5_0)
AVX2_GEMM(q8_0)
AVX2_GEMM(iq4_nl)
AVX2_GEMM(q6_k)
AVX2_GEMM(q3_k)
AVX2_GEMM(q4_k)
AVX2_GEMM(q5_k)
#define AVX2_X4(name) \
    void ds2_avx2_vec_dot_##name##_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a);
AVX2_X4(q4_0_q8_0)
AVX2_X4(q4_k_q8_k)
AVX2_X4(q5_k_q8_k)
AVX2_X4(q6_k_q8_k)
/* the same for the plain AVX2 four-row decode dots that VNNI / VBMI CPUs replace: 1..21 blocks (Q4_0's odd
 * counts take the single-block tail), row-major and interleaved rows at odd addresses, bits of four reference
 * dots */
TEST(avx2_x4_vs_reference) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma") || !__builtin_cpu_supports("f16c")) {
        printf("  no AVX2 here: nothing to check\n");
        return;
    }
    const struct { int32_t wt; ds2_vec_dot_x4_fn fn; } forms[] = {
        {DS2_Q4_0, ds2_avx2_vec_dot_q4_0_q8_0_x4}, {DS2_Q4_K, ds2_avx2_vec_dot_q4_k_q8_k_x4},
        {DS2_Q5_K, ds2_avx2_vec_dot_q5_k_q8_k_x4}, {DS2_Q6_K, ds2_avx2_vec_dot_q6_k_q8_k_x4}};
    enum { MAXB = 21, MAXBB = 210, MAXBL = 256 };
    static uint8_t w[4 * MAXB * MAXBB + 64], wi[4 * MAXB * MAXBB + 64], qa[MAXB * 292 + 8];
    static float x[MAXB * MAXBL];
    for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
        const int32_t wt = forms[f].wt;
        const ds2_type_traits *r = ds2_type_traits_ref_get(wt), *ra = ds2_type_traits_ref_act_get(r->vec_dot_type);
        const size_t bb = (size_t)ds2_dtype_info_get(wt)->block_bytes;
        const int64_t bl = block_len(wt);
        int n_cases = 0;
        for (int nb = 1; nb <= MAXB; nb++)
            for (int rep = 0; rep < 8; rep++) {
                const int64_t n = bl * (int64_t)nb;
                const size_t ow = 1 + (size_t)rep % 5, row = (size_t)nb * bb;
                random_rows(wt, w + ow, 4 * row);
                for (int k = 0; k < 4; k++) /* interleaved copy: block b of row k at (4b + k)·bb */
                    for (int b = 0; b < nb; b++)
                        memcpy(wi + ow + (size_t)(4 * b + k) * bb, w + ow + k * row + (size_t)b * bb, bb);
                for (int64_t i = 0; i < n; i++) x[i] = rng_normalish() * (rep % 3 ? 1.0f : 40.0f);
                ra->from_float(x, qa + 3, n);
                float want[4], got[4], goti[4];
                for (int k = 0; k < 4; k++) r->vec_dot(n, &want[k], w + ow + k * row, qa + 3);
                forms[f].fn(n, got, w + ow, row, bb, qa + 3);
                forms[f].fn(n, goti, wi + ow, bb, 4 * bb, qa + 3);
                if (memcmp(got, want, sizeof want) != 0 || memcmp(goti, want, sizeof want) != 0)
                    FAIL_("%s x4, %d blocks: %.9g %.9g (interleaved %.9g) vs reference %.9g", ds2_dtype_name(wt), nb,
                          got[0], got[3], goti[0], want[0]);
                n_cases++;
            }
        printf("  %-6s AVX2 four-row dot: %d cases, row-major and interleaved, bit-identical\n", ds2_dtype_name(wt),
               n_cases);
    }
}

TEST(avx2_tiles_vs_reference) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma") || !__builtin_cpu_supports("f16c")) {
        printf("  no AVX2 here: nothing to check\n");
        return;
    }
    ASSERT_TRUE(ds2_set_kernels("auto", NULL) == DS2_OK);
    const struct { int32_t wt; ds2_gemm_fn fn; } forms[] = {
        {DS2_Q4_0, ds2_avx2_gemm_q4_0}, {DS2_Q5_0, ds2_avx2_gemm_q5_0}, {DS2_Q8_0, ds2_avx2_gemm_q8_0},
        {DS2_IQ4_NL, ds2_avx2_gemm_iq4_nl}, {DS2_Q6_K, ds2_avx2_gemm_q6_k}, {DS2_Q3_K, ds2_avx2_gemm_q3_k},
        {DS2_Q4_K, ds2_avx2_gemm_q4_k}, {DS2_Q5_K, ds2_avx2_gemm_q5_k}};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        long n_el = 0;
        check_gemm(forms[i].wt, forms[i].fn, &n_el);
        if (test_cur_failed_) return;
        printf("  %-6s AVX2 tile: %ld elements bit-identical\n", ds2_dtype_name(forms[i].wt), n_el);
    }
}
#endif

/* ds2_matmul over many tokens (the prefill path) with the fast set on 1..4 threads vs the reference set */
TEST(matmul_many_tokens_vs_reference) {
    ds2_pool *pools[5] = {NULL};
    for (int t = 2; t <= 4; t++) ASSERT_TRUE(ds2_pool_create(t, &pools[t], NULL) == DS2_OK);
    for (int i = 0; i < N_TYPES; i++) {
        const int32_t wt = k_types[i];
        ASSERT_TRUE(ds2_set_kernels("auto", NULL) == DS2_OK);
        if (!ds2_gemm_get(wt)) continue;
        const int64_t bl = block_len(wt);
        const int64_t cols = bl * (bl == 256 ? 3 : 9), rows = 37, n_tok = 29;
        uint8_t *W = malloc(ds2_row_bytes(wt, cols) * rows);
        float *x = malloc(sizeof(float) * cols * n_tok), *yr = malloc(sizeof(float) * rows * n_tok),
              *yf = malloc(sizeof(float) * rows * n_tok), *ye = malloc(sizeof(float) * rows * n_tok);
        void *qb = malloc(ds2_matmul_qbuf_bytes(wt, cols, n_tok) + 1);
        random_rows(wt, W, ds2_row_bytes(wt, cols) * rows);
        for (int64_t k = 0; k < cols * n_tok; k++) x[k] = rng_normalish();
        ASSERT_TRUE(ds2_set_kernels("ref", NULL) == DS2_OK);
        ds2_matmul(NULL, yr, rows, W, wt, x, cols, rows, n_tok, qb);
        ASSERT_TRUE(ds2_set_kernels("auto", NULL) == DS2_OK);
        /* the fast set's vec_dot per element (for the quantized types also the reference set's matmul) */
        const ds2_type_traits *f = ds2_type_traits_get(wt);
        const size_t wrb = ds2_row_bytes(wt, cols), arb = ds2_row_bytes(f->vec_dot_type, cols);
        ds2_quantize_act(wt, x, cols, n_tok, qb);
        for (int64_t t = 0; t < n_tok; t++)
            for (int64_t r = 0; r < rows; r++) f->vec_dot(cols, &ye[t * rows + r], W + r * wrb, (const char *)qb + t * arb);
        for (int nth = 1; nth <= 4; nth++) {
            memset(yf, 0, sizeof(float) * rows * n_tok);
            ds2_matmul(nth > 1 ? pools[nth] : NULL, yf, rows, W, wt, x, cols, rows, n_tok, qb);
            if (memcmp(yf, ye, sizeof(float) * rows * n_tok) != 0)
                FAIL_("%s matmul, %d threads: differs from the set's vec_dot", ds2_dtype_name(wt), nth);
            if (!float_type(wt) && memcmp(yf, yr, sizeof(float) * rows * n_tok) != 0)
                FAIL_("%s matmul, %d threads: differs from the reference set", ds2_dtype_name(wt), nth);
        }
        free(W);
        free(x);
        free(yr);
        free(yf);
        free(ye);
        free(qb);
    }
    for (int t = 2; t <= 4; t++) ds2_pool_free(pools[t]);
}

/* The interleaved layout (kernels.h DS2_TYPE_X4) through ds2_matmul: the row-major bits for every type with a
 * four-row form, 1..4 threads, one token (the four-row kernels) and many (GEMM or row blocks), row counts with
 * and without a row-major tail, a stack of matrices repacked at once; and under the reference set (no four-row
 * forms: each group is read back row by row), as after switching kernel sets with a model loaded. Every row read
 * back by ds2_get_row_of equals the row-major one. */
TEST(matmul_interleaved_vs_row_major) {
    ds2_pool *pools[5] = {NULL};
    for (int t = 2; t <= 4; t++) ASSERT_TRUE(ds2_pool_create(t, &pools[t], NULL) == DS2_OK);
    int n_types = 0;
    for (int i = 0; i < N_TYPES; i++) {
        const int32_t wt = k_types[i];
        ASSERT_TRUE(ds2_set_kernels("auto", NULL) == DS2_OK);
        if (!ds2_vec_dot_x4_get(wt)) continue;
        n_types++;
        const int64_t bl = block_len(wt), cols = bl * (bl == 256 ? 2 : 7);
        const size_t wrb = ds2_row_bytes(wt, cols);
        for (int rep = 0; rep < 8; rep++) {
            const int64_t rows = rep == 0 ? 3 : 4 + (int64_t)(rng_u64() % 30), n_mat = 1 + rep % 3;
            const int64_t n_tok = rep % 2 ? 1 : 1 + (int64_t)(rng_u64() % 12);
            uint8_t *W = malloc(wrb * (size_t)(rows * n_mat)), *Wi = malloc(wrb * (size_t)(rows * n_mat));
            float *x = malloc(sizeof(float) * (size_t)(cols * n_tok));
            float *yr = malloc(sizeof(float) * (size_t)(rows * n_tok)), *yi = malloc(sizeof(float) * (size_t)(rows * n_tok));
            void *qb = malloc(ds2_matmul_qbuf_bytes(wt, cols, n_tok) + 1);
            random_rows(wt, W, wrb * (size_t)(rows * n_mat));
            memcpy(Wi, W, wrb * (size_t)(rows * n_mat));
            ASSERT_TRUE(ds2_repack_x4(Wi, wt, cols, rows, n_mat) == 1);
            if (rows >= 4 && !memcmp(W, Wi, wrb * 4))
                FAIL_("%s: repacking left the first group as it was", ds2_dtype_name(wt));
            for (int64_t r = 0; r < rows * n_mat; r++) { /* every row read back from the stack, both layouts */
                float gr[7 * 256], gi[7 * 256];
                ds2_get_row(W, wt, cols, r, gr);
                ds2_get_row_of(Wi, wt | DS2_TYPE_X4, cols, rows, r, gi);
                if (memcmp(gr, gi, sizeof(float) * (size_t)cols) != 0)
                    FAIL_("%s row %lld of %lld x %lld: ds2_get_row_of differs", ds2_dtype_name(wt), (long long)r,
                          (long long)n_mat, (long long)rows);
            }
            for (int64_t k = 0; k < cols * n_tok; k++) x[k] = rng_normalish();
            for (int set = 0; set < 2; set++) {
                ASSERT_TRUE(ds2_set_kernels(set ? "ref" : "auto", NULL) == DS2_OK);
                for (int64_t m = 0; m < n_mat; m++) {
                    const uint8_t *Wm = W + (size_t)(m * rows) * wrb, *Wim = Wi + (size_t)(m * rows) * wrb;
                    ds2_matmul(NULL, yr, rows, Wm, wt, x, cols, rows, n_tok, qb);
                    for (int nth = 1; nth <= 4; nth++) {
                        memset(yi, 0, sizeof(float) * (size_t)(rows * n_tok));
                        ds2_matmul(nth > 1 ? pools[nth] : NULL, yi, rows, Wim, wt | DS2_TYPE_X4, x, cols, rows, n_tok, qb);
                        if (memcmp(yi, yr, sizeof(float) * (size_t)(rows * n_tok)) != 0)
                            FAIL_("%s %s set, rows %lld, %lld tokens, %d threads: interleaved differs from row-major",
                                  ds2_dtype_name(wt), set ? "ref" : "auto", (long long)rows, (long long)n_tok, nth);
                    }
                    /* a share that starts on a group and ends on one or at the last row */
                    const int64_t r0 = rows >= 8 ? 4 : 0;
                    memset(yi, 0, sizeof(float) * (size_t)(rows * n_tok));
                    ds2_matmul_q_rows(yi, rows, Wim, wt | DS2_TYPE_X4, qb, cols, r0, rows, n_tok);
                    for (int64_t t = 0; t < n_tok; t++)
                        if (memcmp(yi + t * rows + r0, yr + t * rows + r0, sizeof(float) * (size_t)(rows - r0)) != 0)
                            FAIL_("%s rows [%lld, %lld): interleaved differs", ds2_dtype_name(wt), (long long)r0,
                                  (long long)rows);
                }
            }
            free(W);
            free(Wi);
            free(x);
            free(yr);
            free(yi);
            free(qb);
        }
    }
    ASSERT_TRUE(ds2_set_kernels("auto", NULL) == DS2_OK);
    ASSERT_TRUE(ds2_repack_x4(NULL, 12345, 32, 8, 1) == 0); /* unknown type: nothing done */
    printf("  %d types with a four-row form in the %s set\n", n_types, ds2_kernels_name());
    for (int t = 2; t <= 4; t++) ds2_pool_free(pools[t]);
}

int main(void) {
    rng_seed(0x9e3779b97f4a7c15ull);
    RUN(reference_has_no_gemm);
    RUN(gemm_vs_reference);
#if defined(__x86_64__) && !defined(__EMSCRIPTEN__) && defined(__GNUC__)
    RUN(avx2_x4_vs_reference);
    RUN(avx2_tiles_vs_reference);
#endif
    RUN(matmul_many_tokens_vs_reference);
    RUN(matmul_interleaved_vs_row_major);
    return test_summary();
}
