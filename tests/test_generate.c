/* test_generate.c — the generation loop and chat on generated tiny models (tests/make_fixtures.sh):
 * greedy generation equals a hand-written argmax loop and its pieces concatenate to the decoded ids; fixed
 * seeds reproduce; max tokens; stop strings matched across token boundaries (the text stops right before the
 * first occurrence) and held text released at the end; the cancel flag and the callback stop within one
 * token; EOS; context full (stop, or shift and go on); multi-turn prefix reuse gives the same logits and ids
 * as a fresh run; chat rendering (DeepSeek-V2 from the GGUF template and built in, V3, unknown), no double BOS;
 * the stop-string matcher on byte strings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "ds2.h"
#include "generate.h"
#include "fixtures.h"
#include "test.h"

static ds2_session *session(const ds2_model *m, int n_ctx) {
    ds2_session_params sp = ds2_session_default_params();
    sp.n_ctx = n_ctx;
    sp.kv_type = DS2_KV_F32;
    ds2_session *s = NULL;
    ds2_error err;
    if (ds2_session_create(m, &sp, &s, &err) != DS2_OK) printf("  session: %s\n", err.message);
    return s;
}

/* what the callback saw */
typedef struct rec {
    int32_t ids[512];
    int n_ids;
    char text[8192];
    size_t n_text;
    int n_calls, n_final; /* calls with id = -1 */
    int stop_after;       /* return 1 after this many tokens (0 = never) */
    volatile int32_t *cancel;
    int cancel_after;
} rec;

static int on_tok(void *ud, int32_t id, const char *piece, size_t len) {
    rec *r = ud;
    r->n_calls++;
    if (id < 0) r->n_final++;
    else if (r->n_ids < 512) r->ids[r->n_ids++] = id;
    if (r->n_text + len < sizeof r->text) memcpy(r->text + r->n_text, piece, len), r->n_text += len;
    r->text[r->n_text] = '\0';
    if (r->cancel && id >= 0 && r->n_ids == r->cancel_after) *r->cancel = 1;
    return r->stop_after && r->n_ids >= r->stop_after;
}

static int32_t prompt_ids(const ds2_model *m, const char *text, int32_t *ids, int32_t cap) {
    int32_t n = 0;
    ds2_error err;
    if (ds2_tokenize(m, text, strlen(text), 1, 1, ids, cap, &n, &err) != DS2_OK) {
        printf("  tokenize: %s\n", err.message);
        return -1;
    }
    return n;
}

static ds2_generate_params greedy(int max_tokens) {
    ds2_generate_params gp = ds2_generate_default_params();
    gp.sampler.temperature = 0.0f;
    gp.max_tokens = max_tokens;
    gp.stop_at_eos = 0;
    return gp;
}

static int32_t argmax(const float *x, int32_t n) {
    int32_t b = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

TEST(greedy_matches_manual_and_decodes) {
    ds2_model *m = load(FIX("mla-f32.gguf"));
    ASSERT_TRUE(m);
    int32_t p[64];
    int32_t np = prompt_ids(m, "The tokenizer splits the text", p, 64);
    ASSERT_TRUE(np > 1);
    ds2_session *s = session(m, 128);
    static rec r;
    memset(&r, 0, sizeof r);
    ds2_generate_params gp = greedy(24);
    ds2_generate_stats st;
    ds2_error err;
    ASSERT_STATUS(ds2_generate(s, p, np, &gp, on_tok, &r, NULL, &st, &err), DS2_OK, err);
    ASSERT_EQ_I64(st.n_gen, 24);
    ASSERT_EQ_I64(st.n_prompt, np);
    ASSERT_EQ_I64(st.stop_reason, DS2_STOP_MAX_TOKENS);
    ASSERT_EQ_I64(r.n_ids, 24);
    ASSERT_EQ_I64(ds2_session_n_past(s), np + 23); /* the last token is not evaluated */
    ASSERT_TRUE(st.gen_tps > 0 && st.prompt_tps > 0);
    /* manual: eval + argmax */
    ds2_session *s2 = session(m, 128);
    const int32_t V = ds2_vocab_size(m);
    float *lg = malloc(sizeof(float) * V);
    ASSERT_STATUS(ds2_session_eval(s2, p, np, DS2_LOGITS_LAST, lg, &err), DS2_OK, err);
    for (int i = 0; i < 24; i++) {
        int32_t id = argmax(lg, V);
        ASSERT_EQ_I64(r.ids[i], id);
        ASSERT_STATUS(ds2_session_eval(s2, &id, 1, DS2_LOGITS_LAST, lg, &err), DS2_OK, err);
    }
    /* the pieces concatenate to the streaming decode of the ids */
    ds2_detokenizer *d = NULL;
    ASSERT_STATUS(ds2_detokenizer_create(m, &d, &err), DS2_OK, err);
    char want[8192];
    size_t w = 0, n;
    for (int i = 0; i < 24; i++) {
        ASSERT_STATUS(ds2_detokenizer_push(d, r.ids[i], want + w, sizeof want - w, &n, &err), DS2_OK, err);
        w += n;
    }
    ASSERT_STATUS(ds2_detokenizer_flush(d, want + w, sizeof want - w, &n, &err), DS2_OK, err);
    w += n;
    ASSERT_EQ_I64(r.n_text, w);
    ASSERT_TRUE(!memcmp(r.text, want, w));
    ds2_detokenizer_free(d);
    free(lg);
    ds2_session_free(s2);
    ds2_session_free(s);
    ds2_model_free(m);
}

static void run_sampled(const ds2_model *m, uint64_t seed, rec *r) {
    int32_t p[64];
    int32_t np = prompt_ids(m, "A token is a piece of text", p, 64);
    ds2_session *s = session(m, 128);
    ds2_generate_params gp = ds2_generate_default_params();
    gp.sampler.temperature = 1.5f;
    gp.sampler.top_k = 0;
    gp.sampler.top_p = 1.0f;
    gp.sampler.min_p = 0.0f;
    gp.sampler.seed = seed;
    gp.max_tokens = 40;
    gp.stop_at_eos = 0;
    memset(r, 0, sizeof *r);
    ds2_error err;
    if (ds2_generate(s, p, np, &gp, on_tok, r, NULL, NULL, &err) != DS2_OK) printf("  %s\n", err.message);
    ds2_session_free(s);
}

TEST(seeded_sampling_reproducible) {
    ds2_model *m = load(FIX("mla-f32.gguf"));
    ASSERT_TRUE(m);
    static rec a, b, c;
    run_sampled(m, 42, &a);
    run_sampled(m, 42, &b);
    run_sampled(m, 43, &c);
    ASSERT_EQ_I64(a.n_ids, 40);
    ASSERT_TRUE(!memcmp(a.ids, b.ids, sizeof a.ids));
    ASSERT_STR_EQ(a.text, b.text);
    int same = 0;
    for (int i = 0; i < 40; i++) same += a.ids[i] == c.ids[i];
    ASSERT_TRUE(same < 20);
    ds2_model_free(m);
}

/* greedy run with stop strings; returns the record */
static ds2_status run_stop(const ds2_model *m, const char *const *stop, int n_stop, int max_tokens, rec *r,
                           ds2_generate_stats *st) {
    int32_t p[64];
    int32_t np = prompt_ids(m, "The tokenizer splits the text", p, 64);
    ds2_session *s = session(m, 128);
    ds2_generate_params gp = greedy(max_tokens);
    gp.stop = stop;
    gp.n_stop = n_stop;
    memset(r, 0, sizeof *r);
    ds2_error err;
    ds2_status rc = ds2_generate(s, p, np, &gp, on_tok, r, NULL, st, &err);
    ds2_session_free(s);
    return rc;
}

TEST(stop_strings_across_tokens) {
    ds2_model *m = load(FIX("mla-f32.gguf"));
    ASSERT_TRUE(m);
    static rec full, r;
    ds2_generate_stats st;
    ASSERT_EQ_I64(run_stop(m, NULL, 0, 40, &full, &st), DS2_OK);
    /* per-token pieces of the full run, by re-decoding */
    ds2_detokenizer *d = NULL;
    ds2_error err;
    ASSERT_STATUS(ds2_detokenizer_create(m, &d, &err), DS2_OK, err);
    char piece[40][256];
    size_t plen[40];
    for (int i = 0; i < 40; i++) {
        ASSERT_STATUS(ds2_detokenizer_push(d, full.ids[i], piece[i], 255, &plen[i], &err), DS2_OK, err);
        piece[i][plen[i]] = '\0';
    }
    ds2_detokenizer_free(d);
    /* every boundary between two non-empty pieces: stop = both pieces' text; the output must be the full text up
     * to the first occurrence of it */
    int tried = 0;
    for (int k = 5; k + 1 < 40 && tried < 6; k++) {
        if (!plen[k] || !plen[k + 1]) continue;
        char stop[512];
        snprintf(stop, sizeof stop, "%s%s", piece[k], piece[k + 1]);
        const char *stops[2] = {"\x01never", stop};
        ASSERT_EQ_I64(run_stop(m, stops, 2, 40, &r, &st), DS2_OK);
        const char *at = strstr(full.text, stop);
        ASSERT_TRUE(at != NULL);
        size_t want = (size_t)(at - full.text);
        ASSERT_EQ_I64(st.stop_reason, DS2_STOP_STRING);
        ASSERT_EQ_I64(r.n_text, want);
        ASSERT_TRUE(!memcmp(r.text, full.text, want));
        tried++;
    }
    ASSERT_TRUE(tried >= 3);
    /* a stop string whose beginning ends the text but never completes: held, then released at the end */
    char tail[300];
    snprintf(tail, sizeof tail, "%s\x01", piece[39]);
    const char *stops[1] = {tail};
    ASSERT_EQ_I64(run_stop(m, stops, 1, 40, &r, &st), DS2_OK);
    ASSERT_EQ_I64(st.stop_reason, DS2_STOP_MAX_TOKENS);
    ASSERT_STR_EQ(r.text, full.text);
    ASSERT_EQ_I64(r.n_final, plen[39] ? 1 : 0);
    /* empty stop strings are refused */
    const char *bad[1] = {""};
    ASSERT_EQ_I64(run_stop(m, bad, 1, 40, &r, &st), DS2_E_INVALID_ARG);
    ds2_model_free(m);
}

TEST(stop_matcher_bytes) {
    const char *stops[3] = {"</s>", "\n\nUser:", "ab"};
    size_t lens[3] = {4, 7, 2};
    size_t at = 0, ml = 0;
    ASSERT_TRUE(!ds2_stop_find("hello </", 8, stops, lens, 3, &at, &ml));
    ASSERT_EQ_I64(ds2_stop_partial("hello </", 8, stops, lens, 3), 2);
    ASSERT_EQ_I64(ds2_stop_partial("hello\n\nUs", 9, stops, lens, 3), 4);
    ASSERT_EQ_I64(ds2_stop_partial("hello a", 7, stops, lens, 3), 1);
    ASSERT_EQ_I64(ds2_stop_partial("hello", 5, stops, lens, 3), 0);
    ASSERT_TRUE(ds2_stop_find("x</s>y ab", 9, stops, lens, 3, &at, &ml));
    ASSERT_EQ_I64(at, 1);
    ASSERT_EQ_I64(ml, 4);
    ASSERT_TRUE(ds2_stop_find("xxab</s>", 8, stops, lens, 3, &at, &ml));
    ASSERT_EQ_I64(at, 2); /* the earliest occurrence wins */
    /* a complete stop string is never "partial" (only proper prefixes are held) */
    ASSERT_EQ_I64(ds2_stop_partial("ab", 2, stops + 2, lens + 2, 1), 0);
}

TEST(cancel_callback_eos) {
    ds2_model *m = load(FIX("mla-f32.gguf"));
    ASSERT_TRUE(m);
    int32_t p[64];
    int32_t np = prompt_ids(m, "The tokenizer", p, 64);
    ds2_session *s = session(m, 128);
    static rec r;
    ds2_generate_stats st;
    ds2_error err;
    /* cancel raised inside the 5th token's callback: no 6th token */
    volatile int32_t cancel = 0;
    memset(&r, 0, sizeof r);
    r.cancel = &cancel;
    r.cancel_after = 5;
    ds2_generate_params gp = greedy(50);
    ASSERT_STATUS(ds2_generate(s, p, np, &gp, on_tok, &r, &cancel, &st, &err), DS2_E_CANCELLED, err);
    ASSERT_EQ_I64(st.n_gen, 5);
    ASSERT_EQ_I64(st.stop_reason, DS2_STOP_CANCELLED);
    /* already cancelled: nothing runs */
    ds2_session_truncate(s, 0, &err);
    ASSERT_STATUS(ds2_generate(s, p, np, &gp, on_tok, &r, &cancel, &st, &err), DS2_E_CANCELLED, err);
    ASSERT_EQ_I64(st.n_gen, 0);
    ASSERT_EQ_I64(ds2_session_n_past(s), 0);
    /* the callback says stop after 3 */
    ds2_session_truncate(s, 0, &err);
    memset(&r, 0, sizeof r);
    r.stop_after = 3;
    ASSERT_STATUS(ds2_generate(s, p, np, &gp, on_tok, &r, NULL, &st, &err), DS2_OK, err);
    ASSERT_EQ_I64(st.n_gen, 3);
    ASSERT_EQ_I64(st.stop_reason, DS2_STOP_CALLBACK);
    ASSERT_EQ_I64(ds2_session_n_past(s), np + 2);
    /* EOS forced by a bias: stops at once and is not emitted; with stop_at_eos = 0 it goes on */
    ds2_logit_bias b = {ds2_token_eos(m), 100.0f};
    gp.sampler.logit_bias = &b;
    gp.sampler.n_logit_bias = 1;
    gp.stop_at_eos = 1;
    ds2_session_truncate(s, 0, &err);
    memset(&r, 0, sizeof r);
    ASSERT_STATUS(ds2_generate(s, p, np, &gp, on_tok, &r, NULL, &st, &err), DS2_OK, err);
    ASSERT_EQ_I64(st.stop_reason, DS2_STOP_EOS);
    ASSERT_EQ_I64(st.n_gen, 1);
    ASSERT_EQ_I64(r.n_calls, 0);
    gp.stop_at_eos = 0;
    gp.max_tokens = 4;
    ds2_session_truncate(s, 0, &err);
    memset(&r, 0, sizeof r);
    ASSERT_STATUS(ds2_generate(s, p, np, &gp, on_tok, &r, NULL, &st, &err), DS2_OK, err);
    ASSERT_EQ_I64(st.n_gen, 4);
    ASSERT_EQ_I64(r.ids[3], ds2_token_eos(m));
    ASSERT_EQ_I64(r.n_text, 0); /* control tokens are not text */
    /* max_tokens 0: nothing generated, the prompt is still evaluated */
    gp.max_tokens = 0;
    ds2_session_truncate(s, 0, &err);
    ASSERT_STATUS(ds2_generate(s, p, np, &gp, on_tok, &r, NULL, &st, &err), DS2_OK, err);
    ASSERT_EQ_I64(st.n_gen, 0);
    ASSERT_EQ_I64(ds2_session_n_past(s), np);
    ds2_session_free(s);
    ds2_model_free(m);
}

TEST(context_full) {
    ds2_model *m = load(FIX("mla-f32.gguf"));
    ASSERT_TRUE(m);
    int32_t p[64];
    int32_t np = prompt_ids(m, "The tokenizer splits the text", p, 64);
    ds2_session *s = session(m, 24);
    static rec r;
    ds2_generate_stats st;
    ds2_error err;
    memset(&r, 0, sizeof r);
    ds2_generate_params gp = greedy(-1);
    ASSERT_STATUS(ds2_generate(s, p, np, &gp, on_tok, &r, NULL, &st, &err), DS2_OK, err);
    ASSERT_EQ_I64(st.stop_reason, DS2_STOP_CONTEXT_FULL);
    ASSERT_EQ_I64(ds2_session_n_past(s), 24);
    ASSERT_EQ_I64(st.n_gen, 24 - np + 1);
    /* with a shift that keeps the first 4 tokens, it goes on to max_tokens */
    ds2_session_truncate(s, 0, &err);
    gp.max_tokens = 60;
    gp.context_shift_keep = 4;
    ASSERT_STATUS(ds2_generate(s, p, np, &gp, on_tok, &r, NULL, &st, &err), DS2_OK, err);
    ASSERT_EQ_I64(st.stop_reason, DS2_STOP_MAX_TOKENS);
    ASSERT_EQ_I64(st.n_gen, 60);
    ASSERT_TRUE(st.n_shifted > 0);
    ASSERT_EQ_I64(ds2_session_n_past(s), np + 59 - st.n_shifted);
    /* a prompt that does not fit fails cleanly */
    int32_t big[40];
    for (int i = 0; i < 40; i++) big[i] = p[i % np];
    ds2_session_truncate(s, 0, &err);
    ASSERT_STATUS(ds2_generate(s, big, 40, &gp, on_tok, &r, NULL, &st, &err), DS2_E_CONTEXT_FULL, err);
    ds2_session_free(s);
    ds2_model_free(m);
}

static int32_t render_tokens(const ds2_model *m, const ds2_chat_message *msgs, int n, int32_t *ids, int32_t cap) {
    char text[4096];
    size_t len;
    ds2_error err;
    if (ds2_chat_render(m, msgs, n, 1, text, sizeof text, &len, &err) != DS2_OK) {
        printf("  render: %s\n", err.message);
        return -1;
    }
    return prompt_ids(m, text, ids, cap);
}

TEST(multi_turn_prefix_reuse) {
    ds2_model *m = load(FIX("mla-f32.gguf"));
    ASSERT_TRUE(m);
    const int32_t V = ds2_vocab_size(m);
    ds2_chat_message msgs[4] = {{"system", "You split text."}, {"user", "What is a token?"}, {"assistant", ""},
                                {"user", "And a merge?"}};
    int32_t t1[256], t2[256];
    int32_t n1 = render_tokens(m, msgs, 2, t1, 256);
    ASSERT_TRUE(n1 > 0);
    ds2_session *s = session(m, 256);
    static rec r;
    memset(&r, 0, sizeof r);
    ds2_generate_params gp = greedy(12);
    ds2_generate_stats st;
    ds2_error err;
    ASSERT_STATUS(ds2_generate(s, t1, n1, &gp, on_tok, &r, NULL, &st, &err), DS2_OK, err);
    msgs[2].content = r.text[0] == ' ' ? r.text + 1 : r.text;
    int32_t n2 = render_tokens(m, msgs, 4, t2, 256);
    ASSERT_TRUE(n2 > n1);
    /* the cache holds t1 + the generated ids but the last; keep what agrees with the new conversation */
    int32_t hist[256], nh = 0;
    memcpy(hist, t1, sizeof(int32_t) * n1);
    nh = n1;
    for (int i = 0; i < r.n_ids; i++) hist[nh++] = r.ids[i];
    nh = ds2_session_n_past(s);
    int32_t common = 0;
    while (common < nh && common < n2 && hist[common] == t2[common]) common++;
    printf("  turn 2: %d tokens, %d reused from the cache\n", n2, common);
    ASSERT_TRUE(common >= n1); /* at least the whole first prompt */
    ASSERT_STATUS(ds2_session_truncate(s, common, &err), DS2_OK, err);
    float *a = malloc(sizeof(float) * V * (size_t)(n2 - common)), *b = malloc(sizeof(float) * V * (size_t)n2);
    ASSERT_STATUS(ds2_session_eval(s, t2 + common, n2 - common, DS2_LOGITS_ALL, a, &err), DS2_OK, err);
    ds2_session *f = session(m, 256);
    ASSERT_STATUS(ds2_session_eval(f, t2, n2, DS2_LOGITS_ALL, b, &err), DS2_OK, err);
    double md = 0, sc = 1e-6;
    for (size_t i = 0; i < (size_t)V * (n2 - common); i++) {
        md = fmax(md, fabs(a[i] - b[(size_t)common * V + i]));
        sc = fmax(sc, fabs(b[(size_t)common * V + i]));
    }
    printf("  reused vs fresh logits: max rel diff %.3g\n", md / sc);
    ASSERT_TRUE(md / sc < 1e-5);
    /* and generation continues identically */
    static rec ra, rb;
    memset(&ra, 0, sizeof ra);
    memset(&rb, 0, sizeof rb);
    ASSERT_STATUS(ds2_session_truncate(s, common, &err), DS2_OK, err);
    ASSERT_STATUS(ds2_generate(s, t2 + common, n2 - common, &gp, on_tok, &ra, NULL, &st, &err), DS2_OK, err);
    ASSERT_EQ_I64(st.n_prompt, n2 - common);
    ds2_session_truncate(f, 0, &err);
    ASSERT_STATUS(ds2_generate(f, t2, n2, &gp, on_tok, &rb, NULL, &st, &err), DS2_OK, err);
    ASSERT_TRUE(!memcmp(ra.ids, rb.ids, sizeof ra.ids));
    free(a);
    free(b);
    ds2_session_free(f);
    ds2_session_free(s);
    ds2_model_free(m);
}

TEST(chat_render_formats) {
    ds2_chat_message msgs[4] = {{"system", "S"}, {"user", "u1"}, {"assistant", "a1"}, {"user", "u2"}};
    const char *eos = "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>";
    char want[512], buf[512];
    size_t len;
    ds2_error err;
    /* reference §5.4 (llama.cpp's built-in formatter, without the BOS) */
    snprintf(want, sizeof want, "S\n\nUser: u1\n\nAssistant: a1%sUser: u2\n\nAssistant:", eos);
    ds2_model *m = load(FIX("mla-f32.gguf")), *plain = load(FIX("notmpl-f32.gguf"));
    ASSERT_TRUE(m && plain);
    ASSERT_EQ_I64(ds2_chat_detect(m), DS2_CHAT_DEEPSEEK2);
    ASSERT_EQ_I64(ds2_chat_detect(plain), DS2_CHAT_DEEPSEEK2);
    ASSERT_STATUS(ds2_chat_render(m, msgs, 4, 1, buf, sizeof buf, &len, &err), DS2_OK, err);
    ASSERT_STR_EQ(buf, want);
    ASSERT_EQ_I64(len, strlen(want));
    ASSERT_STATUS(ds2_chat_render(plain, msgs, 4, 1, buf, sizeof buf, &len, &err), DS2_OK, err);
    ASSERT_STR_EQ(buf, want);
    /* too small: the size needed */
    ASSERT_STATUS(ds2_chat_render(m, msgs, 4, 1, buf, 10, &len, &err), DS2_E_INVALID_ARG, err);
    ASSERT_EQ_I64(len, strlen(want));
    /* no double BOS: the text has none, tokenizing adds exactly one, and EOS markup becomes the EOS id */
    int32_t ids[256], n = 0;
    ASSERT_STATUS(ds2_chat_render(m, msgs, 4, 1, buf, sizeof buf, &len, &err), DS2_OK, err);
    ASSERT_STATUS(ds2_tokenize(m, buf, len, 1, 1, ids, 256, &n, &err), DS2_OK, err);
    int bos = 0, eos_n = 0;
    for (int i = 0; i < n; i++) bos += ids[i] == ds2_token_bos(m), eos_n += ids[i] == ds2_token_eos(m);
    ASSERT_EQ_I64(ids[0], ds2_token_bos(m));
    ASSERT_EQ_I64(bos, 1);
    ASSERT_EQ_I64(eos_n, 1);
    /* without the generation prompt */
    ASSERT_STATUS(ds2_chat_render(m, msgs, 3, 0, buf, sizeof buf, &len, &err), DS2_OK, err);
    snprintf(want, sizeof want, "S\n\nUser: u1\n\nAssistant: a1%s", eos);
    ASSERT_STR_EQ(buf, want);
    /* DeepSeek-V3, detected as llama.cpp does, and rendered */
    char v3[512];
    snprintf(v3, sizeof v3, "{%% for m in messages %%}<\xef\xbd\x9cUser\xef\xbd\x9c>{{m}}<\xef\xbd\x9c"
                            "Assistant\xef\xbd\x9c>{{ m }}%s{%% endfor %%}", eos);
    ASSERT_EQ_I64(ds2_chat_detect_template(v3), DS2_CHAT_DEEPSEEK3);
    ASSERT_EQ_I64(ds2_chat_detect_template("deepseek3"), DS2_CHAT_DEEPSEEK3);
    ASSERT_EQ_I64(ds2_chat_detect_template(NULL), DS2_CHAT_DEEPSEEK2);
    ASSERT_STATUS(ds2_chat_render_format(DS2_CHAT_DEEPSEEK3, eos, msgs, 4, 1, buf, sizeof buf, &len, &err), DS2_OK, err);
    /* V3's own template puts the system text right before the first turn, no blank line (llama.cpp's
     * built-in formatter adds one; tests/js/chat_template.test.mjs checks against the real Jinja) */
    snprintf(want, sizeof want,
             "S<\xef\xbd\x9cUser\xef\xbd\x9c>u1<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>a1%s<\xef\xbd\x9cUser\xef\xbd\x9c>u2"
             "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>", eos);
    ASSERT_STR_EQ(buf, want);
    /* an unknown template is an error that says what to do */
    ASSERT_EQ_I64(ds2_chat_detect_template("{{ bos_token }}{% for m in messages %}<|im_start|>{% endfor %}"),
                  DS2_CHAT_UNKNOWN);
    ASSERT_STATUS(ds2_chat_render_format(DS2_CHAT_UNKNOWN, eos, msgs, 4, 1, buf, sizeof buf, &len, &err),
                  DS2_E_UNSUPPORTED_TEMPLATE, err);
    /* a bad role */
    ds2_chat_message bad = {"tool", "x"};
    ASSERT_STATUS(ds2_chat_render(m, &bad, 1, 1, buf, sizeof buf, &len, &err), DS2_E_INVALID_ARG, err);
    ds2_model_free(m);
    ds2_model_free(plain);
}

int main(void) {
    RUN(greedy_matches_manual_and_decodes);
    RUN(seeded_sampling_reproducible);
    RUN(stop_strings_across_tokens);
    RUN(stop_matcher_bytes);
    RUN(cancel_callback_eos);
    RUN(context_full);
    RUN(multi_turn_prefix_reuse);
    RUN(chat_render_formats);
    return test_summary();
}
