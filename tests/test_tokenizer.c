/* test_tokenizer.c — the tokenizer on hand-made vocabularies (expected ids computed by hand from the merge
 * ranks), the pre-tokenizer splits against JavaScript's Unicode regex engine running the same regexes
 * (piece lengths printed by tests/tokenizer/js_split.mjs), Unicode classes, lossy UTF-8, and the
 * streaming detokenizer.
 *
 *   test_tokenizer                 unit tests (in-memory GGUFs)
 *   test_tokenizer VOCAB.gguf      also: streaming + round-trip properties on a real vocabulary over a seeded
 *                                  set of strings and random bytes (exit 77 = skipped if the file is absent)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds2.h"
#include "test.h"
#include "tokenizer.h"
#include "unicode.h"

/* ---- a minimal GGUF v3 writer (metadata only) ---- */

typedef struct gbuf {
    unsigned char *p;
    size_t n, cap;
} gbuf;

static void gput(gbuf *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 256;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void gu32(gbuf *b, uint32_t v) { gput(b, &v, 4); }
static void gu64(gbuf *b, uint64_t v) { gput(b, &v, 8); }
static void gstr(gbuf *b, const char *s, size_t n) { gu64(b, n), gput(b, s, n); }
static void gkey(gbuf *b, const char *k, uint32_t type) { gstr(b, k, strlen(k)), gu32(b, type); }

/* GPT-2 byte → character, written independently of the library (the rule from the reference §5.3) */
static size_t byte_char(int byte, char *out) {
    int k = 0, cp = byte;
    int printable = (byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE;
    if (!printable) {
        for (int x = 0; x < byte; x++)
            if (!((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE)) k++;
        cp = 0x100 + k;
    }
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    out[0] = (char)(0xC0 | (cp >> 6)), out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

/* Vocabulary: ids 0..255 = the byte characters in byte order; then the extra tokens; merges as given. */
typedef struct vocab_spec {
    const char *pre;
    const char *const *extra;     /* token texts (already byte-level encoded for NORMAL ones) */
    const int32_t *extra_type;
    int n_extra;
    const char *const *merges;
    int n_merges;
    int bos, eos, add_bos;
} vocab_spec;

static ds2_model *make_vocab(const vocab_spec *v) {
    gbuf b = {0};
    gput(&b, "GGUF", 4);
    gu32(&b, 3);
    gu64(&b, 0);   /* tensors */
    gu64(&b, 10);  /* kvs */
    gkey(&b, "general.architecture", 8), gstr(&b, "deepseek2", 9);
    gkey(&b, "tokenizer.ggml.model", 8), gstr(&b, "gpt2", 4);
    gkey(&b, "tokenizer.ggml.pre", 8), gstr(&b, v->pre, strlen(v->pre));
    int n = 256 + v->n_extra;
    gkey(&b, "tokenizer.ggml.tokens", 9), gu32(&b, 8), gu64(&b, (uint64_t)n);
    for (int i = 0; i < 256; i++) {
        char c[2];
        gstr(&b, c, byte_char(i, c));
    }
    for (int i = 0; i < v->n_extra; i++) gstr(&b, v->extra[i], strlen(v->extra[i]));
    gkey(&b, "tokenizer.ggml.token_type", 9), gu32(&b, 5), gu64(&b, (uint64_t)n);
    for (int i = 0; i < n; i++) gu32(&b, i < 256 ? 1 : (uint32_t)v->extra_type[i - 256]);
    gkey(&b, "tokenizer.ggml.merges", 9), gu32(&b, 8), gu64(&b, (uint64_t)v->n_merges);
    for (int i = 0; i < v->n_merges; i++) gstr(&b, v->merges[i], strlen(v->merges[i]));
    gkey(&b, "tokenizer.ggml.bos_token_id", 4), gu32(&b, (uint32_t)v->bos);
    gkey(&b, "tokenizer.ggml.eos_token_id", 4), gu32(&b, (uint32_t)v->eos);
    gkey(&b, "tokenizer.ggml.add_bos_token", 7);
    unsigned char t = (unsigned char)v->add_bos;
    gput(&b, &t, 1);
    gkey(&b, "general.name", 8), gstr(&b, "test", 4);

    ds2_loader_params lp = ds2_loader_default_params();
    lp.allow_vocab_only = 1;
    ds2_loader *l = NULL;
    ds2_model *m = NULL;
    ds2_error err;
    if (ds2_loader_create(&lp, &l, &err) == DS2_OK && ds2_loader_feed(l, b.p, b.n, &err) == DS2_OK)
        ds2_loader_finish(l, &m, &err);
    if (!m) printf("  make_vocab: %s\n", err.message);
    ds2_loader_free(l);
    free(b.p);
    return m;
}

/* 256 = "he", 257 = "ll", 258 = "hell", 259 = "hello", 260 = "<|c|>" (CONTROL, BOS), 261 = "<u>" (USER_DEFINED),
 * 262 = "Ġh" */
static const char *const k_extra[] = {"he", "ll", "hell", "hello", "<|c|>", "<u>", "\xC4\xA0h"};
static const int32_t k_types[] = {1, 1, 1, 1, 3, 4, 1};
static const char *const k_merges[] = {"h e", "l l", "he ll", "hell o", "\xC4\xA0 h"};

static ds2_model *tiny(const char *pre) {
    vocab_spec v = {pre, k_extra, k_types, 7, k_merges, 5, 260, 260, 1};
    return make_vocab(&v);
}

static int tok(const ds2_model *m, const char *s, int bos, int special, int32_t *out, int cap) {
    int32_t n = -1;
    ds2_error err;
    ds2_status st = ds2_tokenize(m, s, strlen(s), bos, special, out, cap, &n, &err);
    if (st != DS2_OK) printf("  tokenize: %s\n", err.message);
    return st == DS2_OK ? n : -1;
}

#define ASSERT_IDS(m, s, bos, sp, ...)                                                           \
    do {                                                                                         \
        const int32_t want_[] = {__VA_ARGS__};                                                   \
        int32_t got_[64];                                                                        \
        int n_ = tok(m, s, bos, sp, got_, 64);                                                   \
        int nw_ = (int)(sizeof want_ / sizeof want_[0]);                                         \
        int same_ = n_ == nw_;                                                                   \
        for (int k_ = 0; same_ && k_ < nw_; k_++) same_ = got_[k_] == want_[k_];                 \
        if (!same_) {                                                                            \
            printf("  ids of \"%s\":", s);                                                       \
            for (int k_ = 0; k_ < n_; k_++) printf(" %d", got_[k_]);                             \
            FAIL_("expected %d ids", nw_);                                                        \
        }                                                                                        \
    } while (0)

TEST(bpe_by_rank) {
    ds2_model *m = tiny("deepseek-v3");
    ASSERT_TRUE(m != NULL);
    ASSERT_IDS(m, "hello", 0, 1, 259);
    ASSERT_IDS(m, "hellx", 0, 1, 258, 'x');
    ASSERT_IDS(m, "lll", 0, 1, 257, 'l');           /* rank tie on equal pairs: leftmost first */
    ASSERT_IDS(m, "hel", 0, 1, 256, 'l');
    /* Ġ h e l l o: h+e (rank 0) beats Ġ+h (rank 4), then l+l, he+ll, hell+o; Ġ stays alone */
    ASSERT_IDS(m, " hello", 0, 1, ' ', 259);
    ASSERT_IDS(m, " hx", 0, 1, 262, 'x');
    ASSERT_IDS(m, "", 0, 1);
    ds2_model_free(m);
}

TEST(specials_and_bos) {
    ds2_model *m = tiny("deepseek-v3");
    ASSERT_TRUE(m != NULL);
    ASSERT_IDS(m, "<|c|>hello", 0, 1, 260, 259);
    /* not parsed: plain text; v3 splits "<|" (symbols), "c", "|>" — no merges apply, so one id per byte */
    ASSERT_IDS(m, "<|c|>hello", 0, 0, '<', '|', 'c', '|', '>', 259);
    /* USER_DEFINED tokens are always recognised */
    ASSERT_IDS(m, "a<u>b", 0, 0, 'a', 261, 'b');
    ASSERT_IDS(m, "he", 1, 1, 260, 256);
    ASSERT_IDS(m, "he", 0, 1, 256);
    ASSERT_TRUE(ds2_token_bos(m) == 260 && ds2_token_eos(m) == 260 && ds2_vocab_size(m) == 263);
    ASSERT_TRUE(ds2_token_is_control(m, 260) && !ds2_token_is_control(m, 261) && !ds2_token_is_control(m, 5));
    /* too small a buffer: INVALID_ARG and the count needed */
    int32_t ids[2], n = 0;
    ds2_error err;
    ASSERT_STATUS(ds2_tokenize(m, "hello hello hello", 17, 0, 1, ids, 2, &n, &err), DS2_E_INVALID_ARG, err);
    ASSERT_EQ_I64(n, 5);
    ASSERT_STATUS(ds2_tokenize(m, "hello hello hello", 17, 0, 1, NULL, 0, &n, &err), DS2_E_INVALID_ARG, err);
    ASSERT_EQ_I64(n, 5);
    /* token bytes: byte-level decoded; control text verbatim */
    char buf[16];
    size_t len = 0;
    ASSERT_STATUS(ds2_token_to_bytes(m, 262, buf, sizeof buf, &len, &err), DS2_OK, err);
    ASSERT_TRUE(len == 2 && !memcmp(buf, " h", 2));
    ASSERT_STATUS(ds2_token_to_bytes(m, 10, buf, sizeof buf, &len, &err), DS2_OK, err);
    ASSERT_TRUE(len == 1 && buf[0] == '\n');
    ASSERT_STATUS(ds2_token_to_bytes(m, 260, buf, sizeof buf, &len, &err), DS2_OK, err);
    ASSERT_TRUE(len == 5 && !memcmp(buf, "<|c|>", 5));
    ASSERT_STATUS(ds2_token_to_bytes(m, 260, buf, 3, &len, &err), DS2_E_INVALID_ARG, err);
    ASSERT_EQ_I64((int64_t)len, 5);
    ASSERT_STATUS(ds2_token_to_bytes(m, 263, buf, sizeof buf, &len, &err), DS2_E_BAD_TOKEN, err);
    ds2_model_free(m);
}

TEST(unknown_pre_is_a_clear_error) {
    ds2_model *m = tiny("gpt-4o"); /* the model still loads (ids can be evaluated); text calls say why not */
    ASSERT_TRUE(m != NULL);
    int32_t ids[4], n;
    ds2_error err;
    ASSERT_STATUS(ds2_tokenize(m, "hi", 2, 0, 1, ids, 4, &n, &err), DS2_E_NO_TOKENIZER, err);
    ASSERT_TRUE(strstr(err.message, "gpt-4o") && strstr(err.message, "deepseek-v3"));
    ds2_detokenizer *d = NULL;
    ASSERT_STATUS(ds2_detokenizer_create(m, &d, &err), DS2_E_NO_TOKENIZER, err);
    ds2_model_free(m);
}

/* Pre-tokenizer piece lengths (code points) as JavaScript's RegExp with the u flag splits these strings with
 * the reference's regex lists (Split Isolated semantics; node 20, recorded). */
typedef struct split_case {
    const char *pre, *text;
    int n;
    int len[24];
} split_case;

static const split_case k_splits[] = {
    {"deepseek-v3", "Hello, world!!\n\n  foo   bar 12345 \xE4\xBD\xA0\xE5\xA5\xBD" "abc", 14,
     {5, 1, 6, 4, 1, 4, 2, 4, 1, 3, 2, 1, 2, 3}},
    {"deepseek-v3", "x\xCC\x81 'tis\t\t.\r\n end  ", 8, {2, 2, 3, 1, 1, 3, 4, 2}},
    {"deepseek-v3", "a.b-c_d 3.14159 \xEF\xBE\x83\xEF\xBD\xBD\xEF\xBE\x84 \xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4 "
                    "\xD9\xA1\xD9\xA2\xD9\xA3\xD9\xA4", 14, {1, 2, 2, 2, 1, 1, 1, 3, 2, 4, 4, 1, 3, 1}},
    {"deepseek-v3", "  \n x", 2, {3, 2}},
    {"deepseek-coder", "Hello, world!!\n\n  foo   bar 12345 \xE4\xBD\xA0\xE5\xA5\xBD" "abc", 19,
     {5, 1, 6, 2, 1, 1, 1, 4, 2, 4, 1, 1, 1, 1, 1, 1, 1, 2, 3}},
    {"deepseek-coder", "x\xCC\x81 'tis\t\t.\r\n end  ", 10, {1, 1, 2, 3, 1, 2, 1, 1, 4, 2}},
    {"deepseek-coder", "a.b-c_d 3.14159 \xEF\xBE\x83\xEF\xBD\xBD\xEF\xBE\x84 \xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4 "
                       "\xD9\xA1\xD9\xA2\xD9\xA3\xD9\xA4", 23,
     {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 4, 1, 3, 1, 1, 1, 1, 1}},
    {"deepseek-coder", "  \n x", 3, {2, 1, 2}},
    {"deepseek-llm", "Hello, world!!\n\n  foo   bar 12345 \xE4\xBD\xA0\xE5\xA5\xBD" "abc", 15,
     {5, 1, 6, 2, 1, 1, 1, 4, 2, 4, 1, 5, 1, 2, 3}},
    {"deepseek-llm", "x\xCC\x81 'tis\t\t.\r\n end  ", 10, {1, 1, 2, 3, 1, 2, 1, 1, 4, 2}},
    {"deepseek-llm", "a.b-c_d 3.14159 \xEF\xBE\x83\xEF\xBD\xBD\xEF\xBE\x84 \xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4 "
                     "\xD9\xA1\xD9\xA2\xD9\xA3\xD9\xA4", 15, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5, 5, 3, 1, 4}},
    {"deepseek-llm", "  \n x", 3, {2, 1, 2}},
};

TEST(pre_tokenizer_splits) {
    for (size_t c = 0; c < sizeof k_splits / sizeof k_splits[0]; c++) {
        const split_case *sc = &k_splits[c];
        ds2_pre_kind kind = !strcmp(sc->pre, "deepseek-v3")    ? DS2_PRE_DEEPSEEK_V3
                            : !strcmp(sc->pre, "deepseek-llm") ? DS2_PRE_DEEPSEEK_LLM
                                                               : DS2_PRE_DEEPSEEK_CODER;
        uint32_t cp[128];
        uint8_t fl[128];
        size_t ends[128], scratch[128], n = 0, len = strlen(sc->text);
        for (size_t i = 0; i < len;) {
            i += ds2_utf8_decode((const unsigned char *)sc->text + i, len - i, &cp[n]);
            fl[n] = (uint8_t)ds2_unicode_flags(cp[n]);
            n++;
        }
        size_t np = ds2_pre_split(kind, cp, fl, n, ends, scratch);
        int same = (int)np == sc->n;
        for (size_t k = 0, prev = 0; same && k < np; prev = ends[k], k++) same = (int)(ends[k] - prev) == sc->len[k];
        if (!same) {
            printf("  %s case %zu: pieces", sc->pre, c);
            for (size_t k = 0, prev = 0; k < np; prev = ends[k], k++) printf(" %zu", ends[k] - prev);
            FAIL_("expected %d pieces", sc->n);
        }
    }
}

TEST(unicode_classes) {
    /* facts from the Unicode Character Database */
    ASSERT_TRUE(ds2_unicode_flags('A') == DS2_UC_L && ds2_unicode_flags('0') == DS2_UC_N);
    ASSERT_TRUE(ds2_unicode_flags('!') == DS2_UC_P && ds2_unicode_flags('+') == DS2_UC_S);
    ASSERT_TRUE(ds2_unicode_flags('$') == DS2_UC_S && ds2_unicode_flags('_') == DS2_UC_P);
    ASSERT_TRUE(ds2_unicode_flags(' ') == DS2_UC_WS && ds2_unicode_flags('\n') == DS2_UC_WS);
    ASSERT_TRUE(ds2_unicode_flags(0x0301) == DS2_UC_M);   /* COMBINING ACUTE ACCENT, Mn */
    ASSERT_TRUE(ds2_unicode_flags(0x0903) == DS2_UC_M);   /* DEVANAGARI SIGN VISARGA, Mc */
    ASSERT_TRUE(ds2_unicode_flags(0x4E00) == DS2_UC_L);   /* CJK ideograph, in a First/Last range */
    ASSERT_TRUE(ds2_unicode_flags(0xAC01) == DS2_UC_L);   /* Hangul syllable, in a First/Last range */
    ASSERT_TRUE(ds2_unicode_flags(0x0663) == DS2_UC_N);   /* ARABIC-INDIC DIGIT THREE */
    ASSERT_TRUE(ds2_unicode_flags(0x00B2) == DS2_UC_N);   /* SUPERSCRIPT TWO, No */
    ASSERT_TRUE(ds2_unicode_flags(0x2167) == DS2_UC_N);   /* ROMAN NUMERAL EIGHT, Nl */
    ASSERT_TRUE(ds2_unicode_flags(0x3000) == DS2_UC_WS);  /* IDEOGRAPHIC SPACE, Zs */
    ASSERT_TRUE(ds2_unicode_flags(0x0085) == DS2_UC_WS);  /* NEL: White_Space, category Cc */
    ASSERT_TRUE(ds2_unicode_flags(0x200D) == 0);          /* ZERO WIDTH JOINER, Cf */
    ASSERT_TRUE(ds2_unicode_flags(0x1F600) == DS2_UC_S);  /* GRINNING FACE, So */
    ASSERT_TRUE(ds2_unicode_flags(0xFE0F) == DS2_UC_M);   /* VARIATION SELECTOR-16, Mn */
    ASSERT_TRUE(ds2_unicode_flags(0x300C) == DS2_UC_P);   /* LEFT CORNER BRACKET, Ps */
    ASSERT_TRUE(ds2_unicode_flags(0xE000) == 0 && ds2_unicode_flags(0x10FFFF) == 0 &&
                ds2_unicode_flags(0x110000) == 0);
}

/* lossy decode of s (n bytes) equals want */
static int lossy_is(const char *s, size_t n, const char *want) {
    char out[64];
    size_t w = ds2_utf8_lossy((const unsigned char *)s, n, out);
    return w == strlen(want) && !memcmp(out, want, w);
}

#define FFFD "\xEF\xBF\xBD"

TEST(utf8_lossy_and_prefix) {
    /* maximal-subpart replacement (Unicode §3.9 / WHATWG examples) */
    ASSERT_TRUE(lossy_is("a\x80" "b", 3, "a" FFFD "b"));
    ASSERT_TRUE(lossy_is("\xC0\xAF", 2, FFFD FFFD));                 /* overlong: C0 never valid */
    ASSERT_TRUE(lossy_is("\xED\xA0\x80", 3, FFFD FFFD FFFD));        /* encoded surrogate */
    ASSERT_TRUE(lossy_is("\xF0\x9F\x98", 3, FFFD));                   /* truncated 4-byte: one */
    ASSERT_TRUE(lossy_is("\xF0\x9F\x98" "x", 4, FFFD "x"));
    ASSERT_TRUE(lossy_is("\xF4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD)); /* > U+10FFFF */
    ASSERT_TRUE(lossy_is("\xE2\x82\xAC", 3, "\xE2\x82\xAC"));
    /* complete prefix holds back only a valid-so-far tail */
    ASSERT_EQ_I64((int64_t)ds2_utf8_complete_prefix((const unsigned char *)"ab\xE2\x82", 4), 2);
    ASSERT_EQ_I64((int64_t)ds2_utf8_complete_prefix((const unsigned char *)"ab\xE2\x82\xAC", 5), 5);
    ASSERT_EQ_I64((int64_t)ds2_utf8_complete_prefix((const unsigned char *)"ab\xE2" "x", 4), 4);
    ASSERT_EQ_I64((int64_t)ds2_utf8_complete_prefix((const unsigned char *)"\xFF", 1), 1);
    ASSERT_EQ_I64((int64_t)ds2_utf8_complete_prefix((const unsigned char *)"\xF0\x9F\x98", 3), 0);
}

TEST(detokenizer_holds_partial_characters) {
    ds2_model *m = tiny("deepseek-v3");
    ASSERT_TRUE(m != NULL);
    ds2_detokenizer *d = NULL;
    ds2_error err;
    ASSERT_STATUS(ds2_detokenizer_create(m, &d, &err), DS2_OK, err);
    char out[64];
    size_t n;
    /* "é" = C3 A9 as two byte tokens: nothing, then the whole character */
    ASSERT_STATUS(ds2_detokenizer_push(d, 0xC3, out, sizeof out, &n, &err), DS2_OK, err);
    ASSERT_EQ_I64((int64_t)n, 0);
    ASSERT_STATUS(ds2_detokenizer_push(d, 0xA9, out, sizeof out, &n, &err), DS2_OK, err);
    ASSERT_TRUE(n == 2 && !memcmp(out, "\xC3\xA9", 2));
    /* control tokens emit nothing */
    ASSERT_STATUS(ds2_detokenizer_push(d, 260, out, sizeof out, &n, &err), DS2_OK, err);
    ASSERT_EQ_I64((int64_t)n, 0);
    /* a held lead byte followed by a non-continuation: U+FFFD then the text */
    ASSERT_STATUS(ds2_detokenizer_push(d, 0xF0, out, sizeof out, &n, &err), DS2_OK, err);
    ASSERT_EQ_I64((int64_t)n, 0);
    ASSERT_STATUS(ds2_detokenizer_push(d, 259, out, sizeof out, &n, &err), DS2_OK, err);
    ASSERT_TRUE(n == 8 && !memcmp(out, FFFD "hello", 8));
    /* small output buffer: error with the size needed, nothing consumed */
    ASSERT_STATUS(ds2_detokenizer_push(d, 259, out, 3, &n, &err), DS2_E_INVALID_ARG, err);
    ASSERT_EQ_I64((int64_t)n, 5);
    /* an incomplete tail at the end of the stream comes out of flush as U+FFFD */
    ASSERT_STATUS(ds2_detokenizer_push(d, 0xE2, out, sizeof out, &n, &err), DS2_OK, err);
    ASSERT_STATUS(ds2_detokenizer_push(d, 0x82, out, sizeof out, &n, &err), DS2_OK, err);
    ASSERT_EQ_I64((int64_t)n, 0);
    ASSERT_STATUS(ds2_detokenizer_flush(d, out, sizeof out, &n, &err), DS2_OK, err);
    ASSERT_TRUE(n == 3 && !memcmp(out, FFFD, 3));
    ASSERT_STATUS(ds2_detokenizer_flush(d, out, sizeof out, &n, &err), DS2_OK, err);
    ASSERT_EQ_I64((int64_t)n, 0);
    ASSERT_STATUS(ds2_detokenizer_push(d, -1, out, sizeof out, &n, &err), DS2_E_BAD_TOKEN, err);
    ds2_detokenizer_free(d);
    ds2_model_free(m);
}

/* ---- properties on a real vocabulary ---- */

static const char *g_vocab_path;

static int utf8_strict_valid(const unsigned char *s, size_t n) {
    char tmp[4096];
    if (n * 3 > sizeof tmp) return 0;
    size_t w = ds2_utf8_lossy(s, n, tmp);
    return w == n && !memcmp(tmp, s, n); /* lossy decoding changes nothing iff valid */
}

static uint32_t g_rng = 12345;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13, g_rng ^= g_rng >> 17, g_rng ^= g_rng << 5;
    return g_rng;
}

/* A seeded string mixing ASCII, multi-byte scripts, emoji (4-byte) and raw invalid bytes. */
static size_t random_text(unsigned char *s, size_t cap) {
    static const char *const frags[] = {"Hello", " world", "\xE4\xBD\xA0\xE5\xA5\xBD", "\xF0\x9F\x98\x80",
        "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9", "e\xCC\x81", " ", "\n", "12345", "\xED\x95\x9C",
        "\xE3\x81\x93\xE3\x82\x93", "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81sentence\xEF\xBD\x9C>", "\xC3\xA9t\xC3\xA9",
        "\xD0\x9C\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0", "\t", "{}", "\xE2\x82\xAC"};
    size_t n = 0, k = 1 + rnd() % 12;
    for (size_t i = 0; i < k; i++) {
        if (rnd() % 5 == 0) {
            if (n < cap) s[n++] = (unsigned char)(0x80 + rnd() % 0x80);
            continue;
        }
        const char *f = frags[rnd() % (sizeof frags / sizeof frags[0])];
        size_t l = strlen(f);
        if (n + l > cap) break;
        memcpy(s + n, f, l);
        n += l;
    }
    return n;
}

TEST(real_vocab_stream_and_round_trip) {
    ds2_model *m = NULL;
    ds2_error err;
    ds2_loader_params lp = ds2_loader_default_params();
    lp.allow_vocab_only = 1;
    ASSERT_STATUS(ds2_model_load_file(g_vocab_path, &lp, &m, &err), DS2_OK, err);
    ds2_detokenizer *d = NULL;
    ASSERT_STATUS(ds2_detokenizer_create(m, &d, &err), DS2_OK, err);
    int32_t ids[1024];
    unsigned char text[512], bytes[4096];
    char piece[1024], stream[4096], lossy[4096];
    long n_pieces = 0, n_held = 0;
    for (int it = 0; it < 3000; it++) {
        size_t len = random_text(text, sizeof text);
        int32_t n = 0;
        ASSERT_STATUS(ds2_tokenize(m, (const char *)text, len, 0, it & 1, ids, 1024, &n, &err), DS2_OK, err);
        /* exact round trip through the tokens' bytes */
        size_t nb = 0, ns = 0;
        for (int32_t k = 0; k < n; k++) {
            size_t l;
            ASSERT_STATUS(ds2_token_to_bytes(m, ids[k], (char *)bytes + nb, sizeof bytes - nb, &l, &err), DS2_OK, err);
            nb += l;
        }
        if (nb != len || memcmp(bytes, text, len)) FAIL_("round trip differs (string %d, %zu vs %zu bytes)", it, nb, len);
        /* streaming: every piece valid UTF-8; all pieces == lossy decode of the non-control tokens' bytes */
        size_t nl = 0;
        nb = 0;
        for (int32_t k = 0; k < n; k++) {
            size_t l;
            if (!ds2_token_is_control(m, ids[k])) {
                ds2_token_to_bytes(m, ids[k], (char *)bytes + nb, sizeof bytes - nb, &l, &err);
                nb += l;
            }
            ASSERT_STATUS(ds2_detokenizer_push(d, ids[k], piece, sizeof piece, &l, &err), DS2_OK, err);
            if (!utf8_strict_valid((unsigned char *)piece, l)) FAIL_("piece of token %d is not valid UTF-8", ids[k]);
            if (l == 0) n_held++;
            n_pieces++;
            memcpy(stream + ns, piece, l);
            ns += l;
        }
        size_t l;
        ASSERT_STATUS(ds2_detokenizer_flush(d, piece, sizeof piece, &l, &err), DS2_OK, err);
        if (!utf8_strict_valid((unsigned char *)piece, l)) FAIL_("flushed piece is not valid UTF-8");
        memcpy(stream + ns, piece, l);
        ns += l;
        nl = ds2_utf8_lossy(bytes, nb, lossy);
        if (ns != nl || memcmp(stream, lossy, nl)) FAIL_("stream differs from the full decode (string %d)", it);
    }
    printf("  3000 strings, %ld pieces (%ld empty while a character was incomplete)\n", n_pieces, n_held);
    ds2_detokenizer_free(d);
    ds2_model_free(m);
}

int main(int argc, char **argv) {
    if (argc > 1) {
        g_vocab_path = argv[1];
        FILE *f = fopen(g_vocab_path, "rb");
        if (!f) {
            printf("test_tokenizer: %s not found (needs node_modules) - skipped\n", g_vocab_path);
            return 77;
        }
        fclose(f);
        RUN(real_vocab_stream_and_round_trip);
        return test_summary();
    }
    RUN(bpe_by_rank);
    RUN(specials_and_bos);
    RUN(unknown_pre_is_a_clear_error);
    RUN(pre_tokenizer_splits);
    RUN(unicode_classes);
    RUN(utf8_lossy_and_prefix);
    RUN(detokenizer_holds_partial_characters);
    return test_summary();
}
