/* session.h — one inference timeline over a shared model: the MLA latent KV cache, the position, the thread
 * pool and every scratch buffer, all allocated in ds2_session_create (nothing is allocated while decoding).
 *
 * KV cache layout (reference §2.1, checklist §8.4): per layer, per position, the latent c' AFTER kv_a_norm
 * (dc values) and k_pe AFTER RoPE (dr values), stored as f32 or f16:
 *   latent[l][pos][0..dc)   kpe[l][pos][0..dr)
 * K and V of the heads are never stored; the absorbed decode reads the latents directly.
 */
#ifndef DS2_SESSION_H
#define DS2_SESSION_H

#include "kernels/kernels.h"
#include "model.h"
#include "rope.h"

struct ds2_session {
    const ds2_model *model;
    ds2_session_params params;
    ds2_pool *pool;
    ds2_rope rope;
    int32_t n_ctx, n_batch, n_past;
    size_t kv_elem;          /* 4 (f32) or 2 (f16) */
    void *kv_latent;         /* [n_layer][n_ctx][dc] */
    void *kv_pe;             /* [n_layer][n_ctx][dr] */

    /* activations for a batch of up to n_batch tokens (T) */
    float *x;        /* [T][D] residual stream */
    float *a;        /* [T][D] normed input of a sub-layer */
    float *cq;       /* [T][dq'] compressed query */
    float *q;        /* [T][H][dq] */
    float *kva;      /* [T][dc+dr] */
    float *q_abs;    /* [T][H][dc] query folded through W_UK (absorbed) */
    float *o_lat;    /* [T][H][dc] attention output over latents (absorbed) */
    float *o;        /* [T][H][dv] per-head attention output */
    float *cs;       /* [T][dr] cos/sin of the batch positions */
    float *tmp;      /* [T][D] sub-layer output */
    float *scores;   /* [n_threads][n_ctx] attention probabilities (naive mode) */
    float *attn_scratch;        /* [n_threads][attn_scratch_floats] kernels/attn.h ds2_mqa scratch */
    size_t attn_scratch_floats; /* per thread, rounded to 16 floats (64 bytes) */
    float *attn_shared;         /* ds2_mqa_shared_floats: one decode attention shared by the threads */
    void *qhead;     /* [H][T] per-head input rows of the W_UK / W_UV products in their partner type (absorbed) */
    size_t qhead_row_bytes[2];  /* largest such row over the layers: [0] W_UK's (dn wide), [1] W_UV's (dc) */
    float *w_uk;     /* [n_threads][dn][dc] dequantized W_UK of one head (legacy kv_b, absorbed) */
    float *kv_naive; /* [n_ctx][H][dn+dv] decompressed K-nope and V (naive mode only) */
    float *lat;      /* [n_ctx][dc] cached latents as f32 (naive mode only) */
    float *router;   /* [T][E] gate probabilities */
    float *select;   /* [T][E] selection scores */
    int32_t *sel_ids;    /* [T][K] chosen experts */
    float *sel_w;        /* [T][K] their weights */
    int32_t *exp_rows;   /* [T·K] (token·K + slot) grouped by expert */
    int32_t *exp_count;  /* [E] */
    void *ffn_ws;        /* the FFN/MoE job's scratch (moe.c: ds2_ffn_workspace_bytes) */
    void *qbuf;      /* quantized activations */
    void *qbuf2;     /* a second one (gate/up share qbuf while down uses qbuf2) */
    size_t qbuf_bytes;
};

/* forward.c: runs tokens[0..n) (n ≤ n_batch) at positions n_past.., writes logits per mode. */
ds2_status ds2_forward(ds2_session *s, const int32_t *tokens, int32_t n, ds2_logits_mode mode, float *logits,
                       ds2_error *err);

#endif
