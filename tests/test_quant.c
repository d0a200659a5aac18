/* test_quant.c — the block types beyond Q8_0/Q4_0 (Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K..Q6_K, IQ4_XS) and their
 * activation partners (Q8_1, Q8_K), scalar reference kernels:
 *  - dequantization of random valid blocks vs an independent element-by-element transcription of the
 *    reference §4 formulas, evaluated in double;
 *  - vec_dot vs the double dot product of the dequantized weight row and the dequantized activation row;
 *  - the Q8_1 / Q8_K activation quantizers: error bounds, the rounding rule each uses, bsums / s fields;
 *  - matmul through the traits table (partner quantization, thread split) bit-identical to per-row vec_dot.
 * Bit-exactness with llama.cpp itself is checked end to end by the oracle variants (tests/oracle/compare.mjs).
 * Prints measured maxima next to the tolerances. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
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

/* The IQ4 codebook as printed in reference §4 (kept here independently of the kernels' copy). */
static const int K_IQ4[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

static double h16(const uint8_t *p) { return (double)ds2_f16_to_f32((uint16_t)(p[0] | (p[1] << 8))); }
static int lo(int b) { return b & 15; }
static int hi(int b) { return b >> 4; }

/* One element of one block, straight from the reference §4 formulas (double). *mag gets the magnitude of
 * the terms the float kernel rounds (for the tolerance). */
static double deq_elem(int32_t type, const uint8_t *b, int e, double *mag) {
    switch (type) {
    case DS2_Q4_1: {
        const int q = e < 16 ? lo(b[4 + e]) : hi(b[4 + e - 16]);
        *mag = fabs(h16(b) * q) + fabs(h16(b + 2));
        return h16(b) * q + h16(b + 2);
    }
    case DS2_Q5_0:
    case DS2_Q5_1: {
        const int has_m = type == DS2_Q5_1, qh = has_m ? 4 : 2, qs = has_m ? 8 : 6;
        const uint32_t h = (uint32_t)b[qh] | ((uint32_t)b[qh + 1] << 8) | ((uint32_t)b[qh + 2] << 16) |
                           ((uint32_t)b[qh + 3] << 24);
        const int q = (e < 16 ? lo(b[qs + e]) : hi(b[qs + e - 16])) | (int)(((h >> e) & 1) << 4);
        if (!has_m) {
            *mag = fabs(h16(b) * (q - 16));
            return h16(b) * (q - 16);
        }
        *mag = fabs(h16(b) * q) + fabs(h16(b + 2));
        return h16(b) * q + h16(b + 2);
    }
    case DS2_IQ4_NL: {
        const int k = K_IQ4[e < 16 ? lo(b[2 + e]) : hi(b[2 + e - 16])];
        *mag = fabs(h16(b) * k);
        return h16(b) * k;
    }
    case DS2_Q2_K:
    case DS2_Q3_K: {
        const int n = e / 128, r = e % 128, j = r / 32, k = (r % 32) / 16, l = r % 16, is = 8 * n + 2 * j + k;
        const int qoff = type == DS2_Q2_K ? 16 : 32;
        const int low = (b[qoff + 32 * n + 16 * k + l] >> (2 * j)) & 3;
        if (type == DS2_Q2_K) {
            const double d = h16(b + 80), dmin = h16(b + 82);
            *mag = fabs(d * lo(b[is]) * low) + fabs(dmin * hi(b[is]));
            return d * lo(b[is]) * low - dmin * hi(b[is]);
        }
        const uint8_t *s = b + 96;
        const int low4 = is < 8 ? lo(s[is]) : hi(s[is - 8]);
        const int high2 = (s[8 + is % 4] >> (2 * (is / 4))) & 3;
        const int sc = (low4 | (high2 << 4)) - 32;
        const int q = low - ((b[16 * k + l] >> (4 * n + j)) & 1 ? 0 : 4);
        *mag = fabs(h16(b + 108) * sc * q);
        return h16(b + 108) * sc * q;
    }
    case DS2_Q4_K:
    case DS2_Q5_K: {
        const int c = e / 64, r = e % 64, h = r >= 32, l = r % 32, j = 2 * c + h;
        const uint8_t *s = b + 4;
        int sc, mn;
        if (j < 4) {
            sc = s[j] & 63;
            mn = s[j + 4] & 63;
        } else {
            sc = (s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4);
            mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
        }
        const int qs = type == DS2_Q4_K ? 16 : 48;
        int q = h ? hi(b[qs + 32 * c + l]) : lo(b[qs + 32 * c + l]);
        if (type == DS2_Q5_K) q += 16 * ((b[16 + l] >> (2 * c + h)) & 1);
        *mag = fabs(h16(b) * sc * q) + fabs(h16(b + 2) * mn);
        return h16(b) * sc * q - h16(b + 2) * mn;
    }
    case DS2_Q6_K: {
        const int n = e / 128, r = e % 128, quarter = r / 32, l = r % 32;
        const uint8_t *L = b + 64 * n;
        const int low = quarter == 0 ? lo(L[l]) : quarter == 1 ? lo(L[l + 32]) : quarter == 2 ? hi(L[l]) : hi(L[l + 32]);
        const int high = (b[128 + 32 * n + l] >> (2 * quarter)) & 3;
        const int q = (low | (high << 4)) - 32;
        const int sc = (int8_t)b[192 + e / 16];
        *mag = fabs(h16(b + 208) * sc * q);
        return h16(b + 208) * sc * q;
    }
    case DS2_IQ4_XS: {
        const int ib = e / 32, r = e % 32;
        const int nib = r < 16 ? lo(b[8 + 16 * ib + r]) : hi(b[8 + 16 * ib + r - 16]);
        const int sh = b[2] | (b[3] << 8);
        const int ls = ((b[4 + ib / 2] >> (4 * (ib % 2))) & 15) | (((sh >> (2 * ib)) & 3) << 4);
        *mag = fabs(h16(b) * (ls - 32) * K_IQ4[nib]);
        return h16(b) * (ls - 32) * K_IQ4[nib];
    }
    }
    *mag = 0;
    return NAN;
}

typedef struct {
    int32_t type;
    int f16_at[2]; /* byte offsets of the f16 scale fields (-1: none) */
} qtype;

static const qtype k_types[] = {
    {DS2_Q4_1, {0, 2}},   {DS2_Q5_0, {0, -1}}, {DS2_Q5_1, {0, 2}},   {DS2_IQ4_NL, {0, -1}}, {DS2_Q2_K, {80, 82}},
    {DS2_Q3_K, {108, -1}}, {DS2_Q4_K, {0, 2}}, {DS2_Q5_K, {0, 2}}, {DS2_Q6_K, {208, -1}}, {DS2_IQ4_XS, {0, -1}},
};
#define N_TYPES (int)(sizeof k_types / sizeof k_types[0])

/* Random valid blocks: random bytes everywhere, finite moderate f16 scales (second field: a min, ≥ 0). */
static void random_row(const qtype *qt, uint8_t *row, int64_t n, float scale) {
    const ds2_dtype_info *info = ds2_dtype_info_get(qt->type);
    const int64_t nb = n / info->block_elems;
    for (int64_t i = 0; i < nb * info->block_bytes; i++) row[i] = (uint8_t)rng_u64();
    for (int64_t ib = 0; ib < nb; ib++)
        for (int f = 0; f < 2; f++) {
            if (qt->f16_at[f] < 0) continue;
            float v = scale * (float)(0.25 + rng_unit());
            if (f == 0 && qt->type != DS2_Q4_1 && qt->type != DS2_Q5_1 && rng_unit() < 0.3) v = -v;
            const uint16_t h = ds2_f32_to_f16(v);
            row[ib * info->block_bytes + qt->f16_at[f]] = (uint8_t)(h & 0xff);
            row[ib * info->block_bytes + qt->f16_at[f] + 1] = (uint8_t)(h >> 8);
        }
}

#define NMAX (256 * 6)

TEST(traits_new_types) {
    for (int i = 0; i < N_TYPES; i++) {
        const ds2_type_traits *t = ds2_type_traits_get(k_types[i].type);
        ASSERT_TRUE(t && t->to_float && t->vec_dot && ds2_type_traits_ref_get(k_types[i].type));
        const ds2_type_traits *p = ds2_type_traits_act_get(t->vec_dot_type);
        ASSERT_TRUE(p && p->from_float && p->to_float);
    }
    /* llama.cpp's pairing (reference §4 "vec_dot pairing") */
    ASSERT_EQ_I64(ds2_type_traits_get(DS2_Q4_1)->vec_dot_type, DS2_Q8_1);
    ASSERT_EQ_I64(ds2_type_traits_get(DS2_Q5_1)->vec_dot_type, DS2_Q8_1);
    ASSERT_EQ_I64(ds2_type_traits_get(DS2_Q5_0)->vec_dot_type, DS2_Q8_0);
    ASSERT_EQ_I64(ds2_type_traits_get(DS2_IQ4_NL)->vec_dot_type, DS2_Q8_0);
    ASSERT_EQ_I64(ds2_type_traits_get(DS2_IQ4_XS)->vec_dot_type, DS2_Q8_K);
    for (int32_t t = DS2_Q2_K; t <= DS2_Q6_K; t++) ASSERT_EQ_I64(ds2_type_traits_get(t)->vec_dot_type, DS2_Q8_K);
    ASSERT_TRUE(ds2_type_traits_get(DS2_Q8_1) == NULL && ds2_type_traits_get(DS2_Q8_K) == NULL);
    ASSERT_TRUE(ds2_type_traits_act_get(DS2_Q4_K) == NULL); /* weight-only: no quantizer */
}

TEST(dequant_vs_formulas) {
    for (int i = 0; i < N_TYPES; i++) {
        const qtype *qt = &k_types[i];
        const ds2_type_traits *t = ds2_type_traits_ref_get(qt->type);
        const ds2_dtype_info *info = ds2_dtype_info_get(qt->type);
        double max_rel = 0;
        for (int rep = 0; rep < 40; rep++) {
            const int64_t nb = 1 + rep % 5, n = nb * info->block_elems;
            uint8_t row[NMAX * 2];
            float y[NMAX];
            random_row(qt, row, n, rep % 2 ? 1e-3f : 0.5f);
            t->to_float(row, y, n);
            for (int64_t e = 0; e < n; e++) {
                double mag;
                const double want = deq_elem(qt->type, row + (e / info->block_elems) * info->block_bytes,
                                             (int)(e % info->block_elems), &mag);
                /* float kernel: ≤ 3 roundings of terms of size ≤ mag */
                const double tol = 3 * ldexp(mag, -24) + 1e-30;
                if (!(fabs((double)y[e] - want) <= tol))
                    FAIL_("%s elem %lld: %.9g vs %.9g (tol %.3g)", info->name, (long long)e, y[e], want, tol);
                if (mag > 0) max_rel = fmax(max_rel, fabs((double)y[e] - want) / mag);
            }
        }
        printf("  %-6s dequant vs §4 formulas: max |err|/|terms| = %.3g (tol 1.8e-7)\n", info->name, max_rel);
    }
}

TEST(vec_dot_vs_dequantized) {
    for (int i = 0; i < N_TYPES; i++) {
        const qtype *qt = &k_types[i];
        const ds2_type_traits *t = ds2_type_traits_ref_get(qt->type);
        const ds2_type_traits *p = ds2_type_traits_ref_act_get(t->vec_dot_type);
        const ds2_dtype_info *info = ds2_dtype_info_get(qt->type);
        double max_rel = 0;
        for (int rep = 0; rep < 60; rep++) {
            const int64_t n = (1 + rep % 6) * 256; /* a multiple of every block size here */
            uint8_t w[NMAX * 2], a[NMAX * 2];
            float x[NMAX], wd[NMAX], ad[NMAX];
            random_row(qt, w, n, rep % 3 ? 0.02f : 3.0f);
            for (int64_t j = 0; j < n; j++) x[j] = rng_normalish() * (rep % 4 ? 1.0f : 40.0f);
            if (rep % 7 == 3)
                for (int64_t j = 0; j < 256; j++) x[j] = 0.0f; /* an all-zero activation block */
            p->from_float(x, a, n);
            t->to_float(w, wd, n);
            p->to_float(a, ad, n);
            double ref = 0, mag = 0;
            for (int64_t j = 0; j < n; j++) {
                ref += (double)wd[j] * (double)ad[j];
                mag += fabs((double)wd[j] * (double)ad[j]);
            }
            float s = NAN;
            t->vec_dot(n, &s, w, a);
            /* float accumulation over blocks / lanes, scale products rounded (d_w·d_a, ·sc), the dequantized
             * rows themselves rounded: a few ulps of Σ|w·a| per block. Q8_1 partners: the kernel uses the
             * activation block's s = f16(d·Σq) where the dequantized dot has m·d·Σq exactly: + 2^-11·Σ|m·s|. */
            double tol = (double)(n / 32 + 8) * ldexp(1.0, -23) * mag + 1e-30;
            if (t->vec_dot_type == DS2_Q8_1) {
                const int bb = info->block_bytes;
                for (int64_t ib = 0; ib < n / 32; ib++) {
                    const double m = h16(w + ib * bb + 2), sa = h16(a + ib * 36 + 2);
                    tol += ldexp(fabs(m) * (fabs(sa) + 1e-30), -10);
                }
            }
            const double err = fabs((double)s - ref);
            if (!(err <= tol))
                FAIL_("%s n=%lld: %.9g vs %.9g (err %.3g > tol %.3g)", info->name, (long long)n, s, ref, err, tol);
            if (mag > 0) max_rel = fmax(max_rel, err / mag);
        }
        printf("  vec_dot %-6s·%-4s max |err| / Σ|w·a| = %.3g\n", info->name, ds2_dtype_name(t->vec_dot_type),
               max_rel);
    }
}

/* Q8_K: per 256, max = signed value of largest |x|, iscale = −127/max, q = min(127, round-half-even(iscale·x)),
 * d = 1/iscale (f32); bsums = sums of 16. */
TEST(q8_k_quantizer) {
    double max_rel = 0;
    for (int rep = 0; rep < 50; rep++) {
        const int64_t n = 256 * (1 + rep % 4);
        float x[1024], y[1024];
        uint8_t q[292 * 4];
        for (int64_t j = 0; j < n; j++) x[j] = rng_normalish() * (rep % 2 ? 1e-4f : 7.0f);
        if (rep % 5 == 1)
            for (int j = 0; j < 256; j++) x[j] = 0.0f;
        ds2_ref_q8_k_from_float(x, q, n);
        ds2_ref_q8_k_to_float(q, y, n);
        for (int64_t ib = 0; ib < n / 256; ib++) {
            const uint8_t *b = q + 292 * ib;
            const float *xb = x + 256 * ib;
            float d;
            memcpy(&d, b, 4);
            float amax = 0, max = 0;
            for (int j = 0; j < 256; j++)
                if (fabsf(xb[j]) > amax) {
                    amax = fabsf(xb[j]);
                    max = xb[j];
                }
            if (amax == 0) {
                ASSERT_TRUE(d == 0);
                for (int j = 0; j < 256; j++) ASSERT_EQ_I64((int8_t)b[4 + j], 0);
                continue;
            }
            const float iscale = -127.0f / max;
            ASSERT_TRUE(d == 1.0f / iscale);
            for (int g = 0; g < 16; g++) {
                int sum = 0;
                for (int j = 0; j < 16; j++) sum += (int8_t)b[4 + 16 * g + j];
                ASSERT_EQ_I64((int16_t)(b[260 + 2 * g] | (b[261 + 2 * g] << 8)), sum);
            }
            for (int j = 0; j < 256; j++) {
                const int8_t qj = (int8_t)b[4 + j];
                const double v = (double)(iscale * xb[j]); /* the float product the quantizer rounds */
                ASSERT_TRUE(qj != -128);
                ASSERT_TRUE(fabs(v - qj) <= 0.5 || qj == 127);
                if (fabs(v - qj) == 0.5) ASSERT_EQ_I64(qj & 1, 0); /* ties to even */
                const double err = fabs((double)xb[j] - (double)y[256 * ib + j]);
                if (!(err <= fabs(d) * 0.5000001)) FAIL_("q8_k err %.3g > d/2 = %.3g", err, fabs(d) * 0.5);
                max_rel = fmax(max_rel, err / fabs(d));
            }
        }
    }
    /* exact halves: max = -127 gives iscale = 1, so q = round-half-even(x) */
    float x[256];
    uint8_t q[292];
    for (int j = 0; j < 256; j++) x[j] = (float)(j % 8) - 3.5f;
    x[255] = -127.0f;
    ds2_ref_q8_k_from_float(x, q, 256);
    ASSERT_EQ_I64((int8_t)q[4 + 0], -4); /* -3.5 → -4 */
    ASSERT_EQ_I64((int8_t)q[4 + 1], -2); /* -2.5 → -2 */
    ASSERT_EQ_I64((int8_t)q[4 + 2], -2); /* -1.5 → -2 */
    ASSERT_EQ_I64((int8_t)q[4 + 4], 0);  /* 0.5 → 0 */
    ASSERT_EQ_I64((int8_t)q[4 + 5], 2);  /* 1.5 → 2 */
    ASSERT_EQ_I64((int8_t)q[4 + 255], -127);
    printf("  Q8_K max |x - deq(q(x))| = %.4f·d (bound 0.5·d)\n", max_rel);
}

/* Q8_1: Q8_0's rounding (d = amax/127, id = 1/d, roundf) plus s = f16((float)Σq·d). */
TEST(q8_1_quantizer) {
    for (int rep = 0; rep < 50; rep++) {
        const int64_t n = 32 * (1 + rep % 9);
        float x[288];
        uint8_t q1[36 * 9], q0[34 * 9];
        for (int64_t j = 0; j < n; j++) x[j] = rng_normalish() * (rep % 2 ? 1e-3f : 5.0f);
        if (rep % 4 == 0)
            for (int j = 0; j < 32; j++) x[j] = 0.0f;
        ds2_ref_q8_1_from_float(x, q1, n);
        ds2_ref_q8_0_from_float(x, q0, n);
        for (int64_t ib = 0; ib < n / 32; ib++) {
            const uint8_t *b1 = q1 + 36 * ib, *b0 = q0 + 34 * ib;
            ASSERT_TRUE(b1[0] == b0[0] && b1[1] == b0[1]);          /* same d */
            ASSERT_TRUE(memcmp(b1 + 4, b0 + 2, 32) == 0);            /* same q */
            int sum = 0;
            for (int j = 0; j < 32; j++) sum += (int8_t)b1[4 + j];
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[32 * ib + j]));
            const uint16_t s = ds2_f32_to_f16((float)sum * (amax / 127.0f));
            ASSERT_EQ_I64(b1[2] | (b1[3] << 8), s);
        }
    }
}

TEST(matmul_new_types_threads) {
    ds2_pool *pool = NULL;
    ds2_error err;
    ASSERT_STATUS(ds2_pool_create(3, &pool, &err), DS2_OK, err);
    for (int i = 0; i < N_TYPES; i++) {
        const qtype *qt = &k_types[i];
        const int64_t cols = 512, rows = 37, n_tok = 3;
        const size_t wrb = ds2_row_bytes(qt->type, cols);
        uint8_t *W = malloc(wrb * rows);
        float *x = malloc(sizeof(float) * cols * n_tok), *y = malloc(sizeof(float) * rows * n_tok);
        void *qbuf = malloc(ds2_matmul_qbuf_bytes(qt->type, cols, n_tok));
        ASSERT_TRUE(W && x && y && qbuf);
        for (int64_t r = 0; r < rows; r++) random_row(qt, W + r * wrb, cols, 0.05f);
        for (int64_t j = 0; j < cols * n_tok; j++) x[j] = rng_normalish();
        ds2_matmul(pool, y, rows, W, qt->type, x, cols, rows, n_tok, qbuf);
        const ds2_type_traits *t = ds2_type_traits_get(qt->type);
        const ds2_type_traits *p = ds2_type_traits_act_get(t->vec_dot_type);
        const size_t arb = ds2_row_bytes(t->vec_dot_type, cols);
        ASSERT_EQ_I64(ds2_matmul_qbuf_bytes(qt->type, cols, n_tok), arb * n_tok);
        uint8_t a[292 * 2];
        for (int64_t tk = 0; tk < n_tok; tk++) {
            p->from_float(x + tk * cols, a, cols);
            for (int64_t r = 0; r < rows; r++) {
                float s;
                t->vec_dot(cols, &s, W + r * wrb, a);
                if (memcmp(&s, &y[tk * rows + r], 4) != 0)
                    FAIL_("%s token %lld row %lld: matmul %.9g != vec_dot %.9g", ds2_dtype_name(qt->type),
                          (long long)tk, (long long)r, y[tk * rows + r], s);
            }
        }
        free(W);
        free(x);
        free(y);
        free(qbuf);
    }
    ds2_pool_free(pool);
}

/* models/quants.py (the test-model writer's encoders and reference.py's decoders, numpy) vs the C kernels:
 * the bytes it encodes must decode to the same floats, bit for bit. */
TEST(python_codecs_match) {
#if defined(__EMSCRIPTEN__) || defined(__wasi__)
    printf("  (skipped in WebAssembly: needs to run %s; the native run checks it)\n", DS2_PYTHON);
#else
    char dir[] = "/tmp/ds2_test_quant_XXXXXX", cmd[1024], path[1100];
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    snprintf(cmd, sizeof cmd, "%s %s/models/quants.py --dump %s", DS2_PYTHON, DS2_SOURCE_DIR, dir);
    ASSERT_EQ_I64(system(cmd), 0);
    enum { N = 256 * 40 };
    static uint8_t raw[N * 2];
    static float want[N], got[N];
    for (int i = 0; i < N_TYPES; i++) {
        const int32_t t = k_types[i].type;
        snprintf(path, sizeof path, "%s/t%d.raw", dir, (int)t);
        FILE *f = fopen(path, "rb");
        ASSERT_TRUE(f != NULL);
        const size_t nr = fread(raw, 1, sizeof raw, f);
        fclose(f);
        remove(path);
        snprintf(path, sizeof path, "%s/t%d.f32", dir, (int)t);
        f = fopen(path, "rb");
        ASSERT_TRUE(f != NULL);
        const size_t nw = fread(want, 4, N, f);
        fclose(f);
        remove(path);
        ASSERT_EQ_I64(nw, N);
        ASSERT_EQ_I64(nr, ds2_row_bytes(t, N));
        ds2_type_traits_ref_get(t)->to_float(raw, got, N);
        for (int j = 0; j < N; j++)
            if (memcmp(&got[j], &want[j], 4) != 0)
                FAIL_("%s elem %d: C %.9g vs quants.py %.9g", ds2_dtype_name(t), j, got[j], want[j]);
    }
    remove(dir);
    printf("  quants.py encode→decode == C to_float, bitwise, for all %d types\n", N_TYPES);
#endif
}

int main(void) {
    rng_seed(0x243f6a8885a308d3ull);
    RUN(traits_new_types);
    RUN(dequant_vs_formulas);
    RUN(vec_dot_vs_dequantized);
    RUN(q8_k_quantizer);
    RUN(q8_1_quantizer);
    RUN(matmul_new_types_threads);
    RUN(python_codecs_match);
    return test_summary();
}
