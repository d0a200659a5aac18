/* rope.h — decoupled RoPE on the qk_rope part of q and k, with YaRN frequencies (reference §1.5, §1.6).
 *
 * Pairs are ADJACENT elements (x[2i], x[2i+1]) — ggml's "normal" mode, which llama.cpp uses for deepseek2 —
 * never NeoX halves. Frequencies follow ggml's recurrence theta_i = pos·base^(-2i/d) computed by repeated
 * multiplication, blended between interpolated and extrapolated per YaRN's ramp, so angles match llama.cpp's
 * to float rounding.
 */
#ifndef DS2_ROPE_H
#define DS2_ROPE_H

#include "hparams.h"

typedef struct ds2_rope {
    int32_t n_dims;      /* dr */
    float theta_scale;   /* base^(-2/d) */
    float freq_scale;    /* 1/factor */
    float ext_factor;    /* 1 with YaRN, else 0 */
    float magnitude;     /* cos/sin multiplier */
    float corr_low, corr_high; /* YaRN ramp bounds in pair-index units */
} ds2_rope;

void ds2_rope_init(ds2_rope *r, const ds2_hparams *hp);
/* cs[2i] = cos θ_i, cs[2i+1] = sin θ_i for i < n_dims/2 at position pos (pos may be negative: a rotation
 * back, used to shift a cache). */
void ds2_rope_cos_sin(const ds2_rope *r, float pos, float *cs);
/* x[0..n_dims) rotated in place by the angles in cs. */
void ds2_rope_apply(float *x, const float *cs, int32_t n_dims);

#endif
