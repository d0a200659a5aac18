/* rope.c — YaRN-scaled rotary embedding (reference §1.6; ggml rope_yarn and ggml_rope_yarn_corr_dims). */
#include <math.h>

#include "rope.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* corr_dim(r) = d·ln(L0 / (2π·r)) / (2·ln b): the pair index whose wavelength spans L0/r positions. */
static float corr_dim(int n_dims, int n_ctx_orig, float n_rot, float base) {
    return n_dims * logf((float)n_ctx_orig / (n_rot * 2.0f * (float)M_PI)) / (2.0f * logf(base));
}

void ds2_rope_init(ds2_rope *r, const ds2_hparams *hp) {
    r->n_dims = hp->qk_rope;
    r->theta_scale = powf(hp->rope_theta, -2.0f / (float)hp->qk_rope);
    r->freq_scale = hp->rope_freq_scale;
    r->ext_factor = hp->rope_yarn ? 1.0f : 0.0f;
    r->magnitude = hp->rope_attn_factor;
    float lo = floorf(corr_dim(hp->qk_rope, hp->rope_orig_ctx, hp->yarn_beta_fast, hp->rope_theta));
    float hi = ceilf(corr_dim(hp->qk_rope, hp->rope_orig_ctx, hp->yarn_beta_slow, hp->rope_theta));
    r->corr_low = lo > 0.0f ? lo : 0.0f;
    r->corr_high = hi < (float)(hp->qk_rope - 1) ? hi : (float)(hp->qk_rope - 1);
}

void ds2_rope_cos_sin(const ds2_rope *r, float pos, float *cs) {
    float theta_extrap = pos;
    for (int i = 0; i < r->n_dims / 2; i++) {
        float theta_interp = r->freq_scale * theta_extrap;
        float theta = theta_interp;
        if (r->ext_factor != 0.0f) {
            /* ramp = 1 for pairs below corr_low (keep the original frequency), 0 above corr_high. */
            float y = ((float)i - r->corr_low) / fmaxf(0.001f, r->corr_high - r->corr_low);
            float ramp = (1.0f - fminf(1.0f, fmaxf(0.0f, y))) * r->ext_factor;
            theta = theta_interp * (1.0f - ramp) + theta_extrap * ramp;
        }
        cs[2 * i] = cosf(theta) * r->magnitude;
        cs[2 * i + 1] = sinf(theta) * r->magnitude;
        theta_extrap *= r->theta_scale;
    }
}

void ds2_rope_apply(float *x, const float *cs, int32_t n_dims) {
    for (int i = 0; i < n_dims / 2; i++) {
        float c = cs[2 * i], s = cs[2 * i + 1];
        float x0 = x[2 * i], x1 = x[2 * i + 1];
        x[2 * i] = x0 * c - x1 * s;
        x[2 * i + 1] = x0 * s + x1 * c;
    }
}
