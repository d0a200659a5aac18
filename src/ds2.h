/* ds2.h — the public API of deepseek2-wasm: a DeepSeek-V2 (llama.cpp arch "deepseek2") inference engine.
 *
 * Data path: bytes → ds2_loader_feed (GGUF, incremental) → ds2_model (immutable weights) →
 *            ds2_session (MLA latent KV cache, position, scratch) → logits.
 *
 * Contracts:
 * - Every fallible call returns a ds2_status and, when `err` is non-NULL, fills err->message with text a user
 *   can act on (it names the tensor, key or byte offset involved). Nothing here aborts on bad input.
 * - A ds2_model is read-only after loading: any number of sessions and threads may share it.
 * - A ds2_session is single-threaded from the caller's point of view (it runs its own worker threads inside);
 *   it allocates everything at creation, nothing while decoding.
 */
#ifndef DS2_H
#define DS2_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ds2_error {
    ds2_status code;
    char message[256];
} ds2_error;

const char *ds2_status_name(ds2_status s);    /* "DS2_E_TRUNCATED" */
const char *ds2_status_message(ds2_status s); /* default text for the code */

typedef struct ds2_loader ds2_loader;
typedef struct ds2_model ds2_model;
typedef struct ds2_session ds2_session;

/* ---- loading ---------------------------------------------------------------------------------------- */

typedef struct ds2_loader_params {
    /* Total size of the file in bytes if known (Content-Length, File.size, stat), else 0. With it, a tensor
     * whose data lies beyond the end is reported as soon as the directory is read, before any data arrives. */
    uint64_t total_bytes;
    /* Accept a file without tensors (a vocabulary-only GGUF): the model can tokenize but not evaluate. */
    int32_t allow_vocab_only;
} ds2_loader_params;

ds2_loader_params ds2_loader_default_params(void);

ds2_status ds2_loader_create(const ds2_loader_params *params, ds2_loader **out, ds2_error *err);
/* Feed the next `n` bytes of the file (any chunking, including 1 byte at a time). */
ds2_status ds2_loader_feed(ds2_loader *loader, const void *data, size_t n, ds2_error *err);
/* Bytes the complete file is expected to have; 0 until the tensor directory has been read. */
uint64_t ds2_loader_bytes_expected(const ds2_loader *loader);
uint64_t ds2_loader_bytes_fed(const ds2_loader *loader);
/* After the last byte: validates hyper-parameters and binds tensors. On success the weights move into the
 * model and the loader may be freed. */
ds2_status ds2_loader_finish(ds2_loader *loader, ds2_model **out, ds2_error *err);
void ds2_loader_free(ds2_loader *loader);

/* gguf-split shards (llama.cpp's <prefix>-00001-of-0000N.gguf). Every shard is a complete GGUF with its own header
 * and tensor directory, so each is parsed on its own: feed the N shards in any interleaving (as parallel
 * downloads deliver them), each stream in order. Shard i's tensor data goes straight to its final place,
 * reserved once shard i's directory has been read — no copy, and no waiting for the other shards. `shard` is
 * the stream's index 0..n_shards-1 (in any order: a shard's place in the set is its split.no). shard_bytes:
 * each shard's size if known (0 if not), or NULL. As each directory arrives, the set is checked (named errors:
 * split.count ≠ n_shards = a shard missing or too many, shards disagreeing, a split.no twice, a tensor in two
 * shards); ds2_loader_finish reports a truncated shard, checks split.tensors.count and combines the shards into
 * one model (shard 0's metadata). ds2_loader_feed fails on a split loader. */
ds2_status ds2_loader_create_split(const ds2_loader_params *params, int32_t n_shards, const uint64_t *shard_bytes,
                                   ds2_loader **out, ds2_error *err);
ds2_status ds2_loader_feed_shard(ds2_loader *loader, int32_t shard, const void *data, size_t n, ds2_error *err);

/* Convenience for native hosts: streams a file from disk through a loader. */
ds2_status ds2_model_load_file(const char *path, const ds2_loader_params *params, ds2_model **out,
                               ds2_error *err);
void ds2_model_free(ds2_model *model);

/* ---- model information ----------------------------------------------------------------------------- */

typedef struct ds2_model_info {
    int32_t has_weights; /* 0 for a vocabulary-only file */
    int32_t n_vocab, n_ctx_train, n_embd, n_layer, n_head;
    int32_t n_layer_dense;                    /* leading dense layers */
    int32_t q_lora_rank;                      /* 0 = plain attn_q (V2-Lite) */
    int32_t kv_lora_rank, qk_nope, qk_rope, v_head;
    int32_t n_ff, n_ff_exp, n_expert, n_expert_used, n_expert_shared;
    int32_t n_group, n_group_used;
    int32_t gating;                           /* 1 softmax, 2 sigmoid */
    int32_t weights_norm;                     /* renormalise top-k weights */
    int32_t has_exp_probs_b;                  /* selection bias (noaux_tc) present */
    int32_t split_kv_b;                       /* 1: attn_k_b/attn_v_b (MLA-era GGUF), 0: legacy attn_kv_b */
    float weights_scale, rms_eps, rope_theta;
    int32_t rope_yarn;                        /* 1 if YaRN scaling is on */
    float rope_factor, yarn_log_mul;          /* yarn_log_mul = mscale_all_dim */
    int32_t rope_orig_ctx;
    float kq_scale;                           /* softmax scale actually used (with YaRN m²) */
    uint64_t n_params;                        /* elements in all tensors */
    uint64_t weight_bytes;                    /* bytes of the weights arena */
    uint64_t kv_bytes_per_token_f16;          /* MLA latent cache: L·(dc+dr)·2 */
    uint64_t mha_kv_bytes_per_token_f16;      /* what decompressed K+V would need: L·H·(dq+dv)·2 */
    int32_t bos_id, eos_id;                   /* -1 if absent */
} ds2_model_info;

ds2_status ds2_model_get_info(const ds2_model *model, ds2_model_info *out);
/* Number of tensors, and per tensor its name, GGUF dtype name, ne[4] and byte size (for `ds2 info`). */
int32_t ds2_model_n_tensors(const ds2_model *model);
ds2_status ds2_model_tensor_info(const ds2_model *model, int32_t i, const char **name, const char **dtype,
                                 int64_t ne[4], uint64_t *nbytes);
/* Metadata value as text (strings verbatim, numbers printed, arrays summarised); NULL if absent. */
const char *ds2_model_meta_str(const ds2_model *model, const char *key, char *buf, size_t buf_len);

/* ---- kernels --------------------------------------------------------------------------------------- */
/* The process-wide kernel set. "ref": the scalar kernels, bit-exact with llama.cpp's portable x64 CPU build
 * (what the oracle tests compare against). "auto" (default): the fastest set this CPU/build has — "avx2"
 * (chosen at run time by cpuid), "simd128" (chosen by the wasm build), else "ref". The
 * first kernel use reads $DS2_KERNELS (ref|auto|<set name>). Call before evaluating, not during. */
ds2_status ds2_set_kernels(const char *name, ds2_error *err);
const char *ds2_kernels_name(void); /* the set in use */

/* ---- sessions -------------------------------------------------------------------------------------- */

typedef enum ds2_kv_type { DS2_KV_F32 = 0, DS2_KV_F16 = 1 } ds2_kv_type;

typedef enum ds2_attn_mode {
    DS2_ATTN_AUTO = 0,     /* absorbed for decode; prefill batches of legacy (attn_kv_b) files decompress K/V */
    DS2_ATTN_ABSORBED = 1, /* always W_UK folded into q and W_UV after attention over latents */
    DS2_ATTN_NAIVE = 2     /* always decompress K/V from the latents (reference; used by tests) */
} ds2_attn_mode;

typedef struct ds2_session_params {
    int32_t n_ctx;     /* cache capacity in tokens (0 = min(model's training context, 4096)) */
    int32_t n_batch;   /* max tokens per forward pass; longer prompts are split (0 = 512) */
    int32_t n_threads; /* worker threads including the caller (0 = 1) */
    ds2_kv_type kv_type;
    ds2_attn_mode attn_mode;
} ds2_session_params;

ds2_session_params ds2_session_default_params(void);

ds2_status ds2_session_create(const ds2_model *model, const ds2_session_params *params, ds2_session **out,
                              ds2_error *err);
void ds2_session_free(ds2_session *session);

typedef enum ds2_logits_mode {
    DS2_LOGITS_NONE = 0, /* only fill the cache (prompt prefix) */
    DS2_LOGITS_LAST = 1, /* logits of the last token: n_vocab floats */
    DS2_LOGITS_ALL = 2   /* logits of every token: n × n_vocab floats */
} ds2_logits_mode;

/* Runs `n` tokens at positions n_past .. n_past+n-1 and appends them to the cache. Prompts run batched
 * (n_batch tokens through each layer together). `logits` must hold what `mode` asks for. */
ds2_status ds2_session_eval(ds2_session *session, const int32_t *tokens, int32_t n, ds2_logits_mode mode,
                            float *logits, ds2_error *err);
int32_t ds2_session_n_past(const ds2_session *session);
int32_t ds2_session_n_ctx(const ds2_session *session);
/* Forgets cached tokens from position n on (n ≤ n_past), e.g. to reuse a common prompt prefix. */
ds2_status ds2_session_truncate(ds2_session *session, int32_t n, ds2_error *err);

/* ---- text ------------------------------------------------------------------------------------------- */
/* The tokenizer is built from the GGUF's tokenizer.ggml.* metadata when the model loads (also for
 * vocabulary-only files). A model whose tokenizer is missing or unsupported (e.g. an unknown
 * tokenizer.ggml.pre) still loads; the calls below then fail with DS2_E_NO_TOKENIZER and say why. */

int32_t ds2_vocab_size(const ds2_model *model);
int32_t ds2_token_bos(const ds2_model *model);                /* -1 if none */
int32_t ds2_token_eos(const ds2_model *model);                /* -1 if none */
int32_t ds2_token_add_bos(const ds2_model *model);            /* tokenizer.ggml.add_bos_token */
/* 1 for CONTROL / UNKNOWN / UNUSED tokens (never shown as text when streaming), else 0 (also if out of range). */
int32_t ds2_token_is_control(const ds2_model *model, int32_t id);

/* Text (UTF-8, any bytes: invalid sequences are tokenized byte by byte) → ids. add_bos: prepend BOS when the
 * model asks for it (tokenizer.ggml.add_bos_token). parse_special: control tokens written in the text (e.g.
 * "<｜end▁of▁sentence｜>") become their ids; otherwise they are plain text. If `cap` is too small, returns
 * DS2_E_INVALID_ARG with *n_tokens = the number needed (tokens may be NULL with cap 0 to ask). */
ds2_status ds2_tokenize(const ds2_model *model, const char *text, size_t len, int32_t add_bos,
                        int32_t parse_special, int32_t *tokens, int32_t cap, int32_t *n_tokens, ds2_error *err);
/* Raw bytes of one token (byte-level decoded; control tokens give their text). Not NUL-terminated. If `cap`
 * is too small, DS2_E_INVALID_ARG with *len = the size needed. */
ds2_status ds2_token_to_bytes(const ds2_model *model, int32_t id, char *buf, size_t cap, size_t *len,
                              ds2_error *err);

/* Streaming decode: push ids one at a time; each push emits only complete UTF-8 characters, so a character
 * split across tokens appears whole once its last byte arrives. Control tokens (BOS/EOS…) emit nothing.
 * Invalid bytes come out as U+FFFD (one per maximal invalid subsequence, as WHATWG / from_utf8_lossy), so
 * every piece is valid UTF-8 and the pieces concatenate to the lossy decode of all tokens' bytes. Outputs are
 * not NUL-terminated; if `cap` is too small, DS2_E_INVALID_ARG with *len = the size needed and nothing is
 * consumed (3 × (the token's byte length + 3) always suffices). */
typedef struct ds2_detokenizer ds2_detokenizer;
ds2_status ds2_detokenizer_create(const ds2_model *model, ds2_detokenizer **out, ds2_error *err);
ds2_status ds2_detokenizer_push(ds2_detokenizer *d, int32_t id, char *buf, size_t cap, size_t *len,
                                ds2_error *err);
/* Emits what is still held (an incomplete character at the end of the stream) as U+FFFD per invalid byte
 * sequence, and resets. */
ds2_status ds2_detokenizer_flush(ds2_detokenizer *d, char *buf, size_t cap, size_t *len, ds2_error *err);
void ds2_detokenizer_reset(ds2_detokenizer *d);
void ds2_detokenizer_free(ds2_detokenizer *d);

/* ---- sampling, generation, chat --------------------------------------------------------------------- */
/* Determinism: the sampler's RNG is our own (xoshiro256** seeded through splitmix64, integers only) and its
 * float math uses only +, −, ×, ÷ (exactly rounded everywhere; FMA contraction is off), floor/ldexp (exact) and
 * a polynomial exp of our own instead of libm's, whose last bit differs between C libraries. So the same seed,
 * settings and logits give the same ids on every build, native or WebAssembly. */

typedef struct ds2_logit_bias {
    int32_t id;
    float bias; /* added to the logit; -INFINITY bans the token */
} ds2_logit_bias;

/* Applied in llama.cpp's order: logit bias → penalties → top-k → top-p → min-p → temperature → draw. */
typedef struct ds2_sampler_params {
    float temperature;       /* <= 0: greedy (argmax after bias and penalties). Default 0.8 */
    int32_t top_k;           /* keep the k most likely; <= 0 = off. Default 40 */
    float top_p;             /* keep the smallest set with probability >= p; >= 1 = off. Default 0.95 */
    float min_p;             /* keep p >= min_p · p_max; <= 0 = off. Default 0.05 */
    float repeat_penalty;    /* seen tokens: logit / rp if > 0 else logit · rp; 1 = off. Default 1 */
    float presence_penalty;  /* seen tokens: logit − presence; 0 = off */
    float frequency_penalty; /* seen tokens: logit − count · frequency; 0 = off */
    int32_t penalty_last_n;  /* window of accepted tokens the penalties look at (ds2_generate also puts the
                              * prompt's tokens in it, as llama.cpp does); 0 = off; -1 = 8192. Default 64 */
    uint64_t seed;           /* Default 0x5EED */
    const ds2_logit_bias *logit_bias; /* copied by ds2_sampler_create */
    int32_t n_logit_bias;
} ds2_sampler_params;

ds2_sampler_params ds2_sampler_default_params(void);

typedef struct ds2_sampler ds2_sampler;
/* n_vocab: the length of the logits rows it will be given (ds2_vocab_size / ds2_model_info.n_vocab). */
ds2_status ds2_sampler_create(int32_t n_vocab, const ds2_sampler_params *params, ds2_sampler **out,
                              ds2_error *err);
void ds2_sampler_free(ds2_sampler *s);
/* Forgets the accepted tokens and re-seeds the RNG (same seed: the same sequence again). */
void ds2_sampler_reset(ds2_sampler *s);
/* Picks the next id from n_vocab logits (not modified). -1 only for NULL arguments. */
int32_t ds2_sampler_sample(ds2_sampler *s, const float *logits);
/* The greedy pick without a sampler: the first index of the largest of n logits (NaNs never win); 0 for n <= 0
 * or NULL. The same id as a greedy sampler without bias or penalties. */
int32_t ds2_argmax(const float *logits, int32_t n);
/* Records a token in the penalty window (call it for prompt tokens too if they should be penalised). */
void ds2_sampler_accept(ds2_sampler *s, int32_t id);
/* The candidates the last ds2_sampler_sample drew from, most likely first, with their final probabilities
 * (after every cut-off and the temperature). Returns how many there are (copies at most cap). */
int32_t ds2_sampler_candidates(const ds2_sampler *s, int32_t *ids, float *probs, int32_t cap);

typedef struct ds2_generate_params {
    int32_t max_tokens;           /* tokens to generate; -1 = until the context is full. Default -1 */
    ds2_sampler_params sampler;
    const char *const *stop;      /* stop strings (matched on the output text, also across tokens); the
                                   * matched text and anything after it is not emitted */
    int32_t n_stop;
    int32_t stop_at_eos;          /* stop when the model samples EOS (not emitted). Default 1 */
    /* When the context fills: 0 = stop (DS2_STOP_CONTEXT_FULL); n > 0 = keep the first n cached tokens
     * (system prompt), drop half of the rest (ds2_session_shift) and go on. Default 0 */
    int32_t context_shift_keep;
} ds2_generate_params;

ds2_generate_params ds2_generate_default_params(void);

typedef enum ds2_stop_reason {
    DS2_STOP_NONE = 0, DS2_STOP_EOS, DS2_STOP_STRING, DS2_STOP_MAX_TOKENS, DS2_STOP_CALLBACK,
    DS2_STOP_CANCELLED, DS2_STOP_CONTEXT_FULL
} ds2_stop_reason;

typedef struct ds2_generate_stats {
    int32_t n_prompt, n_gen;          /* tokens evaluated for the prompt, tokens generated (sampled) */
    double prompt_ms, gen_ms;         /* wall time of the prompt pass, of the generation loop */
    double prompt_tps, gen_tps;       /* tokens per second of each */
    ds2_stop_reason stop_reason;
    int32_t n_shifted;                /* cache positions dropped by context shifts */
} ds2_generate_stats;

/* Called once per generated token with the text that became final with it (complete UTF-8, possibly empty:
 * text that may begin a stop string or an unfinished character is held back). After the last token, text
 * still held (that was not a stop string) comes in one more call with id = -1. Return nonzero to stop. */
typedef int (*ds2_token_fn)(void *ud, int32_t id, const char *piece, size_t len);

/* Appends prompt[0..n_prompt) (n_prompt ≥ 1: to continue a cache, truncate it by one and pass its last token)
 * to the session's cache, after what it holds (truncate first to reuse a common prefix), and generates. Each
 * sampled token is evaluated into the cache before the next is sampled; the one that ends generation (EOS, a
 * stop string, max_tokens, the callback) is not. So afterwards the cache holds the prompt followed by the
 * first ds2_session_n_past() − (n_past before + n_prompt) generated ids (less if context shifts dropped
 * positions: stats->n_shifted). `cancel` (may be NULL) is read before every token and between prompt batches:
 * once nonzero the call returns DS2_E_CANCELLED within one token. Everything is allocated before the decode
 * loop. Fails with DS2_E_CONTEXT_FULL if the prompt does not fit. */
ds2_status ds2_generate(ds2_session *session, const int32_t *prompt, int32_t n_prompt,
                        const ds2_generate_params *params, ds2_token_fn on_token, void *ud,
                        const volatile int32_t *cancel, ds2_generate_stats *stats, ds2_error *err);

/* Drops cache positions [keep, keep + discard) and moves the later ones down by `discard`, re-rotating their
 * RoPE part (k_pe) to the new positions; the latents are position-free and move as they are. Afterwards the
 * session continues as if the kept tokens had been evaluated at their new positions. */
ds2_status ds2_session_shift(ds2_session *session, int32_t keep, int32_t discard, ds2_error *err);

typedef struct ds2_chat_message {
    const char *role;    /* "system", "user" or "assistant" */
    const char *content; /* UTF-8, NUL-terminated */
} ds2_chat_message;

typedef enum ds2_chat_format {
    DS2_CHAT_UNKNOWN = 0, /* the GGUF has a template the built-in formatter does not know */
    DS2_CHAT_DEEPSEEK2 = 1,
    DS2_CHAT_DEEPSEEK3 = 2
} ds2_chat_format;

/* Which built-in format renders this model's tokenizer.chat_template (recognised as llama.cpp does):
 * DeepSeek-V2 also when the GGUF has no template. */
ds2_chat_format ds2_chat_detect(const ds2_model *model);

/* Renders messages into the prompt text (tokenize it with parse_special = 1 and add_bos as the model says:
 * the text never starts with BOS, so BOS is not doubled). An unrecognised template fails with
 * DS2_E_UNSUPPORTED_TEMPLATE: render it yourself (e.g. Jinja in JS) and tokenize that text instead. The
 * output is NUL-terminated; if cap is too small, DS2_E_INVALID_ARG with *len = the length needed (without
 * the NUL). */
ds2_status ds2_chat_render(const ds2_model *model, const ds2_chat_message *messages, int32_t n_messages,
                           int32_t add_generation_prompt, char *buf, size_t cap, size_t *len, ds2_error *err);

#ifdef __cplusplus
}
#endif

#endif
