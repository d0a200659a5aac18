/* api.c — the WebAssembly export layer: a thin, handle-based C surface over src/ds2.h for JavaScript.
 *
 * Owns: nothing but argument marshalling. Every export calls the public ds2.h API only; there is no state
 * here beyond what the handles point to, so any number of models/sessions can live in one module.
 *
 * Conventions (JS mirrors them in web/):
 * - Errors: JS allocates one error object with ds2w_error_new() and passes it to every fallible call.
 *   Calls that produce a handle return it (0 on failure); all others return the ds2_status code (0 = ok).
 *   After a failure ds2w_error_code/name/message read the C status, its name ("DS2_E_TRUNCATED") and the
 *   message. wasm/status.js (generated from src/status.h) maps codes to names without calling in.
 * - 64-bit values cross the boundary as two uint32 halves (in) or as a double (out, exact below 2^53):
 *   this Emscripten (3.1.6) has no BigInt integration by default, and file sizes need more than 32 bits.
 * - Buffers (chunks, tokens, logits) live in the wasm heap: JS gets them with malloc/free (exported) and
 *   reuses one chunk buffer across feeds, so streaming a file never keeps a second copy in JS.
 * This is the only file that includes emscripten.h.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <emscripten.h>
#include <emscripten/heap.h>
#include <malloc.h>

#include "ds2.h"

#define EXPORT EMSCRIPTEN_KEEPALIVE

/* ---- errors ------------------------------------------------------------------------------------------ */

EXPORT ds2_error *ds2w_error_new(void) {
    ds2_error *e = calloc(1, sizeof *e);
    return e;
}
EXPORT void ds2w_error_free(ds2_error *e) { free(e); }
EXPORT int32_t ds2w_error_code(const ds2_error *e) { return e ? (int32_t)e->code : DS2_E_INVALID_ARG; }
EXPORT const char *ds2w_error_name(const ds2_error *e) { return ds2_status_name(e ? e->code : DS2_E_INVALID_ARG); }
/* The specific message if the call wrote one, else the code's default text. */
EXPORT const char *ds2w_error_message(const ds2_error *e) {
    if (!e) return ds2_status_message(DS2_E_INVALID_ARG);
    return e->message[0] ? e->message : ds2_status_message(e->code);
}
EXPORT const char *ds2w_status_name(int32_t s) { return ds2_status_name((ds2_status)s); }
EXPORT const char *ds2w_status_message(int32_t s) { return ds2_status_message((ds2_status)s); }

/* Records a status produced here (not by the library) in the caller's error object. */
static ds2_status fail(ds2_error *err, ds2_status st, const char *msg) {
    if (err) {
        err->code = st;
        snprintf(err->message, sizeof err->message, "%s", msg);
    }
    return st;
}

/* Clears the error object before a call, so a stale message never outlives a success. */
static void reset(ds2_error *err) {
    if (err) {
        err->code = DS2_OK;
        err->message[0] = 0;
    }
}

/* Stores the status a library call returned (the library fills the message, not always the code). */
static ds2_status done(ds2_error *err, ds2_status st) {
    if (err) {
        err->code = st;
        if (st == DS2_OK) err->message[0] = 0;
    }
    return st;
}

/* ---- memory ------------------------------------------------------------------------------------------ */

EXPORT void *ds2w_malloc(uint32_t n) { return malloc(n ? n : 1); }
EXPORT void ds2w_free(void *p) { free(p); }
/* Current size of the linear memory (grows, never shrinks) and bytes in use by malloc. */
EXPORT double ds2w_heap_size(void) { return (double)emscripten_get_heap_size(); }
EXPORT double ds2w_heap_max(void) { return (double)emscripten_get_heap_max(); }
EXPORT double ds2w_heap_used(void) {
    struct mallinfo mi = mallinfo();
    return (double)(uint32_t)mi.uordblks;
}

/* Which variant this module is, so the JS side can report what it picked: "simd128 pthreads" etc. */
EXPORT const char *ds2w_build_features(void) {
#if defined(__wasm_relaxed_simd__) && defined(__EMSCRIPTEN_PTHREADS__)
    return "simd128 relaxed-simd pthreads";
#elif defined(__wasm_simd128__) && defined(__EMSCRIPTEN_PTHREADS__)
    return "simd128 pthreads";
#elif defined(__wasm_simd128__)
    return "simd128";
#elif defined(__EMSCRIPTEN_PTHREADS__)
    return "pthreads";
#else
    return "baseline";
#endif
}

/* ---- loading ----------------------------------------------------------------------------------------- */

EXPORT ds2_loader *ds2w_loader_create(uint32_t total_lo, uint32_t total_hi, int32_t allow_vocab_only,
                                      ds2_error *err) {
    reset(err);
    ds2_loader_params p = ds2_loader_default_params();
    p.total_bytes = (uint64_t)total_hi << 32 | total_lo;
    p.allow_vocab_only = allow_vocab_only;
    ds2_loader *l = NULL;
    done(err, ds2_loader_create(&p, &l, err));
    return l;
}

EXPORT int32_t ds2w_loader_feed(ds2_loader *l, const void *data, uint32_t n, ds2_error *err) {
    reset(err);
    if (!l) return fail(err, DS2_E_INVALID_ARG, "loader handle is null");
    return done(err, ds2_loader_feed(l, data, n, err));
}

EXPORT double ds2w_loader_bytes_expected(const ds2_loader *l) {
    return l ? (double)ds2_loader_bytes_expected(l) : 0;
}
EXPORT double ds2w_loader_bytes_fed(const ds2_loader *l) { return l ? (double)ds2_loader_bytes_fed(l) : 0; }

/* Returns the model (0 on failure). The loader stays valid either way: free it with ds2w_loader_free. */
EXPORT ds2_model *ds2w_loader_finish(ds2_loader *l, ds2_error *err) {
    reset(err);
    if (!l) {
        fail(err, DS2_E_INVALID_ARG, "loader handle is null");
        return NULL;
    }
    ds2_model *m = NULL;
    done(err, ds2_loader_finish(l, &m, err));
    return m;
}

EXPORT void ds2w_loader_free(ds2_loader *l) { ds2_loader_free(l); }

/* gguf-split shards: n streams fed in any interleaving with ds2w_loader_feed_shard (sizes: n doubles, 0 =
 * unknown, or null); finish / free / bytes_fed work on it as on a single-file loader. */
EXPORT ds2_loader *ds2w_loader_create_split(int32_t n_shards, const double *sizes, int32_t allow_vocab_only,
                                            ds2_error *err) {
    reset(err);
    ds2_loader_params p = ds2_loader_default_params();
    p.allow_vocab_only = allow_vocab_only;
    uint64_t *b = n_shards > 0 && sizes ? calloc((size_t)n_shards, sizeof *b) : NULL;
    for (int32_t i = 0; b && i < n_shards; i++) b[i] = sizes[i] > 0 ? (uint64_t)sizes[i] : 0;
    ds2_loader *l = NULL;
    done(err, ds2_loader_create_split(&p, n_shards, b, &l, err));
    free(b);
    return l;
}

EXPORT int32_t ds2w_loader_feed_shard(ds2_loader *l, int32_t shard, const void *data, uint32_t n, ds2_error *err) {
    reset(err);
    if (!l) return fail(err, DS2_E_INVALID_ARG, "loader handle is null");
    return done(err, ds2_loader_feed_shard(l, shard, data, n, err));
}
EXPORT void ds2w_model_free(ds2_model *m) { ds2_model_free(m); }

/* ---- model information ------------------------------------------------------------------------------- */

/* JSON text grows into a malloc'd buffer; the appender keeps going silently after an allocation failure
 * and the caller sees NULL at the end. */
typedef struct jbuf {
    char *s;
    size_t len, cap;
    int oom;
} jbuf;

static void jput(jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void jput(jbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (k < 0) { b->oom = 1; return; }
        if ((size_t)k < b->cap - b->len) { b->len += (size_t)k; return; }
        size_t cap = (b->cap + (size_t)k + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s) { b->oom = 1; return; }
        b->s = s;
        b->cap = cap;
    }
}

/* A JSON string literal: quotes, backslashes and control bytes escaped (other bytes as given: UTF-8). */
static void jstr(jbuf *b, const char *s) {
    jput(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') jput(b, "\\%c", *p);
        else if (*p < 0x20) jput(b, "\\u%04x", *p);
        else jput(b, "%c", *p);
    }
    jput(b, "\"");
}

/* Model card as a JSON object (hyper-parameters, sizes, a few metadata strings). Returns malloc'd text
 * (free with ds2w_free) or 0 with the error filled. */
EXPORT char *ds2w_model_info_json(const ds2_model *m, ds2_error *err) {
    reset(err);
    ds2_model_info i;
    if (!m) {
        fail(err, DS2_E_INVALID_ARG, "model handle is null");
        return NULL;
    }
    ds2_status st = ds2_model_get_info(m, &i);
    if (st != DS2_OK) {
        fail(err, st, ds2_status_message(st));
        return NULL;
    }
    jbuf b = {0};
    jput(&b, "{\"has_weights\":%d,\"n_vocab\":%d,\"n_ctx_train\":%d,\"n_embd\":%d,\"n_layer\":%d,\"n_head\":%d,",
         i.has_weights, i.n_vocab, i.n_ctx_train, i.n_embd, i.n_layer, i.n_head);
    jput(&b, "\"n_layer_dense\":%d,\"q_lora_rank\":%d,\"kv_lora_rank\":%d,\"qk_nope\":%d,\"qk_rope\":%d,"
             "\"v_head\":%d,",
         i.n_layer_dense, i.q_lora_rank, i.kv_lora_rank, i.qk_nope, i.qk_rope, i.v_head);
    jput(&b, "\"n_ff\":%d,\"n_ff_exp\":%d,\"n_expert\":%d,\"n_expert_used\":%d,\"n_expert_shared\":%d,"
             "\"n_group\":%d,\"n_group_used\":%d,",
         i.n_ff, i.n_ff_exp, i.n_expert, i.n_expert_used, i.n_expert_shared, i.n_group, i.n_group_used);
    jput(&b, "\"gating\":\"%s\",\"weights_norm\":%d,\"has_exp_probs_b\":%d,\"split_kv_b\":%d,",
         i.gating == 2 ? "sigmoid" : "softmax", i.weights_norm, i.has_exp_probs_b, i.split_kv_b);
    /* %.9g: floats round-trip exactly */
    jput(&b, "\"weights_scale\":%.9g,\"rms_eps\":%.9g,\"rope_theta\":%.9g,\"rope_yarn\":%d,"
             "\"rope_factor\":%.9g,\"yarn_log_mul\":%.9g,\"rope_orig_ctx\":%d,\"kq_scale\":%.9g,",
         i.weights_scale, i.rms_eps, i.rope_theta, i.rope_yarn, i.rope_factor, i.yarn_log_mul, i.rope_orig_ctx,
         i.kq_scale);
    jput(&b, "\"n_params\":%llu,\"weight_bytes\":%llu,\"kv_bytes_per_token_f16\":%llu,"
             "\"mha_kv_bytes_per_token_f16\":%llu,\"bos_id\":%d,\"eos_id\":%d,\"n_tensors\":%d",
         (unsigned long long)i.n_params, (unsigned long long)i.weight_bytes,
         (unsigned long long)i.kv_bytes_per_token_f16, (unsigned long long)i.mha_kv_bytes_per_token_f16,
         i.bos_id, i.eos_id, ds2_model_n_tensors(m));
    /* Quant types (bytes per GGUF dtype) and the parameters one token uses: routed expert tensors
     * (*_exps) count n_expert_used of n_expert; everything else counts fully. For the demo's model card. */
    {
        const char *names[16];
        uint64_t bytes[16];
        int nd = 0;
        double active = 0;
        for (int32_t t = 0; t < ds2_model_n_tensors(m); t++) {
            const char *name, *dtype;
            int64_t ne[4];
            uint64_t nb;
            if (ds2_model_tensor_info(m, t, &name, &dtype, ne, &nb) != DS2_OK) continue;
            double cnt = (double)ne[0] * (double)ne[1] * (double)ne[2] * (double)ne[3];
            if (strstr(name, "_exps") && i.n_expert > 0) cnt = cnt * i.n_expert_used / i.n_expert;
            active += cnt;
            int k = 0;
            while (k < nd && strcmp(names[k], dtype)) k++;
            if (k == nd && nd < 16) { names[nd] = dtype; bytes[nd++] = 0; }
            if (k < nd) bytes[k] += nb;
        }
        jput(&b, ",\"n_params_active\":%.0f,\"dtypes\":{", active);
        for (int k = 0; k < nd; k++) {
            jput(&b, k ? "," : "");
            jstr(&b, names[k]);
            jput(&b, ":%llu", (unsigned long long)bytes[k]);
        }
        jput(&b, "}");
    }
    static const char *const keys[] = {"general.name", "general.architecture", "general.file_type",
                                       "tokenizer.ggml.model", "tokenizer.ggml.pre"};
    jput(&b, ",\"meta\":{");
    int first = 1;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        char val[256];
        const char *v = ds2_model_meta_str(m, keys[k], val, sizeof val);
        if (!v) continue;
        jput(&b, first ? "" : ",");
        first = 0;
        jstr(&b, keys[k]);
        jput(&b, ":");
        jstr(&b, v);
    }
    jput(&b, "}}");
    if (b.oom) {
        free(b.s);
        fail(err, DS2_E_NOMEM, "out of memory building the model info");
        return NULL;
    }
    return b.s;
}

EXPORT int32_t ds2w_model_n_vocab(const ds2_model *m) {
    ds2_model_info i;
    return m && ds2_model_get_info(m, &i) == DS2_OK ? i.n_vocab : 0;
}

/* Metadata value as text into buf (NUL-terminated); returns 1 if the key exists. */
EXPORT int32_t ds2w_model_meta(const ds2_model *m, const char *key, char *buf, uint32_t cap) {
    if (!m || !key || !buf || !cap) return 0;
    return ds2_model_meta_str(m, key, buf, cap) != NULL;
}

/* ---- sessions ---------------------------------------------------------------------------------------- */

/* kv_type: 0 f32, 1 f16; attn_mode: 0 auto, 1 absorbed, 2 naive; 0 for sizes/threads means the default. */
EXPORT ds2_session *ds2w_session_create(const ds2_model *m, int32_t n_ctx, int32_t n_batch, int32_t n_threads,
                                        int32_t kv_type, int32_t attn_mode, ds2_error *err) {
    reset(err);
    if (!m) {
        fail(err, DS2_E_INVALID_ARG, "model handle is null");
        return NULL;
    }
#ifdef __EMSCRIPTEN_PTHREADS__
    /* Threads come from the pthread worker pool made with the module (PTHREAD_POOL_SIZE). Emscripten 3.1.6
     * leaks the 2 MiB stack of a pthread_create that fails for want of a worker, so ask for no more than the
     * idle workers here and say how to get more. */
    int32_t idle = EM_ASM_INT({ return PThread.unusedWorkers.length; });
    if (n_threads - 1 > idle) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "n_threads %d needs %d pthread workers, %d are free (pool size: Module.ds2PoolSize at creation)",
                 n_threads, n_threads - 1, idle);
        fail(err, DS2_E_INVALID_ARG, msg);
        return NULL;
    }
#endif
    ds2_session_params p = ds2_session_default_params();
    p.n_ctx = n_ctx;
    p.n_batch = n_batch;
    p.n_threads = n_threads;
    p.kv_type = (ds2_kv_type)kv_type;
    p.attn_mode = (ds2_attn_mode)attn_mode;
    ds2_session *s = NULL;
    done(err, ds2_session_create(m, &p, &s, err));
    return s;
}

EXPORT void ds2w_session_free(ds2_session *s) { ds2_session_free(s); }

/* logits_mode: 0 none, 1 last (n_vocab floats), 2 all (n × n_vocab floats) into logits. */
EXPORT int32_t ds2w_session_eval(ds2_session *s, const int32_t *tokens, int32_t n, int32_t logits_mode,
                                 float *logits, ds2_error *err) {
    reset(err);
    if (!s) return fail(err, DS2_E_INVALID_ARG, "session handle is null");
    return done(err, ds2_session_eval(s, tokens, n, (ds2_logits_mode)logits_mode, logits, err));
}

EXPORT int32_t ds2w_session_truncate(ds2_session *s, int32_t n, ds2_error *err) {
    reset(err);
    if (!s) return fail(err, DS2_E_INVALID_ARG, "session handle is null");
    return done(err, ds2_session_truncate(s, n, err));
}

/* Drops cache positions [keep, keep + discard) and moves the rest down (RoPE re-rotated): a context shift. */
EXPORT int32_t ds2w_session_shift(ds2_session *s, int32_t keep, int32_t discard, ds2_error *err) {
    reset(err);
    if (!s) return fail(err, DS2_E_INVALID_ARG, "session handle is null");
    return done(err, ds2_session_shift(s, keep, discard, err));
}

EXPORT int32_t ds2w_session_n_past(const ds2_session *s) { return s ? ds2_session_n_past(s) : 0; }
EXPORT int32_t ds2w_session_n_ctx(const ds2_session *s) { return s ? ds2_session_n_ctx(s) : 0; }

/* Index of the largest of n floats (first on ties, as the native CLI's greedy pick). */
EXPORT int32_t ds2w_argmax(const float *x, int32_t n) { return ds2_argmax(x, n); }

/* ---- text: tokenizer, streaming detokenizer, chat template (issue 3's C API) ----------------------------- */
/* size_t is 32-bit in wasm32, so the length outputs are plain uint32 slots in the heap for JS. */

EXPORT int32_t ds2w_tokenize(const ds2_model *m, const char *text, uint32_t len, int32_t add_bos,
                             int32_t parse_special, int32_t *tokens, int32_t cap, int32_t *n_tokens,
                             ds2_error *err) {
    reset(err);
    if (!m) return fail(err, DS2_E_INVALID_ARG, "model handle is null");
    return done(err, ds2_tokenize(m, text, len, add_bos, parse_special, tokens, cap, n_tokens, err));
}

EXPORT ds2_detokenizer *ds2w_detokenizer_create(const ds2_model *m, ds2_error *err) {
    reset(err);
    if (!m) {
        fail(err, DS2_E_INVALID_ARG, "model handle is null");
        return NULL;
    }
    ds2_detokenizer *d = NULL;
    done(err, ds2_detokenizer_create(m, &d, err));
    return d;
}

EXPORT int32_t ds2w_detokenizer_push(ds2_detokenizer *d, int32_t id, char *buf, uint32_t cap, size_t *len,
                                     ds2_error *err) {
    reset(err);
    if (!d) return fail(err, DS2_E_INVALID_ARG, "detokenizer handle is null");
    return done(err, ds2_detokenizer_push(d, id, buf, cap, len, err));
}

EXPORT int32_t ds2w_detokenizer_flush(ds2_detokenizer *d, char *buf, uint32_t cap, size_t *len, ds2_error *err) {
    reset(err);
    if (!d) return fail(err, DS2_E_INVALID_ARG, "detokenizer handle is null");
    return done(err, ds2_detokenizer_flush(d, buf, cap, len, err));
}

EXPORT void ds2w_detokenizer_free(ds2_detokenizer *d) { ds2_detokenizer_free(d); }

/* Messages arrive as n pairs of NUL-terminated strings packed back to back (role\0content\0 …): no JSON
 * parser in C. Returns the malloc'd prompt text (free with ds2w_free) or 0 with the error filled. */
EXPORT char *ds2w_chat_render(const ds2_model *m, const char *packed, int32_t n, int32_t add_generation_prompt,
                              ds2_error *err) {
    reset(err);
    if (!m || !packed || n < 0) {
        fail(err, DS2_E_INVALID_ARG, "chat_render: null model/messages");
        return NULL;
    }
    ds2_chat_message *msgs = calloc((size_t)(n ? n : 1), sizeof *msgs);
    if (!msgs) {
        fail(err, DS2_E_NOMEM, "out of memory for the chat messages");
        return NULL;
    }
    const char *p = packed;
    for (int32_t k = 0; k < n; k++) {
        msgs[k].role = p;
        p += strlen(p) + 1;
        msgs[k].content = p;
        p += strlen(p) + 1;
    }
    size_t need = 0;
    char *out = NULL;
    ds2_status st = ds2_chat_render(m, msgs, n, add_generation_prompt, NULL, 0, &need, err);
    if (st == DS2_OK || st == DS2_E_INVALID_ARG) { /* INVALID_ARG with need set: the size query */
        out = malloc(need + 1);
        if (!out) st = fail(err, DS2_E_NOMEM, "out of memory for the chat prompt");
        else {
            reset(err);
            st = ds2_chat_render(m, msgs, n, add_generation_prompt, out, need + 1, &need, err);
        }
    }
    free(msgs);
    done(err, st);
    if (st != DS2_OK) {
        free(out);
        return NULL;
    }
    return out;
}

/* ---- sampler (llama.cpp-order chain with our own seeded RNG: same seed → same ids on every build) ------- */

EXPORT ds2_sampler *ds2w_sampler_create(int32_t n_vocab, float temperature, int32_t top_k, float top_p, float min_p,
                                        float repeat_penalty, int32_t penalty_last_n, uint32_t seed_lo,
                                        uint32_t seed_hi, ds2_error *err) {
    reset(err);
    ds2_sampler_params p = ds2_sampler_default_params();
    p.temperature = temperature;
    p.top_k = top_k;
    p.top_p = top_p;
    p.min_p = min_p;
    p.repeat_penalty = repeat_penalty;
    p.penalty_last_n = penalty_last_n;
    p.seed = (uint64_t)seed_hi << 32 | seed_lo;
    ds2_sampler *s = NULL;
    done(err, ds2_sampler_create(n_vocab, &p, &s, err));
    return s;
}
/* The C defaults (ds2_sampler_default_params) for JS, so they are written down once: 9 doubles in this order —
 * temperature, top_k, top_p, min_p, repeat_penalty, presence_penalty, frequency_penalty, penalty_last_n, seed
 * (exact below 2^53). */
EXPORT void ds2w_sampler_defaults(double *out) {
    if (!out) return;
    const ds2_sampler_params p = ds2_sampler_default_params();
    out[0] = p.temperature;
    out[1] = p.top_k;
    out[2] = p.top_p;
    out[3] = p.min_p;
    out[4] = p.repeat_penalty;
    out[5] = p.presence_penalty;
    out[6] = p.frequency_penalty;
    out[7] = p.penalty_last_n;
    out[8] = (double)p.seed;
}
/* A sampler from the 9 doubles of ds2w_sampler_defaults (JS reads them, overrides what the caller set, passes
 * them back): every sampler field reaches C without one argument per field. */
EXPORT ds2_sampler *ds2w_sampler_create_v(int32_t n_vocab, const double *v, ds2_error *err) {
    reset(err);
    if (!v) {
        fail(err, DS2_E_INVALID_ARG, "sampler parameters are null");
        return NULL;
    }
    ds2_sampler_params p = ds2_sampler_default_params();
    p.temperature = (float)v[0];
    p.top_k = (int32_t)v[1];
    p.top_p = (float)v[2];
    p.min_p = (float)v[3];
    p.repeat_penalty = (float)v[4];
    p.presence_penalty = (float)v[5];
    p.frequency_penalty = (float)v[6];
    p.penalty_last_n = (int32_t)v[7];
    p.seed = v[8] < 0 ? 0 : (uint64_t)v[8];
    ds2_sampler *s = NULL;
    done(err, ds2_sampler_create(n_vocab, &p, &s, err));
    return s;
}
EXPORT int32_t ds2w_sampler_sample(ds2_sampler *s, const float *logits) { return ds2_sampler_sample(s, logits); }
EXPORT void ds2w_sampler_accept(ds2_sampler *s, int32_t id) { ds2_sampler_accept(s, id); }
EXPORT void ds2w_sampler_free(ds2_sampler *s) { ds2_sampler_free(s); }

/* ---- text: the token queries beside the tokenizer exports above -------------------------------------------- */

EXPORT int32_t ds2w_token_bos(const ds2_model *m) { return m ? ds2_token_bos(m) : -1; }
EXPORT int32_t ds2w_token_eos(const ds2_model *m) { return m ? ds2_token_eos(m) : -1; }
EXPORT int32_t ds2w_token_add_bos(const ds2_model *m) { return m ? ds2_token_add_bos(m) : 0; }
EXPORT int32_t ds2w_token_is_control(const ds2_model *m, int32_t id) { return m ? ds2_token_is_control(m, id) : 0; }

/* Raw bytes of one token; *len (a uint32 slot: size_t is 32 bits in wasm32) = size, or size needed. */
EXPORT int32_t ds2w_token_to_bytes(const ds2_model *m, int32_t id, char *buf, uint32_t cap, size_t *len,
                                   ds2_error *err) {
    reset(err);
    if (!m) return fail(err, DS2_E_INVALID_ARG, "model handle is null");
    return done(err, ds2_token_to_bytes(m, id, buf, cap, len, err));
}

EXPORT void ds2w_detokenizer_reset(ds2_detokenizer *d) {
    if (d) ds2_detokenizer_reset(d);
}

EXPORT int32_t ds2w_chat_detect(const ds2_model *m) { return m ? (int32_t)ds2_chat_detect(m) : 0; }

/* ---- generation ------------------------------------------------------------------------------------------ */

/* Generation parameters live in C (defaults from ds2_generate_default_params); JS sets them by name. Stop
 * strings are copied. */
typedef struct ds2w_gen {
    ds2_generate_params p;
    char **stop;
    int32_t n_stop;
} ds2w_gen;

EXPORT ds2w_gen *ds2w_gen_params_new(void) {
    ds2w_gen *g = calloc(1, sizeof *g);
    if (g) g->p = ds2_generate_default_params();
    return g;
}

EXPORT void ds2w_gen_params_free(ds2w_gen *g) {
    if (!g) return;
    for (int32_t i = 0; i < g->n_stop; i++) free(g->stop[i]);
    free(g->stop);
    free(g);
}

/* Sets one parameter by its C field name (max_tokens, temperature, top_k, top_p, min_p, repeat_penalty,
 * presence_penalty, frequency_penalty, penalty_last_n, seed, stop_at_eos, context_shift_keep). */
EXPORT int32_t ds2w_gen_params_set(ds2w_gen *g, const char *key, double v, ds2_error *err) {
    reset(err);
    if (!g || !key) return fail(err, DS2_E_INVALID_ARG, "generation parameters or key are null");
    ds2_sampler_params *s = &g->p.sampler;
    if (!strcmp(key, "max_tokens")) g->p.max_tokens = (int32_t)v;
    else if (!strcmp(key, "temperature")) s->temperature = (float)v;
    else if (!strcmp(key, "top_k")) s->top_k = (int32_t)v;
    else if (!strcmp(key, "top_p")) s->top_p = (float)v;
    else if (!strcmp(key, "min_p")) s->min_p = (float)v;
    else if (!strcmp(key, "repeat_penalty")) s->repeat_penalty = (float)v;
    else if (!strcmp(key, "presence_penalty")) s->presence_penalty = (float)v;
    else if (!strcmp(key, "frequency_penalty")) s->frequency_penalty = (float)v;
    else if (!strcmp(key, "penalty_last_n")) s->penalty_last_n = (int32_t)v;
    else if (!strcmp(key, "seed")) s->seed = v < 0 ? 0 : (uint64_t)v;
    else if (!strcmp(key, "stop_at_eos")) g->p.stop_at_eos = (int32_t)v;
    else if (!strcmp(key, "context_shift_keep")) g->p.context_shift_keep = (int32_t)v;
    else {
        char msg[128];
        snprintf(msg, sizeof msg, "unknown generation parameter '%.60s'", key);
        return fail(err, DS2_E_INVALID_ARG, msg);
    }
    return done(err, DS2_OK);
}

EXPORT int32_t ds2w_gen_params_add_stop(ds2w_gen *g, const char *stop, ds2_error *err) {
    reset(err);
    if (!g || !stop) return fail(err, DS2_E_INVALID_ARG, "generation parameters or stop string are null");
    char **a = realloc(g->stop, (size_t)(g->n_stop + 1) * sizeof *a);
    if (!a) return fail(err, DS2_E_NOMEM, "out of memory adding a stop string");
    g->stop = a;
    size_t n = strlen(stop) + 1;
    if (!(a[g->n_stop] = malloc(n))) return fail(err, DS2_E_NOMEM, "out of memory adding a stop string");
    memcpy(a[g->n_stop], stop, n);
    g->n_stop++;
    return done(err, DS2_OK);
}

/* on_token: a wasm table index (JS: addFunction(fn, 'iiiii')) called as fn(ud, id, piece, len); return nonzero
 * to stop. cancel: 0 or the address of an int32 that JS (or another thread) sets to stop within one token.
 * stats: 0 or 8 doubles: n_prompt, n_gen, prompt_ms, gen_ms, prompt_tps, gen_tps, stop_reason, n_shifted. */
EXPORT int32_t ds2w_generate(ds2_session *s, const int32_t *prompt, int32_t n_prompt, const ds2w_gen *g,
                             ds2_token_fn on_token, void *ud, const volatile int32_t *cancel, double *stats,
                             ds2_error *err) {
    reset(err);
    if (!s || !g) return fail(err, DS2_E_INVALID_ARG, "session or generation parameters are null");
    ds2_generate_params p = g->p;
    p.stop = (const char *const *)g->stop;
    p.n_stop = g->n_stop;
    ds2_generate_stats st = {0};
    ds2_status rc = ds2_generate(s, prompt, n_prompt, &p, on_token, ud, cancel, &st, err);
    if (stats) {
        stats[0] = st.n_prompt;
        stats[1] = st.n_gen;
        stats[2] = st.prompt_ms;
        stats[3] = st.gen_ms;
        stats[4] = st.prompt_tps;
        stats[5] = st.gen_tps;
        stats[6] = st.stop_reason;
        stats[7] = st.n_shifted;
    }
    return done(err, rc);
}
