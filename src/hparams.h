/* hparams.h — the deepseek2.* hyper-parameters (reference §3.3), read from GGUF metadata and validated.
 *
 * Owns: struct ds2_hparams and the rules that derive what the file does not state directly (head dims for both
 * GGUF generations, YaRN corrections, the softmax scale with m²). Rejects values the engine cannot run.
 */
#ifndef DS2_HPARAMS_H
#define DS2_HPARAMS_H

#include "gguf.h"

enum { DS2_GATING_SOFTMAX = 1, DS2_GATING_SIGMOID = 2 };
enum { DS2_MAX_GROUPS = 256 }; /* expert groups (V2/V3 use 8) */

typedef struct ds2_hparams {
    int32_t n_vocab, n_ctx_train, n_embd, n_layer, n_head;
    int32_t n_layer_dense;             /* leading_dense_block_count */
    int32_t q_lora_rank;               /* 0 when the file has a plain attn_q */
    int32_t kv_lora_rank;              /* dc */
    int32_t qk_nope, qk_rope, v_head;  /* dn, dr, dv; dq = dn + dr */
    int32_t n_ff, n_ff_exp;
    int32_t n_expert, n_expert_used, n_expert_shared;
    int32_t n_group, n_group_used;     /* 1/1 = no group limit */
    int32_t gating;                    /* DS2_GATING_* */
    int32_t weights_norm;
    float weights_scale;               /* 0 = none */
    float rms_eps;
    /* RoPE / YaRN (reference §1.6) */
    float rope_theta;
    int32_t rope_yarn;                 /* ext_factor = 1 */
    float rope_freq_scale;             /* 1 / scaling factor */
    int32_t rope_orig_ctx;
    float yarn_log_mul;                /* mscale_all_dim (GGUF stores 0.1× this) */
    float yarn_beta_fast, yarn_beta_slow;
    float rope_attn_factor;            /* cos/sin magnitude (1 for DeepSeek) */
    float kq_scale;                    /* dq^-1/2 · m² (reference §1.4) */
    int32_t bos_id, eos_id;
} ds2_hparams;

/* vocab_only: only the tokenizer keys are needed (n_vocab from the token list). */
ds2_status ds2_hparams_read(const ds2_gguf *g, int vocab_only, ds2_hparams *hp, ds2_error *err);

#endif
