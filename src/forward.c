/* forward.c — the layer loop (reference §1.1, §1.9):
 *   x = E[token];  for each layer: x += MLA(RMSNorm(x)); x += FFN(RMSNorm(x));  logits = W_out·RMSNorm(x).
 * A batch of T tokens goes through each layer together (batched prefill); T = 1 is decode. */
#include <string.h>

#include "error.h"
#include "kernels/kernels.h"
#include "mla.h"
#include "moe.h"

ds2_status ds2_forward(ds2_session *s, const int32_t *tokens, int32_t T, ds2_logits_mode mode, float *logits,
                       ds2_error *err) {
    const ds2_hparams *hp = &s->model->hp;
    const ds2_weights *w = &s->model->w;
    const int64_t D = hp->n_embd, V = hp->n_vocab;
    for (int32_t t = 0; t < T; t++) {
        if (tokens[t] < 0 || tokens[t] >= V)
            return ds2_fail(err, DS2_E_BAD_TOKEN, "token %d at batch index %d is outside the vocabulary [0, %lld)",
                            tokens[t], t, (long long)V);
        ds2_get_row(w->token_embd.data, w->token_embd.type, D, tokens[t], s->x + (size_t)t * D);
    }
    /* AUTO: decode (T = 1) always absorbed; a prefill batch of a legacy (attn_kv_b) file decompresses K/V
     * as llama.cpp does for such files, which is also cheaper for long batches. */
    const int naive = s->params.attn_mode == DS2_ATTN_NAIVE ||
                      (s->params.attn_mode == DS2_ATTN_AUTO && T > 1 && !w->split_kv_b);
    for (int l = 0; l < hp->n_layer; l++) {
        const ds2_layer *L = &w->layers[l];
        for (int32_t t = 0; t < T; t++)
            ds2_rmsnorm(s->a + (size_t)t * D, s->x + (size_t)t * D, L->attn_norm.data, D, hp->rms_eps);
        ds2_mla_forward(s, l, T, naive);
        for (int64_t i = 0; i < (int64_t)T * D; i++) s->x[i] += s->tmp[i];
        for (int32_t t = 0; t < T; t++)
            ds2_rmsnorm(s->a + (size_t)t * D, s->x + (size_t)t * D, L->ffn_norm.data, D, hp->rms_eps);
        ds2_ffn_forward(s, l, T);
        for (int64_t i = 0; i < (int64_t)T * D; i++) s->x[i] += s->tmp[i];
    }
    s->n_past += T;
    if (mode == DS2_LOGITS_NONE) return DS2_OK;
    const int32_t first = mode == DS2_LOGITS_ALL ? 0 : T - 1, n = T - first;
    for (int32_t t = first; t < T; t++)
        ds2_rmsnorm(s->a + (size_t)(t - first) * D, s->x + (size_t)t * D, w->output_norm.data, D, hp->rms_eps);
    ds2_matmul(s->pool, logits, V, w->output.data, w->output.mtype, s->a, D, V, n, s->qbuf);
    return DS2_OK;
}
