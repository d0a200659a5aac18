/* test_attn.c — multi-query attention over shared key rows (src/kernels/attn.h): the active kernel set's
 * ds2_mqa gives the scalar reference's bits (it computes the same float products and double sums in the same
 * order), and both are within a float budget of the attention computed in double, on random shapes with
 * tails (n_kv not a multiple of the tile, widths not multiples of 8 or 4, f16 and f32 rows, head counts not
 * multiples of the lane count); a head's bits do not depend on which head range a call covers. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds2.h"
#include "kernels/attn.h"
#include "kernels/kernels.h"
#include "kernels/ref.h" /* f32_bits */
#include "test.h"
#include "threadpool.h"

#include "rng.h"

typedef struct {
    int64_t H, d1, d2;
    int32_t n_kv;
    int f16;
    float scale;
    void *k1, *k2;             /* cache rows */
    float *k1f, *k2f;          /* the same rows as floats (exact) */
    float *q1, *q2;            /* [H][d1 + 3], [H][d2 + 5]: strides that are not the widths */
    int64_t ld_q1, ld_q2, ld_o;
} problem;

static void make_problem(problem *p, int64_t H, int64_t d1, int64_t d2, int32_t n_kv, int f16, float qmag) {
    p->H = H, p->d1 = d1, p->d2 = d2, p->n_kv = n_kv, p->f16 = f16;
    p->scale = (float)(0.5 / sqrt((double)(d1 + d2)));
    p->ld_q1 = d1 + 3, p->ld_q2 = d2 + 5, p->ld_o = d1 + 1;
    const size_t e = f16 ? 2 : 4, n1 = (size_t)n_kv * d1, n2 = (size_t)n_kv * d2 + 1;
    p->k1 = malloc(n1 * e), p->k2 = malloc(n2 * e);
    p->k1f = malloc(n1 * sizeof(float)), p->k2f = malloc(n2 * sizeof(float));
    for (size_t i = 0; i < n1 + n2; i++) {
        const int first = i < n1;
        const size_t k = first ? i : i - n1;
        float v = rng_sym() * (rng_unit() < 0.02 ? 4.0f : 1.0f);
        if (f16) {
            const uint16_t h = ds2_f32_to_f16(v);
            ((uint16_t *)(first ? p->k1 : p->k2))[k] = h;
            v = ds2_f16_to_f32(h);
        } else {
            ((float *)(first ? p->k1 : p->k2))[k] = v;
        }
        (first ? p->k1f : p->k2f)[k] = v;
    }
    p->q1 = malloc(sizeof(float) * H * p->ld_q1), p->q2 = malloc(sizeof(float) * H * p->ld_q2);
    for (int64_t i = 0; i < H * p->ld_q1; i++) p->q1[i] = rng_sym() * qmag;
    for (int64_t i = 0; i < H * p->ld_q2; i++) p->q2[i] = rng_sym() * qmag;
}

static void free_problem(problem *p) {
    free(p->k1), free(p->k2), free(p->k1f), free(p->k2f), free(p->q1), free(p->q2);
}

static ds2_mqa_args args_of(const problem *p, float *o) {
    ds2_mqa_args a = {p->H, p->d1, p->d2, p->n_kv, p->f16, p->k1, p->k2, p->q1, p->q2, p->ld_q1, p->ld_q2,
                      p->scale, o, p->ld_o};
    return a;
}

/* heads [h0, h1) with the kernel set `set` into o ([H][ld_o]) */
static void run(const problem *p, const char *set, int64_t h0, int64_t h1, float *o) {
    ds2_set_kernels(set, NULL);
    const size_t nf = ds2_mqa_scratch_floats(p->H, p->d1, p->d2, p->n_kv);
    float *scratch = malloc(nf * sizeof(float));
    const ds2_mqa_args a = args_of(p, o);
    ds2_mqa(&a, h0, h1, scratch);
    free(scratch);
    ds2_set_kernels("auto", NULL);
}

/* The attention in double (from the same, possibly f16-rounded, rows and the query as given), head h. Also the
 * error budget of a float implementation: a score s_j computed with relative error ≤ (d1+d2+2)·2^-23 of
 * scale·Σ|q·k| (any summation order) moves each p_j by a factor within e^{±2δ}, δ = the largest such error; the
 * output sums n_kv float products; an f16 cache rounds query and p to f16 (2^-11 relative each). */
static void exact(const problem *p, int64_t h, double *o, double *budget) {
    const int64_t d1 = p->d1, d2 = p->d2;
    double *s = malloc(sizeof(double) * p->n_kv);
    const float *q1 = p->q1 + h * p->ld_q1, *q2 = p->q2 + h * p->ld_q2;
    double mx = -INFINITY, sum = 0, delta = 0, vmax = 0;
    for (int32_t j = 0; j < p->n_kv; j++) {
        double acc = 0, mag = 0;
        for (int64_t i = 0; i < d1; i++) {
            acc += (double)q1[i] * p->k1f[j * d1 + i];
            mag += fabs((double)q1[i] * p->k1f[j * d1 + i]);
            vmax = fmax(vmax, fabs(p->k1f[j * d1 + i]));
        }
        for (int64_t i = 0; i < d2; i++) {
            acc += (double)q2[i] * p->k2f[j * d2 + i];
            mag += fabs((double)q2[i] * p->k2f[j * d2 + i]);
        }
        s[j] = acc * p->scale;
        const double rel = (p->f16 ? ldexp(1.0, -10) : 0.0) + (double)(d1 + d2 + 2) * ldexp(1.0, -23);
        delta = fmax(delta, rel * mag * p->scale);
        mx = fmax(mx, s[j]);
    }
    for (int32_t j = 0; j < p->n_kv; j++) sum += (s[j] = exp(s[j] - mx));
    for (int64_t c = 0; c < d1; c++) o[c] = 0;
    for (int32_t j = 0; j < p->n_kv; j++)
        for (int64_t c = 0; c < d1; c++) o[c] += s[j] / sum * p->k1f[j * d1 + c];
    *budget = vmax * ((exp(2 * delta) - 1) + (p->f16 ? ldexp(1.0, -10) : 0) + (p->n_kv + 16) * ldexp(1.0, -22));
    free(s);
}

TEST(fast_and_reference_vs_double) {
    static const int64_t heads[] = {1, 2, 3, 5, 16};
    static const int64_t d1s[] = {1, 3, 8, 13, 33, 130, 512};
    static const int64_t d2s[] = {0, 1, 5, 8, 64};
    static const int32_t nkvs[] = {1, 2, 5, 31, 32, 33, 64, 97, 300};
    double worst_fast = 0, worst_ref = 0;
    int cases = 0;
    for (int rep = 0; rep < 160; rep++) {
        problem p;
        const int64_t H = heads[rep % 5], d1 = d1s[(rep / 5) % 7], d2 = d2s[rep % 5 == 4 ? 4 : (rep / 7) % 5];
        const int32_t n_kv = nkvs[(rep * 7 + rep / 9) % 9];
        const int f16 = rep % 2;
        /* query magnitude: flat to sharply peaked softmax */
        make_problem(&p, H, d1, d2, n_kv, f16, rep % 3 == 0 ? 0.2f : rep % 3 == 1 ? 2.0f : 12.0f);
        float *of = calloc((size_t)(H * p.ld_o), sizeof(float)), *orf = calloc((size_t)(H * p.ld_o), sizeof(float));
        double *ox = malloc(sizeof(double) * d1);
        run(&p, "ref", 0, H, orf);
        run(&p, "auto", 0, H, of);
        for (int64_t h = 0; h < H; h++) {
            double budget;
            exact(&p, h, ox, &budget);
            for (int64_t c = 0; c < d1; c++) {
                const double f = of[h * p.ld_o + c], r = orf[h * p.ld_o + c];
                if (memcmp(&of[h * p.ld_o + c], &orf[h * p.ld_o + c], 4) != 0 ||
                    !(fabs(f - ox[c]) <= budget) || !(fabs(r - ox[c]) <= budget))
                    FAIL_("H=%lld d1=%lld d2=%lld n_kv=%d f16=%d head %lld col %lld: fast %.9g ref %.9g (must be the "
                          "same bits) exact %.9g (budget %.3g)",
                          (long long)H, (long long)d1, (long long)d2, n_kv, f16, (long long)h, (long long)c, f, r,
                          ox[c], budget);
                if (budget > 0) {
                    worst_fast = fmax(worst_fast, fabs(f - ox[c]) / budget);
                    worst_ref = fmax(worst_ref, fabs(r - ox[c]) / budget);
                }
            }
            /* the stride gap between heads is never written */
            ASSERT_TRUE(of[h * p.ld_o + d1] == 0.0f && orf[h * p.ld_o + d1] == 0.0f);
        }
        free(of), free(orf), free(ox);
        free_problem(&p);
        cases++;
    }
    printf("  %s: %d cases bit-identical to the reference; worst error / budget vs double: %.3f (reference %.3f)\n",
           ds2_kernels_name(), cases, worst_fast, worst_ref);
}

/* Head h's bits do not depend on the range of heads a call computes (threads split heads), in either set. */
TEST(heads_split_is_bitwise) {
    static const char *sets[] = {"ref", "auto"};
    for (int si = 0; si < 2; si++)
        for (int rep = 0; rep < 12; rep++) {
            problem p;
            const int64_t H = 1 + rep % 7;
            make_problem(&p, H, 40 + rep * 11, rep % 3 ? 64 : 3, 20 + rep * 13, rep % 2, 2.0f);
            const size_t n = (size_t)(H * p.ld_o);
            float *all = calloc(n, sizeof(float)), *parts = calloc(n, sizeof(float));
            run(&p, sets[si], 0, H, all);
            for (int64_t h0 = 0; h0 < H;) {
                const int64_t step = 1 + (int64_t)(rng_u64() % 3), h1 = h0 + step < H ? h0 + step : H;
                run(&p, sets[si], h0, h1, parts);
                h0 = h1;
            }
            if (memcmp(all, parts, n * sizeof(float)) != 0)
                FAIL_("set %s H=%lld: heads split over calls differ from one call", sets[si], (long long)H);
            free(all), free(parts);
            free_problem(&p);
        }
}

/* ds2_mqa_mt: threads of a pool share one call (positions / heads / columns split between barriers); the bits
 * are the reference's for any thread count, f16 and f32 rows (f32 rows take the split over heads). */
typedef struct {
    const ds2_mqa_args *a;
    ds2_pool *pool;
    float *shared, *scratch;
    size_t scratch_floats;
} mt_job;
static void barrier_cb(void *pool) { ds2_pool_barrier(pool); }
static void mt_task(void *ctx, int32_t ith, int32_t nth) {
    const mt_job *j = ctx;
    ds2_mqa_mt(j->a, ith, nth, j->shared, j->scratch + (size_t)ith * j->scratch_floats, barrier_cb, j->pool);
}

TEST(threads_share_one_call_bitwise) {
    ds2_pool *pools[5] = {0};
    ds2_error err;
    for (int nt = 1; nt <= 4; nt++) ASSERT_STATUS(ds2_pool_create(nt, &pools[nt], &err), DS2_OK, err);
    for (int rep = 0; rep < 24; rep++) {
        problem p;
        const int64_t H = 1 + rep % 9;
        make_problem(&p, H, rep % 3 ? 64 + rep : 5, rep % 4 ? 64 : 3, 1 + rep * 23, rep % 4 != 3, 2.0f);
        const size_t n = (size_t)(H * p.ld_o), sf = ds2_mqa_scratch_floats(H, p.d1, p.d2, p.n_kv);
        float *ref = calloc(n, sizeof(float)), *got = calloc(n, sizeof(float));
        float *shared = malloc(ds2_mqa_shared_floats(H, p.n_kv) * sizeof(float));
        float *scratch = malloc(4 * sf * sizeof(float));
        run(&p, "ref", 0, H, ref);
        const ds2_mqa_args a = args_of(&p, got);
        for (int nt = 1; nt <= 4; nt++) {
            memset(got, 0, n * sizeof(float));
            mt_job job = {&a, pools[nt], shared, scratch, sf};
            ds2_pool_run(pools[nt], mt_task, &job);
            if (memcmp(ref, got, n * sizeof(float)) != 0)
                FAIL_("H=%lld d1=%lld d2=%lld n_kv=%d f16=%d, %d threads: not the reference's bits", (long long)H,
                      (long long)p.d1, (long long)p.d2, p.n_kv, p.f16, nt);
        }
        free(ref), free(got), free(shared), free(scratch);
        free_problem(&p);
    }
    for (int nt = 1; nt <= 4; nt++) ds2_pool_free(pools[nt]);
}

/* The active set's vector f16 rounding (queries and probabilities of an f16 cache) == the scalar conversion, bit
 * for bit, over a sweep of all float bit patterns and the edges: half subnormals and their halfway points, the
 * overflow threshold 65520, infinities and NaNs (any NaN in, a NaN out). */
TEST(round_f16_matches_scalar) {
    const ds2_mqa_ops *ops = ds2_mqa_ops_get();
    if (!ops || !ops->round_f16) {
        printf("  (no vector f16 rounding in this kernel set)\n");
        return;
    }
    enum { N = 70000 + 64 };
    float *x = malloc(N * sizeof(float));
    int64_t n = 0;
    for (uint64_t u = 0; u < 0x100000000ull && n < 70000; u += 65521) x[n++] = f32_from_bits((uint32_t)u);
    const float edges[] = {0.0f, -0.0f, 5.9604645e-8f /* 2^-24 */, 2.9802322e-8f /* 2^-25, a tie */,
                           2.9802326e-8f, 8.940697e-8f /* 1.5·2^-24, a tie */, 6.0975552e-5f, 6.1035156e-5f,
                           65504.0f, 65519.996f, 65520.0f, -65520.0f, 1e30f, INFINITY, -INFINITY, NAN,
                           f32_from_bits(0x7f800001u) /* signalling NaN */, f32_from_bits(0x00000001u), f32_from_bits(0x807fffffu), 1.0f, -1.0f,
                           0.1f, 3.1415927f, 2049.0f, 2051.0f /* ties at the mantissa's end */, 1.00048828125f};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) x[n++] = edges[i];
    float *y = malloc((size_t)n * sizeof(float));
    memcpy(y, x, (size_t)n * sizeof(float));
    ops->round_f16(y, n);
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        const float want = ds2_f16_to_f32(ds2_f32_to_f16(x[i]));
        const int ok = isnan(want) ? isnan(y[i]) : f32_bits(want) == f32_bits(y[i]);
        if (!ok && bad++ < 5) printf("  round_f16(%a = 0x%08x) = %a, scalar %a\n", x[i], f32_bits(x[i]), y[i], want);
    }
    ASSERT_EQ_I64(bad, 0);
    free(x);
    free(y);
}

int main(void) {
    rng_seed(0x9e3779b97f4a7c15ull);
    RUN(fast_and_reference_vs_double);
    RUN(heads_split_is_bitwise);
    RUN(threads_share_one_call_bitwise);
    RUN(round_f16_matches_scalar);
    return test_summary();
}
