/* test_sampler.c — the sampler on hand-computed distributions: each cut-off (top-k, top-p, min-p), the
 * temperature, the penalties over their window, logit bias, greedy ties; the empirical frequencies of the
 * draw; fixed-seed reproducibility; the deterministic exp; bad parameters. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "ds2.h"
#include "sampler.h"
#include "test.h"

/* Parameters with every cut-off off and temperature 1: the candidates are the plain softmax. */
static ds2_sampler_params plain(void) {
    ds2_sampler_params p = ds2_sampler_default_params();
    p.temperature = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    return p;
}

static ds2_sampler *make(int32_t V, ds2_sampler_params p) {
    ds2_sampler *s = NULL;
    ds2_error err;
    if (ds2_sampler_create(V, &p, &s, &err) != DS2_OK) printf("  create: %s\n", err.message);
    return s;
}

/* probabilities (ln of them as logits) 0.5 0.3 0.1 0.06 0.04 for ids 0..4, given in shuffled order */
static const int32_t perm[5] = {3, 0, 4, 1, 2}; /* logits[perm[i]] = ln P[i] */
static const double P[5] = {0.5, 0.3, 0.1, 0.06, 0.04};
static void five(float *l) {
    for (int i = 0; i < 5; i++) l[perm[i]] = (float)log(P[i]);
}

/* the last sample's candidates must be ids perm[0..n) with probabilities P[i] / sum(P[0..n)) */
#define ASSERT_KEEPS(s, n)                                                                         \
    do {                                                                                           \
        int32_t ids_[8];                                                                           \
        float pr_[8];                                                                              \
        ASSERT_EQ_I64(ds2_sampler_candidates(s, ids_, pr_, 8), n);                                 \
        double tot_ = 0;                                                                           \
        for (int i_ = 0; i_ < (n); i_++) tot_ += P[i_];                                            \
        for (int i_ = 0; i_ < (n); i_++) {                                                         \
            ASSERT_EQ_I64(ids_[i_], perm[i_]);                                                     \
            ASSERT_NEAR(pr_[i_], P[i_] / tot_, 1e-6);                                              \
        }                                                                                          \
    } while (0)

TEST(plain_softmax) {
    float l[5];
    five(l);
    ds2_sampler *s = make(5, plain());
    ASSERT_TRUE(s);
    int32_t id = ds2_sampler_sample(s, l);
    ASSERT_TRUE(id >= 0 && id < 5);
    ASSERT_KEEPS(s, 5);
    ds2_sampler_free(s);
}

TEST(top_k_cut) {
    float l[5];
    five(l);
    ds2_sampler_params p = plain();
    p.top_k = 2;
    ds2_sampler *s = make(5, p);
    ds2_sampler_sample(s, l);
    ASSERT_KEEPS(s, 2); /* 0.5/0.8, 0.3/0.8 */
    ds2_sampler_free(s);
    p.top_k = 4;
    s = make(5, p);
    ds2_sampler_sample(s, l);
    ASSERT_KEEPS(s, 4);
    ds2_sampler_free(s);
}

TEST(top_p_cut) {
    float l[5];
    five(l);
    ds2_sampler_params p = plain();
    p.top_p = 0.75f; /* 0.5 < 0.75 ≤ 0.8: two kept */
    ds2_sampler *s = make(5, p);
    ds2_sampler_sample(s, l);
    ASSERT_KEEPS(s, 2);
    ds2_sampler_free(s);
    p.top_p = 0.85f; /* 0.8 < 0.85 ≤ 0.9: three */
    s = make(5, p);
    ds2_sampler_sample(s, l);
    ASSERT_KEEPS(s, 3);
    ds2_sampler_free(s);
    p.top_p = 0.2f; /* the first alone already covers it */
    s = make(5, p);
    ds2_sampler_sample(s, l);
    ASSERT_KEEPS(s, 1);
    ds2_sampler_free(s);
}

TEST(min_p_cut) {
    float l[5];
    five(l);
    ds2_sampler_params p = plain();
    p.min_p = 0.15f; /* p ≥ 0.075: 0.5 0.3 0.1 */
    ds2_sampler *s = make(5, p);
    ds2_sampler_sample(s, l);
    ASSERT_KEEPS(s, 3);
    ds2_sampler_free(s);
    p.min_p = 0.25f; /* p ≥ 0.125: 0.5 0.3 */
    s = make(5, p);
    ds2_sampler_sample(s, l);
    ASSERT_KEEPS(s, 2);
    ds2_sampler_free(s);
    /* chained: top-p 0.95 keeps four (0.96 ≥ 0.95), then min-p 0.1 (≥ 0.05) removes 0.04 … and 0.06 stays */
    p.top_p = 0.95f;
    p.min_p = 0.1f;
    s = make(5, p);
    ds2_sampler_sample(s, l);
    ASSERT_KEEPS(s, 4);
    ds2_sampler_free(s);
}

TEST(temperature) {
    /* logits 0, ln 2 at T = 0.5: weights 1, 4 → 0.2, 0.8; at T = 2: 1, √2 */
    float l[2] = {0.0f, (float)log(2.0)};
    ds2_sampler_params p = plain();
    p.temperature = 0.5f;
    ds2_sampler *s = make(2, p);
    ds2_sampler_sample(s, l);
    int32_t ids[2];
    float pr[2];
    ASSERT_EQ_I64(ds2_sampler_candidates(s, ids, pr, 2), 2);
    ASSERT_EQ_I64(ids[0], 1);
    ASSERT_NEAR(pr[0], 0.8, 1e-6);
    ASSERT_NEAR(pr[1], 0.2, 1e-6);
    ds2_sampler_free(s);
    p.temperature = 2.0f;
    s = make(2, p);
    ds2_sampler_sample(s, l);
    ds2_sampler_candidates(s, ids, pr, 2);
    ASSERT_NEAR(pr[0], sqrt(2.0) / (1 + sqrt(2.0)), 1e-6);
    ds2_sampler_free(s);
}

TEST(greedy_ties_bias_ban) {
    float l[4] = {1.0f, 3.0f, 3.0f, -2.0f};
    ds2_sampler_params p = plain();
    p.temperature = 0.0f;
    ds2_sampler *s = make(4, p);
    ASSERT_EQ_I64(ds2_sampler_sample(s, l), 1); /* tie → lower id */
    ds2_sampler_free(s);
    ds2_logit_bias b[2] = {{1, -INFINITY}, {3, 4.5f}}; /* ban 1; 3 becomes -2 + 4.5 = 2.5 */
    p.logit_bias = b;
    p.n_logit_bias = 2;
    s = make(4, p);
    b[0].bias = 0.0f; /* the sampler keeps its own copy */
    ASSERT_EQ_I64(ds2_sampler_sample(s, l), 2);
    ds2_sampler_free(s);
    /* with sampling: softmax over {1, 3, 2.5} (1 is banned): id 1 never drawn */
    p = plain();
    p.logit_bias = b;
    b[0].bias = -INFINITY;
    p.n_logit_bias = 2;
    s = make(4, p);
    for (int i = 0; i < 200; i++) ASSERT_TRUE(ds2_sampler_sample(s, l) != 1);
    int32_t ids[4];
    float pr[4];
    ASSERT_EQ_I64(ds2_sampler_candidates(s, ids, pr, 4), 3);
    double z = exp(1.0) + exp(3.0) + exp(2.5);
    ASSERT_EQ_I64(ids[0], 2);
    ASSERT_NEAR(pr[0], exp(3.0) / z, 1e-6);
    ASSERT_EQ_I64(ids[1], 3);
    ASSERT_NEAR(pr[1], exp(2.5) / z, 1e-6);
    ASSERT_NEAR(pr[2], exp(1.0) / z, 1e-6);
    ds2_sampler_free(s);
}

TEST(penalties) {
    /* logits 2, -1, 0.5, 0; repeat 2: positive divided, negative multiplied; accepted 0, 0, 1 */
    float l[4] = {2.0f, -1.0f, 0.5f, 0.0f};
    ds2_sampler_params p = plain();
    p.repeat_penalty = 2.0f;
    p.presence_penalty = 0.5f;
    p.frequency_penalty = 0.25f;
    p.penalty_last_n = 3;
    ds2_sampler *s = make(4, p);
    ds2_sampler_accept(s, 2); /* falls out of the 3-token window */
    ds2_sampler_accept(s, 0);
    ds2_sampler_accept(s, 0);
    ds2_sampler_accept(s, 1);
    ds2_sampler_sample(s, l);
    /* id0: 2/2 − 2·0.25 − 0.5 = 0; id1: −1·2 − 0.25 − 0.5 = −2.75; id2: 0.5 (outside the window); id3: 0 */
    const double want[4] = {0.0, -2.75, 0.5, 0.0};
    double z = 0;
    for (int i = 0; i < 4; i++) z += exp(want[i]);
    int32_t ids[4];
    float pr[4];
    ASSERT_EQ_I64(ds2_sampler_candidates(s, ids, pr, 4), 4);
    const int32_t order[4] = {2, 0, 3, 1}; /* 0 and 3 tie: lower id first */
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ_I64(ids[i], order[i]);
        ASSERT_NEAR(pr[i], exp(want[order[i]]) / z, 1e-6);
    }
    /* the logits given are not modified, and a second call applies the penalties once, not twice */
    ASSERT_NEAR(l[0], 2.0, 0);
    ds2_sampler_sample(s, l);
    ds2_sampler_candidates(s, ids, pr, 4);
    ASSERT_NEAR(pr[0], exp(0.5) / z, 1e-6);
    /* reset forgets the history */
    ds2_sampler_reset(s);
    ds2_sampler_sample(s, l);
    ds2_sampler_candidates(s, ids, pr, 4);
    ASSERT_EQ_I64(ids[0], 0);
    ds2_sampler_free(s);
    /* penalty_last_n 0: nothing is penalised */
    p.penalty_last_n = 0;
    s = make(4, p);
    ds2_sampler_accept(s, 0);
    p.temperature = 0;
    ds2_sampler_sample(s, l);
    ds2_sampler_candidates(s, ids, pr, 4);
    ASSERT_EQ_I64(ids[0], 0);
    ds2_sampler_free(s);
}

TEST(draw_frequencies) {
    /* 0.2 / 0.5 / 0.3: 40000 draws land within 4.5 standard deviations of the expected counts */
    float l[3] = {(float)log(0.2), (float)log(0.5), (float)log(0.3)};
    const double want[3] = {0.2, 0.5, 0.3};
    ds2_sampler *s = make(3, plain());
    int counts[3] = {0, 0, 0};
    const int N = 40000;
    for (int i = 0; i < N; i++) counts[ds2_sampler_sample(s, l)]++;
    for (int i = 0; i < 3; i++) {
        double sd = sqrt(N * want[i] * (1 - want[i]));
        ASSERT_TRUE(fabs(counts[i] - N * want[i]) < 4.5 * sd);
    }
    ds2_sampler_free(s);
}

static void random_logits(float *l, int V, uint32_t *x) {
    for (int i = 0; i < V; i++) {
        *x ^= *x << 13;
        *x ^= *x >> 17;
        *x ^= *x << 5;
        l[i] = (float)(*x % 2000) / 300.0f;
    }
}

TEST(seed_reproducible) {
    enum { V = 1000, N = 200 };
    float *l = malloc(sizeof(float) * V);
    int32_t a[N], b[N], c[N], d[N];
    ds2_sampler_params p = ds2_sampler_default_params(); /* top-k 40, top-p 0.95, min-p 0.05, T 0.8 */
    p.temperature = 1.5f;
    p.min_p = 0.0f;
    p.seed = 1234;
    ds2_sampler *s1 = make(V, p), *s2 = make(V, p);
    p.seed = 1235;
    ds2_sampler *s3 = make(V, p);
    uint32_t x = 7;
    for (int i = 0; i < N; i++) {
        random_logits(l, V, &x);
        a[i] = ds2_sampler_sample(s1, l);
        b[i] = ds2_sampler_sample(s2, l);
        c[i] = ds2_sampler_sample(s3, l);
    }
    ds2_sampler_reset(s1);
    x = 7;
    for (int i = 0; i < N; i++) {
        random_logits(l, V, &x);
        d[i] = ds2_sampler_sample(s1, l);
    }
    int same_ab = 0, same_ac = 0, same_ad = 0;
    for (int i = 0; i < N; i++) same_ab += a[i] == b[i], same_ac += a[i] == c[i], same_ad += a[i] == d[i];
    ASSERT_EQ_I64(same_ab, N);
    ASSERT_EQ_I64(same_ad, N);
    ASSERT_TRUE(same_ac < N / 2);
    /* the RNG stream itself is pinned: xoshiro256** seeded by splitmix64(0x5EED…) gives a fixed value, so a
     * build whose integer math differed (e.g. wasm32 vs x86-64) would fail here */
    ds2_sampler_params q = plain();
    q.seed = 0;
    ds2_sampler *s0 = make(2, q);
    /* splitmix64 from 0 → state; the first xoshiro256** output, computed independently below */
    uint64_t st[4], z = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t t = (z += 0x9E3779B97F4A7C15ull);
        t = (t ^ (t >> 30)) * 0xBF58476D1CE4E5B9ull;
        t = (t ^ (t >> 27)) * 0x94D049BB133111EBull;
        st[i] = t ^ (t >> 31);
    }
    ASSERT_EQ_I64(st[0], (int64_t)0xE220A8397B1DCDAFull); /* splitmix64's published first output for seed 0 */
    uint64_t m = st[1] * 5;
    uint64_t r = ((m << 7) | (m >> 57)) * 9;
    ASSERT_NEAR(ds2_sampler_uniform(s0), (double)(r >> 11) * 0x1.0p-53, 0);
    ds2_sampler_free(s0);
    ds2_sampler_free(s1);
    ds2_sampler_free(s2);
    ds2_sampler_free(s3);
    free(l);
}

TEST(top_k_heap_matches_sort) {
    /* top-k by heap selection keeps the same set and order as sorting everything, ties by id */
    enum { V = 3000 };
    float *l = malloc(sizeof(float) * V);
    uint32_t x = 99;
    random_logits(l, V, &x); /* 2000 distinct values over 3000 ids: many ties */
    ds2_sampler_params p = plain();
    p.top_k = 50;
    ds2_sampler *s = make(V, p);
    ds2_sampler_sample(s, l);
    int32_t ids[50];
    ASSERT_EQ_I64(ds2_sampler_candidates(s, ids, NULL, 50), 50);
    /* independent check: a selection by repeated scans */
    char *taken = calloc(V, 1);
    for (int k = 0; k < 50; k++) {
        int best = -1;
        for (int i = 0; i < V; i++)
            if (!taken[i] && (best < 0 || l[i] > l[best])) best = i;
        taken[best] = 1;
        ASSERT_EQ_I64(ids[k], best);
    }
    free(taken);
    ds2_sampler_free(s);
    free(l);
}

TEST(exp_det) {
    double worst = 0; /* relative to libm, away from the subnormal range */
    for (double x = -700.0; x <= 80.0; x += 0.0137) worst = fmax(worst, fabs(ds2_exp_det(x) / exp(x) - 1.0));
    ASSERT_TRUE(worst < 1e-15);
    ASSERT_NEAR(ds2_exp_det(0.0), 1.0, 0);
    ASSERT_NEAR(ds2_exp_det(-INFINITY), 0.0, 0);
    ASSERT_NEAR(ds2_exp_det(NAN), 0.0, 0);
}

TEST(bad_params) {
    ds2_sampler *s = NULL;
    ds2_error err;
    ds2_sampler_params p = plain();
    ASSERT_STATUS(ds2_sampler_create(0, &p, &s, &err), DS2_E_INVALID_ARG, err);
    p.repeat_penalty = 0.0f;
    ASSERT_STATUS(ds2_sampler_create(10, &p, &s, &err), DS2_E_INVALID_ARG, err);
    p = plain();
    p.penalty_last_n = -2;
    ASSERT_STATUS(ds2_sampler_create(10, &p, &s, &err), DS2_E_INVALID_ARG, err);
    p = plain();
    ds2_logit_bias b = {10, 1.0f};
    p.logit_bias = &b;
    p.n_logit_bias = 1;
    ASSERT_STATUS(ds2_sampler_create(10, &p, &s, &err), DS2_E_BAD_TOKEN, err);
    ASSERT_TRUE(s == NULL);
    ASSERT_EQ_I64(ds2_sampler_sample(NULL, NULL), -1);
}

int main(void) {
    RUN(plain_softmax);
    RUN(top_k_cut);
    RUN(top_p_cut);
    RUN(min_p_cut);
    RUN(temperature);
    RUN(greedy_ties_bias_ban);
    RUN(penalties);
    RUN(draw_frequencies);
    RUN(seed_reproducible);
    RUN(top_k_heap_matches_sort);
    RUN(exp_det);
    RUN(bad_params);
    return test_summary();
}
