/* model.c — the loader (bytes → GGUF → bound model) and model information for the public API. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "dtype.h"
#include "model.h"
#include "tokenizer.h"

struct ds2_loader {
    ds2_gguf *g;
    ds2_loader_params params;
};

ds2_loader_params ds2_loader_default_params(void) {
    ds2_loader_params p = {0};
    return p;
}

ds2_status ds2_loader_create(const ds2_loader_params *params, ds2_loader **out, ds2_error *err) {
    if (!out) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_loader_create: out is NULL");
    *out = NULL;
    ds2_loader *l = calloc(1, sizeof *l);
    if (!l) return ds2_fail(err, DS2_E_NOMEM, NULL);
    l->params = params ? *params : ds2_loader_default_params();
    ds2_status st = ds2_gguf_create(l->params.total_bytes, &l->g, err);
    if (st != DS2_OK) {
        free(l);
        return st;
    }
    *out = l;
    return DS2_OK;
}

ds2_status ds2_loader_feed(ds2_loader *l, const void *data, size_t n, ds2_error *err) {
    if (!l || (!data && n)) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_loader_feed: NULL argument");
    if (!l->g) return ds2_fail(err, DS2_E_STATE, "ds2_loader_feed: the loader has already finished");
    return ds2_gguf_feed(l->g, data, n, err);
}

uint64_t ds2_loader_bytes_expected(const ds2_loader *l) { return l && l->g ? ds2_gguf_bytes_expected(l->g) : 0; }
uint64_t ds2_loader_bytes_fed(const ds2_loader *l) { return l && l->g ? ds2_gguf_bytes_fed(l->g) : 0; }

ds2_status ds2_loader_finish(ds2_loader *l, ds2_model **out, ds2_error *err) {
    if (!l || !out) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_loader_finish: NULL argument");
    *out = NULL;
    if (!l->g) return ds2_fail(err, DS2_E_STATE, "ds2_loader_finish: the loader has already finished");
    ds2_status st = ds2_gguf_finish(l->g, err);
    if (st != DS2_OK) return st;
    ds2_model *m = calloc(1, sizeof *m);
    if (!m) return ds2_fail(err, DS2_E_NOMEM, NULL);
    int vocab_only = ds2_gguf_n_tensors(l->g) == 0;
    if (vocab_only && !l->params.allow_vocab_only) {
        free(m);
        return ds2_fail(err, DS2_E_MISSING_TENSOR,
                        "the file has no tensors (a vocabulary-only GGUF); it can tokenize but not run a model");
    }
    st = ds2_hparams_read(l->g, vocab_only, &m->hp, err);
    if (st == DS2_OK && !vocab_only) {
        st = ds2_weights_bind(l->g, &m->hp, &m->w, err);
        m->has_weights = st == DS2_OK;
    }
    if (st != DS2_OK) {
        free(m);
        return st;
    }
    m->gguf = l->g; /* the model now owns the parsed file and its arena */
    l->g = NULL;
    /* a model without a usable tokenizer still evaluates token ids; the text calls report tok_err */
    ds2_tokenizer_build(m->gguf, &m->tok, &m->tok_err);
    *out = m;
    return DS2_OK;
}

void ds2_loader_free(ds2_loader *l) {
    if (!l) return;
    ds2_gguf_free(l->g);
    free(l);
}

ds2_status ds2_model_load_file(const char *path, const ds2_loader_params *params, ds2_model **out,
                               ds2_error *err) {
    if (!path || !out) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_model_load_file: NULL argument");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return ds2_fail(err, DS2_E_IO, "cannot open '%s'", path);
    ds2_loader_params p = params ? *params : ds2_loader_default_params();
    if (p.total_bytes == 0 && fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size > 0) p.total_bytes = (uint64_t)size;
        rewind(f);
    }
    ds2_loader *l = NULL;
    ds2_status st = ds2_loader_create(&p, &l, err);
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = st == DS2_OK ? malloc(CHUNK) : NULL;
    if (st == DS2_OK && !buf) st = ds2_fail(err, DS2_E_NOMEM, NULL);
    while (st == DS2_OK) {
        size_t n = fread(buf, 1, CHUNK, f);
        if (n == 0) {
            if (ferror(f)) st = ds2_fail(err, DS2_E_IO, "read error in '%s'", path);
            break;
        }
        st = ds2_loader_feed(l, buf, n, err);
    }
    if (st == DS2_OK) st = ds2_loader_finish(l, out, err);
    free(buf);
    ds2_loader_free(l);
    fclose(f);
    return st;
}

void ds2_model_free(ds2_model *m) {
    if (!m) return;
    ds2_tokenizer_free(m->tok);
    ds2_weights_free(&m->w);
    ds2_gguf_free(m->gguf);
    free(m);
}

ds2_status ds2_model_get_info(const ds2_model *m, ds2_model_info *o) {
    if (!m || !o) return DS2_E_INVALID_ARG;
    const ds2_hparams *hp = &m->hp;
    memset(o, 0, sizeof *o);
    o->has_weights = m->has_weights;
    o->n_vocab = hp->n_vocab;
    o->n_ctx_train = hp->n_ctx_train;
    o->n_embd = hp->n_embd;
    o->n_layer = hp->n_layer;
    o->n_head = hp->n_head;
    o->n_layer_dense = hp->n_layer_dense;
    o->q_lora_rank = hp->q_lora_rank;
    o->kv_lora_rank = hp->kv_lora_rank;
    o->qk_nope = hp->qk_nope;
    o->qk_rope = hp->qk_rope;
    o->v_head = hp->v_head;
    o->n_ff = hp->n_ff;
    o->n_ff_exp = hp->n_ff_exp;
    o->n_expert = hp->n_expert;
    o->n_expert_used = hp->n_expert_used;
    o->n_expert_shared = hp->n_expert_shared;
    o->n_group = hp->n_group;
    o->n_group_used = hp->n_group_used;
    o->gating = hp->gating;
    o->weights_norm = hp->weights_norm;
    o->has_exp_probs_b = m->has_weights && hp->n_layer > hp->n_layer_dense &&
                         m->w.layers[hp->n_layer_dense].exp_probs_b.data != NULL;
    o->split_kv_b = m->w.split_kv_b;
    o->weights_scale = hp->weights_scale;
    o->rms_eps = hp->rms_eps;
    o->rope_theta = hp->rope_theta;
    o->rope_yarn = hp->rope_yarn;
    o->rope_factor = hp->rope_freq_scale > 0 ? 1.0f / hp->rope_freq_scale : 1.0f;
    o->yarn_log_mul = hp->yarn_log_mul;
    o->rope_orig_ctx = hp->rope_orig_ctx;
    o->kq_scale = hp->kq_scale;
    o->bos_id = hp->bos_id;
    o->eos_id = hp->eos_id;
    for (int64_t i = 0; i < ds2_gguf_n_tensors(m->gguf); i++) {
        const ds2_gguf_tensor *t = ds2_gguf_tensor_at(m->gguf, i);
        o->n_params += (uint64_t)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]);
        o->weight_bytes += t->nbytes;
    }
    o->kv_bytes_per_token_f16 = (uint64_t)hp->n_layer * (uint64_t)(hp->kv_lora_rank + hp->qk_rope) * 2u;
    o->mha_kv_bytes_per_token_f16 = (uint64_t)hp->n_layer * (uint64_t)hp->n_head *
                                    (uint64_t)(hp->qk_nope + hp->qk_rope + hp->v_head) * 2u;
    return DS2_OK;
}

int32_t ds2_model_n_tensors(const ds2_model *m) { return m ? (int32_t)ds2_gguf_n_tensors(m->gguf) : 0; }

ds2_status ds2_model_tensor_info(const ds2_model *m, int32_t i, const char **name, const char **dtype,
                                 int64_t ne[4], uint64_t *nbytes) {
    if (!m || i < 0 || i >= ds2_model_n_tensors(m)) return DS2_E_INVALID_ARG;
    const ds2_gguf_tensor *t = ds2_gguf_tensor_at(m->gguf, i);
    if (name) *name = t->name;
    if (dtype) *dtype = ds2_dtype_name(t->type);
    if (ne) memcpy(ne, t->ne, 4 * sizeof *ne);
    if (nbytes) *nbytes = t->nbytes;
    return DS2_OK;
}

const char *ds2_model_meta_str(const ds2_model *m, const char *key, char *buf, size_t n) {
    if (!m || !key || !buf || n == 0) return NULL;
    const ds2_gguf_kv *kv = ds2_gguf_find_kv(m->gguf, key);
    if (!kv) return NULL;
    switch (kv->type) {
    case DS2_GGUF_STRING: snprintf(buf, n, "%s", kv->str); break;
    case DS2_GGUF_F32: case DS2_GGUF_F64: snprintf(buf, n, "%g", kv->f64); break;
    case DS2_GGUF_BOOL: snprintf(buf, n, "%s", kv->u64 ? "true" : "false"); break;
    case DS2_GGUF_U64: snprintf(buf, n, "%" PRIu64, kv->u64); break;
    case DS2_GGUF_ARRAY: snprintf(buf, n, "[%" PRIu64 " elements]", kv->arr_n); break;
    default: snprintf(buf, n, "%" PRId64, kv->i64); break;
    }
    return buf;
}
