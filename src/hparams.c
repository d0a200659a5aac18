/* hparams.c — reads and validates deepseek2.* metadata (reference §3.3, §1.4, §1.6, §2.4 loader recipe). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "hparams.h"

#define ARCH "deepseek2"

static const ds2_gguf_kv *kv_arch(const ds2_gguf *g, const char *name) {
    char key[128];
    snprintf(key, sizeof key, ARCH ".%s", name);
    return ds2_gguf_find_kv(g, key);
}

static int kv_is_int(const ds2_gguf_kv *kv) {
    switch (kv->type) {
    case DS2_GGUF_U8: case DS2_GGUF_I8: case DS2_GGUF_U16: case DS2_GGUF_I16: case DS2_GGUF_U32:
    case DS2_GGUF_I32: case DS2_GGUF_U64: case DS2_GGUF_I64: case DS2_GGUF_BOOL:
        return 1;
    default:
        return 0;
    }
}

/* An integer key (any integer type) in [lo, hi]; `def` when absent and not required. */
static ds2_status get_int(const ds2_gguf *g, const char *name, int required, int64_t def, int64_t lo,
                          int64_t hi, int32_t *out, ds2_error *err) {
    const ds2_gguf_kv *kv = kv_arch(g, name);
    if (!kv) {
        if (required)
            return ds2_fail(err, DS2_E_MISSING_KEY, "required metadata key '" ARCH ".%s' is missing", name);
        *out = (int32_t)def;
        return DS2_OK;
    }
    if (!kv_is_int(kv))
        return ds2_fail(err, DS2_E_BAD_KEY_TYPE, "metadata key '" ARCH ".%s' should be an integer", name);
    int64_t v = kv->type == DS2_GGUF_U64 && kv->u64 > (uint64_t)INT64_MAX ? INT64_MAX : kv->i64;
    if (v < lo || v > hi)
        return ds2_fail(err, DS2_E_BAD_HPARAM, "'" ARCH ".%s' = %lld is outside the supported range [%lld, %lld]",
                        name, (long long)v, (long long)lo, (long long)hi);
    *out = (int32_t)v;
    return DS2_OK;
}

static ds2_status get_float(const ds2_gguf *g, const char *name, int required, float def, float *out,
                            ds2_error *err) {
    const ds2_gguf_kv *kv = kv_arch(g, name);
    if (!kv) {
        if (required)
            return ds2_fail(err, DS2_E_MISSING_KEY, "required metadata key '" ARCH ".%s' is missing", name);
        *out = def;
        return DS2_OK;
    }
    if (kv->type != DS2_GGUF_F32 && kv->type != DS2_GGUF_F64 && !kv_is_int(kv))
        return ds2_fail(err, DS2_E_BAD_KEY_TYPE, "metadata key '" ARCH ".%s' should be a number", name);
    if (!isfinite(kv->f64))
        return ds2_fail(err, DS2_E_BAD_HPARAM, "'" ARCH ".%s' is not a finite number", name);
    *out = (float)kv->f64;
    return DS2_OK;
}

static int32_t token_id(const ds2_gguf *g, const char *key) {
    const ds2_gguf_kv *kv = ds2_gguf_find_kv(g, key);
    if (!kv || !kv_is_int(kv) || kv->i64 < 0 || kv->i64 > INT32_MAX) return -1;
    return (int32_t)kv->i64;
}

#define TRY(x)                                                                                              \
    do {                                                                                                    \
        ds2_status st_ = (x);                                                                               \
        if (st_ != DS2_OK) return st_;                                                                      \
    } while (0)

ds2_status ds2_hparams_read(const ds2_gguf *g, int vocab_only, ds2_hparams *hp, ds2_error *err) {
    memset(hp, 0, sizeof *hp);
    hp->bos_id = token_id(g, "tokenizer.ggml.bos_token_id");
    hp->eos_id = token_id(g, "tokenizer.ggml.eos_token_id");
    const ds2_gguf_kv *toks = ds2_gguf_find_kv(g, "tokenizer.ggml.tokens");
    if (toks && toks->type == DS2_GGUF_ARRAY && toks->arr_type == DS2_GGUF_STRING && toks->arr_n <= INT32_MAX)
        hp->n_vocab = (int32_t)toks->arr_n;
    if (vocab_only) return DS2_OK;

    const ds2_gguf_kv *arch = ds2_gguf_find_kv(g, "general.architecture");
    if (!arch) return ds2_fail(err, DS2_E_MISSING_KEY, "required metadata key 'general.architecture' is missing");
    if (arch->type != DS2_GGUF_STRING)
        return ds2_fail(err, DS2_E_BAD_KEY_TYPE, "'general.architecture' should be a string");
    if (strcmp(arch->str, ARCH) != 0)
        return ds2_fail(err, DS2_E_UNSUPPORTED_ARCH,
                        "general.architecture is '%.64s'; this engine runs only 'deepseek2' models "
                        "(DeepSeek-V2, V2-Lite, Coder-V2, V2.5, V3 layout)", arch->str);

    const int64_t BIG = 1 << 20;
    TRY(get_int(g, "block_count", 1, 0, 1, 4096, &hp->n_layer, err));
    TRY(get_int(g, "context_length", 1, 0, 1, INT32_MAX, &hp->n_ctx_train, err));
    TRY(get_int(g, "embedding_length", 1, 0, 1, BIG, &hp->n_embd, err));
    TRY(get_int(g, "attention.head_count", 1, 0, 1, 4096, &hp->n_head, err));
    TRY(get_int(g, "leading_dense_block_count", 0, 0, 0, hp->n_layer, &hp->n_layer_dense, err));
    TRY(get_int(g, "feed_forward_length", hp->n_layer_dense > 0, 0, 0, BIG, &hp->n_ff, err));
    TRY(get_int(g, "attention.q_lora_rank", 0, 0, 0, BIG, &hp->q_lora_rank, err));
    TRY(get_int(g, "attention.kv_lora_rank", 1, 0, 1, BIG, &hp->kv_lora_rank, err));
    TRY(get_int(g, "rope.dimension_count", 1, 0, 2, 4096, &hp->qk_rope, err));
    if (hp->qk_rope % 2)
        return ds2_fail(err, DS2_E_BAD_HPARAM, "rope.dimension_count = %d must be even", hp->qk_rope);

    /* Head dims, both GGUF generations (reference §2.4 loader recipe, step 1). */
    int32_t dq = 0, dv = 0;
    if (kv_arch(g, "attention.key_length_mla")) {
        TRY(get_int(g, "attention.key_length_mla", 1, 0, 1, 65536, &dq, err));
        TRY(get_int(g, "attention.value_length_mla", 1, 0, 1, 65536, &dv, err));
    } else {
        TRY(get_int(g, "attention.key_length", 1, 0, 1, 65536, &dq, err));
        TRY(get_int(g, "attention.value_length", 1, 0, 1, 65536, &dv, err));
    }
    if (dq <= hp->qk_rope)
        return ds2_fail(err, DS2_E_BAD_HPARAM, "key length %d must exceed the rope dimension %d", dq, hp->qk_rope);
    hp->qk_nope = dq - hp->qk_rope;
    hp->v_head = dv;

    int n_moe = hp->n_layer - hp->n_layer_dense;
    TRY(get_int(g, "expert_count", n_moe > 0, 0, 0, 65536, &hp->n_expert, err));
    TRY(get_int(g, "expert_used_count", n_moe > 0, 0, 0, hp->n_expert, &hp->n_expert_used, err));
    TRY(get_int(g, "expert_shared_count", 0, 0, 0, 4096, &hp->n_expert_shared, err));
    TRY(get_int(g, "expert_feed_forward_length", n_moe > 0, 0, 0, BIG, &hp->n_ff_exp, err));
    TRY(get_int(g, "expert_gating_func", 0, DS2_GATING_SOFTMAX, 0, 16, &hp->gating, err));
    if (hp->gating == 0) hp->gating = DS2_GATING_SOFTMAX; /* "none" in old files: softmax (reference §8.10) */
    if (hp->gating != DS2_GATING_SOFTMAX && hp->gating != DS2_GATING_SIGMOID)
        return ds2_fail(err, DS2_E_BAD_HPARAM, "expert_gating_func = %d is not supported (1 softmax, 2 sigmoid)",
                        hp->gating);
    TRY(get_int(g, "expert_weights_norm", 0, 0, 0, 1, &hp->weights_norm, err));
    TRY(get_float(g, "expert_weights_scale", 0, 0.0f, &hp->weights_scale, err));
    TRY(get_int(g, "expert_group_count", 0, 1, 0, DS2_MAX_GROUPS, &hp->n_group, err));
    TRY(get_int(g, "expert_group_used_count", 0, 1, 0, DS2_MAX_GROUPS, &hp->n_group_used, err));
    if (hp->n_group == 0) hp->n_group = 1;
    if (hp->n_group_used == 0) hp->n_group_used = hp->n_group;
    if (n_moe > 0) {
        if (hp->n_expert < 1 || hp->n_expert_used < 1)
            return ds2_fail(err, DS2_E_BAD_HPARAM, "MoE layers need expert_count ≥ 1 and expert_used_count ≥ 1");
        if (hp->n_ff_exp < 1) return ds2_fail(err, DS2_E_BAD_HPARAM, "expert_feed_forward_length must be ≥ 1");
        if (hp->n_expert % hp->n_group || hp->n_group_used > hp->n_group)
            return ds2_fail(err, DS2_E_BAD_HPARAM,
                            "expert groups: %d experts in %d groups with %d used is not a valid split",
                            hp->n_expert, hp->n_group, hp->n_group_used);
        /* Top-2-sum group scores need ≥ 2 experts per group; the top-k must fit in the kept groups. */
        if (hp->n_group > 1 && (hp->n_expert / hp->n_group < 2 ||
                                hp->n_expert_used > hp->n_group_used * (hp->n_expert / hp->n_group)))
            return ds2_fail(err, DS2_E_BAD_HPARAM, "expert groups too small for %d experts per token",
                            hp->n_expert_used);
    }

    TRY(get_float(g, "attention.layer_norm_rms_epsilon", 1, 0.0f, &hp->rms_eps, err));
    if (!(hp->rms_eps > 0.0f)) return ds2_fail(err, DS2_E_BAD_HPARAM, "rms epsilon must be positive");

    /* RoPE and YaRN: llama.cpp's mapping (reference §1.6). */
    TRY(get_float(g, "rope.freq_base", 0, 10000.0f, &hp->rope_theta, err));
    if (!(hp->rope_theta > 1.0f)) return ds2_fail(err, DS2_E_BAD_HPARAM, "rope.freq_base must be > 1");
    const ds2_gguf_kv *st = kv_arch(g, "rope.scaling.type");
    const char *stype = st && st->type == DS2_GGUF_STRING ? st->str : "none";
    float factor = 1.0f;
    TRY(get_float(g, "rope.scaling.factor", 0, 0.0f, &factor, err));
    if (strcmp(stype, "none") == 0 || factor <= 0.0f) factor = 1.0f;
    else if (strcmp(stype, "yarn") == 0) hp->rope_yarn = 1;
    else if (strcmp(stype, "linear") != 0)
        return ds2_fail(err, DS2_E_BAD_HPARAM, "rope.scaling.type '%.32s' is not supported (none, linear, yarn)",
                        stype);
    hp->rope_freq_scale = 1.0f / factor;
    TRY(get_int(g, "rope.scaling.original_context_length", 0, hp->n_ctx_train, 1, INT32_MAX, &hp->rope_orig_ctx,
                err));
    float log_mul = 0.0f;
    TRY(get_float(g, "rope.scaling.yarn_log_multiplier", 0, 0.0f, &log_mul, err));
    hp->yarn_log_mul = log_mul / 0.1f; /* GGUF stores 0.1·mscale_all_dim */
    TRY(get_float(g, "rope.scaling.yarn_beta_fast", 0, 32.0f, &hp->yarn_beta_fast, err));
    TRY(get_float(g, "rope.scaling.yarn_beta_slow", 0, 1.0f, &hp->yarn_beta_slow, err));

    /* Softmax scale s = dq^-1/2 · m², m = 1 + 0.1·mscale_all_dim·ln(factor) (reference §1.4). The cos/sin
     * magnitude is get_mscale(s, mscale)/get_mscale(s, mscale_all_dim) = 1 because llama.cpp assumes
     * mscale == mscale_all_dim for deepseek2 (it does not store mscale). */
    float m = 1.0f + 0.1f * hp->yarn_log_mul * logf(factor);
    hp->kq_scale = m * m / sqrtf((float)dq);
    /* llama.cpp pre-divides the rope magnitude by (1 + 0.1·ln factor) and ggml multiplies it back only when
     * YaRN is on, so linear scaling ends up with a smaller cos/sin magnitude; mirror that. */
    hp->rope_attn_factor = hp->rope_yarn ? 1.0f : 1.0f / (1.0f + 0.1f * logf(factor));
    return DS2_OK;
}
