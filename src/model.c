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
    ds2_gguf *g;            /* the file; for shards, the merged reader once ds2_loader_finish has combined them */
    ds2_loader_params params;
    /* gguf-split: one reader per feeding stream, each checked against the others once its directory is read */
    int32_t n_shards;       /* 0: a single file */
    ds2_gguf **shards;
    int32_t *split_no;      /* per stream: its split.no once its directory is read, else -1 */
    int32_t split_count;    /* split.count agreed on so far (-1: none read yet) */
};

static void free_shards(ds2_loader *l) {
    if (!l->shards) return;
    for (int32_t i = 0; i < l->n_shards; i++) ds2_gguf_free(l->shards[i]);
    free(l->shards);
    l->shards = NULL;
}

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
    if (l->n_shards) return ds2_fail(err, DS2_E_STATE, "ds2_loader_feed: a split loader takes ds2_loader_feed_shard");
    if (!l->g) return ds2_fail(err, DS2_E_STATE, "ds2_loader_feed: the loader has already finished");
    return ds2_gguf_feed(l->g, data, n, err);
}

/* ---- gguf-split shards ---- */

ds2_status ds2_loader_create_split(const ds2_loader_params *params, int32_t n_shards, const uint64_t *shard_bytes,
                                   ds2_loader **out, ds2_error *err) {
    if (!out) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_loader_create_split: out is NULL");
    *out = NULL;
    if (n_shards < 1 || n_shards > 99999)
        return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_loader_create_split: %d shards (1..99999)", (int)n_shards);
    ds2_loader *l = calloc(1, sizeof *l);
    if (!l) return ds2_fail(err, DS2_E_NOMEM, NULL);
    l->params = params ? *params : ds2_loader_default_params();
    l->n_shards = n_shards;
    l->split_count = -1;
    l->shards = calloc((size_t)n_shards, sizeof *l->shards);
    l->split_no = malloc((size_t)n_shards * sizeof *l->split_no);
    if (!l->shards || !l->split_no) {
        ds2_loader_free(l);
        return ds2_fail(err, DS2_E_NOMEM, NULL);
    }
    for (int32_t i = 0; i < n_shards; i++) {
        l->split_no[i] = -1;
        ds2_status st = ds2_gguf_create(shard_bytes ? shard_bytes[i] : 0, &l->shards[i], err);
        if (st != DS2_OK) {
            ds2_loader_free(l);
            return st;
        }
    }
    *out = l;
    return DS2_OK;
}

/* Prefixes a shard reader's error with the stream it came from. */
static ds2_status name_shard(int32_t i, ds2_status st, ds2_error *err) {
    if (err) {
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "shard #%d: %.200s", (int)i, err->message);
        memcpy(err->message, msg, sizeof msg);
    }
    return st;
}

/* An integer split.* key of stream i, or -1 with a named error. */
static int64_t split_key(ds2_loader *l, int32_t i, const char *key, ds2_status *st, ds2_error *err) {
    const ds2_gguf_kv *kv = ds2_gguf_find_kv(l->shards[i], key);
    if (!kv) {
        if (l->n_shards == 1 && strcmp(key, "split.tensors.count") != 0) return strcmp(key, "split.no") ? 1 : 0;
        *st = ds2_fail(err, DS2_E_MISSING_KEY, "shard #%d has no %s: it is not a gguf-split shard", (int)i, key);
        return -1;
    }
    if (kv->type == DS2_GGUF_STRING || kv->type == DS2_GGUF_ARRAY || kv->type == DS2_GGUF_F32 ||
        kv->type == DS2_GGUF_F64 || kv->i64 < 0 || kv->i64 > INT32_MAX) {
        *st = ds2_fail(err, DS2_E_BAD_KEY_TYPE, "shard #%d: %s is not a count", (int)i, key);
        return -1;
    }
    return kv->i64;
}

/* Stream i's directory has just been read: it must belong to the same set as the others (split.count equal to
 * theirs and to the number of streams), hold a split.no no other stream holds, and no tensor another shard
 * has. Checked now, so a bad set fails before its data is downloaded. */
static ds2_status check_shard(ds2_loader *l, int32_t i, ds2_error *err) {
    ds2_status st = DS2_OK;
    int64_t count = split_key(l, i, "split.count", &st, err);
    if (count < 0) return st;
    int64_t no = split_key(l, i, "split.no", &st, err);
    if (no < 0) return st;
    if (l->split_count >= 0 && count != l->split_count)
        return ds2_fail(err, DS2_E_INVALID_ARG,
                        "shard #%d says split.count = %lld but an earlier shard says %d: the shards are not one set",
                        (int)i, (long long)count, (int)l->split_count);
    if (count != l->n_shards)
        return ds2_fail(err, DS2_E_INVALID_ARG, "shard #%d says split.count = %lld but %d shard%s given: %s", (int)i,
                        (long long)count, (int)l->n_shards, l->n_shards == 1 ? " was" : "s were",
                        count > l->n_shards ? "a shard is missing" : "too many shards");
    if (no >= count)
        return ds2_fail(err, DS2_E_INVALID_ARG, "shard #%d says split.no = %lld, not below split.count = %lld", (int)i,
                        (long long)no, (long long)count);
    for (int32_t j = 0; j < l->n_shards; j++)
        if (j != i && l->split_no[j] == no)
            return ds2_fail(err, DS2_E_DUPLICATE, "shards #%d and #%d are both split.no %lld (file %05lld of %05lld)",
                            (int)j, (int)i, (long long)no, (long long)no + 1, (long long)count);
    const ds2_gguf *g = l->shards[i];
    for (int64_t t = 0; t < ds2_gguf_n_tensors(g); t++) {
        const char *name = ds2_gguf_tensor_at(g, t)->name;
        for (int32_t j = 0; j < l->n_shards; j++)
            if (l->split_no[j] >= 0 && ds2_gguf_find_tensor(l->shards[j], name))
                return ds2_fail(err, DS2_E_DUPLICATE, "tensor '%s' is in shard %lld and in shard %d of the set",
                                name, (long long)no, (int)l->split_no[j]);
    }
    l->split_count = (int32_t)count;
    l->split_no[i] = (int32_t)no;
    return DS2_OK;
}

ds2_status ds2_loader_feed_shard(ds2_loader *l, int32_t shard, const void *data, size_t n, ds2_error *err) {
    if (!l || (!data && n)) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_loader_feed_shard: NULL argument");
    if (!l->n_shards) return ds2_fail(err, DS2_E_STATE, "ds2_loader_feed_shard: not a split loader");
    if (!l->shards) return ds2_fail(err, DS2_E_STATE, "ds2_loader_feed_shard: the loader has already finished");
    if (shard < 0 || shard >= l->n_shards)
        return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_loader_feed_shard: shard %d of %d", (int)shard, (int)l->n_shards);
    ds2_gguf *g = l->shards[shard];
    int was_ready = ds2_gguf_directory_ready(g);
    ds2_status st = ds2_gguf_feed(g, data, n, err);
    if (st != DS2_OK) return name_shard(shard, st, err);
    if (!was_ready && ds2_gguf_directory_ready(g)) st = check_shard(l, shard, err);
    return st;
}

/* At the end: every shard complete, split.tensors.count right, then one merged reader in l->g. */
static ds2_status finish_shards(ds2_loader *l, ds2_error *err) {
    for (int32_t i = 0; i < l->n_shards; i++) {
        ds2_status st = ds2_gguf_finish(l->shards[i], err);
        if (st != DS2_OK) {
            return name_shard(i, st, err);
        }
        if (l->split_no[i] < 0) return ds2_fail(err, DS2_E_STATE, "shard #%d was not checked", (int)i);
    }
    ds2_gguf **order = calloc((size_t)l->n_shards, sizeof *order);
    if (!order) return ds2_fail(err, DS2_E_NOMEM, NULL);
    int64_t n_tensors = 0;
    for (int32_t i = 0; i < l->n_shards; i++) {
        order[l->split_no[i]] = l->shards[i]; /* distinct and < n_shards: check_shard */
        n_tensors += ds2_gguf_n_tensors(l->shards[i]);
    }
    ds2_status st = DS2_OK;
    int32_t first = 0; /* the stream holding split.no 0, whose split.tensors.count counts */
    while (l->split_no[first] != 0) first++;
    if (l->n_shards > 1 || ds2_gguf_find_kv(order[0], "split.tensors.count")) {
        int64_t want = split_key(l, first, "split.tensors.count", &st, err);
        if (st == DS2_OK && want != n_tensors)
            st = ds2_fail(err, DS2_E_MISSING_TENSOR, "the shards hold %lld tensors but split.tensors.count = %lld",
                          (long long)n_tensors, (long long)want);
    }
    if (st == DS2_OK) st = ds2_gguf_merge(order, l->n_shards, &l->g, err);
    free(order);
    return st;
}

uint64_t ds2_loader_bytes_expected(const ds2_loader *l) {
    if (!l) return 0;
    if (!l->n_shards || !l->shards) return l->g ? ds2_gguf_bytes_expected(l->g) : 0;
    uint64_t sum = 0;
    for (int32_t i = 0; i < l->n_shards; i++) {
        uint64_t e = ds2_gguf_bytes_expected(l->shards[i]);
        if (!e) return 0; /* a shard's directory is still unread */
        sum += e;
    }
    return sum;
}

uint64_t ds2_loader_bytes_fed(const ds2_loader *l) {
    if (!l) return 0;
    if (!l->n_shards || !l->shards) return l->g ? ds2_gguf_bytes_fed(l->g) : 0;
    uint64_t sum = 0;
    for (int32_t i = 0; i < l->n_shards; i++) sum += ds2_gguf_bytes_fed(l->shards[i]);
    return sum;
}

ds2_status ds2_loader_finish(ds2_loader *l, ds2_model **out, ds2_error *err) {
    if (!l || !out) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_loader_finish: NULL argument");
    *out = NULL;
    if (l->n_shards && !l->g) {
        if (!l->shards) return ds2_fail(err, DS2_E_STATE, "ds2_loader_finish: the loader has already finished");
        ds2_status st = finish_shards(l, err);
        if (st != DS2_OK) return st;
        free_shards(l);
    }
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
        if (m->has_weights) ds2_weights_repack(&m->w, &m->hp);
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
    free_shards(l);
    free(l->split_no);
    ds2_gguf_free(l->g);
    free(l);
}

/* For "<prefix>-00002-of-00003.gguf" (llama.cpp's gguf-split names, 1-based), the shard count, with *digits at
 * the first digit of the shard number; 0 for any other name. */
static int split_name(const char *path, size_t *digits) {
    static const char pat[] = "-#####-of-#####.gguf";
    size_t n = strlen(path), k = sizeof pat - 1;
    if (n < k) return 0;
    const char *t = path + n - k;
    int count = 0;
    for (size_t i = 0; i < k; i++) {
        if (pat[i] != '#' ? t[i] != pat[i] : (t[i] < '0' || t[i] > '9')) return 0;
        if (i >= 10 && i < 15) count = count * 10 + (t[i] - '0');
    }
    *digits = n - k + 1;
    return count;
}

/* Streams one open file into the loader (shard < 0: a single-file loader). */
static ds2_status feed_file(ds2_loader *l, int32_t shard, FILE *f, const char *path, unsigned char *buf, size_t cap,
                            ds2_error *err) {
    for (;;) {
        size_t n = fread(buf, 1, cap, f);
        if (n == 0) return ferror(f) ? ds2_fail(err, DS2_E_IO, "read error in '%s'", path) : DS2_OK;
        ds2_status st = shard < 0 ? ds2_loader_feed(l, buf, n, err) : ds2_loader_feed_shard(l, shard, buf, n, err);
        if (st != DS2_OK) return st;
    }
}

static uint64_t file_size(FILE *f) {
    uint64_t size = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long s = ftell(f);
        if (s > 0) size = (uint64_t)s;
    }
    rewind(f);
    return size;
}

/* name = path with shard number i + 1 (name has room for len + 1 bytes). */
static void shard_path(char *name, const char *path, size_t len, size_t digits, int i) {
    char num[16];
    snprintf(num, sizeof num, "%05d", i + 1);
    memcpy(name, path, len + 1);
    memcpy(name + digits, num, 5);
}

/* A gguf-split set named by any of its shards: every shard file, one after another, into a split loader. */
static ds2_status load_split(const char *path, int count, size_t digits, const ds2_loader_params *p, ds2_model **out,
                             ds2_error *err) {
    size_t len = strlen(path);
    char *name = malloc(len + 1);
    FILE **files = calloc((size_t)count, sizeof *files);
    uint64_t *sizes = calloc((size_t)count, sizeof *sizes);
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = malloc(CHUNK);
    ds2_loader *l = NULL;
    ds2_status st = name && files && sizes && buf ? DS2_OK : ds2_fail(err, DS2_E_NOMEM, NULL);
    for (int i = 0; st == DS2_OK && i < count; i++) {
        shard_path(name, path, len, digits, i);
        files[i] = fopen(name, "rb");
        if (!files[i]) st = ds2_fail(err, DS2_E_IO, "cannot open '%s' (shard %d of %d)", name, i + 1, count);
        else sizes[i] = file_size(files[i]);
    }
    if (st == DS2_OK) st = ds2_loader_create_split(p, count, sizes, &l, err);
    for (int i = 0; st == DS2_OK && i < count; i++) {
        shard_path(name, path, len, digits, i);
        st = feed_file(l, i, files[i], name, buf, CHUNK, err);
    }
    if (st == DS2_OK) st = ds2_loader_finish(l, out, err);
    ds2_loader_free(l);
    for (int i = 0; files && i < count; i++)
        if (files[i]) fclose(files[i]);
    free(buf);
    free(sizes);
    free(files);
    free(name);
    return st;
}

ds2_status ds2_model_load_file(const char *path, const ds2_loader_params *params, ds2_model **out,
                               ds2_error *err) {
    if (!path || !out) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_model_load_file: NULL argument");
    *out = NULL;
    ds2_loader_params p = params ? *params : ds2_loader_default_params();
    size_t digits = 0;
    int count = split_name(path, &digits);
    if (count > 1) return load_split(path, count, digits, &p, out, err);
    FILE *f = fopen(path, "rb");
    if (!f) return ds2_fail(err, DS2_E_IO, "cannot open '%s'", path);
    if (p.total_bytes == 0) p.total_bytes = file_size(f);
    ds2_loader *l = NULL;
    ds2_status st = ds2_loader_create(&p, &l, err);
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = st == DS2_OK ? malloc(CHUNK) : NULL;
    if (st == DS2_OK && !buf) st = ds2_fail(err, DS2_E_NOMEM, NULL);
    if (st == DS2_OK) st = feed_file(l, -1, f, path, buf, CHUNK, err);
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
