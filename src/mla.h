/* mla.h — Multi-head Latent Attention for one layer over a batch of tokens. */
#ifndef DS2_MLA_H
#define DS2_MLA_H

#include "session.h"

/* s->a [T][D] (normed input) → s->tmp [T][D] (attention output after W_O); appends the batch's latents and
 * roped k_pe to layer l of the cache at positions s->n_past .. s->n_past+T-1. `naive` decompresses K/V. */
void ds2_mla_forward(ds2_session *s, int l, int32_t T, int naive);

#endif
