/* test_kernels.c — scalar kernels, traits table, matmul and thread pool against straightforward double-precision
 * references. Prints the measured maximum errors next to the tolerances. */
#include <float.h>
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

/* ---- helpers ------------------------------------------------------------------------------------------ */

#include "rng.h"

/* IEEE half value from its fields, in double (independent of the code under test). */
static double half_value(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 31) v = m ? NAN : INFINITY;
    else if (e == 0) v = ldexp((double)m, -24);
    else v = ldexp(1.0 + m / 1024.0, e - 15);
    return s ? -v : v;
}

static void fill_random(float *x, int64_t n, float scale) {
    for (int64_t i = 0; i < n; i++) x[i] = rng_normalish() * scale;
}

/* ---- f16 / bf16 --------------------------------------------------------------------------------------- */

TEST(f16_exhaustive_roundtrip) {
    int n_nan = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = ds2_f16_to_f32((uint16_t)h);
        double want = half_value((uint16_t)h);
        if (isnan(want)) {
            n_nan++;
            ASSERT_TRUE(isnan(f));
            ASSERT_EQ_I64(f32_bits(f) >> 31, h >> 15);
            uint16_t back = ds2_f32_to_f16(f);
            ASSERT_TRUE((back & 0x7c00) == 0x7c00 && (back & 0x3ff) != 0); /* still NaN */
            ASSERT_EQ_I64(back >> 15, h >> 15);
            if (h & 0x200) ASSERT_EQ_I64(back, h); /* quiet NaN: payload preserved exactly */
            continue;
        }
        if ((double)f != want || !!signbit(f) != !!signbit(want)) FAIL_("h=0x%04x: got %.9g want %.17g", h, f, want);
        uint16_t back = ds2_f32_to_f16(f);
        if (back != h) FAIL_("h=0x%04x: round trip gave 0x%04x", h, back);
    }
    ASSERT_EQ_I64(n_nan, 2 * 1023);
}

TEST(f16_rounding_ties_to_even) {
    /* Every pair of adjacent finite halves (both signs): the midpoint rounds to the even one, one float ulp
     * either side rounds to the nearer one. Midpoints need ≤ 12 significant bits, so they are exact floats. */
    for (uint32_t h = 0; h < 0x7bff; h++) {
        for (int s = 0; s < 2; s++) {
            uint16_t lo = (uint16_t)(h | (s << 15)), hi = (uint16_t)((h + 1) | (s << 15));
            double mid = (half_value(lo) + half_value(hi)) / 2;
            float m = (float)mid;
            if ((double)m != mid) FAIL_("midpoint not exact at 0x%04x", h);
            uint16_t even = (h & 1) ? hi : lo;
            uint16_t got = ds2_f32_to_f16(m);
            if (got != even) FAIL_("tie 0x%04x|0x%04x: got 0x%04x want 0x%04x", lo, hi, got, even);
            float toward0 = nextafterf(m, 0.0f), away = nextafterf(m, s ? -INFINITY : INFINITY);
            if (ds2_f32_to_f16(toward0) != lo) FAIL_("below tie at 0x%04x", lo);
            if (ds2_f32_to_f16(away) != hi) FAIL_("above tie at 0x%04x", lo);
        }
    }
    /* overflow, underflow and special values */
    ASSERT_EQ_I64(ds2_f32_to_f16(65504.0f), 0x7bff);
    ASSERT_EQ_I64(ds2_f32_to_f16(nextafterf(65520.0f, 0.0f)), 0x7bff);
    ASSERT_EQ_I64(ds2_f32_to_f16(65520.0f), 0x7c00); /* tie with 65536 → even mantissa = inf */
    ASSERT_EQ_I64(ds2_f32_to_f16(-65520.0f), 0xfc00);
    ASSERT_EQ_I64(ds2_f32_to_f16(1e30f), 0x7c00);
    ASSERT_EQ_I64(ds2_f32_to_f16(INFINITY), 0x7c00);
    ASSERT_EQ_I64(ds2_f32_to_f16(-INFINITY), 0xfc00);
    ASSERT_EQ_I64(ds2_f32_to_f16(0.0f), 0x0000);
    ASSERT_EQ_I64(ds2_f32_to_f16(-0.0f), 0x8000);
    ASSERT_EQ_I64(ds2_f32_to_f16(ldexpf(1.0f, -25)), 0x0000);                     /* tie 0|1 → 0 */
    ASSERT_EQ_I64(ds2_f32_to_f16(nextafterf(ldexpf(1.0f, -25), 1.0f)), 0x0001);
    ASSERT_EQ_I64(ds2_f32_to_f16(-ldexpf(1.0f, -26)), 0x8000);
    ASSERT_EQ_I64(ds2_f32_to_f16(ldexpf(3.0f, -25)), 0x0002);                     /* tie 1|2 → 2 */
    ASSERT_EQ_I64(ds2_f32_to_f16(f32_from_bits(1)), 0x0000);                      /* float subnormal */
    ASSERT_EQ_I64(ds2_f32_to_f16(nextafterf(ldexpf(1.0f, -14), 0.0f)), 0x0400);  /* rounds up to min normal */
    uint16_t qn = ds2_f32_to_f16(NAN);
    ASSERT_TRUE((qn & 0x7e00) == 0x7e00 && (qn & 0x3ff));
    uint16_t sn = ds2_f32_to_f16(f32_from_bits(0x7f800001u)); /* signalling NaN, payload only in low bits */
    ASSERT_TRUE((sn & 0x7c00) == 0x7c00 && (sn & 0x3ff)); /* stays NaN (quieted) */
}

#if defined(__FLT16_MAX__) && (defined(__x86_64__) || defined(__aarch64__))
#define HAVE_FLOAT16 1
#endif

TEST(f16_random_vs_double_rne) {
    /* Random float bit patterns vs an independent nearest-even search in double (and vs the compiler's
     * _Float16 conversion when it has one). */
    int64_t n_checked = 0;
    for (int i = 0; i < 2000000; i++) {
        uint32_t u = (uint32_t)rng_u64();
        /* concentrate on the half range: exponents 100..145 */
        u = (u & 0x807fffffu) | ((uint32_t)(100 + rng_u64() % 46) << 23);
        float f = f32_from_bits(u);
        uint16_t got = ds2_f32_to_f16(f);
#ifdef HAVE_FLOAT16
        _Float16 hf = (_Float16)f;
        uint16_t hw;
        memcpy(&hw, &hf, 2);
        if (hw != got) FAIL_("f=%a: got 0x%04x, _Float16 gives 0x%04x", f, got, hw);
#endif
        /* reference: nearest of the two neighbouring halves by value, ties to even */
        double v = fabs((double)f);
        uint16_t sign = (u >> 31) ? 0x8000 : 0;
        uint16_t best;
        if (v >= 65520.0) best = 0x7c00;
        else {
            /* binary search the largest half ≤ v */
            uint32_t lo = 0, hi = 0x7bff;
            while (lo < hi) {
                uint32_t mid = (lo + hi + 1) / 2;
                if (half_value((uint16_t)mid) <= v) lo = mid;
                else hi = mid - 1;
            }
            best = (uint16_t)lo;
            if (lo < 0x7bff) {
                double dl = v - half_value((uint16_t)lo), dh = half_value((uint16_t)(lo + 1)) - v;
                if (dh < dl || (dh == dl && (lo & 1))) best = (uint16_t)(lo + 1);
            } else if (v - 65504.0 >= 16.0) best = 0x7c00;
        }
        best |= sign;
        if (best != got) FAIL_("f=%a: got 0x%04x want 0x%04x", f, got, best);
        n_checked++;
    }
#ifdef HAVE_FLOAT16
    printf("  f32→f16: %lld random values match double RNE search and _Float16\n", (long long)n_checked);
#else
    printf("  f32→f16: %lld random values match double RNE search\n", (long long)n_checked);
#endif
}

TEST(bf16_conversions) {
    for (uint32_t h = 0; h < 65536; h++) {
        float f = ds2_bf16_to_f32((uint16_t)h);
        ASSERT_EQ_I64(f32_bits(f), h << 16);
        uint16_t back = ds2_f32_to_bf16(f);
        if (isnan(f)) {
            ASSERT_TRUE((back & 0x7f80) == 0x7f80 && (back & 0x7f));
            ASSERT_EQ_I64(back >> 15, h >> 15);
            if (h & 0x40) ASSERT_EQ_I64(back, h);
        } else if (back != h) {
            FAIL_("bf16 0x%04x round trip gave 0x%04x", h, back);
        }
    }
    /* ties to even and neighbours */
    for (int i = 0; i < 100000; i++) {
        uint32_t b = (uint32_t)(rng_u64() & 0xffff) << 16;
        if (((b >> 23) & 0xff) >= 0xfe) continue; /* keep away from inf/NaN */
        uint32_t tie = b | 0x8000u;
        uint16_t want = (uint16_t)((b >> 16) + ((b >> 16) & 1));
        ASSERT_EQ_I64(ds2_f32_to_bf16(f32_from_bits(tie)), want);
        ASSERT_EQ_I64(ds2_f32_to_bf16(f32_from_bits(tie - 1)), b >> 16);
        ASSERT_EQ_I64(ds2_f32_to_bf16(f32_from_bits(tie + 1)), (b >> 16) + 1);
    }
    ASSERT_EQ_I64(ds2_f32_to_bf16(f32_from_bits(0x7f7fffffu)), 0x7f80); /* FLT_MAX rounds to inf */
    ASSERT_EQ_I64(ds2_f32_to_bf16(-INFINITY), 0xff80);
    uint16_t n = ds2_f32_to_bf16(f32_from_bits(0x7f800001u)); /* NaN with payload only in dropped bits */
    ASSERT_TRUE((n & 0x7f80) == 0x7f80 && (n & 0x7f));
}

/* ---- Q8_0 / Q4_0 -------------------------------------------------------------------------------------- */

static void fill_block_cases(float *x, int64_t n, int variant) {
    fill_random(x, n, variant == 0 ? 1.0f : variant == 1 ? 1e-3f : 50.0f);
    if (n >= 64) {
        for (int j = 0; j < 32; j++) x[j] = 0.0f;        /* all-zero block */
        for (int j = 32; j < 64; j++) x[j] = 0.0f;       /* block with one negative outlier */
        x[40] = -3.5f;
    }
}

TEST(q8_0_quantize_bound) {
    double max_rel = 0;
    for (int variant = 0; variant < 3; variant++)
        for (int k = 1; k <= 9; k++) {
            const int64_t n = 32 * k;
            float x[32 * 9], y[32 * 9];
            uint8_t q[34 * 9];
            fill_block_cases(x, n, variant);
            ds2_ref_q8_0_from_float(x, q, n);
            ds2_ref_q8_0_to_float(q, y, n);
            for (int64_t b = 0; b < k; b++) {
                float amax = 0;
                for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[32 * b + j]));
                double d = amax / 127.0f;
                double d16 = ds2_f16_to_f32((uint16_t)(q[34 * b] | (q[34 * b + 1] << 8)));
                ASSERT_TRUE(d16 == (double)ds2_f16_to_f32(ds2_f32_to_f16((float)d)));
                for (int j = 0; j < 32; j++) {
                    int8_t qj = (int8_t)q[34 * b + 2 + j];
                    ASSERT_TRUE(qj != -128);
                    double err = fabs((double)x[32 * b + j] - (double)y[32 * b + j]);
                    /* rounding to the grid of the float d, plus the f16 rounding of d times |q| */
                    double bound = d / 2 + abs(qj) * fabs(d - d16) + 1e-7 * d;
                    if (err > bound) FAIL_("block %lld elem %d: err %.3g > %.3g", (long long)b, j, err, bound);
                    if (d > 0) max_rel = fmax(max_rel, err / d);
                }
            }
        }
    printf("  Q8_0 max |x - deq(q(x))| = %.4f·d (bound 0.5·d + |q|·|d - f16(d)|)\n", max_rel);
}

TEST(q8_0_quantize_ties_away) {
    /* As llama.cpp's quantize_row_q8_0_ref (its x86-64 baseline build): id = 1/d, roundf (ties away from 0).
     * With amax = 127, d = id = 1. (Its AVX builds round ties to even instead: -2.5 -> -2, 2.5 -> 2.) */
    float x[32];
    uint8_t q[34];
    for (int j = 0; j < 32; j++) x[j] = (float)(j % 8) - 3.5f; /* -3.5 .. 3.5 */
    x[31] = 127.0f;
    ds2_ref_q8_0_from_float(x, q, 32);
    for (int j = 0; j < 31; j++) {
        int8_t got = (int8_t)q[2 + j];
        ASSERT_EQ_I64(got, (int)roundf(x[j]));
    }
    ASSERT_EQ_I64((int8_t)q[2 + 0], -4); /* -3.5 → -4 */
    ASSERT_EQ_I64((int8_t)q[2 + 1], -3); /* -2.5 → -3 */
    ASSERT_EQ_I64((int8_t)q[2 + 6], 3);  /* 2.5 → 3 */
    ASSERT_EQ_I64((int8_t)q[2 + 31], 127);
    ASSERT_EQ_I64(q[0] | (q[1] << 8), ds2_f32_to_f16(1.0f));
}

TEST(q4_0_quantize_bound) {
    double max_rel = 0;
    for (int variant = 0; variant < 3; variant++)
        for (int k = 1; k <= 9; k++) {
            const int64_t n = 32 * k;
            float x[32 * 9], y[32 * 9];
            uint8_t q[18 * 9];
            fill_block_cases(x, n, variant);
            ds2_ref_q4_0_from_float(x, q, n);
            ds2_ref_q4_0_to_float(q, y, n);
            for (int64_t b = 0; b < k; b++) {
                float amax = 0, max = 0;
                for (int j = 0; j < 32; j++)
                    if (fabsf(x[32 * b + j]) > amax) {
                        amax = fabsf(x[32 * b + j]);
                        max = x[32 * b + j];
                    }
                double d = fabs(max / -8.0f);
                double d16 = fabs(ds2_f16_to_f32((uint16_t)(q[18 * b] | (q[18 * b + 1] << 8))));
                for (int j = 0; j < 32; j++) {
                    double v = d > 0 ? (double)x[32 * b + j] / (max / -8.0f) : 0; /* position on the grid */
                    double err = fabs((double)x[32 * b + j] - (double)y[32 * b + j]);
                    /* values that would need level +8 are clamped to +7: error up to one step */
                    double step_err = v >= 7.5 ? 1.0 : 0.5;
                    double bound = step_err * d + 8 * fabs(d - d16) + 1e-6 * d;
                    if (err > bound) FAIL_("block %lld elem %d: err %.3g > %.3g", (long long)b, j, err, bound);
                    if (d > 0 && v < 7.5) max_rel = fmax(max_rel, err / d);
                }
            }
        }
    printf("  Q4_0 max |x - deq(q(x))| = %.4f·d for unclamped values (bound 0.5·d + 8·|d - f16(d)|)\n", max_rel);
}

/* ---- vec_dot vs the dot of dequantized rows ------------------------------------------------------------ */

static const int32_t k_wtypes[] = {DS2_F32, DS2_F16, DS2_BF16, DS2_Q8_0, DS2_Q4_0};
#define N_WTYPES (int)(sizeof k_wtypes / sizeof k_wtypes[0])

TEST(traits_table) {
    for (int i = 0; i < N_WTYPES; i++) {
        const ds2_type_traits *t = ds2_type_traits_get(k_wtypes[i]);
        ASSERT_TRUE(t && t->to_float && t->vec_dot);
        ASSERT_TRUE(ds2_type_traits_ref_get(k_wtypes[i]) != NULL);
        const ds2_type_traits *p = ds2_type_traits_get(t->vec_dot_type);
        ASSERT_TRUE(p && p->from_float);
    }
    ASSERT_EQ_I64(ds2_type_traits_get(DS2_F32)->vec_dot_type, DS2_F32);
    ASSERT_EQ_I64(ds2_type_traits_get(DS2_F16)->vec_dot_type, DS2_F16);
    ASSERT_EQ_I64(ds2_type_traits_get(DS2_BF16)->vec_dot_type, DS2_BF16);
    ASSERT_EQ_I64(ds2_type_traits_get(DS2_Q8_0)->vec_dot_type, DS2_Q8_0);
    ASSERT_EQ_I64(ds2_type_traits_get(DS2_Q4_0)->vec_dot_type, DS2_Q8_0);
    ASSERT_TRUE(ds2_type_traits_get(DS2_IQ2_XXS) == NULL); /* a type this build has no kernels for */
    ASSERT_TRUE(ds2_type_traits_get(DS2_Q8_K) == NULL);    /* partner-only: no vec_dot */
    ASSERT_TRUE(ds2_type_traits_act_get(DS2_Q8_K) != NULL && ds2_type_traits_act_get(DS2_Q8_1) != NULL);
    ASSERT_TRUE(ds2_type_traits_get(-1) == NULL);
    ASSERT_TRUE(ds2_type_traits_get(DS2_DTYPE_COUNT) == NULL);
    ASSERT_TRUE(ds2_type_traits_get(4) == NULL); /* unused id */
}

TEST(vec_dot_matches_dequantized) {
    for (int i = 0; i < N_WTYPES; i++) {
        const int32_t wt = k_wtypes[i];
        const ds2_type_traits *t = ds2_type_traits_get(wt);
        const ds2_type_traits *p = ds2_type_traits_get(t->vec_dot_type);
        double max_rel = 0;
        for (int k = 1; k <= 9; k++)
            for (int rep = 0; rep < 20; rep++) {
                const int64_t n = 32 * k + (rep % 3 == 1 && wt <= DS2_F16 ? 5 : 0); /* odd tails for F32/F16 */
                const int64_t nn = (wt == DS2_Q8_0 || wt == DS2_Q4_0) ? 32 * k : n;
                float w[32 * 9 + 8], a[32 * 9 + 8], wd[32 * 9 + 8], ad[32 * 9 + 8];
                _Alignas(16) uint8_t wq[4 * (32 * 9 + 8)], aq[4 * (32 * 9 + 8)];
                fill_random(w, nn, rep % 2 ? 0.05f : 2.0f);
                fill_random(a, nn, rep % 4 ? 1.0f : 30.0f);
                t->from_float(w, wq, nn);
                p->from_float(a, aq, nn);
                t->to_float(wq, wd, nn);
                p->to_float(aq, ad, nn);
                double ref = 0, mag = 0;
                for (int64_t j = 0; j < nn; j++) {
                    ref += (double)wd[j] * (double)ad[j];
                    mag += fabs((double)wd[j] * (double)ad[j]);
                }
                float s = -1;
                t->vec_dot(nn, &s, wq, aq);
                /* double-accumulated types: products rounded to float + final rounding; block types: float
                 * accumulation over blocks plus the d_w·d_a product rounding. */
                double tol = (nn / 32 + 3) * ldexp(1.0, -23) * mag + 1e-30;
                double err = fabs((double)s - ref);
                if (err > tol) FAIL_("%s n=%lld: %.9g vs %.9g (err %.3g > tol %.3g)", ds2_dtype_name(wt),
                                     (long long)nn, s, ref, err, tol);
                if (mag > 0) max_rel = fmax(max_rel, err / mag);
            }
        printf("  vec_dot %-4s·%-4s max |err| / Σ|w·a| = %.3g\n", ds2_dtype_name(wt),
               ds2_dtype_name(t->vec_dot_type), max_rel);
    }
}

/* ---- matmul ------------------------------------------------------------------------------------------- */

TEST(matmul_threads_bit_exact) {
    ds2_pool *pools[5] = {0};
    ds2_error err;
    for (int nt = 1; nt <= 4; nt++) ASSERT_STATUS(ds2_pool_create(nt, &pools[nt], &err), DS2_OK, err);
    static const int64_t row_cases[] = {1, 7, 33, 129, 301};
    double max_rel[N_WTYPES] = {0};
    int n_cases = 0;
    for (int i = 0; i < N_WTYPES; i++) {
        const int32_t wt = k_wtypes[i];
        const ds2_type_traits *t = ds2_type_traits_get(wt);
        for (int k = 1; k <= 9; k += (k < 3 ? 1 : 3))
            for (int ri = 0; ri < 5; ri++)
                for (int64_t n_tok = 1; n_tok <= 5; n_tok++) {
                    const int64_t cols = 32 * k, rows = row_cases[ri], ldy = rows + 3;
                    const size_t wrb = ds2_row_bytes(wt, cols);
                    float *wf = malloc(sizeof(float) * cols * rows);
                    void *W = malloc(wrb * rows);
                    float *x = malloc(sizeof(float) * cols * n_tok);
                    float *y[5];
                    for (int nt = 0; nt < 5; nt++) y[nt] = malloc(sizeof(float) * ldy * n_tok);
                    size_t qb = ds2_matmul_qbuf_bytes(wt, cols, n_tok);
                    ASSERT_TRUE(qb == ds2_row_bytes(t->vec_dot_type, cols) * (size_t)n_tok);
                    void *qbuf = malloc(qb);
                    fill_random(wf, cols * rows, 0.5f);
                    fill_random(x, cols * n_tok, 1.0f);
                    for (int64_t r = 0; r < rows; r++) t->from_float(wf + r * cols, (char *)W + r * wrb, cols);
                    /* reference: one vec_dot per element, and the double dot of dequantized rows */
                    float *wrow = malloc(sizeof(float) * cols), *xd = malloc(sizeof(float) * cols * n_tok);
                    ds2_quantize_act(wt, x, cols, n_tok, qbuf);
                    const ds2_type_traits *p = ds2_type_traits_get(t->vec_dot_type);
                    for (int64_t tk = 0; tk < n_tok; tk++)
                        p->to_float((char *)qbuf + tk * ds2_row_bytes(t->vec_dot_type, cols), xd + tk * cols, cols);
                    for (int nt = 0; nt < 5; nt++)
                        for (int64_t j = 0; j < ldy * n_tok; j++) y[nt][j] = -7.0f; /* padding must survive */
                    for (int64_t tk = 0; tk < n_tok; tk++)
                        for (int64_t r = 0; r < rows; r++)
                            t->vec_dot(cols, &y[0][tk * ldy + r], (char *)W + r * wrb,
                                       (char *)qbuf + tk * ds2_row_bytes(t->vec_dot_type, cols));
                    for (int nt = 1; nt <= 4; nt++)
                        ds2_matmul(pools[nt], y[nt], ldy, W, wt, x, cols, rows, n_tok, qbuf);
                    for (int nt = 1; nt <= 4; nt++)
                        if (memcmp(y[nt], y[0], sizeof(float) * ldy * n_tok) != 0)
                            FAIL_("%s cols=%lld rows=%lld n_tok=%lld threads=%d differs from per-row vec_dot",
                                  ds2_dtype_name(wt), (long long)cols, (long long)rows, (long long)n_tok, nt);
                    /* row subranges and get_row */
                    float *ys = malloc(sizeof(float) * ldy * n_tok);
                    memcpy(ys, y[0], sizeof(float) * ldy * n_tok);
                    for (int64_t tk = 0; tk < n_tok; tk++)
                        for (int64_t r = rows / 3; r < rows; r++) ys[tk * ldy + r] = 0;
                    ds2_matmul_q_rows(ys, ldy, W, wt, qbuf, cols, rows / 3, rows, n_tok);
                    ASSERT_TRUE(memcmp(ys, y[0], sizeof(float) * ldy * n_tok) == 0);
                    for (int64_t r = 0; r < rows; r++) {
                        ds2_get_row(W, wt, cols, r, wrow);
                        for (int64_t tk = 0; tk < n_tok; tk++) {
                            double ref = 0, mag = 0;
                            for (int64_t j = 0; j < cols; j++) {
                                ref += (double)wrow[j] * xd[tk * cols + j];
                                mag += fabs((double)wrow[j] * xd[tk * cols + j]);
                            }
                            double e = fabs(y[0][tk * ldy + r] - ref);
                            if (e > (cols / 32 + 3) * ldexp(1.0, -23) * mag + 1e-30)
                                FAIL_("%s: y=%.9g ref=%.9g", ds2_dtype_name(wt), y[0][tk * ldy + r], ref);
                            if (mag > 0) max_rel[i] = fmax(max_rel[i], e / mag);
                        }
                    }
                    for (int64_t tk = 0; tk < n_tok; tk++)
                        for (int64_t r = rows; r < ldy; r++) ASSERT_TRUE(y[1][tk * ldy + r] == -7.0f);
                    n_cases++;
                    free(ys);
                    free(wrow);
                    free(xd);
                    free(qbuf);
                    for (int nt = 0; nt < 5; nt++) free(y[nt]);
                    free(x);
                    free(W);
                    free(wf);
                }
    }
    for (int nt = 1; nt <= 4; nt++) ds2_pool_free(pools[nt]);
    printf("  matmul: %d shapes × 4 thread counts bit-identical; max |err|/Σ|w·x| vs dequantized double:", n_cases);
    for (int i = 0; i < N_WTYPES; i++) printf(" %s %.2g", ds2_dtype_name(k_wtypes[i]), max_rel[i]);
    printf("\n");
}

TEST(matmul_f32_no_qbuf_needed) {
    /* F32 weights: ds2_matmul uses x in place; qbuf may be NULL. */
    float W[6] = {1, 2, 3, 4, 5, 6}, x[3] = {1, -1, 2}, y[2];
    ds2_matmul(NULL, y, 2, W, DS2_F32, x, 3, 2, 1, NULL);
    ASSERT_TRUE(y[0] == 5.0f && y[1] == 11.0f);
}

/* ---- vector ops --------------------------------------------------------------------------------------- */

TEST(rmsnorm_vs_double) {
    double max_rel = 0;
    for (int64_t n = 1; n <= 2100; n += (n < 40 ? 1 : 257)) {
        float *x = malloc(sizeof(float) * n), *w = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
        fill_random(x, n, n % 2 ? 3.0f : 0.01f);
        fill_random(w, n, 1.0f);
        const float eps = 1e-6f;
        double ss = 0;
        for (int64_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
        double sc = 1.0 / sqrt(ss / n + eps);
        ds2_rmsnorm(y, x, w, n, eps);
        for (int64_t i = 0; i < n; i++) {
            double ref = (double)w[i] * x[i] * sc;
            double e = fabs(y[i] - ref), scale = fabs((double)w[i] * x[i] * sc);
            if (e > 1e-6 * scale + 1e-30) FAIL_("n=%lld i=%lld: %.9g vs %.9g", (long long)n, (long long)i, y[i], ref);
            if (scale > 0) max_rel = fmax(max_rel, e / scale);
        }
        ds2_rmsnorm(x, x, NULL, n, eps); /* in place, no weight */
        for (int64_t i = 0; i < n; i++) ASSERT_NEAR(x[i] * w[i], y[i], 1e-6 * fabs(y[i]) + 1e-30);
        free(x);
        free(w);
        free(y);
    }
    printf("  rmsnorm max rel err %.3g (tol 1e-6)\n", max_rel);
}

TEST(softmax_vs_double) {
    double max_abs = 0;
    for (int64_t n = 1; n <= 3000; n += (n < 40 ? 1 : 331)) {
        float *x = malloc(sizeof(float) * n), *x0 = malloc(sizeof(float) * n);
        fill_random(x, n, n % 3 ? 4.0f : 60.0f);
        if (n > 4) x[n / 2] = 88.0f; /* would overflow expf without max subtraction */
        memcpy(x0, x, sizeof(float) * n);
        double mx = -INFINITY, sum = 0;
        for (int64_t i = 0; i < n; i++) mx = fmax(mx, x0[i]);
        for (int64_t i = 0; i < n; i++) sum += exp((double)x0[i] - mx);
        ds2_softmax(x, n);
        double tot = 0;
        for (int64_t i = 0; i < n; i++) {
            double ref = exp((double)x0[i] - mx) / sum;
            double e = fabs(x[i] - ref);
            /* expf of (x − max) rounded to float: ≤ ~1 ulp of the argument's effect, relative ≈ |x−max|·2^-24 */
            double tol = 4e-7 * ref * (1.0 + fabs((double)x0[i] - mx)) + 1e-38;
            if (e > tol) FAIL_("n=%lld i=%lld: %.9g vs %.9g", (long long)n, (long long)i, x[i], ref);
            max_abs = fmax(max_abs, e);
            tot += x[i];
        }
        ASSERT_NEAR(tot, 1.0, 1e-5);
        free(x);
        free(x0);
    }
    float one = -5.0f;
    ds2_softmax(&one, 1);
    ASSERT_TRUE(one == 1.0f);
    float m[3] = {-INFINITY, 0.0f, -INFINITY}; /* masked entries */
    ds2_softmax(m, 3);
    ASSERT_TRUE(m[0] == 0.0f && m[1] == 1.0f && m[2] == 0.0f);
    printf("  softmax max abs err %.3g\n", max_abs);
}

TEST(swiglu_vs_double) {
    double max_rel = 0;
    const int64_t n = 4099;
    float *g = malloc(sizeof(float) * n), *u = malloc(sizeof(float) * n), *o = malloc(sizeof(float) * n);
    fill_random(g, n, 12.0f);
    fill_random(u, n, 2.0f);
    g[0] = -100.0f;
    g[1] = 100.0f;
    g[2] = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        double gd = g[i], ref = gd / (1.0 + exp(-gd)) * u[i];
        float out;
        ds2_swiglu(&out, &g[i], &u[i], 1);
        double e = fabs(out - ref);
        if (e > 1e-6 * fabs(ref) + 1e-30) FAIL_(  /* expf overflow for g < -88.7 gives -0 (as ggml) */
                "g=%.9g u=%.9g: %.9g vs %.9g", g[i], u[i], out, ref);
        if (fabs(ref) > 1e-30) max_rel = fmax(max_rel, e / fabs(ref));
    }
    ds2_swiglu(o, g, u, n);
    float *g2 = malloc(sizeof(float) * n);
    memcpy(g2, g, sizeof(float) * n);
    ds2_swiglu(g2, g2, u, n); /* aliasing out = g */
    ASSERT_TRUE(memcmp(g2, o, sizeof(float) * n) == 0);
    memcpy(g2, u, sizeof(float) * n);
    ds2_swiglu(g2, g, g2, n); /* aliasing out = u */
    ASSERT_TRUE(memcmp(g2, o, sizeof(float) * n) == 0);
    free(g);
    free(u);
    free(o);
    free(g2);
    printf("  swiglu max rel err %.3g (tol 1e-6)\n", max_rel);
}

TEST(dot_axpy_vs_double) {
    double max_dot = 0, max_dot16 = 0;
    for (int64_t n = 0; n <= 1030; n += (n < 20 ? 1 : 101)) {
        float *a = malloc(sizeof(float) * (n + 1)), *b = malloc(sizeof(float) * (n + 1));
        float *y = malloc(sizeof(float) * (n + 1)), *y2 = malloc(sizeof(float) * (n + 1));
        uint16_t *h = malloc(sizeof(uint16_t) * (n + 1));
        fill_random(a, n, 1.0f);
        fill_random(b, n, 3.0f);
        ds2_f32_to_f16_row(a, h, n);
        float *ah = malloc(sizeof(float) * (n + 1));
        ds2_f16_to_f32_row(h, ah, n);
        double ref = 0, ref16 = 0, mag = 0, mag16 = 0;
        for (int64_t i = 0; i < n; i++) {
            ASSERT_TRUE(h[i] == ds2_f32_to_f16(a[i]) && ah[i] == ds2_f16_to_f32(h[i]));
            ref += (double)a[i] * b[i];
            mag += fabs((double)a[i] * b[i]);
            ref16 += (double)ah[i] * b[i];
            mag16 += fabs((double)ah[i] * b[i]);
        }
        double e = fabs(ds2_dot_f32(n, a, b) - ref), e16 = fabs(ds2_dot_f16_f32(n, h, b) - ref16);
        ASSERT_TRUE(e <= 2 * ldexp(1.0, -24) * mag + fabs(ref) * ldexp(1.0, -24) + 1e-30);
        ASSERT_TRUE(e16 <= 2 * ldexp(1.0, -24) * mag16 + fabs(ref16) * ldexp(1.0, -24) + 1e-30);
        if (mag > 0) max_dot = fmax(max_dot, e / mag);
        if (mag16 > 0) max_dot16 = fmax(max_dot16, e16 / mag16);
        const float alpha = -0.37f;
        for (int64_t i = 0; i < n; i++) y[i] = y2[i] = b[i];
        ds2_axpy_f32(n, alpha, a, y);
        ds2_axpy_f16(n, alpha, h, y2);
        for (int64_t i = 0; i < n; i++) {
            double r = (double)b[i] + (double)alpha * a[i], r16 = (double)b[i] + (double)alpha * ah[i];
            ASSERT_NEAR(y[i], r, 2 * ldexp(1.0, -24) * (fabs(b[i]) + fabs(alpha * a[i])) + 1e-30);
            ASSERT_NEAR(y2[i], r16, 2 * ldexp(1.0, -24) * (fabs(b[i]) + fabs(alpha * ah[i])) + 1e-30);
        }
        free(a);
        free(b);
        free(y);
        free(y2);
        free(h);
        free(ah);
    }
    printf("  dot_f32 max |err|/Σ|a·b| %.3g, dot_f16_f32 %.3g\n", max_dot, max_dot16);
}

/* ---- thread pool -------------------------------------------------------------------------------------- */

typedef struct {
    int64_t job;
    int64_t out[8];
    int32_t nth_seen[8];
    int64_t *arr; /* shared array, each thread fills its split */
    int64_t n;
} pool_job;

static void pool_fn(void *ctx, int32_t ith, int32_t nth) {
    pool_job *j = (pool_job *)ctx;
    j->out[ith] += j->job * 10 + ith; /* reads the caller's job number written before the run */
    j->nth_seen[ith] = nth;
    int64_t r0, r1;
    ds2_pool_split(j->n, ith, nth, &r0, &r1);
    for (int64_t i = r0; i < r1; i++) j->arr[i] = j->job + i;
}

TEST(pool_runs_and_splits) {
    /* split covers [0, n) contiguously with sizes differing by ≤ 1 */
    for (int64_t n = 0; n < 50; n++)
        for (int32_t nth = 1; nth <= 9; nth++) {
            int64_t prev = 0, mn = n, mx = 0;
            for (int32_t i = 0; i < nth; i++) {
                int64_t r0, r1;
                ds2_pool_split(n, i, nth, &r0, &r1);
                ASSERT_EQ_I64(r0, prev);
                prev = r1;
                mn = r1 - r0 < mn ? r1 - r0 : mn;
                mx = r1 - r0 > mx ? r1 - r0 : mx;
            }
            ASSERT_EQ_I64(prev, n);
            ASSERT_TRUE(mx - mn <= 1);
        }
    ds2_error err;
    for (int nt = 1; nt <= 4; nt++) {
        ds2_pool *pool = NULL;
        ASSERT_STATUS(ds2_pool_create(nt, &pool, &err), DS2_OK, err);
#if DS2_THREADS
        ASSERT_EQ_I64(ds2_pool_n_threads(pool), nt);
#endif
        const int32_t nth = ds2_pool_n_threads(pool);
        pool_job j;
        memset(&j, 0, sizeof j);
        j.n = 1001;
        j.arr = calloc((size_t)j.n, sizeof(int64_t));
        int64_t expect_sum[8] = {0};
        for (int64_t it = 0; it < 1000; it++) {
            j.job = it;
            ds2_pool_run(pool, pool_fn, &j);
            for (int32_t i = 0; i < nth; i++) {
                expect_sum[i] += it * 10 + i;
                if (j.out[i] != expect_sum[i]) FAIL_("threads=%d run %lld: worker %d missed or repeated", nt, (long long)it, i);
                ASSERT_EQ_I64(j.nth_seen[i], nth);
            }
            for (int64_t i = 0; i < j.n; i++)
                if (j.arr[i] != it + i) FAIL_("threads=%d run %lld: arr[%lld] stale", nt, (long long)it, (long long)i);
        }
        free(j.arr);
        ds2_pool_free(pool);
    }
    /* create/free cycles, including free right after create and after one job */
    for (int c = 0; c < 50; c++) {
        ds2_pool *pool = NULL;
        ASSERT_STATUS(ds2_pool_create(1 + c % 4, &pool, &err), DS2_OK, err);
        if (c % 2) {
            pool_job j;
            memset(&j, 0, sizeof j);
            j.n = 10;
            j.arr = calloc(10, sizeof(int64_t));
            ds2_pool_run(pool, pool_fn, &j);
            free(j.arr);
        }
        ds2_pool_free(pool);
    }
    ds2_pool_free(NULL);
    ds2_pool *pool = NULL;
    ASSERT_STATUS(ds2_pool_create(0, &pool, &err), DS2_OK, err); /* 0 = 1 thread */
    ASSERT_EQ_I64(ds2_pool_n_threads(pool), 1);
    ds2_pool_free(pool);
    ASSERT_STATUS(ds2_pool_create(-1, &pool, &err), DS2_E_INVALID_ARG, err);
    ASSERT_TRUE(pool == NULL);
}

int main(void) {
    rng_seed(0x9e3779b97f4a7c15ull);
    RUN(f16_exhaustive_roundtrip);
    RUN(f16_rounding_ties_to_even);
    RUN(f16_random_vs_double_rne);
    RUN(bf16_conversions);
    RUN(q8_0_quantize_bound);
    RUN(q8_0_quantize_ties_away);
    RUN(q4_0_quantize_bound);
    RUN(traits_table);
    RUN(vec_dot_matches_dequantized);
    RUN(matmul_threads_bit_exact);
    RUN(matmul_f32_no_qbuf_needed);
    RUN(rmsnorm_vs_double);
    RUN(softmax_vs_double);
    RUN(swiglu_vs_double);
    RUN(dot_axpy_vs_double);
    RUN(pool_runs_and_splits);
    return test_summary();
}
