/* moe.h — the feed-forward half of a layer: dense SwiGLU (leading layers) or DeepSeekMoE (routed + shared). */
#ifndef DS2_MOE_H
#define DS2_MOE_H

#include "session.h"

/* Routing of one token (reference §1.8, llama.cpp's build_moe_ffn rules):
 * logits [E] → ids [K] (best first) and weights [K]; scratch: 2·E floats. bias may be NULL. */
void ds2_moe_route(const ds2_hparams *hp, const float *logits, const float *bias, int32_t *ids, float *weights,
                   float *scratch);

/* Bytes of scratch (session's ffn_ws) the FFN of this model needs for n_batch tokens on n_threads threads. */
size_t ds2_ffn_workspace_bytes(const ds2_model *m, int32_t n_batch, int32_t n_threads);

/* s->a [T][D] (normed input) → s->tmp [T][D], as one pool job. */
void ds2_ffn_forward(ds2_session *s, int l, int32_t T);

#endif
