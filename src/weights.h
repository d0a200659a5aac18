/* weights.h — tensors bound by name into typed per-layer structs, shapes and dtypes checked at load
 * (style guide P5; names and shapes: reference §3.4, both GGUF generations: §2.4).
 *
 * After ds2_weights_bind succeeds the forward pass never checks a shape again.
 */
#ifndef DS2_WEIGHTS_H
#define DS2_WEIGHTS_H

#include "gguf.h"
#include "hparams.h"

/* A matrix (or stack of matrices): ne[0] elements per row, rows of row_bytes. data == NULL: absent. */
typedef struct ds2_tensor {
    const void *data;
    int32_t type;
    int64_t ne[4];
    size_t row_bytes;
    int32_t mtype; /* type as the matrix products take it: type, | DS2_TYPE_X4 once interleaved (weights.c) */
} ds2_tensor;

typedef struct ds2_layer {
    ds2_tensor attn_norm;                  /* {D} */
    ds2_tensor q;                          /* {D, H·dq}          plain query (no q-LoRA) */
    ds2_tensor q_a, q_a_norm, q_b;         /* {D, dq'}, {dq'}, {dq', H·dq} */
    ds2_tensor kv_a_mqa;                   /* {D, dc+dr}: latent rows then k_pe rows */
    ds2_tensor kv_a_norm;                  /* {dc} */
    ds2_tensor kv_b;                       /* {dc, H·(dn+dv)}   legacy: per head dn K rows then dv V rows */
    ds2_tensor k_b;                        /* {dn, dc, H}        MLA-era: W_UK_h transposed */
    ds2_tensor v_b;                        /* {dc, dv, H}        MLA-era: W_UV_h */
    ds2_tensor attn_out;                   /* {H·dv, D} */
    ds2_tensor ffn_norm;                   /* {D} */
    ds2_tensor ffn_gate, ffn_up, ffn_down; /* dense: {D, F}, {D, F}, {F, D} */
    ds2_tensor gate_inp;                   /* {D, E} router */
    ds2_tensor exp_probs_b;                /* {E} selection bias (optional) */
    ds2_tensor gate_exps, up_exps, down_exps;       /* {D, Fe, E}, {D, Fe, E}, {Fe, D, E} */
    ds2_tensor gate_shexp, up_shexp, down_shexp;    /* {D, Fe·S}, {D, Fe·S}, {Fe·S, D} (optional if S = 0) */
} ds2_layer;

typedef struct ds2_weights {
    ds2_tensor token_embd;  /* {D, V} */
    ds2_tensor output_norm; /* {D} */
    ds2_tensor output;      /* {D, V} (token_embd when absent, as llama.cpp) */
    ds2_layer *layers;      /* n_layer */
    int32_t split_kv_b;     /* 1: k_b/v_b, 0: legacy kv_b */
} ds2_weights;

/* Binds every tensor; fills hp->n_vocab / q_lora_rank from shapes where the metadata is silent. */
ds2_status ds2_weights_bind(const ds2_gguf *g, ds2_hparams *hp, ds2_weights *w, ds2_error *err);
/* Rewrites the matrices that the matrix products read (projections, the per-head W_UK / W_UV — whose rows the
 * naive attention reads through ds2_get_row_of —, experts, the output head unless it is the embedding) into the
 * interleaved layout where the active kernel set wants it (kernels.h DS2_TYPE_X4), setting their mtype. Needs
 * the tensor data writable (the model's own copy). */
void ds2_weights_repack(ds2_weights *w, const ds2_hparams *hp);
void ds2_weights_free(ds2_weights *w);

#endif
