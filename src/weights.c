/* weights.c — binds GGUF tensors by name into ds2_weights and checks dtype and shape against the
 * hyper-parameters (reference §3.4 table; §2.4 for the two generations of attention tensors). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kernels/kernels.h"
#include "weights.h"

enum { ANY_MATRIX, F32_ONLY };

typedef struct binder {
    const ds2_gguf *g;
    ds2_error *err;
} binder;

/* Looks up `name` (printf pattern with layer index) and checks it has exactly the shape `ne` (n dims).
 * required: absent → DS2_E_MISSING_TENSOR; otherwise absent leaves t->data NULL. */
static ds2_status bind(binder *b, ds2_tensor *t, int required, int kind, int n, const int64_t *ne,
                       const char *fmt, int layer) {
    char name[96];
    snprintf(name, sizeof name, fmt, layer);
    memset(t, 0, sizeof *t);
    const ds2_gguf_tensor *gt = ds2_gguf_find_tensor(b->g, name);
    if (!gt) {
        if (required) return ds2_fail(b->err, DS2_E_MISSING_TENSOR, "required tensor '%s' is missing", name);
        return DS2_OK;
    }
    int64_t want[4] = {1, 1, 1, 1};
    for (int i = 0; i < n; i++) want[i] = ne[i];
    if (memcmp(want, gt->ne, sizeof want) != 0)
        return ds2_fail(b->err, DS2_E_SHAPE_MISMATCH,
                        "tensor '%s' has shape {%lld, %lld, %lld, %lld} but the hyper-parameters need "
                        "{%lld, %lld, %lld, %lld}",
                        name, (long long)gt->ne[0], (long long)gt->ne[1], (long long)gt->ne[2],
                        (long long)gt->ne[3], (long long)want[0], (long long)want[1], (long long)want[2],
                        (long long)want[3]);
    if (kind == F32_ONLY && gt->type != DS2_F32)
        return ds2_fail(b->err, DS2_E_UNSUPPORTED_DTYPE, "tensor '%s' is %s; this engine needs F32 for it",
                        name, ds2_dtype_name(gt->type));
    if (!ds2_type_traits_get(gt->type))
        return ds2_fail(b->err, DS2_E_UNSUPPORTED_DTYPE,
                        "tensor '%s' has data type %s, which this build cannot compute with", name,
                        ds2_dtype_name(gt->type));
    t->data = gt->data;
    t->type = t->mtype = gt->type;
    memcpy(t->ne, gt->ne, sizeof t->ne);
    t->row_bytes = ds2_row_bytes(gt->type, gt->ne[0]);
    return DS2_OK;
}

#define TRY(x)                                                                                              \
    do {                                                                                                    \
        ds2_status st_ = (x);                                                                               \
        if (st_ != DS2_OK) return st_;                                                                      \
    } while (0)
#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})
#define NDIMS(...) ((int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
#define BIND(t, req, kind, fmt, l, ...) TRY(bind(&b, (t), (req), (kind), NDIMS(__VA_ARGS__), SHAPE(__VA_ARGS__), fmt, l))

static ds2_status bind_layer(binder b, const ds2_hparams *hp, int l, ds2_layer *L, int *split) {
    const int64_t D = hp->n_embd, H = hp->n_head, dn = hp->qk_nope, dr = hp->qk_rope, dv = hp->v_head;
    const int64_t dc = hp->kv_lora_rank, dq = dn + dr;
    BIND(&L->attn_norm, 1, F32_ONLY, "blk.%d.attn_norm.weight", l, D);
    if (hp->q_lora_rank == 0) {
        BIND(&L->q, 1, ANY_MATRIX, "blk.%d.attn_q.weight", l, D, H * dq);
    } else {
        const int64_t r = hp->q_lora_rank;
        BIND(&L->q_a, 1, ANY_MATRIX, "blk.%d.attn_q_a.weight", l, D, r);
        BIND(&L->q_a_norm, 1, F32_ONLY, "blk.%d.attn_q_a_norm.weight", l, r);
        BIND(&L->q_b, 1, ANY_MATRIX, "blk.%d.attn_q_b.weight", l, r, H * dq);
    }
    BIND(&L->kv_a_mqa, 1, ANY_MATRIX, "blk.%d.attn_kv_a_mqa.weight", l, D, dc + dr);
    BIND(&L->kv_a_norm, 1, F32_ONLY, "blk.%d.attn_kv_a_norm.weight", l, dc);
    if (*split) {
        BIND(&L->k_b, 1, ANY_MATRIX, "blk.%d.attn_k_b.weight", l, dn, dc, H);
        BIND(&L->v_b, 1, ANY_MATRIX, "blk.%d.attn_v_b.weight", l, dc, dv, H);
    } else {
        BIND(&L->kv_b, 1, ANY_MATRIX, "blk.%d.attn_kv_b.weight", l, dc, H * (dn + dv));
    }
    BIND(&L->attn_out, 1, ANY_MATRIX, "blk.%d.attn_output.weight", l, H * dv, D);
    BIND(&L->ffn_norm, 1, F32_ONLY, "blk.%d.ffn_norm.weight", l, D);
    if (l < hp->n_layer_dense) {
        const int64_t F = hp->n_ff;
        BIND(&L->ffn_gate, 1, ANY_MATRIX, "blk.%d.ffn_gate.weight", l, D, F);
        BIND(&L->ffn_up, 1, ANY_MATRIX, "blk.%d.ffn_up.weight", l, D, F);
        BIND(&L->ffn_down, 1, ANY_MATRIX, "blk.%d.ffn_down.weight", l, F, D);
        return DS2_OK;
    }
    const int64_t E = hp->n_expert, Fe = hp->n_ff_exp, S = hp->n_expert_shared;
    BIND(&L->gate_inp, 1, ANY_MATRIX, "blk.%d.ffn_gate_inp.weight", l, D, E);
    BIND(&L->exp_probs_b, 0, F32_ONLY, "blk.%d.exp_probs_b.bias", l, E);
    BIND(&L->gate_exps, 1, ANY_MATRIX, "blk.%d.ffn_gate_exps.weight", l, D, Fe, E);
    BIND(&L->up_exps, 1, ANY_MATRIX, "blk.%d.ffn_up_exps.weight", l, D, Fe, E);
    BIND(&L->down_exps, 1, ANY_MATRIX, "blk.%d.ffn_down_exps.weight", l, Fe, D, E);
    if (S > 0) {
        BIND(&L->gate_shexp, 1, ANY_MATRIX, "blk.%d.ffn_gate_shexp.weight", l, D, Fe * S);
        BIND(&L->up_shexp, 1, ANY_MATRIX, "blk.%d.ffn_up_shexp.weight", l, D, Fe * S);
        BIND(&L->down_shexp, 1, ANY_MATRIX, "blk.%d.ffn_down_shexp.weight", l, Fe * S, D);
    }
    return DS2_OK;
}

ds2_status ds2_weights_bind(const ds2_gguf *g, ds2_hparams *hp, ds2_weights *w, ds2_error *err) {
    memset(w, 0, sizeof *w);
    binder b = {g, err};
    const int64_t D = hp->n_embd;

    /* The vocabulary size is the token_embd row count; the token list, when present, must agree. */
    const ds2_gguf_tensor *te = ds2_gguf_find_tensor(g, "token_embd.weight");
    if (!te) return ds2_fail(err, DS2_E_MISSING_TENSOR, "required tensor 'token_embd.weight' is missing");
    if (te->ne[1] < 1 || te->ne[1] > INT32_MAX)
        return ds2_fail(err, DS2_E_SHAPE_MISMATCH, "tensor 'token_embd.weight' has %lld rows", (long long)te->ne[1]);
    if (hp->n_vocab == 0) hp->n_vocab = (int32_t)te->ne[1];
    const int64_t V = hp->n_vocab;
    BIND(&w->token_embd, 1, ANY_MATRIX, "token_embd.weight%.0d", 0, D, V);
    BIND(&w->output_norm, 1, F32_ONLY, "output_norm.weight%.0d", 0, D);
    BIND(&w->output, 0, ANY_MATRIX, "output.weight%.0d", 0, D, V);
    if (!w->output.data) w->output = w->token_embd;

    /* Query path by tensor presence, as llama.cpp decides (reference §2.4 step 4). */
    if (ds2_gguf_find_tensor(g, "blk.0.attn_q.weight")) {
        hp->q_lora_rank = 0;
    } else {
        const ds2_gguf_tensor *qa = ds2_gguf_find_tensor(g, "blk.0.attn_q_a.weight");
        if (!qa)
            return ds2_fail(err, DS2_E_MISSING_TENSOR,
                            "neither 'blk.0.attn_q.weight' nor 'blk.0.attn_q_a.weight' is present");
        if (hp->q_lora_rank == 0) {
            if (qa->ne[1] < 1 || qa->ne[1] > (1 << 20))
                return ds2_fail(err, DS2_E_SHAPE_MISMATCH, "tensor 'blk.0.attn_q_a.weight' has %lld rows",
                                (long long)qa->ne[1]);
            hp->q_lora_rank = (int32_t)qa->ne[1];
        }
    }
    w->split_kv_b = ds2_gguf_find_tensor(g, "blk.0.attn_k_b.weight") != NULL;

    w->layers = calloc((size_t)hp->n_layer, sizeof *w->layers);
    if (!w->layers) return ds2_fail(err, DS2_E_NOMEM, "out of memory binding %d layers", hp->n_layer);
    for (int l = 0; l < hp->n_layer; l++) {
        ds2_status st = bind_layer(b, hp, l, &w->layers[l], &w->split_kv_b);
        if (st != DS2_OK) {
            ds2_weights_free(w);
            return st;
        }
    }
    return DS2_OK;
}

/* ne[2]·ne[3] matrices of ne[1] rows (the experts: each is a product of its own); left row-major (and correct)
 * if the kernels would not gain or the few KiB of scratch cannot be had */
static void repack(ds2_tensor *t) {
    if (t->data && ds2_repack_x4_wanted(t->type) &&
        ds2_repack_x4((void *)(uintptr_t)t->data, t->type, t->ne[0], t->ne[1], t->ne[2] * t->ne[3]))
        t->mtype = t->type | DS2_TYPE_X4;
}

void ds2_weights_repack(ds2_weights *w, const ds2_hparams *hp) {
    for (int l = 0; l < hp->n_layer; l++) {
        ds2_layer *L = &w->layers[l];
        ds2_tensor *ts[] = {&L->q,         &L->q_a,      &L->q_b,       &L->kv_a_mqa,  &L->attn_out,
                            &L->k_b,       &L->v_b,      &L->ffn_gate,  &L->ffn_up,    &L->ffn_down,
                            &L->gate_exps, &L->up_exps,  &L->down_exps, &L->gate_shexp, &L->up_shexp,
                            &L->down_shexp};
        for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) repack(ts[i]);
    }
    if (w->output.data != w->token_embd.data) repack(&w->output); /* the embedding is read by rows */
}

void ds2_weights_free(ds2_weights *w) {
    free(w->layers);
    w->layers = NULL;
}
