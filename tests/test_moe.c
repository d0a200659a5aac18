/* test_moe.c — routing rules (reference §1.8) and RoPE/YaRN angles (reference §1.6) against independent
 * straightforward computations. */
#include <math.h>
#include <string.h>

#include "moe.h"
#include "rope.h"
#include "test.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static ds2_hparams routing_hp(int E, int K, int gating, int groups, int groups_used, int norm, float scale) {
    ds2_hparams hp;
    memset(&hp, 0, sizeof hp);
    hp.n_expert = E;
    hp.n_expert_used = K;
    hp.gating = gating;
    hp.n_group = groups;
    hp.n_group_used = groups_used;
    hp.weights_norm = norm;
    hp.weights_scale = scale;
    return hp;
}

TEST(softmax_topk_raw_weights) {
    /* V2-Lite rule: plain top-k of softmax, weights are the raw probabilities (×1) */
    ds2_hparams hp = routing_hp(6, 2, DS2_GATING_SOFTMAX, 1, 1, 0, 1.0f);
    const float logits[6] = {0.1f, 2.0f, -1.0f, 1.5f, 0.0f, 1.9f};
    int32_t ids[2];
    float w[2], scratch[12];
    ds2_moe_route(&hp, logits, NULL, ids, w, scratch);
    double z = 0;
    for (int e = 0; e < 6; e++) z += exp(logits[e]);
    ASSERT_EQ_I64(ids[0], 1);
    ASSERT_EQ_I64(ids[1], 5);
    ASSERT_NEAR(w[0], exp(2.0) / z, 1e-6);
    ASSERT_NEAR(w[1], exp(1.9) / z, 1e-6);
}

TEST(ties_pick_the_lower_index) {
    ds2_hparams hp = routing_hp(4, 2, DS2_GATING_SOFTMAX, 1, 1, 0, 1.0f);
    const float logits[4] = {1.0f, 3.0f, 1.0f, 3.0f};
    int32_t ids[2];
    float w[2], scratch[8];
    ds2_moe_route(&hp, logits, NULL, ids, w, scratch);
    ASSERT_EQ_I64(ids[0], 1);
    ASSERT_EQ_I64(ids[1], 3);
}

TEST(normalised_and_scaled) {
    /* V2 (scale 16, no norm) and V3 (norm then ×2.5) */
    const float logits[4] = {0.5f, -0.2f, 1.0f, 0.0f};
    int32_t ids[2];
    float w[2], scratch[8];
    ds2_hparams v2 = routing_hp(4, 2, DS2_GATING_SOFTMAX, 1, 1, 0, 16.0f);
    ds2_moe_route(&v2, logits, NULL, ids, w, scratch);
    double z = exp(0.5) + exp(-0.2) + exp(1.0) + exp(0.0);
    ASSERT_EQ_I64(ids[0], 2);
    ASSERT_NEAR(w[0], 16.0 * exp(1.0) / z, 1e-5);
    ASSERT_NEAR(w[1], 16.0 * exp(0.5) / z, 1e-5);
    ds2_hparams v3 = routing_hp(4, 2, DS2_GATING_SIGMOID, 1, 1, 1, 2.5f);
    ds2_moe_route(&v3, logits, NULL, ids, w, scratch);
    double s2 = 1 / (1 + exp(-1.0)), s0 = 1 / (1 + exp(-0.5));
    ASSERT_NEAR(w[0], 2.5 * s2 / (s2 + s0), 1e-6);
    ASSERT_NEAR(w[1], 2.5 * s0 / (s2 + s0), 1e-6);
    ASSERT_NEAR(w[0] + w[1], 2.5, 1e-6);
}

TEST(bias_steers_selection_not_weights) {
    /* noaux_tc: selection uses score + bias, the weight is the unbiased score */
    ds2_hparams hp = routing_hp(4, 1, DS2_GATING_SIGMOID, 1, 1, 0, 1.0f);
    const float logits[4] = {2.0f, 0.0f, 0.0f, 0.0f};
    const float bias[4] = {0.0f, 0.0f, 0.9f, 0.0f};
    int32_t id;
    float w, scratch[8];
    ds2_moe_route(&hp, logits, bias, &id, &w, scratch);
    ASSERT_EQ_I64(id, 2); /* 0.5 + 0.9 > 0.881 */
    ASSERT_NEAR(w, 0.5, 1e-6);
}

TEST(group_limit_uses_top2_sums) {
    /* 8 experts in 4 groups of 2, keep 2 groups. Group sums: g0 = .9+.0, g1 = .5+.5, g2 = .6+.45, g3 = .1+.1.
     * Kept: g2 (1.05) and g1 (1.0); expert 0 (the single best score) is masked out with its group. */
    ds2_hparams hp = routing_hp(8, 2, DS2_GATING_SIGMOID, 4, 2, 0, 1.0f);
    const float p[8] = {0.9f, 0.0f, 0.5f, 0.5f, 0.6f, 0.45f, 0.1f, 0.1f};
    float logits[8];
    for (int e = 0; e < 8; e++) logits[e] = p[e] <= 0 ? -30.0f : logf(p[e] / (1 - p[e])); /* sigmoid⁻¹ */
    int32_t ids[2];
    float w[2], scratch[16];
    ds2_moe_route(&hp, logits, NULL, ids, w, scratch);
    ASSERT_EQ_I64(ids[0], 4);
    ASSERT_TRUE(ids[1] == 2 || ids[1] == 3);
    ASSERT_NEAR(w[0], 0.6, 1e-5);
}

/* Angles against the closed form of reference §1.6 in double precision. */
TEST(yarn_angles_match_the_formula) {
    ds2_hparams hp;
    memset(&hp, 0, sizeof hp);
    hp.qk_rope = 64;
    hp.rope_theta = 10000.0f;
    hp.rope_yarn = 1;
    hp.rope_freq_scale = 1.0f / 40.0f;
    hp.rope_orig_ctx = 4096;
    hp.yarn_beta_fast = 32.0f;
    hp.yarn_beta_slow = 1.0f;
    hp.rope_attn_factor = 1.0f;
    ds2_rope r;
    ds2_rope_init(&r, &hp);
    /* reference values: low = floor(10.47) = 10, high = ceil(22.51) = 23 */
    ASSERT_NEAR(r.corr_low, 10.0, 0);
    ASSERT_NEAR(r.corr_high, 23.0, 0);
    const int positions[] = {0, 1, 7, 100, 1000, 4095};
    float cs[64];
    for (size_t k = 0; k < sizeof positions / sizeof *positions; k++) {
        const int pos = positions[k];
        ds2_rope_cos_sin(&r, (float)pos, cs);
        for (int i = 0; i < 32; i++) {
            double f_extra = pow(10000.0, -2.0 * i / 64.0), f_inter = f_extra / 40.0;
            double ramp = fmin(1.0, fmax(0.0, (i - 10.0) / (23.0 - 10.0)));
            double theta = pos * (f_inter * ramp + f_extra * (1.0 - ramp));
            double got = atan2(cs[2 * i + 1], cs[2 * i]);
            double diff = remainder(got - theta, 2 * M_PI);
            ASSERT_NEAR(diff, 0.0, 2e-6 * fmax(1.0, theta));
            ASSERT_NEAR(hypot(cs[2 * i], cs[2 * i + 1]), 1.0, 1e-6);
        }
    }
    /* adjacent pairs: rotating (1, 0) in pair 0 by θ gives (cos θ, sin θ) in slots 0 and 1 */
    float x[64] = {1.0f};
    ds2_rope_cos_sin(&r, 3.0f, cs);
    ds2_rope_apply(x, cs, 64);
    ASSERT_NEAR(x[0], cos(3.0), 1e-6);
    ASSERT_NEAR(x[1], sin(3.0), 1e-6);
    ASSERT_NEAR(x[32], 0.0, 0);
}

int main(void) {
    RUN(softmax_topk_raw_weights);
    RUN(ties_pick_the_lower_index);
    RUN(normalised_and_scaled);
    RUN(bias_steers_selection_not_weights);
    RUN(group_limit_uses_top2_sums);
    RUN(yarn_angles_match_the_formula);
    return test_summary();
}
