/* test_model.c — model-level tests on generated fixtures (tests/make_fixtures.sh):
 * broken files fail with their own named status, streaming 1 byte at a time gives the same model,
 * absorbed MLA decode equals naive decompression, batched prefill equals token-by-token decode,
 * thread counts agree bit for bit, and bad calls fail cleanly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds2.h"
#include "fixtures.h"
#include "test.h"

/* logits of every position for tokens under params; returns malloc'd n·V floats or NULL */
static float *eval_all(const ds2_model *m, ds2_session_params sp, const int32_t *toks, int n) {
    ds2_model_info info;
    ds2_model_get_info(m, &info);
    ds2_session *s = NULL;
    ds2_error err;
    float *out = malloc((size_t)n * info.n_vocab * sizeof(float));
    if (ds2_session_create(m, &sp, &s, &err) != DS2_OK ||
        ds2_session_eval(s, toks, n, DS2_LOGITS_ALL, out, &err) != DS2_OK) {
        printf("  eval failed: %s\n", err.message);
        free(out);
        out = NULL;
    }
    ds2_session_free(s);
    return out;
}

static ds2_session_params params(ds2_attn_mode mode, int threads, int batch) {
    ds2_session_params p = ds2_session_default_params();
    p.n_ctx = 128;
    p.kv_type = DS2_KV_F32;
    p.attn_mode = mode;
    p.n_threads = threads;
    p.n_batch = batch;
    return p;
}

TEST(broken_files_fail_with_their_status) {
    FILE *f = fopen(FIX("bad/expected.tsv"), "r");
    ASSERT_TRUE(f);
    char line[512];
    int checked = 0;
    while (fgets(line, sizeof line, f)) {
        char file[256], want[64];
        if (sscanf(line, "%255s %63s", file, want) != 2 || !strcmp(file, "file")) continue;
        char path[512];
        snprintf(path, sizeof path, DS2_BINARY_DIR "/testdata/bad/%s", file);
        /* (1) whole file, size known */
        ds2_error err;
        ds2_model *m = NULL;
        ds2_status st = ds2_model_load_file(path, NULL, &m, &err);
        ds2_model_free(m);
        if (strcmp(ds2_status_name(st), want) != 0)
            FAIL_("%s: got %s (%s), want %s", file, ds2_status_name(st), err.message, want);
        if (st != DS2_OK && (strlen(err.message) < 10 || !strcmp(err.message, "ok")))
            FAIL_("%s: error message is not helpful: '%s'", file, err.message);
        /* (2) streamed 1 byte at a time, size unknown: same status */
        FILE *g = fopen(path, "rb");
        ASSERT_TRUE(g);
        ds2_loader *l = NULL;
        ds2_error err2;
        ds2_status st2 = ds2_loader_create(NULL, &l, &err2);
        int c;
        while (st2 == DS2_OK && (c = fgetc(g)) != EOF) {
            unsigned char b = (unsigned char)c;
            st2 = ds2_loader_feed(l, &b, 1, &err2);
        }
        fclose(g);
        m = NULL;
        if (st2 == DS2_OK) st2 = ds2_loader_finish(l, &m, &err2);
        ds2_model_free(m);
        ds2_loader_free(l);
        if (strcmp(ds2_status_name(st2), want) != 0)
            FAIL_("%s streamed: got %s (%s), want %s", file, ds2_status_name(st2), err2.message, want);
        printf("  %-28s %s: %s\n", file, want, st == DS2_OK ? "loads" : err.message);
        checked++;
    }
    fclose(f);
    ASSERT_TRUE(checked >= 20);
}

TEST(streaming_one_byte_gives_the_same_model) {
    const char *path = FIX("mla-q8_0.gguf");
    ds2_model *whole = load(path);
    ASSERT_TRUE(whole);
    FILE *g = fopen(path, "rb");
    ds2_loader *l = NULL;
    ds2_error err;
    ASSERT_STATUS(ds2_loader_create(NULL, &l, &err), DS2_OK, err);
    int c;
    while ((c = fgetc(g)) != EOF) {
        unsigned char b = (unsigned char)c;
        ASSERT_STATUS(ds2_loader_feed(l, &b, 1, &err), DS2_OK, err);
    }
    fclose(g);
    ASSERT_TRUE(ds2_loader_bytes_expected(l) > 0 && ds2_loader_bytes_fed(l) >= ds2_loader_bytes_expected(l));
    ds2_model *bytewise = NULL;
    ASSERT_STATUS(ds2_loader_finish(l, &bytewise, &err), DS2_OK, err);
    ds2_loader_free(l);
    int32_t toks[24];
    ds2_model_info info;
    ds2_model_get_info(whole, &info);
    make_tokens(toks, 24, info.n_vocab, 7);
    float *a = eval_all(whole, params(DS2_ATTN_AUTO, 1, 64), toks, 24);
    float *b = eval_all(bytewise, params(DS2_ATTN_AUTO, 1, 64), toks, 24);
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(memcmp(a, b, 24 * (size_t)info.n_vocab * sizeof(float)) == 0);
    ASSERT_EQ_I64(ds2_model_n_tensors(whole), ds2_model_n_tensors(bytewise));
    free(a);
    free(b);
    ds2_model_free(whole);
    ds2_model_free(bytewise);
}

/* Absorbed decode (W_UK folded into q, W_UV after attention over latents) == naive decompression. */
TEST(absorbed_equals_naive) {
    const char *files[] = {FIX("mla-f32.gguf"), FIX("legacy-f32.gguf"), FIX("lite-f32.gguf"), FIX("v3-f32.gguf")};
    for (size_t k = 0; k < sizeof files / sizeof *files; k++) {
        ds2_model *m = load(files[k]);
        ASSERT_TRUE(m);
        ds2_model_info info;
        ds2_model_get_info(m, &info);
        int32_t toks[48];
        make_tokens(toks, 48, info.n_vocab, 11);
        float *abs_ = eval_all(m, params(DS2_ATTN_ABSORBED, 1, 48), toks, 48);
        float *nai = eval_all(m, params(DS2_ATTN_NAIVE, 1, 48), toks, 48);
        ASSERT_TRUE(abs_ && nai);
        double d = max_rel_diff(abs_, nai, 48 * (size_t)info.n_vocab);
        printf("  %s: max |absorbed - naive| / max|logit| = %.2e\n", strrchr(files[k], '/') + 1, d);
        ASSERT_TRUE(d < 1e-5);
        free(abs_);
        free(nai);
        ds2_model_free(m);
    }
}

/* The two GGUF generations of one model (same seed) compute the same function. */
TEST(legacy_and_split_generations_agree) {
    ds2_model *a = load(FIX("mla-f32.gguf")), *b = load(FIX("legacy-f32.gguf"));
    ASSERT_TRUE(a && b);
    ds2_model_info info;
    ds2_model_get_info(a, &info);
    int32_t toks[40];
    make_tokens(toks, 40, info.n_vocab, 3);
    float *la = eval_all(a, params(DS2_ATTN_AUTO, 1, 40), toks, 40);
    float *lb = eval_all(b, params(DS2_ATTN_AUTO, 1, 40), toks, 40);
    ASSERT_TRUE(la && lb);
    double d = max_rel_diff(la, lb, 40 * (size_t)info.n_vocab);
    printf("  split vs legacy: %.2e\n", d);
    ASSERT_TRUE(d < 1e-5);
    free(la);
    free(lb);
    ds2_model_free(a);
    ds2_model_free(b);
}

/* Batched prefill, chunked prefill and token-by-token decode give the same logits; so do 1-3 threads. */
TEST(prefill_decode_threads_agree) {
    const char *files[] = {FIX("mla-q8_0.gguf"), FIX("legacy-q4_0.gguf"), FIX("v3-f32.gguf")};
    for (size_t k = 0; k < sizeof files / sizeof *files; k++) {
        ds2_model *m = load(files[k]);
        ASSERT_TRUE(m);
        ds2_model_info info;
        ds2_model_get_info(m, &info);
        const int n = 33;
        const size_t V = (size_t)info.n_vocab;
        int32_t toks[33];
        make_tokens(toks, n, info.n_vocab, 5);
        float *full = eval_all(m, params(DS2_ATTN_ABSORBED, 1, 64), toks, n);
        float *chunked = eval_all(m, params(DS2_ATTN_ABSORBED, 1, 5), toks, n);
        float *t2 = eval_all(m, params(DS2_ATTN_ABSORBED, 2, 64), toks, n);
        float *t3 = eval_all(m, params(DS2_ATTN_ABSORBED, 3, 7), toks, n);
        ASSERT_TRUE(full && chunked && t2 && t3);
        /* token by token through the public API */
        ds2_session *s = NULL;
        ds2_error err;
        ds2_session_params sp = params(DS2_ATTN_ABSORBED, 1, 64);
        ASSERT_STATUS(ds2_session_create(m, &sp, &s, &err), DS2_OK, err);
        float *step = malloc(V * sizeof(float));
        double dstep = 0;
        for (int i = 0; i < n; i++) {
            ASSERT_STATUS(ds2_session_eval(s, &toks[i], 1, DS2_LOGITS_LAST, step, &err), DS2_OK, err);
            dstep = fmax(dstep, max_rel_diff(step, full + (size_t)i * V, V));
        }
        ASSERT_EQ_I64(ds2_session_n_past(s), n);
        /* rewind 10 tokens and re-run them: same logits as the first time */
        ASSERT_STATUS(ds2_session_truncate(s, n - 10, &err), DS2_OK, err);
        float *again = malloc(10 * V * sizeof(float));
        ASSERT_STATUS(ds2_session_eval(s, toks + n - 10, 10, DS2_LOGITS_ALL, again, &err), DS2_OK, err);
        double drewind = max_rel_diff(again, full + (size_t)(n - 10) * V, 10 * V);
        double dchunk = max_rel_diff(chunked, full, n * V);
        printf("  %s: decode vs prefill %.2e, chunked %.2e, rewind %.2e, threads bitwise %s\n",
               strrchr(files[k], '/') + 1, dstep, dchunk, drewind,
               !memcmp(full, t2, n * V * 4) && !memcmp(chunked, t3, n * V * 4) ? "equal" : "DIFFER");
        ASSERT_TRUE(dstep < 1e-5 && dchunk < 1e-5 && drewind < 1e-5);
        ASSERT_TRUE(memcmp(full, t2, n * V * sizeof(float)) == 0);
        ASSERT_TRUE(max_rel_diff(t3, full, n * V) < 1e-5);
        free(full); free(chunked); free(t2); free(t3); free(step); free(again);
        ds2_session_free(s);
        ds2_model_free(m);
    }
}

/* An f16 latent cache stays close to the f32 one (the cache holds rounded latents, nothing else). */
TEST(f16_cache_close_to_f32) {
    ds2_model *m = load(FIX("mla-f32.gguf"));
    ASSERT_TRUE(m);
    ds2_model_info info;
    ds2_model_get_info(m, &info);
    int32_t toks[40];
    make_tokens(toks, 40, info.n_vocab, 9);
    ds2_session_params p16 = params(DS2_ATTN_AUTO, 1, 64);
    p16.kv_type = DS2_KV_F16;
    float *a = eval_all(m, params(DS2_ATTN_AUTO, 1, 64), toks, 40), *b = eval_all(m, p16, toks, 40);
    ASSERT_TRUE(a && b);
    double d = max_rel_diff(b, a, 40 * (size_t)info.n_vocab);
    printf("  f16 vs f32 cache: %.2e\n", d);
    ASSERT_TRUE(d > 0 && d < 1e-2);
    free(a);
    free(b);
    ds2_model_free(m);
}

TEST(bad_calls_fail_cleanly) {
    ds2_model *m = load(FIX("mla-f32.gguf"));
    ASSERT_TRUE(m);
    ds2_model_info info;
    ds2_model_get_info(m, &info);
    ds2_session *s = NULL;
    ds2_error err;
    ds2_session_params sp = params(DS2_ATTN_AUTO, 1, 8);
    sp.n_ctx = 8;
    ASSERT_STATUS(ds2_session_create(m, &sp, &s, &err), DS2_OK, err);
    float *logits = malloc((size_t)info.n_vocab * 16 * sizeof(float));
    int32_t bad = info.n_vocab;
    ASSERT_STATUS(ds2_session_eval(s, &bad, 1, DS2_LOGITS_LAST, logits, &err), DS2_E_BAD_TOKEN, err);
    int32_t neg = -1;
    ASSERT_STATUS(ds2_session_eval(s, &neg, 1, DS2_LOGITS_LAST, logits, &err), DS2_E_BAD_TOKEN, err);
    int32_t toks[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    ASSERT_STATUS(ds2_session_eval(s, toks, 9, DS2_LOGITS_LAST, logits, &err), DS2_E_CONTEXT_FULL, err);
    ASSERT_EQ_I64(ds2_session_n_past(s), 0);
    ASSERT_STATUS(ds2_session_eval(s, toks, 8, DS2_LOGITS_ALL, logits, &err), DS2_OK, err);
    ASSERT_STATUS(ds2_session_eval(s, toks, 1, DS2_LOGITS_LAST, logits, &err), DS2_E_CONTEXT_FULL, err);
    ASSERT_STATUS(ds2_session_truncate(s, 9, &err), DS2_E_INVALID_ARG, err);
    ASSERT_STATUS(ds2_session_eval(s, toks, 1, DS2_LOGITS_LAST, NULL, &err), DS2_E_INVALID_ARG, err);
    sp.n_threads = -1;
    ds2_session *s2 = NULL;
    ASSERT_STATUS(ds2_session_create(m, &sp, &s2, &err), DS2_E_INVALID_ARG, err);
    ds2_model *none = NULL;
    ASSERT_STATUS(ds2_model_load_file(FIX("does-not-exist.gguf"), NULL, &none, &err), DS2_E_IO, err);
    free(logits);
    ds2_session_free(s);
    ds2_model_free(m);
}

int main(void) {
    RUN(broken_files_fail_with_their_status);
    RUN(streaming_one_byte_gives_the_same_model);
    RUN(absorbed_equals_naive);
    RUN(legacy_and_split_generations_agree);
    RUN(prefill_decode_threads_agree);
    RUN(f16_cache_close_to_f32);
    RUN(bad_calls_fail_cleanly);
    return test_summary();
}
